/**
 * The stack config schema: every `ai-gateway:*` key, its default and what it allows.
 *
 * This file is the one place where defaults live. README's config reference is generated from it
 * (`npm run docs:config`), and a test fails when the two drift apart.
 * Messages are written to follow the offending value: `70000 is not a port (1-65535)`.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { isLoopbackAddress, isWildcardAddress, zoneOf } from "./addresses";
import {
    PlannedContainer,
    folderRelation,
    modelPullName,
    needsRedis,
    normalFolder,
    ollamaContainers,
    placements,
    redisPublished,
    serviceContainers,
} from "./plan";
import { checkRemoteAccess, remoteAccessKey } from "./remoteAccess";
import { checkRouting, routingKey } from "./routing";

// Where the services run is decided with their names (config/plan.ts); its users have always found it here.
export { needsRedis, placements, redisPublished };

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
    .refine((value) => isIP(value) !== 0, { error: "is not an IP address (e.g. 127.0.0.1 or 192.168.1.20)" })
    .superRefine((value, ctx) => {
        const zone = zoneOf(value);
        if (zone !== undefined)
            ctx.addIssue({
                code: "custom",
                message:
                    `has a zone suffix (${zone}), which names an interface, not an address: the wildcard and loopback ` +
                    `checks and Docker's port publishing need the address alone (e.g. "192.168.1.20" or "fd00::20"; ` +
                    "a link-local fe80:: address, which needs a zone, cannot be used)",
                input: value,
            });
    });

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

/**
 * A model name as Ollama compares names: case ignored (Ollama 0.17.4, types/model/name.go `EqualFold`), a name
 * without a tag read as `:latest`, the default registry and namespace left out. Two names with one key are one
 * model to Ollama, which lists the second in the case of the first. providers/ollamaModel.ts compares the same way.
 */
export function ollamaModelKey(tag: string): string {
    const tagged = /:[^/]+$/.test(tag) ? tag : `${tag}:latest`;
    return tagged.toLowerCase().replace(/^(registry\.ollama\.ai\/)?(library\/)?/, "");
}

/** Why `model` is refused next to `other`, found at `where`: both are one model to Ollama. */
function sameOllamaModel(other: string, where: string, fix: string): string {
    return (
        `is the model of ${where} (${JSON.stringify(other)}) to Ollama, which ignores case in names and reads a ` +
        `name without a tag as :latest (${fix})`
    );
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
        name: name("container").describe(
            "Container name, which no other container of the stack may have; also how the router reaches it on the Docker network.",
        ),
        port: port.describe("Host port published on the host's bindAddress (the container listens on 11434)."),
        gpu: gpuRequest.default("all").describe('NVIDIA GPUs: "all", "none" (CPU), a count, or device ids ["0","1"].'),
        models: z
            .array(modelTag)
            .optional()
            .describe("Models pulled into this instance during `pulumi up`. Unset: every model the groups name."),
    })
    .superRefine((instance, ctx) => {
        const keys = (instance.models ?? []).map(ollamaModelKey);
        instance.models?.forEach((model, i) => {
            const first = keys.indexOf(keys[i]);
            if (instance.models!.indexOf(model) !== i)
                ctx.addIssue({ code: "custom", path: ["models", i], message: "is listed twice", input: model });
            else if (first !== i)
                ctx.addIssue({
                    code: "custom",
                    path: ["models", i],
                    message: sameOllamaModel(
                        instance.models![first],
                        `models[${first}]`,
                        "list each model once, in one spelling",
                    ),
                    input: model,
                });
        });
    })
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

