/**
 * The stack config schema: every `ai-gateway:*` key, its default and what it allows.
 *
 * This file is the one place where defaults live. README's config reference is generated from it
 * (`npm run docs:config`), and a test fails when the two drift apart.
 * Messages are written to follow the offending value: `70000 is not a port (1-65535)`.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { isLoopbackAddress, isWildcardAddress } from "./addresses";
import { checkRouting, routingKey } from "./routing";

/** The Pulumi project name, which is also the namespace of every config key. */
export const PROJECT = "ai-gateway";

const PORT_MESSAGE = "is not a port (1-65535)";
const port = z
    .number({ error: "is not a port (1-65535)" })
    .int({ error: PORT_MESSAGE })
    .min(1, { error: PORT_MESSAGE })
    .max(65535, { error: PORT_MESSAGE });

const positiveInt = (what: string) =>
    z
        .number({ error: `is not ${what} (a whole number, 1 or more)` })
        .int({ error: `is not ${what} (a whole number, 1 or more)` })
        .min(1, { error: `is not ${what} (a whole number, 1 or more)` });

const nonNegativeInt = (what: string) =>
    z
        .number({ error: `is not ${what} (a whole number, 0 or more)` })
        .int({ error: `is not ${what} (a whole number, 0 or more)` })
        .min(0, { error: `is not ${what} (a whole number, 0 or more)` });

const ipAddress = z
    .string({ error: "is not an IP address (e.g. 127.0.0.1 or 192.168.1.20)" })
    .refine((value) => isIP(value) !== 0, { error: "is not an IP address (e.g. 127.0.0.1 or 192.168.1.20)" });

/** Lower-case names double as container names, Docker network aliases and router group names. */
const NAME_PATTERN = /^[a-z][a-z0-9-]{0,39}$/;
const name = (what: string) =>
    z.string({ error: `is not a ${what} name` }).regex(NAME_PATTERN, {
        error: `is not a valid ${what} name (lower-case letters, digits and "-", starting with a letter)`,
    });

/** An Ollama model reference: `tag`, `name:tag` or `registry/namespace/name:tag`. */
const modelTag = z
    .string({ error: "is not a model tag" })
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, { error: 'is not a model tag (e.g. "qwen2.5-coder:7b")' })
    .refine((tag) => !isOllamaCloudModel(tag), {
        error:
            "is an Ollama cloud model: Ollama forwards it to ollama.com, so prompts would leave the host " +
            "(use a local model; the only cloud path is ai-gateway:cloud)",
    });

/**
 * Ollama runs tags ending in ":cloud" or "-cloud" (e.g. gpt-oss:120b-cloud) on ollama.com, not on the host
 * (ollama 0.17.4, middleware/anthropic.go and cmd/config); every Ollama container also sets OLLAMA_NO_CLOUD=1.
 */
export function isOllamaCloudModel(tag: string): boolean {
    return /[:-]cloud$/i.test(tag);
}

const MODEL_PINNED_MESSAGE =
    'is not a pinned image (use "name:version" or "name@sha256:...", never "latest" or no tag)';
/** Images must name a version: an unpinned image changes under the operator between two `pulumi up`s. */
const pinnedImage = z.string({ error: MODEL_PINNED_MESSAGE }).refine(isPinnedImage, { error: MODEL_PINNED_MESSAGE });

export function isPinnedImage(ref: string): boolean {
    if (/@sha256:[0-9a-f]{64}$/.test(ref)) return true;
    const lastSlash = ref.lastIndexOf("/");
    const colon = ref.indexOf(":", lastSlash + 1);
    if (colon < 0) return false;
    const tag = ref.slice(colon + 1);
    return /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag) && tag !== "latest";
}

/** Docker endpoints we accept: the local socket, or a remote engine over SSH. Plain tcp:// has no auth. */
const dockerEndpoint = z.string({ error: "is not a Docker endpoint" }).regex(/^(unix:\/\/\/\S+|ssh:\/\/\S+)$/, {
    error: "is not a Docker endpoint (unix:///var/run/docker.sock or ssh://user@host)",
});

