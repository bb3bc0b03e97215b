import { validateStackConfig } from "../../config/load";
import { minimalConfig, problemsOf } from "../support/stack";

/** A valid Kubernetes stack: one CPU instance, the router. */
const onKubernetes = (extra: Record<string, unknown> = {}) => ({
    target: "kubernetes",
    hosts: [{ name: "cluster", ollama: [{ name: "ollama", port: 11434, models: ["llama3.2:3b"] }] }],
    groups: { fast: ["llama3.2:3b"] },
    ...extra,
});

describe("the target", () => {
    it("is docker unless the stack says otherwise, and nothing of an existing stack changes", () => {
        const config = validateStackConfig(minimalConfig());
        expect(config.target).toBe("docker");
        expect(config.hosts[0].ollama[0].gpu).toBe("all");
        expect(config.openWebUI.routingFilter.install).toBe(true);
        expect(problemsOf({ ...minimalConfig(), target: "swarm" })).toEqual([
            'ai-gateway:target: "swarm" is not a target (docker | kubernetes)',
        ]);
    });

    it("refuses the kubernetes key on Docker, which would ignore it", () => {
        expect(problemsOf({ ...minimalConfig(), kubernetes: { namespace: "ai" } })).toEqual([
            "ai-gateway:kubernetes: is set, but ai-gateway:target is docker (set target: kubernetes to use it, or remove it)",
        ]);
    });
});

describe("a stack on Kubernetes", () => {
    it("gets one GPU per instance by default, the cluster's defaults for the GPU operator, and ships the routing filter", () => {
        const config = validateStackConfig(onKubernetes());
        expect(config.hosts[0].ollama[0].gpu).toBe(1);
        expect(config.openWebUI.routingFilter.install).toBe(false);
        expect(config.kubernetes).toMatchObject({
            namespace: "ai-gateway",
            gpuResource: "nvidia.com/gpu",
            runtimeClassName: "nvidia",
            nodeSelector: { "nvidia.com/gpu.present": "true" },
            tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
            volumeSizes: { models: "100Gi", openWebUI: "10Gi", qdrant: "10Gi" },
            keepDataOnDestroy: true,
            timeoutSeconds: 900,
        });
    });

    it("refuses every key only a Docker host has, naming it and what to use instead", () => {
        const raw = onKubernetes({
            hosts: [
                {
                    name: "cluster",
                    docker: "ssh://ops@gpu",
                    bindAddress: "10.0.0.5",
                    allowWildcardBind: true,
                    dataDir: "/srv",
                    ollama: [{ name: "ollama", port: 11434, models: ["llama3.2:3b"] }],
                },
            ],
            router: { hosts: ["cluster"] },
            openWebUI: { host: "cluster" },
            qdrant: { enabled: true, host: "cluster" },
            images: { door: "haproxy:2.6.12" },
        });
        expect(problemsOf(raw)).toEqual([
            "ai-gateway:hosts[0].docker: means nothing on Kubernetes: the cluster is reached through kubernetes.kubeconfig and kubernetes.context (remove it)",
            "ai-gateway:hosts[0].bindAddress: means nothing on Kubernetes: Kubernetes publishes no host port: the services are reached through their Services, an Ingress (kubernetes.ingress) or kubectl port-forward (remove it)",
            "ai-gateway:hosts[0].allowWildcardBind: means nothing on Kubernetes: Kubernetes publishes no host port (remove it)",
            "ai-gateway:hosts[0].dataDir: means nothing on Kubernetes: data lives in volume claims (kubernetes.storageClass, kubernetes.volumeSizes) (remove it)",
            "ai-gateway:router.hosts: means nothing on Kubernetes: the scheduler places the routers (router.replicas says how many) (remove it)",
            "ai-gateway:openWebUI.host: means nothing on Kubernetes: the scheduler places Open WebUI (remove it)",
            "ai-gateway:qdrant.host: means nothing on Kubernetes: the scheduler places Qdrant (remove it)",
            "ai-gateway:images.door: means nothing on Kubernetes: the cluster's Services and NetworkPolicies do the door's work (remove it)",
        ]);
    });

    it("refuses GPU requests Kubernetes cannot count, and a name a Service cannot have", () => {
        const instances = [
            { name: "ollama", port: 11434, gpu: "all", models: ["llama3.2:3b"] },
            { name: "ollama-2", port: 11434, gpu: ["0", "1"], models: ["llama3.2:3b"] },
            { name: "ollama-", port: 11434, gpu: 2, models: ["llama3.2:3b"] },
        ];
        expect(problemsOf(onKubernetes({ hosts: [{ name: "cluster", ollama: instances }] }))).toEqual([
            'ai-gateway:hosts[0].ollama[0].gpu: "all" is not a GPU count: Kubernetes gives a pod whole GPUs by count (give a number, or "none")',
            'ai-gateway:hosts[0].ollama[1].gpu: ["0","1"] is not a GPU count: Kubernetes gives a pod whole GPUs by count (give a number, or "none")',
            'ai-gateway:hosts[0].ollama[2].name: "ollama-" is not a Kubernetes name: it ends with "-" (end it with a letter or digit)',
        ]);
    });

    it("refuses installing the routing filter through Open WebUI's API, and an Ingress for what is not deployed", () => {
        const raw = onKubernetes({
            openWebUI: { enabled: false, routingFilter: { install: true } },
            kubernetes: { ingress: { host: "ai.lan", expose: ["router", "openWebUI"] } },
        });
        expect(problemsOf(raw)).toEqual([
            "ai-gateway:openWebUI.routingFilter.install: true cannot be true on Kubernetes: `up` cannot reach Open WebUI's API from this machine; the filter is shipped in the pod at /app/ai-gateway for an install by hand (remove it)",
            'ai-gateway:kubernetes.ingress.expose[1]: "openWebUI" is not deployed (openWebUI.enabled is false): remove it, or enable Open WebUI',
        ]);
    });

    it("checks the kubernetes key's values like every other key", () => {
        const raw = onKubernetes({
            kubernetes: {
                namespace: "AI",
                gpuResource: "nvidia gpu",
                resources: { router: { requests: { memory: "8 GB" } } },
                volumeSizes: { models: "lots" },
                tolerations: [{ key: "nvidia.com/gpu", effect: "Never" }],
                timeoutSeconds: 0,
                ingres: {},
            },
        });
        expect(problemsOf(raw)).toEqual([
            'ai-gateway:kubernetes.namespace: "AI" is not a namespace (lower-case letters, digits, "-"; e.g. ai-gateway)',
            'ai-gateway:kubernetes.volumeSizes.models: "lots" is not a quantity (e.g. "500m", "2", "8Gi")',
            'ai-gateway:kubernetes.gpuResource: "nvidia gpu" is not a resource name (e.g. "nvidia.com/gpu" or "nvidia.com/mig-1g.10gb")',
            'ai-gateway:kubernetes.tolerations[0].effect: "Never" is not a taint effect ("NoSchedule", "PreferNoSchedule" or "NoExecute")',
            "ai-gateway:kubernetes.timeoutSeconds: 0 is not a number of seconds (a whole number, 1 or more)",
            'ai-gateway:kubernetes.resources.router.requests.memory: "8 GB" is not a quantity (e.g. "500m", "2", "8Gi")',
            expect.stringMatching(
                /^ai-gateway:kubernetes\.ingres: unknown key \(allowed: kubeconfig, context, namespace, /,
            ),
        ]);
    });
});
