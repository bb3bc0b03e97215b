/**
 * The keys of `ai-gateway:hosts` and `ai-gateway:ollama`: the Docker hosts, their Ollama instances and the
 * tuning every instance gets.
 */
import { z } from "zod";
import {
    dockerEndpoint,
    durationPattern,
    gpuRequest,
    ipAddress,
    modelTag,
    name,
    ollamaModelKey,
    port,
    positiveInt,
    sameOllamaModel,
} from "./primitives";

export const ollamaInstance = z
    .strictObject({
        name: name("container").describe(
            "Its name, which no other service of the stack may have: its container's on Docker (how the router reaches it on the Docker network), its StatefulSet's and Service's on Kubernetes.",
        ),
        port: port.describe(
            "Its port: published on the host's bindAddress (Docker), its Service's (Kubernetes). The container listens on 11434.",
        ),
        gpu: gpuRequest
            .optional()
            .describe(
                'NVIDIA GPUs: "all", "none" (CPU), a count, or device ids ["0","1"]. Unset: "all" on Docker, 1 on Kubernetes (which gives a pod whole GPUs by count only).',
            ),
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

export const host = z
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

export const DEFAULT_HOSTS = [{ name: "local" }];

export const tuning = z
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