const GPU_MESSAGE = 'is not a GPU request ("all", "none", a GPU count, or a list of device ids like ["0","1"])';
/** How many NVIDIA GPUs an Ollama instance gets. */
const gpuRequest = z.union(
    [z.literal("all"), z.literal("none"), z.number().int().min(1), z.array(z.string().regex(/^[A-Za-z0-9-]+$/)).min(1)],
    { error: GPU_MESSAGE },
);

const durationPattern = /^(-1|0|\d+(ms|s|m|h))$/;

export const CLOUD_GROUP = "cloud";
/** Group names the router reserves for itself: the cloud deployment on 4001 and routing by content. */
export const RESERVED_GROUPS = [CLOUD_GROUP, "auto"];

const ollamaInstance = z
    .strictObject({
        name: name("container").describe("Container name; also how the router reaches it on the Docker network."),
        port: port.describe("Host port published on the host's bindAddress (the container listens on 11434)."),
        gpu: gpuRequest.default("all").describe('NVIDIA GPUs: "all", "none" (CPU), a count, or device ids ["0","1"].'),
        models: z
            .array(modelTag)
            .optional()
            .describe("Models pulled into this instance during `pulumi up`. Unset: every model the groups name."),
    })
    .superRefine((instance, ctx) =>
        instance.models?.forEach((model, i) => {
            if (instance.models!.indexOf(model) !== i)
                ctx.addIssue({ code: "custom", path: ["models", i], message: "is listed twice", input: model });
        }),
    )
    .describe("One Ollama container.");

const host = z
    .strictObject({
        name: name("host").describe("Host name used in resource names and error messages."),
        docker: dockerEndpoint
            .default("unix:///var/run/docker.sock")
            .describe("Docker endpoint: the local socket or ssh://user@host."),
        bindAddress: ipAddress
            .default("127.0.0.1")
            .describe(
                "Address every published port binds to. Keep 127.0.0.1 unless other hosts must reach this one; " +
                    "then give this host's LAN or VPN address.",
            ),
        allowWildcardBind: z
            .boolean({ error: "is not true or false" })
            .default(false)
            .describe(
                "Accept a wildcard bindAddress (0.0.0.0, ::), which publishes every port, Ollama's API (no authentication) included, on every interface.",
            ),
        dataDir: z
            .string()
            .regex(/^\/\S*$/, { error: "is not an absolute path" })
            .refine((dir) => !/[:,]/.test(dir) && !dir.split("/").includes(".."), {
                error: 'is not allowed: Docker reads ":" and "," in a bind as separators, and ".." leaves the folder (give a plain absolute path)',
            })
            .default("/data")
            .describe("Persistent data on the host: <dataDir>/<instance>, <dataDir>/openwebui, <dataDir>/qdrant/data."),
        ollama: z
            .array(ollamaInstance)
            .min(1, { error: "lists no Ollama instance (give at least one)" })
            .prefault([{ name: "ollama", port: 11434 }])
            .describe("Ollama instances on this host, each on its own port."),
    })
    .describe("A Docker host of the stack.");

const DEFAULT_HOSTS = [{ name: "local" }];

const tuning = z
    .strictObject({
        keepAlive: z
            .string()
            .regex(durationPattern, { error: 'is not a duration (e.g. "5m", "1h", "-1" to keep loaded forever)' })
            .optional()
            .describe("OLLAMA_KEEP_ALIVE: how long an idle model stays in memory. Unset: Ollama's default (5m)."),
        numParallel: positiveInt("a request count")
            .optional()
            .describe("OLLAMA_NUM_PARALLEL: parallel requests per model. Unset: Ollama decides."),
        maxLoadedModels: positiveInt("a model count")
            .optional()
            .describe("OLLAMA_MAX_LOADED_MODELS: models kept loaded at once. Unset: Ollama decides."),
        maxQueue: positiveInt("a queue length")
            .optional()
            .describe("OLLAMA_MAX_QUEUE: queued requests before Ollama answers 503. Unset: Ollama's default."),
        flashAttention: z
            .boolean({ error: "is not true or false" })
            .default(true)
            .describe("OLLAMA_FLASH_ATTENTION: less VRAM and faster long contexts on recent NVIDIA cards."),
        kvCacheType: z
            .enum(["f16", "q8_0", "q4_0"], { error: 'is not a KV cache type ("f16", "q8_0" or "q4_0")' })
            .optional()
            .describe("OLLAMA_KV_CACHE_TYPE: quantized KV cache (needs flashAttention). Unset: f16."),
        contextLength: positiveInt("a context length")
            .optional()
            .describe("OLLAMA_CONTEXT_LENGTH: default context window in tokens. Unset: Ollama's default."),
        insecureRegistries: z
            .array(
                z.string().regex(/^[A-Za-z0-9.-]+(:[0-9]{1,5})?$/, {
                    error: 'is not a registry address ("host" or "host:port", e.g. "registry.lan:5000")',
                }),
            )
            .default([])
            .describe(
                "Model registries (host:port) that models are pulled from over plain HTTP: your own registry for hosts without internet. Models name them as host:port/namespace/model:tag.",
            ),
    })
    .refine((t) => !t.kvCacheType || t.kvCacheType === "f16" || t.flashAttention, {
        error: "needs flashAttention: true (Ollama ignores a quantized KV cache without it)",
        path: ["kvCacheType"],
    })
    .describe("Tuning applied to every Ollama instance.");

