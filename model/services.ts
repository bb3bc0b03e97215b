/**
 * What runs, whatever the target: one description per service of the stack, rendered once from the validated
 * config. The Docker target (targets/docker) turns each into containers on its host, the Kubernetes target
 * (targets/kubernetes) into a workload, its Service and the policies of who may call it. Pure: the same config
 * gives the same descriptions.
 *
 * Secrets are named, never held: each target generates them once, keeps them as Pulumi secrets and hands them
 * to the services its own way (Docker: in the container's environment; Kubernetes: a Secret the pod refers to).
 */
import { GpuRequest, HostConfig, StackConfig } from "../config/stackKeys";
import { routerHookFiles } from "../routing/routerFiles";
import { routingFilterFiles, ROUTING_FILTER_DIR } from "../routing/filter";
import { Reachable, Vantage, baseUrl } from "./addressing";
import {
    CLOUD_API_KEY_ENV,
    LITELLM_CONFIG_DIR,
    LITELLM_CONFIG_FILE,
    LITELLM_CONFIG_PATH,
    LITELLM_CONTAINER_PORT,
    MASTER_KEY_ENV,
    REDIS_PASSWORD_ENV,
    RouterVariant,
    redisReachable,
    renderRouterConfig,
} from "./litellm";
import { OLLAMA_CONTAINER_PORT, ollamaEnv, pullsOverHttp } from "./ollama";
import { OPEN_WEBUI_CONTAINER_PORT, OPEN_WEBUI_DATA_PATH, openWebUIEnv } from "./openWebUI";
import { CONTAINER_NAMES, dataDirs, needsRedis, ollamaModelsDir, placements, routerContainerName } from "./plan";

/** What a service is. */
export type ServiceRole = "ollama" | "router" | "cloudRouter" | "redis" | "qdrant" | "openWebUI";

/** Who may open connections to a service: a service of the stack, the model pulls, or people and programs outside. */
export type Caller = ServiceRole | "modelPulls" | "clients";

/** The stack's secrets, by name: generated once, or (the cloud key) set by the operator. */
export type SecretName =
    | "routerMasterKey"
    | "cloudMasterKey"
    | "cloudApiKey"
    | "redisPassword"
    | "qdrantApiKey"
    | "openWebUISessionKey"
    | "openWebUIAdminPassword";

/** One environment variable: a plain value, or a secret that the target fills in. */
export type EnvVar = { name: string; value: string } | { name: string; secret: SecretName };

/** A check run inside the container: an argument list, or one line for the image's shell. */
export type SelfCheckCommand = { exec: string[] } | { shell: string };

/** A model an Ollama instance pulls, and whether its registry is reached over plain HTTP. */
export interface ModelPull {
    /** The model reference. */
    model: string;
    /** Pulled over plain HTTP (its registry is one of `ollama.insecureRegistries`). */
    insecure: boolean;
}

/** One service as every target sees it. */
export interface ServiceSpec {
    /** Its name, unique in the stack: its container's on Docker, its workload's and Service's on Kubernetes. */
    name: string;
    /** What it is. */
    role: ServiceRole;
    /** The host of `ai-gateway:hosts` it runs on (Docker); Kubernetes places it itself. */
    host: string;
    /** Copies of it: router replicas, each a container of its own on Docker, the pods of one Deployment on Kubernetes. */
    replicas: number;
    /** Its pinned image. */
    image: string;
    /** Arguments after the image's entrypoint. */
    command?: string[];
    /** Its environment, in order. */
    env: EnvVar[];
    /** Files written into the container before it starts, by absolute path. */
    files: { path: string; content: string }[];
    /**
     * Its one port: where it listens in the container, and the port the stack gives it (published on the host's
     * bind address on Docker, the Service's port on Kubernetes), with the config key that sets it.
     */
    port: { container: number; service: number; configKey: string };
    /** The unauthenticated HTTP GET that answers once it is ready, and a field its JSON answer must have. */
    probe?: { path: string; expectJsonField?: string };
    /** Its own health check from inside the container, and how long after a start failures do not count. */
    selfCheck: { command: SelfCheckCommand; startSeconds: number };
    /** NVIDIA GPUs it asks for (Ollama). */
    gpu?: GpuRequest;
    /** What it keeps: a folder of the container, kept in `hostPath` on a Docker host or in a volume claim. */
    volumes: { name: string; containerPath: string; hostPath: string }[];
    /** The models it pulls (Ollama). */
    pulls: ModelPull[];
    /** Services that must be ready before it starts. */
    startsAfter: string[];
    /** Who may open connections to it. */
    callers: Caller[];
    /** Whether it may connect beyond the stack: Ollama for its model pulls, the cloud router for the cloud API. */
    internet: boolean;
}

