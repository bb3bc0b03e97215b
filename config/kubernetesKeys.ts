/**
 * The keys of the Kubernetes target: `ai-gateway:target` picks where the stack runs, and `ai-gateway:kubernetes`
 * says how it runs on a cluster. The groups, routing, fallbacks, cloud, Open WebUI and Qdrant keys mean the same
 * on both targets; the keys that only a Docker host has are refused on Kubernetes (config/targetChecks.ts).
 */
import { z } from "zod";

/** Where the stack runs. */
export const TARGETS = ["docker", "kubernetes"] as const;

export const target = z
    .enum(TARGETS, { error: `is not a target (${TARGETS.join(" | ")})` })
    .default("docker")
    .describe(
        "Where the stack runs: Docker hosts (`ai-gateway:hosts`), or a Kubernetes cluster (`ai-gateway:kubernetes`).",
    );

/** A DNS-1123 label: a namespace's, a Service's, a RuntimeClass's. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A DNS-1123 subdomain: a StorageClass's or an Ingress class's name, a host name. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** An extended resource name: `nvidia.com/gpu`, a MIG profile `nvidia.com/mig-1g.10gb`. */
const RESOURCE_NAME =
    /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
/** A label key (`prefix/name`) or value, as Kubernetes allows them. */
const LABEL_KEY =
    /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
/** A quantity: `500m`, `2`, `8Gi`, `1.5G`. */
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

const dnsName = (pattern: RegExp, what: string, example: string) =>
    z
        .string({ error: `is not ${what}` })
        .regex(pattern, { error: `is not ${what} (lower-case letters, digits, "-"; e.g. ${example})` });

const quantity = z
    .string({ error: 'is not a quantity (e.g. "500m", "2", "8Gi")' })
    .regex(QUANTITY, { error: 'is not a quantity (e.g. "500m", "2", "8Gi")' });

const resourceList = z
    .strictObject({
        cpu: quantity.optional().describe("CPU, in cores or millicores (`500m`)."),
        memory: quantity.optional().describe("Memory (`8Gi`)."),
    })
    .describe("CPU and memory.");

const resources = z
    .strictObject({
        requests: resourceList.optional().describe("What the scheduler reserves for each pod."),
        limits: resourceList.optional().describe("The most each pod may use."),
    })
    .describe("A service's `resources`, as a pod spec has them; the GPU limit comes from the instance's gpu.");

const toleration = z
    .strictObject({
        key: z.string({ error: "is not a taint key" }).regex(LABEL_KEY, { error: "is not a taint key" }).optional(),
        operator: z
            .enum(["Exists", "Equal"], { error: 'is not a toleration operator ("Exists" or "Equal")' })
            .default("Exists"),
        value: z
            .string({ error: "is not a taint value" })
            .regex(LABEL_VALUE, { error: "is not a taint value" })
            .optional(),
        effect: z
            .enum(["NoSchedule", "PreferNoSchedule", "NoExecute"], {
                error: 'is not a taint effect ("NoSchedule", "PreferNoSchedule" or "NoExecute")',
            })
            .optional(),
    })
    .describe("A toleration, as a pod spec has it.");

/** Where the NVIDIA GPU operator puts GPU work: its label and taint. */
export const DEFAULT_GPU_NODE_SELECTOR = { "nvidia.com/gpu.present": "true" };
export const DEFAULT_GPU_TOLERATIONS = [
    { key: "nvidia.com/gpu", operator: "Exists" as const, effect: "NoSchedule" as const },
];

