/**
 * The keys of the `ai-gateway:*` namespace as one object, with the defaults that depend on other keys filled
 * in, and the types of the validated config. The rules that span several keys are in config/crossChecks.ts;
 * config/schema.ts puts the two together.
 */
import { z } from "zod";
import { routingKey } from "../routing/schema";
import { DEFAULT_HOSTS, host, tuning } from "./hostKeys";
import { modelTag, name } from "./primitives";
import { cloud, images, openWebUI, qdrant, router } from "./serviceKeys";

/** The keys of the `ai-gateway:*` namespace, before defaults that depend on each other are filled in. */
export const stackKeys = z.strictObject({
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
    routing: routingKey,
});

/** The keys with the defaults that depend on other keys filled in. */
export const stackShape = stackKeys.transform(withDefaultModels);

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

export type StackConfigInput = z.input<typeof stackShape>;
export type StackConfig = z.output<typeof stackShape>;
export type HostConfig = StackConfig["hosts"][number];
export type OllamaInstanceConfig = HostConfig["ollama"][number];
export type GpuRequest = OllamaInstanceConfig["gpu"];
export type OllamaTuning = StackConfig["ollama"];

/** Config keys that hold secrets: their values never appear in messages. */
export const SECRET_KEYS = ["cloudApiKey"];
