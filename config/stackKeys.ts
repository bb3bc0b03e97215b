/**
 * The keys of the `ai-gateway:*` namespace as one object, with the defaults that depend on other keys filled
 * in, and the types of the validated config. The rules that span several keys are in config/crossChecks.ts;
 * config/schema.ts puts the two together.
 */
import { z } from "zod";
import { routingKey } from "../routing/schema";
import { DEFAULT_HOSTS, host, tuning } from "./hostKeys";
import { gpuRequest, modelTag, name } from "./primitives";
import { kubernetes, target } from "./kubernetesKeys";
import { remoteAccessKey } from "./remoteAccessKeys";
import { cloud, images, openWebUI, qdrant, router } from "./serviceKeys";

/** The keys of the `ai-gateway:*` namespace, before defaults that depend on each other are filled in. */
export const stackKeys = z.strictObject({
    target,
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
    remoteAccess: remoteAccessKey,
    kubernetes,
});

/** The keys with the defaults that depend on other keys filled in. */
export const stackShape = stackKeys.transform(withDependentDefaults);

/**
 * An instance that lists no models serves every model of every group: the one-instance stack needs no list. An
 * instance that asks for no GPU in particular gets every GPU of its Docker host, or one on Kubernetes, which
 * hands out GPUs by count only. `up` installs the routing filter into Open WebUI where it can reach Open WebUI's
 * API, on Docker; on Kubernetes the filter is shipped for an install by hand.
 */
function withDependentDefaults(config: z.output<typeof stackKeys>) {
    const groupModels = [...new Set(Object.values(config.groups).flat())];
    const kubernetes = config.target === "kubernetes";
    const defaultGpu: GpuRequest = kubernetes ? 1 : "all";
    const { routingFilter } = config.openWebUI;
    return {
        ...config,
        openWebUI: {
            ...config.openWebUI,
            routingFilter: { ...routingFilter, install: routingFilter.install ?? !kubernetes },
        },
        hosts: config.hosts.map((host) => ({
            ...host,
            ollama: host.ollama.map((instance) => ({
                ...instance,
                gpu: instance.gpu ?? defaultGpu,
                models: instance.models ?? groupModels,
            })),
        })),
    };
}

export type StackConfigInput = z.input<typeof stackShape>;
export type StackConfig = z.output<typeof stackShape>;
export type HostConfig = StackConfig["hosts"][number];
export type OllamaInstanceConfig = HostConfig["ollama"][number];
export type GpuRequest = z.output<typeof gpuRequest>;
export type OllamaTuning = StackConfig["ollama"];

/** Config keys that hold secrets: their values never appear in messages. */
export const SECRET_KEYS = ["cloudApiKey"];