export const kubernetes = z
    .strictObject({
        kubeconfig: z
            .string({ error: "is not a path" })
            .min(1, { error: "is empty" })
            .optional()
            .describe("Path of the kubeconfig file. Unset: KUBECONFIG, else ~/.kube/config, as kubectl reads it."),
        context: z
            .string({ error: "is not a context name" })
            .min(1, { error: "is empty" })
            .optional()
            .describe("Context of the kubeconfig to use. Unset: its current-context."),
        namespace: dnsName(DNS_LABEL, "a namespace", "ai-gateway")
            .default("ai-gateway")
            .describe("Namespace of every object of the stack; `up` creates it."),
        storageClass: dnsName(DNS_SUBDOMAIN, "a StorageClass name", "local-path")
            .optional()
            .describe(
                "StorageClass of the volumes (models, Open WebUI's and Qdrant's data). Unset: the cluster's default.",
            ),
        volumeSizes: z
            .strictObject({
                models: quantity.default("100Gi").describe("Each Ollama instance's models."),
                openWebUI: quantity.default("10Gi").describe("Open WebUI's data."),
                qdrant: quantity.default("10Gi").describe("Qdrant's collections."),
            })
            .prefault({})
            .describe("Size of each volume claim."),
        keepDataOnDestroy: z
            .boolean({ error: "is not true or false" })
            .default(true)
            .describe(
                "`destroy` keeps the namespace and the volume claims (models, Open WebUI's accounts and chats, Qdrant's collections), as the Docker target keeps dataDir; false deletes them with the stack.",
            ),
        gpuResource: z
            .string({ error: "is not a resource name" })
            .regex(RESOURCE_NAME, {
                error: 'is not a resource name (e.g. "nvidia.com/gpu" or "nvidia.com/mig-1g.10gb")',
            })
            .default("nvidia.com/gpu")
            .describe(
                "The extended resource GPU instances ask for: what the NVIDIA device plugin advertises, or a MIG profile.",
            ),
        runtimeClassName: z
            .union([dnsName(DNS_SUBDOMAIN, "a RuntimeClass name", "nvidia"), z.literal("")], {
                error: 'is not a RuntimeClass name (e.g. "nvidia", or "" for none)',
            })
            .default("nvidia")
            .describe(
                'RuntimeClass of GPU instances: the GPU operator\'s "nvidia", or "" where the NVIDIA runtime is the default.',
            ),
        nodeSelector: z
            .record(
                z.string().regex(LABEL_KEY, { error: "is not a label key" }),
                z.string({ error: "is not a label value" }).regex(LABEL_VALUE, { error: "is not a label value" }),
            )
            .default(DEFAULT_GPU_NODE_SELECTOR)
            .describe(
                "Node labels a GPU instance's node must have. Default: the GPU operator's nvidia.com/gpu.present.",
            ),
        tolerations: z
            .array(toleration)
            .default(DEFAULT_GPU_TOLERATIONS)
            .describe("Taints a GPU instance tolerates. Default: the nvidia.com/gpu taint of GPU nodes."),
        ingress: z
            .strictObject({
                host: dnsName(DNS_SUBDOMAIN, "a host name", "ai.example.com").describe("The name clients use."),
                className: dnsName(DNS_SUBDOMAIN, "an IngressClass name", "nginx")
                    .optional()
                    .describe("IngressClass. Unset: the cluster's default."),
                tlsSecret: dnsName(DNS_SUBDOMAIN, "a Secret name", "ai-tls")
                    .optional()
                    .describe(
                        "Secret with the certificate for host (kubernetes.io/tls). Unset: plain HTTP at the Ingress.",
                    ),
                expose: z
                    .array(
                        z.enum(["openWebUI", "router"], {
                            error: 'is not a service the Ingress can expose ("openWebUI" or "router")',
                        }),
                    )
                    .min(1, { error: "exposes nothing (give openWebUI and/or router)" })
                    .default(["openWebUI"])
                    .describe(
                        "What the Ingress serves: Open WebUI at /, the router's OpenAI API (with its key) at /v1.",
                    ),
            })
            .optional()
            .describe(
                "An Ingress for the people and programs outside the cluster. Unset: none (use kubectl port-forward).",
            ),
        timeoutSeconds: z
            .number({ error: "is not a number of seconds (a whole number, 1 or more)" })
            .int({ error: "is not a number of seconds (a whole number, 1 or more)" })
            .min(1, { error: "is not a number of seconds (a whole number, 1 or more)" })
            .default(900)
            .describe(
                "How long `up` waits for a workload to be ready (images are pulled then) or a model pull to finish. A pod the scheduler cannot place fails at once, with its reason.",
            ),
        resources: z
            .strictObject({
                ollama: resources.optional().describe("Each Ollama instance."),
                router: resources.optional().describe("Each router pod, the cloud router's too."),
                openWebUI: resources.optional().describe("Open WebUI."),
                qdrant: resources.optional().describe("Qdrant."),
                redis: resources.optional().describe("Redis."),
            })
            .prefault({})
            .describe("Per service `resources`. Unset: none, as the cluster's defaults have it."),
    })
    .prefault({})
    .describe("How the stack runs on Kubernetes (with target: kubernetes).");

export type KubernetesConfig = z.output<typeof kubernetes>;