/** The versions the stack deploys. The real-services tests run exactly these versions. */
export const DEFAULT_IMAGES = {
    ollama: "ollama/ollama:0.17.4",
    litellm: "ghcr.io/berriai/litellm:1.87.0",
    openWebUI: "ghcr.io/open-webui/open-webui:v0.12.4",
    qdrant: "qdrant/qdrant:v1.16.1",
    redis: "redis:7.4.2",
    // HAProxy 2.6 LTS, the version in Debian bookworm (images/haproxy builds the same from Debian's package).
    door: "haproxy:2.6.12",
};

const images = z
    .strictObject({
        ollama: pinnedImage.default(DEFAULT_IMAGES.ollama).describe("Ollama image."),
        litellm: pinnedImage.default(DEFAULT_IMAGES.litellm).describe("LiteLLM proxy image (both routers)."),
        openWebUI: pinnedImage.default(DEFAULT_IMAGES.openWebUI).describe("Open WebUI image."),
        qdrant: pinnedImage.default(DEFAULT_IMAGES.qdrant).describe("Qdrant image."),
        redis: pinnedImage.default(DEFAULT_IMAGES.redis).describe("Redis image (shared router state, with replicas)."),
        door: pinnedImage
            .default(DEFAULT_IMAGES.door)
            .describe(
                "HAProxy image of the door: the one container on both networks of a host, publishing the ports of the services that have no route out.",
            ),
    })
    .describe("Container images, always pinned.");

export const ROUTING_STRATEGIES = [
    "simple-shuffle",
    "least-busy",
    "usage-based-routing-v2",
    "latency-based-routing",
] as const;

const router = z
    .strictObject({
        hosts: z
            .array(name("host"))
            .min(1, { error: "lists no host (give at least one)" })
            .optional()
            .describe(
                "Hosts that run the router. Default: the first host. The first listed also runs the cloud-fallback router and Redis.",
            ),
        port: port.default(4000).describe("Port of the local-only router (OpenAI-compatible API)."),
        replicas: positiveInt("a replica count")
            .default(1)
            .describe(
                "Router containers per router host, on ports port, port+1, ... With more than one router in the stack, they share cooldowns and usage through Redis.",
            ),
        redisPort: port
            .default(6379)
            .describe("Port Redis publishes on the first router host, when routers on other hosts need it."),
        strategy: z
            .enum(ROUTING_STRATEGIES, { error: `is not a routing strategy (${ROUTING_STRATEGIES.join(" | ")})` })
            .default("simple-shuffle")
            .describe("How a group picks one of its instances."),
        numRetries: nonNegativeInt("a retry count").default(2).describe("Retries of a failed request in its group."),
        timeoutSeconds: positiveInt("a number of seconds")
            .default(600)
            .describe("Overall timeout of one request, in seconds (a cold model load counts)."),
        allowedFails: positiveInt("a failure count")
            .default(3)
            .describe("Failures within a minute before an instance is put on cooldown."),
        cooldownSeconds: nonNegativeInt("a number of seconds")
            .default(30)
            .describe("Seconds a failing instance is left out before it is tried again."),
        fallbacks: z
            .record(name("group"), z.array(name("group")))
            .default({})
            .describe("Group to the groups tried, in order, when it fails (e.g. heavy: [light, fast])."),
    })
    .describe("The LiteLLM router(s) on the hosts' bindAddress.");