const HTTP_PORT_CHECK = (port: number) => ({ shell: `bash -c ':> /dev/tcp/127.0.0.1/${port}' || exit 1` });
/** Qdrant's HTTP API inside its container (gRPC and the cluster port are never used by the stack). */
export const QDRANT_HTTP_PORT = 6333;
/** Where Qdrant keeps its collections inside its container. */
const QDRANT_STORAGE_PATH = "/qdrant/storage";
/** Where Ollama keeps its models inside its container. */
const OLLAMA_MODELS_PATH = "/root/.ollama";

/**
 * Redis's command: in memory only, the password from the environment handed to redis-server as its config on
 * standard input ("-"), so it is in no command line (arguments show in every `ps` on the host).
 */
export const REDIS_COMMAND = [
    "sh",
    "-c",
    `exec redis-server - --save "" --appendonly no <<EOF\nrequirepass $${REDIS_PASSWORD_ENV}\nEOF\n`,
];

/**
 * Every service of the stack, in the order a reader meets them: the Ollama instances host by host, Redis, the
 * routers (one description per router host), the cloud router, Qdrant, Open WebUI. `at` says how a service
 * on a host reaches the others, which only the target knows (model/addressing.ts).
 */
export function describeServices(config: StackConfig, at: (hostName: string) => Vantage): ServiceSpec[] {
    const placed = placements(config);
    const hostNamed = (name: string) => config.hosts.find((h) => h.name === name)!;
    const services: ServiceSpec[] = config.hosts.flatMap((host, hostIndex) =>
        host.ollama.map((instance, i) => ({
            ...defaults,
            name: instance.name,
            role: "ollama" as const,
            host: host.name,
            image: config.images.ollama,
            env: plain(ollamaEnv(config.ollama)),
            port: {
                container: OLLAMA_CONTAINER_PORT,
                service: instance.port,
                configKey: `hosts[${hostIndex}].ollama[${i}].port`,
            },
            probe: { path: "/api/version", expectJsonField: "version" },
            selfCheck: { command: { exec: ["ollama", "list"] }, startSeconds: 20 },
            gpu: instance.gpu,
            volumes: [{ name: "models", containerPath: OLLAMA_MODELS_PATH, hostPath: ollamaModelsDir(host, instance) }],
            pulls: instance.models.map((model) => ({
                model,
                insecure: pullsOverHttp(model, config.ollama.insecureRegistries),
            })),
            callers: ollamaCallers(config),
            internet: true,
        })),
    );
    if (needsRedis(config))
        services.push({
            ...defaults,
            name: CONTAINER_NAMES.redis,
            role: "redis",
            host: placed.router,
            image: config.images.redis,
            command: REDIS_COMMAND,
            env: [{ name: REDIS_PASSWORD_ENV, secret: "redisPassword" }],
            port: {
                container: redisReachable(config).containerPort,
                service: config.router.redisPort,
                configKey: "router.redisPort",
            },
            // REDISCLI_AUTH, not -a: an argument shows in every `ps` on the host.
            selfCheck: {
                command: { shell: 'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli ping | grep -q PONG' },
                startSeconds: 5,
            },
            callers: ["router"],
        });
    for (const hostName of placed.routers)
        services.push(
            router(config, "local", routerContainerName(placed.routers, hostName, 0), hostName, at(hostName)),
        );
    if (config.cloud.enabled)
        services.push(router(config, "cloud", CONTAINER_NAMES.cloudRouter, placed.router, at(placed.router)));
    if (config.qdrant.enabled)
        services.push({
            ...defaults,
            name: CONTAINER_NAMES.qdrant,
            role: "qdrant",
            host: placed.qdrant,
            image: config.images.qdrant,
            env: [{ name: "QDRANT__SERVICE__API_KEY", secret: "qdrantApiKey" }],
            port: { container: QDRANT_HTTP_PORT, service: config.qdrant.port, configKey: "qdrant.port" },
            probe: { path: "/readyz" },
            selfCheck: { command: HTTP_PORT_CHECK(QDRANT_HTTP_PORT), startSeconds: 10 },
            volumes: [
                {
                    name: "data",
                    containerPath: QDRANT_STORAGE_PATH,
                    hostPath: dataDirs.qdrant(hostNamed(placed.qdrant)),
                },
            ],
            callers: ["openWebUI", "clients"],
        });
    if (config.openWebUI.enabled) services.push(openWebUI(config, hostNamed(placed.openWebUI), at(placed.openWebUI)));
    return services;
}