/** An http(s) URL's user name and password, if it has any: `[scheme://, userinfo@]`. */
const URL_USERINFO = /^(https?:\/\/)[^@/?#]*@/i;

/** `value` with the user name and password of an http(s) URL in it masked, as messages show it. */
export function maskUrlUserinfo(value: string): string {
    return value.replace(URL_USERINFO, "$1***@");
}

/**
 * A URL's user name and password would be written in plain text wherever the URL goes (the render, the
 * routerConfigs output): refused. Messages show the URL with them masked (config/load.ts).
 */
function refuseUserinfo(value: string, ctx: z.RefinementCtx): void {
    // A value that is no http(s) URL has its own message already.
    if (!URL_USERINFO.test(value) || !URL.canParse(value)) return;
    ctx.addIssue({
        code: "custom",
        message:
            "holds a user name or password, which would be written in plain text into the render and the " +
            `routerConfigs output (give the URL without them; the provider's key is the secret ${PROJECT}:cloudApiKey)`,
        input: value,
    });
}

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
            .superRefine(refuseUserinfo)
            .optional()
            .describe(
                "Base URL of the cloud provider's API, for a provider behind a gateway or proxy (e.g. https://gateway.example/v1), without a user name or password. Unset: the provider's own.",
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
    remoteAccess: remoteAccessKey({ hostName: name("host"), port, ipAddress }),
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
    /** The first spelling of each model in the groups, and where it is: another spelling is refused. */
    const spellings = new Map<string, { model: string; where: string }>();
    for (const [group, models] of Object.entries(config.groups)) {
        models.forEach((model, i) => {
            const first = spellings.get(ollamaModelKey(model));
            if (!first) spellings.set(ollamaModelKey(model), { model, where: `groups.${group}[${i}]` });
            else if (first.model !== model)
                problem(
                    ["groups", group, i],
                    sameOllamaModel(first.model, first.where, "spell each model one way"),
                    model,
                );
        });
    }
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
    checkNames(config, problem, placementInvalid);

    // Ports and reachability are judged per host: they mean nothing while a placement is wrong.
    if (placementInvalid) return;
    checkPorts(config, problem);
    checkReachability(config, problem);
    checkRemoteAccess(config, problem);
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

export type Problem = (path: (string | number)[], message: string, input: unknown) => void;

const OWN_NAME = "every container of the stack needs a name of its own";

/**
 * Names that must not collide, computed by the functions that name things (config/plan.ts):
 * - every container of the stack has a name of its own: its name in Docker and on its host's network, and the
 *   name of its resources in the stack's state, whichever host it runs on;
 * - no two containers on one Docker engine keep their data in one folder, or one inside the other's: deleting
 *   an instance's folder would delete another service's data;
 * - no two model pulls have one resource name (`<instance>-<model>`), which `pulumi up` refuses.
 * The key blamed is the name the config chose (an instance's, or the host's in a router's name), the later one
 * when both chose theirs. While a placement is wrong only the Ollama instances are checked.
 */
function checkNames(config: StackConfig, problem: Problem, placementInvalid: boolean): void {
    const containers = [...ollamaContainers(config), ...(placementInvalid ? [] : serviceContainers(config))];
    const fix = (container: PlannedContainer) =>
        container.namedBy?.renames === "host" ? "rename the host" : "rename the instance";
    const blame = (a: PlannedContainer, b: PlannedContainer): [PlannedContainer, PlannedContainer] => {
        const [blamed, other] = b.namedBy || !a.namedBy ? [b, a] : [a, b];
        if (!blamed.namedBy) throw new Error(`two containers the stack names itself collide: ${a.what}, ${b.what}`);
        return [blamed, other];
    };

    const reported = new Set<PlannedContainer>();
    const byName = new Map<string, PlannedContainer>();
    for (const container of containers) {
        const earlier = byName.get(container.name);
        if (!earlier) {
            byName.set(container.name, container);
            continue;
        }
        const [blamed, other] = blame(earlier, container);
        const { path, value } = blamed.namedBy!;
        reported.add(blamed);
        problem(
            path,
            blamed.name === value
                ? `is already the name of ${other.what} (${OWN_NAME}: ${fix(blamed)})`
                : `gives ${blamed.what} the container name ${blamed.name}, already the name of ${other.what} (${OWN_NAME}: ${fix(blamed)})`,
            value,
        );
    }

    const folders = containers.flatMap((container) => container.dataDirs.map((folder) => ({ container, folder })));
    folders.forEach((later, i) => {
        for (const earlier of folders.slice(0, i)) {
            if (earlier.container.engine !== later.container.engine) continue;
            if (reported.has(earlier.container) || reported.has(later.container)) continue;
            if (!folderRelation(later.folder, earlier.folder)) continue;
            const sameHost = earlier.container.hostIndex === later.container.hostIndex;
            const [blamed, other] = sameHost
                ? blame(earlier.container, later.container)
                : [later.container, earlier.container];
            const [mine, theirs] = blamed === later.container ? [later, earlier] : [earlier, later];
            const where = {
                same: "",
                inside: `inside ${normalFolder(theirs.folder)}, `,
                holds: `which holds ${normalFolder(theirs.folder)}, `,
            }[folderRelation(mine.folder, theirs.folder)!];
            reported.add(blamed);
            problem(
                sameHost ? blamed.namedBy!.path : ["hosts", blamed.hostIndex, "dataDir"],
                `keeps the data of ${blamed.what} in ${normalFolder(mine.folder)}, ${where}the data folder of ${other.what}` +
                    `${sameHost ? "" : " on the same Docker engine"} (deleting one deletes the other's data: ` +
                    `${sameHost ? fix(blamed) : "give the host another dataDir"})`,
                sameHost ? blamed.namedBy!.value : config.hosts[blamed.hostIndex].dataDir,
            );
            return;
        }
    });

    // Two instances of one name are reported above, as containers.
    const pulls = new Map<string, { instance: string; model: string; instanceName: string }>();
    config.hosts.forEach((h, i) =>
        h.ollama.forEach((instance, j) => {
            const key = `hosts[${i}].ollama[${j}]`;
            for (const model of new Set(instance.models)) {
                const name = modelPullName(instance, model);
                const earlier = pulls.get(name);
                if (!earlier) pulls.set(name, { instance: key, model, instanceName: instance.name });
                else if (earlier.instanceName !== instance.name) {
                    problem(
                        ["hosts", i, "ollama", j, "name"],
                        `pulls ${JSON.stringify(model)} as the resource ${name}, already the name of the pull of ` +
                            `${JSON.stringify(earlier.model)} on the Ollama instance ${earlier.instance} ` +
                            "(every resource of the stack needs a name of its own: rename the instance)",
                        instance.name,
                    );
                    return;
                }
            }
        }),
    );
}

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

/** `hosts[0].ollama[1].port`: the path of a config value as operators write it with `--path`. */
export function formatPath(path: readonly PropertyKey[]): string {
    return path
        .map((part, i) => (typeof part === "number" ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`))
        .join("");
}
