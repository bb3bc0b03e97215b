/**
 * What the preflight of a Kubernetes stack checks, from the validated config: the same for `up` (before anything is
 * created) and `npm run doctor`. Pure.
 */
import * as os from "node:os";
import { PROJECT } from "../../config/primitives";
import { StackConfig } from "../../config/stackKeys";
import { describeServices } from "../../model/services";
import type { PreflightArgs } from "../../providers/kubernetesChecks";
import { kubernetesVantage } from "./names";
import { gpuCount } from "./workloads";

/** The kubeconfig's path with `~` read as the home folder, as kubectl reads it; unset stays unset. */
export function kubeconfigPath(config: StackConfig): string | undefined {
    return config.kubernetes.kubeconfig?.replace(/^~(?=\/|$)/, os.homedir());
}

/** The preflight's arguments for a stack: its cluster, namespace, classes and the GPUs its instances ask for. */
export function preflightArgs(config: StackConfig, stack: string): PreflightArgs {
    const { kubernetes } = config;
    const services = describeServices(config, () => kubernetesVantage);
    return {
        access: { kubeconfig: kubeconfigPath(config), context: kubernetes.context },
        namespace: kubernetes.namespace,
        stack,
        storageClass: kubernetes.storageClass,
        ingressClass: kubernetes.ingress?.className,
        gpu: {
            resource: kubernetes.gpuResource,
            runtimeClassName: kubernetes.runtimeClassName,
            nodeSelector: kubernetes.nodeSelector,
            tolerations: kubernetes.tolerations,
            asks: config.hosts.flatMap((host, i) =>
                host.ollama.flatMap((instance, j) => {
                    const count = gpuCount(services.find((s) => s.name === instance.name)!);
                    return count > 0 ? [{ key: `${PROJECT}:hosts[${i}].ollama[${j}].gpu`, count }] : [];
                }),
            ),
        },
    };
}