/** What most services have: one copy, nothing pulled, kept or waited for, no route out. */
const defaults = {
    replicas: 1,
    env: [] as EnvVar[],
    files: [] as ServiceSpec["files"],
    volumes: [] as ServiceSpec["volumes"],
    pulls: [] as ModelPull[],
    startsAfter: [] as string[],
    internet: false,
};

function plain(env: string[]): EnvVar[] {
    return env.map((line) => {
        const at = line.indexOf("=");
        return { name: line.slice(0, at), value: line.slice(at + 1) };
    });
}

/** Who calls Ollama: the routers, Open WebUI when it embeds through it (documents or routing), and the model pulls. */
function ollamaCallers(config: StackConfig): Caller[] {
    const embeds =
        config.openWebUI.enabled && (config.openWebUI.embeddingModel !== undefined || !!config.routing?.embedding);
    return [
        "router",
        ...(config.cloud.enabled ? (["cloudRouter"] as const) : []),
        ...(embeds ? (["openWebUI"] as const) : []),
        "modelPulls",
    ];
}

/** A router on `hostName`: the local one on router.port (with its replicas), or the cloud-fallback one. */
function router(
    config: StackConfig,
    variant: RouterVariant,
    name: string,
    hostName: string,
    from: Vantage,
): ServiceSpec {
    const cloud = variant === "cloud";
    const files = {
        [LITELLM_CONFIG_FILE]: renderRouterConfig(config, variant, from),
        ...routerHookFiles(config, from),
    };
    return {
        ...defaults,
        name,
        role: cloud ? "cloudRouter" : "router",
        host: hostName,
        replicas: cloud ? 1 : config.router.replicas,
        image: config.images.litellm,
        command: ["--config", LITELLM_CONFIG_PATH, "--port", String(LITELLM_CONTAINER_PORT)],
        env: [
            { name: MASTER_KEY_ENV, secret: cloud ? "cloudMasterKey" : "routerMasterKey" },
            // Use the cost map shipped in the image instead of fetching it from the internet at start, and the
            // blog feed shipped with it for /public/litellm_blog_posts, a route that needs no key and that the
            // allowlist cannot close (LiteLLM 1.87.0 fetches it from docs.litellm.ai otherwise).
            { name: "LITELLM_LOCAL_MODEL_COST_MAP", value: "True" },
            { name: "LITELLM_LOCAL_BLOG_POSTS", value: "True" },
            ...(cloud ? [{ name: CLOUD_API_KEY_ENV, secret: "cloudApiKey" as const }] : []),
            ...(!cloud && needsRedis(config) ? [{ name: REDIS_PASSWORD_ENV, secret: "redisPassword" as const }] : []),
        ],
        files: Object.entries(files).map(([file, content]) => ({ path: `${LITELLM_CONFIG_DIR}/${file}`, content })),
        port: cloud
            ? { container: LITELLM_CONTAINER_PORT, service: config.cloud.port, configKey: "cloud.port" }
            : { container: LITELLM_CONTAINER_PORT, service: config.router.port, configKey: "router.port" },
        // Never /health, which sends a request to every model.
        probe: { path: "/health/readiness" },
        selfCheck: {
            command: {
                exec: [
                    "python",
                    "-c",
                    `import urllib.request; urllib.request.urlopen('http://127.0.0.1:${LITELLM_CONTAINER_PORT}/health/liveliness')`,
                ],
            },
            startSeconds: 60,
        },
        // Replicas share their state through Redis from their first request on.
        startsAfter: !cloud && needsRedis(config) ? [CONTAINER_NAMES.redis] : [],
        callers: cloud ? ["clients"] : ["clients", "openWebUI"],
        internet: cloud,
    };
}

