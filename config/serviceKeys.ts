/**
 * The keys of the shared services: `ai-gateway:images`, `router`, `cloud`, `openWebUI` and `qdrant`.
 */
import { z } from "zod";
import { modelTag, name, nonNegativeInt, pinnedImage, port, positiveInt, refuseUserinfo } from "./primitives";

export const CLOUD_GROUP = "cloud";
/** Group names the router reserves for itself: the cloud deployment on 4001 and routing by content. */
export const RESERVED_GROUPS = [CLOUD_GROUP, "auto"];

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

export const images = z
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

export const router = z
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

export const cloud = z
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
            .optional()
            .describe(
                "With ai-gateway:routing set, `pulumi up` installs the routing filter into Open WebUI and keeps it in step with the routes. false: Open WebUI's functions are left alone (install it by hand from /app/ai-gateway). Unset: true on Docker; false on Kubernetes, where `up` cannot reach Open WebUI's API.",
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

export const openWebUI = z
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

export const qdrant = z
    .strictObject({
        enabled: z.boolean({ error: "is not true or false" }).default(false).describe("Deploy Qdrant."),
        host: name("host").optional().describe("Host that runs it. Default: the first host."),
        port: port.default(6333).describe("Port of Qdrant's HTTP API (gRPC and cluster ports are never published)."),
    })
    .describe("Qdrant vector store; Open WebUI uses it when enabled.");
