/**
 * What each target refuses of what the operator wrote: the keys only a Docker host has mean nothing on
 * Kubernetes, and the Kubernetes key means nothing on Docker. Judged on the keys as written (not with defaults
 * filled in), so a key is refused only where the operator set it.
 */
import { PROJECT } from "./primitives";
import type { StackConfig } from "./stackKeys";

/** A key (or value) a target refuses: its path, what is wrong, the value when the value is the problem. */
export interface TargetProblem {
    /** Path of the key in the `ai-gateway:*` namespace. */
    path: (string | number)[];
    /** Why, and what to do instead. */
    message: string;
    /** The refused value, when it is the value rather than the key. */
    value?: unknown;
}

/** Keys of a host that a cluster has no use for, and why. */
const HOST_ONLY_KEYS: Record<string, string> = {
    docker: "the cluster is reached through kubernetes.kubeconfig and kubernetes.context",
    bindAddress:
        "Kubernetes publishes no host port: the services are reached through their Services, an Ingress (kubernetes.ingress) or kubectl port-forward",
    allowWildcardBind: "Kubernetes publishes no host port",
    dataDir: "data lives in volume claims (kubernetes.storageClass, kubernetes.volumeSizes)",
};

/** Keys that place a service on a host, and the image of the door, which only the Docker target has. */
const DOCKER_ONLY_KEYS: [string[], string][] = [
    [["router", "hosts"], "the scheduler places the routers (router.replicas says how many)"],
    [["openWebUI", "host"], "the scheduler places Open WebUI"],
    [["qdrant", "host"], "the scheduler places Qdrant"],
    [["images", "door"], "the cluster's Services and NetworkPolicies do the door's work"],
    [["remoteAccess"], "the one way in from other devices is an Ingress (kubernetes.ingress, with its TLS Secret)"],
];

/** The refusals of a config that parsed, judged on `raw`, the keys as written. */
export function targetProblems(raw: Record<string, unknown>, config: StackConfig): TargetProblem[] {
    if (config.target === "docker")
        return has(raw, ["kubernetes"])
            ? [
                  {
                      path: ["kubernetes"],
                      message: `is set, but ${PROJECT}:target is docker (set target: kubernetes to use it, or remove it)`,
                  },
              ]
            : [];
    const problems: TargetProblem[] = [];
    const onKubernetes = (why: string) => `means nothing on Kubernetes: ${why} (remove it)`;
    const hosts = Array.isArray(raw.hosts) ? (raw.hosts as Record<string, unknown>[]) : [];
    hosts.forEach((host, i) => {
        for (const [key, why] of Object.entries(HOST_ONLY_KEYS))
            if (has(host, [key])) problems.push({ path: ["hosts", i, key], message: onKubernetes(why) });
        const instances = Array.isArray(host?.ollama) ? (host.ollama as Record<string, unknown>[]) : [];
        instances.forEach((instance, j) => {
            const gpu = instance?.gpu;
            if (gpu === "all" || Array.isArray(gpu))
                problems.push({
                    path: ["hosts", i, "ollama", j, "gpu"],
                    message: `is not a GPU count: Kubernetes gives a pod whole GPUs by count (give a number, or "none")`,
                    value: gpu,
                });
        });
    });
    config.hosts.forEach((host, i) =>
        host.ollama.forEach((instance, j) => {
            if (instance.name.endsWith("-"))
                problems.push({
                    path: ["hosts", i, "ollama", j, "name"],
                    message: 'is not a Kubernetes name: it ends with "-" (end it with a letter or digit)',
                    value: instance.name,
                });
        }),
    );
    for (const [path, why] of DOCKER_ONLY_KEYS) if (has(raw, path)) problems.push({ path, message: onKubernetes(why) });
    const install = ["openWebUI", "routingFilter", "install"];
    if (config.openWebUI.routingFilter.install)
        problems.push({
            path: install,
            message:
                "cannot be true on Kubernetes: `up` cannot reach Open WebUI's API from this machine; the filter is shipped in the pod at /app/ai-gateway for an install by hand (remove it)",
            value: true,
        });
    const ingress = config.kubernetes.ingress;
    ingress?.expose.forEach((role, i) => {
        if (role === "openWebUI" && !config.openWebUI.enabled)
            problems.push({
                path: ["kubernetes", "ingress", "expose", i],
                message: "is not deployed (openWebUI.enabled is false): remove it, or enable Open WebUI",
                value: role,
            });
    });
    return problems;
}

/** Whether `node` has the key path as the operator wrote it (own keys only). */
function has(node: unknown, path: string[]): boolean {
    for (const key of path) {
        if (node === null || typeof node !== "object" || !Object.hasOwn(node, key)) return false;
        node = (node as Record<string, unknown>)[key];
    }
    return true;
}