const cloud = z
    .strictObject({
        enabled: z
            .boolean({ error: "is not true or false" })
            .default(false)
            .describe("Deploy the second router, the only path on which a prompt may leave the host."),
        model: z
            .string()
            .regex(/^[a-z0-9_-]+\/\S+$/, { error: 'is not a LiteLLM model ("provider/model", e.g. "openai/gpt-5")' })
            .default("openai/gpt-5")
            .describe("The cloud model every group falls back to on the cloud router."),
        apiBase: z
            .url({ protocol: /^https?$/, error: "is not an http(s) URL" })
            .optional()
            .describe(
                "Base URL of the cloud provider's API, for a provider behind a gateway or proxy (e.g. https://gateway.example/v1). Unset: the provider's own.",
            ),
        port: port.default(4001).describe("Port of the cloud-fallback router."),
    })
    .describe("Cloud fallback. Its API key is the secret `ai-gateway:cloudApiKey`.");

const PRIORITY_MESSAGE = "is not a filter priority (a whole number from -1000 to 1000)";
const routingFilter = z
    .strictObject({
        install: z
            .boolean({ error: "is not true or false" })
            .default(true)
            .describe(
                "With ai-gateway:routing set, `pulumi up` installs the routing filter into Open WebUI and keeps it in step with the routes. false: Open WebUI's functions are left alone (install it by hand from /app/ai-gateway).",
            ),
        global: z
            .boolean({ error: "is not true or false" })
            .default(false)
            .describe(
                "Run the filter on the chats of every model (it changes only requests for `auto`) instead of attaching it to the model `auto`.",
            ),
        priority: z
            .number({ error: PRIORITY_MESSAGE })
            .int({ error: PRIORITY_MESSAGE })
            .min(-1000, { error: PRIORITY_MESSAGE })
            .max(1000, { error: PRIORITY_MESSAGE })
            .default(0)
            .describe("Valve `priority`: its place among Open WebUI's filters; lower runs first."),
        showStatus: z
            .boolean({ error: "is not true or false" })
            .default(true)
            .describe("Valve `show_status`: show the routing decision above the answer."),
        useEmbeddings: z
            .boolean({ error: "is not true or false" })
            .optional()
            .describe(
                "Valve `use_embeddings`: compare prompts with the routes' examples when no rule decides. Unset: on when routing.embedding is set.",
            ),
    })
    .describe("The Open WebUI side of routing by content: a filter function installed by `pulumi up`.");

const openWebUI = z
    .strictObject({
        enabled: z.boolean({ error: "is not true or false" }).default(true).describe("Deploy Open WebUI."),
        host: name("host").optional().describe("Host that runs it. Default: the first host."),
        port: port.default(3000).describe("Port of the chat UI."),
        adminEmail: z
            .email({ error: "is not an email address" })
            .default("admin@ai-gateway.local")
            .describe(
                "Login of the admin account created on first start (password: the `openWebUIAdminPassword` output).",
            ),
        enableSignup: z
            .boolean({ error: "is not true or false" })
            .default(false)
            .describe("Let visitors create accounts (an admin still has to approve them)."),
        embeddingModel: modelTag
            .optional()
            .describe(
                "Embedding model for Open WebUI's documents and knowledge (RAG), pulled by an Ollama instance. Unset: no embeddings; documents go to the model whole.",
            ),
        routingFilter: routingFilter.prefault({}),
    })
    .describe("Open WebUI, wired to the local router.");

const qdrant = z
    .strictObject({
        enabled: z.boolean({ error: "is not true or false" }).default(false).describe("Deploy Qdrant."),
        host: name("host").optional().describe("Host that runs it. Default: the first host."),
        port: port.default(6333).describe("Port of Qdrant's HTTP API (gRPC and cluster ports are never published)."),
    })
    .describe("Qdrant vector store; Open WebUI uses it when enabled.");

