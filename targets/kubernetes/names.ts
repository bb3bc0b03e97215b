/**
 * How the Kubernetes target names and labels what it creates, and how its workloads reach each other: by
 * their Service's name and port, whichever node they run on. Pure.
 */
import { PROJECT } from "../../config/primitives";
import { Vantage } from "../../model/addressing";
import { SecretName } from "../../model/services";

/** Every workload reaches the others by their Service (model/addressing.ts): one name, one port, anywhere. */
export const kubernetesVantage: Vantage = { reach: (to) => ({ host: to.name, port: to.servicePort }) };

/** The label every object of the stack carries, with the project's name. */
export const PART_OF = "app.kubernetes.io/part-of";
/** The label that names a workload's pods: the service's name. */
export const NAME = "app.kubernetes.io/name";
/** The label with what a pod is: a service's role, or `model-pull`. */
export const COMPONENT = "app.kubernetes.io/component";
/** The label with the stack's name, so two stacks in one cluster keep apart. */
export const STACK = "ai-gateway/stack";

/** The component label of the Jobs that pull an Ollama instance's models. */
export const MODEL_PULL_COMPONENT = "model-pull";

/** The Secret that holds the stack's generated keys and the cloud key. */
export const SECRET_OBJECT = "ai-gateway-secrets";

/** The key of each secret in the Secret object. */
const SECRET_KEYS: Record<SecretName, string> = {
    routerMasterKey: "router-master-key",
    cloudMasterKey: "cloud-router-master-key",
    cloudApiKey: "cloud-api-key",
    redisPassword: "redis-password",
    qdrantApiKey: "qdrant-api-key",
    openWebUISessionKey: "open-webui-secret-key",
    openWebUIAdminPassword: "open-webui-admin-password",
};

/** The key of a secret in the Secret object. */
export function secretKey(name: SecretName): string {
    return SECRET_KEYS[name];
}

/** The labels that select a service's pods. */
export function selectorOf(name: string): Record<string, string> {
    return { [PART_OF]: PROJECT, [NAME]: name };
}

/** The labels of a workload's objects and pods: its name, what it is (a service's role, or `model-pull`), its stack. */
export function labelsOf(name: string, component: string, stack: string): Record<string, string> {
    return { ...selectorOf(name), [COMPONENT]: component, [STACK]: stack };
}

/** The ConfigMap that holds a service's files. */
export function filesConfigMap(serviceName: string): string {
    return `${serviceName}-files`;
}

/** The claim of a volume a Deployment keeps (Open WebUI's data); a StatefulSet's are `<volume>-<name>-0`. */
export function claimName(serviceName: string, volume: string): string {
    return `${serviceName}-${volume}`;
}