/** The rendered LiteLLM config a router's description ships. */
export function routerConfigFile(spec: ServiceSpec): string {
    return spec.files.find((file) => file.path === LITELLM_CONFIG_PATH)!.content;
}

/** The router Open WebUI talks to: the first one on its own host, else the first router host's. */
export function openWebUIRouter(config: StackConfig): Reachable {
    const placed = placements(config);
    const host = placed.routers.includes(placed.openWebUI) ? placed.openWebUI : placed.router;
    return {
        name: routerContainerName(placed.routers, host, 0),
        host,
        containerPort: LITELLM_CONTAINER_PORT,
        servicePort: config.router.port,
    };
}

/** Qdrant, as Open WebUI reaches it. */
function qdrantReachable(config: StackConfig): Reachable {
    return {
        name: CONTAINER_NAMES.qdrant,
        host: placements(config).qdrant,
        containerPort: QDRANT_HTTP_PORT,
        servicePort: config.qdrant.port,
    };
}

/**
 * Open WebUI, talking only to the router (its Ollama connection is off, so every answer goes through the router
 * and its logs say which model answered). Auth is on and the admin account is created at first start with a
 * generated password: there is no window in which a stranger signs up first.
 */
function openWebUI(config: StackConfig, host: HostConfig, from: Vantage): ServiceSpec {
    const qdrant = config.qdrant.enabled;
    return {
        ...defaults,
        name: CONTAINER_NAMES.openWebUI,
        role: "openWebUI",
        host: host.name,
        image: config.images.openWebUI,
        env: [
            { name: "OPENAI_API_BASE_URL", value: `${baseUrl(from, openWebUIRouter(config))}/v1` },
            { name: "OPENAI_API_KEY", secret: "routerMasterKey" },
            { name: "WEBUI_SECRET_KEY", secret: "openWebUISessionKey" },
            { name: "WEBUI_ADMIN_PASSWORD", secret: "openWebUIAdminPassword" },
            ...plain(openWebUIEnv(config, from)),
            ...(qdrant
                ? [
                      { name: "VECTOR_DB", value: "qdrant" },
                      { name: "QDRANT_URI", value: baseUrl(from, qdrantReachable(config)) },
                      { name: "QDRANT_API_KEY", secret: "qdrantApiKey" as const },
                  ]
                : []),
        ],
        files: Object.entries(routingFilterFiles(config, from)).map(([file, content]) => ({
            path: `${ROUTING_FILTER_DIR}/${file}`,
            content,
        })),
        port: { container: OPEN_WEBUI_CONTAINER_PORT, service: config.openWebUI.port, configKey: "openWebUI.port" },
        probe: { path: "/health", expectJsonField: "status" },
        selfCheck: {
            command: { shell: `curl --silent --fail http://127.0.0.1:${OPEN_WEBUI_CONTAINER_PORT}/health` },
            startSeconds: 120,
        },
        volumes: [{ name: "data", containerPath: OPEN_WEBUI_DATA_PATH, hostPath: dataDirs.openWebUI(host) }],
        // Its vector store from the start; the router only when a user asks for a model.
        startsAfter: qdrant ? [CONTAINER_NAMES.qdrant] : [],
        callers: ["clients"],
    };
}