/** The keys of the `ai-gateway:*` namespace, before defaults that depend on each other are filled in. */
const stackKeys = z.strictObject({
    hosts: z
        .array(host)
        .min(1, { error: "lists no host (give at least one)" })
        .prefault(DEFAULT_HOSTS)
        .describe("The Docker hosts of the stack; a single-host stack lists one."),
    ollama: tuning.prefault({}),
    images: images.prefault({}),
    groups: z
        .record(name("group"), z.array(modelTag).min(1, { error: "lists no model" }))
        .default({})
        .describe("Router model groups (fast, light, heavy, code, docs, search, ...): the models that serve each."),
    router: router.prefault({}),
    cloud: cloud.prefault({}),
    cloudApiKey: z
        .string()
        .min(1, { error: "is empty" })
        .optional()
        .describe("Secret: API key of the cloud provider. Set with `pulumi config set --secret cloudApiKey`."),
    openWebUI: openWebUI.prefault({}),
    qdrant: qdrant.prefault({}),
    routing: routingKey({ groupName: name("group"), modelTag }),
});

/** The whole `ai-gateway:*` namespace of a stack config. */
export const stackSchema = stackKeys.transform(withDefaultModels).superRefine(checkCrossReferences);

/** An instance that lists no models serves every model of every group: the one-instance stack needs no list. */
function withDefaultModels(config: z.output<typeof stackKeys>) {
    const groupModels = [...new Set(Object.values(config.groups).flat())];
    return {
        ...config,
        hosts: config.hosts.map((host) => ({
            ...host,
            ollama: host.ollama.map((instance) => ({ ...instance, models: instance.models ?? groupModels })),
        })),
    };
}

export type StackConfigInput = z.input<typeof stackSchema>;
export type StackConfig = z.output<typeof stackSchema>;
export type HostConfig = StackConfig["hosts"][number];
export type OllamaInstanceConfig = HostConfig["ollama"][number];
export type GpuRequest = OllamaInstanceConfig["gpu"];
export type OllamaTuning = StackConfig["ollama"];

/** Config keys that hold secrets: their values never appear in messages. */
export const SECRET_KEYS = ["cloudApiKey"];

/** Rules that span several keys: names, ports, groups, fallbacks, hosts and reachability. */
function checkCrossReferences(config: StackConfig, ctx: z.RefinementCtx): void {
    const problem: Problem = (path, message, input) => ctx.addIssue({ code: "custom", path, message, input });
    /** A problem with a key itself rather than its value: the message names it. */
    const keyProblem = (path: (string | number)[], message: string) =>
        ctx.addIssue({ code: "custom", path, message, params: { aboutKey: true } });

    const hostNames = config.hosts.map((h) => h.name);
    config.hosts.forEach((h, i) => {
        if (hostNames.indexOf(h.name) !== i) problem(["hosts", i, "name"], "is used by another host", h.name);
    });

    const instanceOwners = new Map<string, string>();
    config.hosts.forEach((h, i) =>
        h.ollama.forEach((instance, j) => {
            const key = `hosts[${i}].ollama[${j}].name`;
            const clash = instanceOwners.get(instance.name);
            if (clash) problem(["hosts", i, "ollama", j, "name"], `is already the name of ${clash}`, instance.name);
            else if (isServiceContainerName(instance.name))
                problem(["hosts", i, "ollama", j, "name"], "is the name of another service's container", instance.name);
            instanceOwners.set(instance.name, key);
        }),
    );

    let placementInvalid = false;
    const placedOn = (path: (string | number)[], placement: string | undefined) => {
        if (placement !== undefined && !hostNames.includes(placement)) {
            problem(path, `is not one of the hosts (${hostNames.join(", ")})`, placement);
            placementInvalid = true;
        }
    };
    (config.router.hosts ?? []).forEach((routerHost, i) => {
        placedOn(["router", "hosts", i], routerHost);
        if (config.router.hosts!.indexOf(routerHost) !== i) {
            problem(["router", "hosts", i], "is listed twice", routerHost);
            placementInvalid = true;
        }
    });
    placedOn(["openWebUI", "host"], config.openWebUI.host);
    placedOn(["qdrant", "host"], config.qdrant.host);

    const served = new Set(config.hosts.flatMap((h) => h.ollama.flatMap((o) => o.models)));
    const groupNames = Object.keys(config.groups);
    if (groupNames.length === 0)
        problem(
            ["groups"],
            "defines no model group (define at least one, e.g. fast: [llama3.2:3b], and list its model under an Ollama instance's models)",
            config.groups,
        );
    for (const [group, models] of Object.entries(config.groups)) {
        if (RESERVED_GROUPS.includes(group))
            keyProblem(["groups", group], `is a name the router reserves for itself (${RESERVED_GROUPS.join(", ")})`);
        models.forEach((model, i) => {
            if (!served.has(model))
                problem(
                    ["groups", group, i],
                    "is not pulled by any Ollama instance (add it to an instance's models)",
                    model,
                );
        });
    }
    for (const [group, targets] of Object.entries(config.router.fallbacks)) {
        if (!groupNames.includes(group))
            problem(
                ["router", "fallbacks", group],
                `falls back from a group that does not exist (groups: ${groupNames.join(", ")})`,
                group,
            );
        targets.forEach((target, i) => {
            if (target === group) problem(["router", "fallbacks", group, i], "is the group itself", target);
            else if (!groupNames.includes(target))
                problem(["router", "fallbacks", group, i], `is not a group (groups: ${groupNames.join(", ")})`, target);
        });
    }

    if (config.cloud.enabled && !config.cloudApiKey)
        problem(
            ["cloudApiKey"],
            "is required when cloud.enabled is true (pulumi config set --secret cloudApiKey <key>)",
            undefined,
        );
    checkRouting(config, problem);
    checkOpenWebUI(config, problem);

    // Ports and reachability are judged per host: they mean nothing while a placement is wrong.
    if (placementInvalid) return;
    checkPorts(config, problem);
    checkReachability(config, problem);
}

/** Open WebUI's keys that name other parts of the stack: its embedding model, the routing filter's examples. */
function checkOpenWebUI(config: StackConfig, problem: Problem): void {
    const { embeddingModel, routingFilter } = config.openWebUI;
    if (embeddingModel !== undefined && openWebUIEmbeddingHost(config) === undefined)
        problem(
            ["openWebUI", "embeddingModel"],
            "is not pulled by any Ollama instance (add it to an instance's models)",
            embeddingModel,
        );
    if (routingFilter.useEmbeddings && config.routing && !config.routing.embedding)
        problem(
            ["openWebUI", "routingFilter", "useEmbeddings"],
            "is true, but routing.embedding is not set, so the filter has nothing to compare prompts with (set routing.embedding, or remove this key)",
            routingFilter.useEmbeddings,
        );
}

/**
 * The host whose Ollama instance serves Open WebUI's embedding model: Open WebUI's own host when one of its
 * instances pulls it, else the first host that does; undefined without such an instance or model.
 */
export function openWebUIEmbeddingHost(config: StackConfig): string | undefined {
    const model = config.openWebUI.embeddingModel;
    if (model === undefined) return undefined;
    const pulling = config.hosts.filter((h) => h.ollama.some((instance) => instance.models.includes(model)));
    return (pulling.find((h) => h.name === placements(config).openWebUI) ?? pulling[0])?.name;
}

/** Container names the services other than Ollama use on a host's networks (routers are litellm, litellm-2, ...; doors door, door-<host>). */
export function isServiceContainerName(containerName: string): boolean {
    return /^(litellm|door)(-|$)/.test(containerName) || ["open-webui", "qdrant", "redis"].includes(containerName);
}

export type Problem = (path: (string | number)[], message: string, input: unknown) => void;

/** Two services may not publish the same port on one host. */
function checkPorts(config: StackConfig, problem: Problem): void {
    const placed = placements(config);
    const lastReplicaPort = config.router.port + config.router.replicas - 1;
    if (lastReplicaPort > 65535)
        problem(
            ["router", "port"],
            `gives router replica ${config.router.replicas} port ${lastReplicaPort}, which is not a port (with ${config.router.replicas} replicas, at most ${65536 - config.router.replicas})`,
            config.router.port,
        );
    config.hosts.forEach((h, i) => {
        const taken = new Map<number, string>();
        /** `replica` names a router replica above the first, whose port is router.port + its index. */
        const claim = (path: (string | number)[], value: number, replica?: number) => {
            const what = replica ? `${formatPath(path)} (replica ${replica + 1}: ${value})` : formatPath(path);
            const owner = taken.get(value);
            if (!owner) taken.set(value, what);
            else if (replica)
                problem(
                    path,
                    `gives router replica ${replica + 1} port ${value}, already used by ${PROJECT}:${owner} on host ${h.name}`,
                    value,
                );
            else problem(path, `is already used by ${PROJECT}:${owner} on host ${h.name}`, value);
        };
        h.ollama.forEach((instance, j) => claim(["hosts", i, "ollama", j, "port"], instance.port));
        if (placed.routers.includes(h.name)) {
            for (let replica = 0; replica < config.router.replicas; replica++)
                claim(["router", "port"], config.router.port + replica, replica);
        }
        if (placed.router === h.name) {
            if (config.cloud.enabled) claim(["cloud", "port"], config.cloud.port);
            if (redisPublished(config)) claim(["router", "redisPort"], config.router.redisPort);
        }
        if (config.openWebUI.enabled && placed.openWebUI === h.name)
            claim(["openWebUI", "port"], config.openWebUI.port);
        if (config.qdrant.enabled && placed.qdrant === h.name) claim(["qdrant", "port"], config.qdrant.port);
    });
}

/** Routers share cooldowns and usage through Redis once there is more than one. */
export function needsRedis(config: StackConfig): boolean {
    return placements(config).routers.length * config.router.replicas > 1;
}

/** Redis is reached over the Docker network on its own host; routers on other hosts need its port published. */
export function redisPublished(config: StackConfig): boolean {
    return placements(config).routers.length > 1;
}

/**
 * Services on one host reach another host through its bindAddress, so that address must be one other
 * machines can reach, stated explicitly: never loopback, never a wildcard that publishes everywhere.
 * Health checks and model pulls run where `pulumi up` runs, so a remote host needs the same.
 */
function checkReachability(config: StackConfig, problem: Problem): void {
    const placed = placements(config);
    config.hosts.forEach((h, i) => {
        const reasons: string[] = [];
        if (h.docker.startsWith("ssh://"))
            reasons.push("health checks and model pulls run on the machine that runs pulumi up");
        const otherRouter = placed.routers.find((r) => r !== h.name);
        if (otherRouter) reasons.push(`the router on host ${otherRouter} uses its Ollama instances`);
        if (placed.router === h.name && redisPublished(config))
            reasons.push(`the routers on host ${placed.routers.filter((r) => r !== h.name)[0]} use its Redis`);
        const uiRouterHost = placed.routers.includes(placed.openWebUI) ? placed.openWebUI : placed.router;
        if (uiRouterHost === h.name && config.openWebUI.enabled && placed.openWebUI !== h.name)
            reasons.push(`Open WebUI on host ${placed.openWebUI} uses its router`);
        if (
            placed.qdrant === h.name &&
            config.qdrant.enabled &&
            config.openWebUI.enabled &&
            placed.openWebUI !== h.name
        )
            reasons.push(`Open WebUI on host ${placed.openWebUI} uses its Qdrant`);
        if (reasons.length > 0 && (isLoopbackAddress(h.bindAddress) || isWildcardAddress(h.bindAddress)))
            problem(
                ["hosts", i, "bindAddress"],
                `cannot be reached from other machines (${reasons[0]}): set this host's LAN or VPN address`,
                h.bindAddress,
            );
        else if (isWildcardAddress(h.bindAddress) && !h.allowWildcardBind)
            problem(
                ["hosts", i, "bindAddress"],
                `publishes every port, Ollama's unauthenticated API included, on every interface of host ${h.name}: ` +
                    `give one address of the host, or set ${PROJECT}:hosts[${i}].allowWildcardBind: true to accept that`,
                h.bindAddress,
            );
    });
}

/** Which hosts run each shared service. `router` is the first router host: the cloud router and Redis run there. */
export function placements(config: StackConfig): {
    routers: string[];
    router: string;
    openWebUI: string;
    qdrant: string;
} {
    const first = config.hosts[0].name;
    const routers = config.router.hosts ?? [first];
    return {
        routers,
        router: routers[0],
        openWebUI: config.openWebUI.host ?? first,
        qdrant: config.qdrant.host ?? first,
    };
}

/** `hosts[0].ollama[1].port`: the path of a config value as operators write it with `--path`. */
export function formatPath(path: readonly PropertyKey[]): string {
    return path
        .map((part, i) => (typeof part === "number" ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`))
        .join("");
}
