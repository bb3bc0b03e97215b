/**
 * The Kubernetes objects of one service, from its target-neutral description (model/services.ts): its workload
 * (a StatefulSet for what keeps a volume per pod, Ollama's models and Qdrant's data; a Deployment for the rest),
 * its Service, the ConfigMap of its files, Open WebUI's volume claim, and the Job that pulls an Ollama instance's
 * models. Pure: the same description gives the same objects, tested without Pulumi or a cluster.
 */
import { createHash } from "node:crypto";
import type { types } from "@pulumi/kubernetes";
import { KubernetesConfig } from "../../config/kubernetesKeys";
import { ServiceSpec } from "../../model/services";
import {
    MODEL_PULL_COMPONENT,
    SECRET_OBJECT,
    claimName,
    filesConfigMap,
    labelsOf,
    secretKey,
    selectorOf,
} from "./names";

/** What every object of the stack is made with: the `ai-gateway:kubernetes` key and the stack's name. */
export interface KubernetesSettings {
    /** The validated `ai-gateway:kubernetes` key. */
    kubernetes: KubernetesConfig;
    /** The stack's name, in every object's labels. */
    stack: string;
}

/** A service another one starts after, as its Service answers: the name and port its init container waits on. */
export interface StartsAfter {
    /** The Service's name. */
    name: string;
    /** Its port. */
    port: number;
}

/**
 * An init container that waits until `after`'s Service accepts connections, with the pod's own image (both that
 * start after another, the routers and Open WebUI, ship python3): Kubernetes has no start order of its own, and
 * `up` creates every workload at once instead of one after the other.
 */
function waitFor(spec: ServiceSpec, after: StartsAfter): types.input.core.v1.Container {
    const connect = `import socket; socket.create_connection((${JSON.stringify(after.name)}, ${after.port}), 2)`;
    return {
        name: `wait-for-${after.name}`,
        image: spec.image,
        command: ["sh", "-c", `until python3 -c '${connect}' 2>/dev/null; do sleep 1; done`],
    };
}

/** The annotation of a pod template with its files' checksum: a changed file rolls the workload. */
export const FILES_CHECKSUM = "ai-gateway/files-checksum";
/** The name of a service's port, on its container and its Service. */
const PORT_NAME = "api";
/** The volume of a pod that holds its files. */
const FILES_VOLUME = "files";

/** A StatefulSet keeps a volume claim of its own per pod (Ollama's models, Qdrant's data); the rest are Deployments. */
export function workloadKind(spec: ServiceSpec): "StatefulSet" | "Deployment" {
    return spec.role === "ollama" || spec.role === "qdrant" ? "StatefulSet" : "Deployment";
}

/** The whole GPUs a service asks for: Kubernetes counts them (config/targetChecks.ts refuses "all" and device ids). */
export function gpuCount(spec: ServiceSpec): number {
    if (spec.gpu === undefined || spec.gpu === "none") return 0;
    if (typeof spec.gpu === "number") return spec.gpu;
    throw new Error(`${spec.name} asks for GPUs ${JSON.stringify(spec.gpu)}, which Kubernetes cannot count`);
}

/** The checksum of a service's files, by path and content. */
export function filesChecksum(spec: ServiceSpec): string {
    const hash = createHash("sha256");
    for (const file of spec.files) hash.update(`${file.path}\0${file.content}\0`);
    return hash.digest("hex");
}

/** A service's files as its ConfigMap holds them, by file name; undefined for a service without files. */
export function configMapData(spec: ServiceSpec): Record<string, string> | undefined {
    if (spec.files.length === 0) return undefined;
    return Object.fromEntries(spec.files.map((file) => [fileKey(file.path), file.content]));
}

function fileKey(path: string): string {
    return path.slice(path.lastIndexOf("/") + 1);
}

/** The command of a self check, as a probe's `exec` takes it. */
function selfCheckArgv(spec: ServiceSpec): string[] {
    const { command } = spec.selfCheck;
    return "exec" in command ? command.exec : ["sh", "-c", command.shell];
}

/** The `resources` key of a service's role. */
function resourcesKey(spec: ServiceSpec): keyof KubernetesConfig["resources"] {
    return spec.role === "cloudRouter" ? "router" : spec.role;
}

function containerResources(spec: ServiceSpec, settings: KubernetesSettings): types.input.core.v1.ResourceRequirements {
    const configured = settings.kubernetes.resources[resourcesKey(spec)] ?? {};
    const gpus = gpuCount(spec);
    const limits = { ...configured.limits, ...(gpus > 0 ? { [settings.kubernetes.gpuResource]: String(gpus) } : {}) };
    return {
        ...(configured.requests ? { requests: { ...configured.requests } } : {}),
        ...(Object.keys(limits).length > 0 ? { limits } : {}),
    };
}

/** The pod of a service: its one container, its files, its volumes, and for a GPU instance where it may run. */
export function podSpec(
    spec: ServiceSpec,
    settings: KubernetesSettings,
    after: StartsAfter[] = [],
): types.input.core.v1.PodSpec {
    const { kubernetes } = settings;
    const gpus = gpuCount(spec) > 0;
    // A Deployment's volumes are claims of its own; a StatefulSet's come from its claim templates.
    const ownClaims = workloadKind(spec) === "Deployment" ? spec.volumes : [];
    const volumes = [
        ...(spec.files.length > 0 ? [{ name: FILES_VOLUME, configMap: { name: filesConfigMap(spec.name) } }] : []),
        ...ownClaims.map((volume) => ({
            name: volume.name,
            persistentVolumeClaim: { claimName: claimName(spec.name, volume.name) },
        })),
    ];
    return {
        ...(gpus && kubernetes.runtimeClassName ? { runtimeClassName: kubernetes.runtimeClassName } : {}),
        ...(gpus
            ? {
                  nodeSelector: { ...kubernetes.nodeSelector },
                  tolerations: kubernetes.tolerations.map((t) => ({ ...t })),
              }
            : {}),
        // The pod needs no access to the API server.
        automountServiceAccountToken: false,
        ...(after.length > 0 ? { initContainers: after.map((other) => waitFor(spec, other)) } : {}),
        containers: [
            {
                name: spec.name,
                image: spec.image,
                ...(spec.command ? { args: spec.command } : {}),
                env: spec.env.map((variable) =>
                    "value" in variable
                        ? { name: variable.name, value: variable.value }
                        : {
                              name: variable.name,
                              valueFrom: { secretKeyRef: { name: SECRET_OBJECT, key: secretKey(variable.secret) } },
                          },
                ),
                ports: [{ name: PORT_NAME, containerPort: spec.port.container }],
                readinessProbe: spec.probe
                    ? { httpGet: { path: spec.probe.path, port: PORT_NAME }, periodSeconds: 5, timeoutSeconds: 5 }
                    : { exec: { command: selfCheckArgv(spec) }, periodSeconds: 10, timeoutSeconds: 5 },
                livenessProbe: {
                    exec: { command: selfCheckArgv(spec) },
                    initialDelaySeconds: spec.selfCheck.startSeconds,
                    periodSeconds: 10,
                    timeoutSeconds: 5,
                    failureThreshold: 5,
                },
                resources: containerResources(spec, settings),
                volumeMounts: [
                    ...spec.files.map((file) => ({
                        name: FILES_VOLUME,
                        mountPath: file.path,
                        subPath: fileKey(file.path),
                        readOnly: true,
                    })),
                    ...spec.volumes.map((volume) => ({ name: volume.name, mountPath: volume.containerPath })),
                ],
            },
        ],
        ...(volumes.length > 0 ? { volumes } : {}),
    };
}

/** The pod template of a service's workload: its labels, the checksum of its files, its pod. */
function podTemplate(
    spec: ServiceSpec,
    settings: KubernetesSettings,
    after: StartsAfter[],
): types.input.core.v1.PodTemplateSpec {
    return {
        metadata: {
            labels: labelsOf(spec.name, spec.role, settings.stack),
            ...(spec.files.length > 0 ? { annotations: { [FILES_CHECKSUM]: filesChecksum(spec) } } : {}),
        },
        spec: podSpec(spec, settings, after),
    };
}

/** The size of a volume of a service. */
function volumeSize(spec: ServiceSpec, volume: string, kubernetes: KubernetesConfig): string {
    if (spec.role === "ollama") return kubernetes.volumeSizes.models;
    if (spec.role === "qdrant") return kubernetes.volumeSizes.qdrant;
    if (spec.role === "openWebUI") return kubernetes.volumeSizes.openWebUI;
    throw new Error(`${spec.name} keeps no volume ${volume}`);
}

/** A volume claim of a service: one node reads and writes it, of the configured class and size. */
export function claimSpec(
    spec: ServiceSpec,
    volume: string,
    kubernetes: KubernetesConfig,
): types.input.core.v1.PersistentVolumeClaimSpec {
    return {
        accessModes: ["ReadWriteOnce"],
        ...(kubernetes.storageClass ? { storageClassName: kubernetes.storageClass } : {}),
        resources: { requests: { storage: volumeSize(spec, volume, kubernetes) } },
    };
}

/** A StatefulSet of one pod whose volumes are claims of its own, kept when it is deleted (the data outlives it). */
export function statefulSetSpec(
    spec: ServiceSpec,
    settings: KubernetesSettings,
    after: StartsAfter[] = [],
): types.input.apps.v1.StatefulSetSpec {
    return {
        serviceName: spec.name,
        replicas: spec.replicas,
        selector: { matchLabels: selectorOf(spec.name) },
        template: podTemplate(spec, settings, after),
        volumeClaimTemplates: spec.volumes.map((volume) => ({
            metadata: { name: volume.name, labels: labelsOf(spec.name, spec.role, settings.stack) },
            spec: claimSpec(spec, volume.name, settings.kubernetes),
        })),
        persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
    };
}

/** A Deployment: its replicas, replaced pod by pod, but for one that keeps a claim one node can hold at a time. */
export function deploymentSpec(
    spec: ServiceSpec,
    settings: KubernetesSettings,
    after: StartsAfter[] = [],
): types.input.apps.v1.DeploymentSpec {
    return {
        replicas: spec.replicas,
        selector: { matchLabels: selectorOf(spec.name) },
        ...(spec.volumes.length > 0 ? { strategy: { type: "Recreate" } } : {}),
        template: podTemplate(spec, settings, after),
    };
}

/** The Service that every other workload reaches the service by: its name, on the stack's port for it. */
export function serviceObjectSpec(spec: ServiceSpec): types.input.core.v1.ServiceSpec {
    return {
        selector: selectorOf(spec.name),
        ports: [{ name: PORT_NAME, port: spec.port.service, targetPort: PORT_NAME, protocol: "TCP" }],
    };
}

/** The labels of the pods that pull an instance's models. */
export function pullLabels(spec: ServiceSpec, stack: string): Record<string, string> {
    return labelsOf(`${spec.name}-pull`, MODEL_PULL_COMPONENT, stack);
}

/**
 * The Job that pulls an Ollama instance's models through its Service, one after the other, with Ollama's own
 * client, once the instance answers: `ollama pull` waits for a download to finish and fails on a model the
 * registry does not have. Made with the instance, not after it: the Job waits itself.
 */
export function pullJobSpec(spec: ServiceSpec, settings: KubernetesSettings): types.input.batch.v1.JobSpec {
    const pulls = spec.pulls.map(({ model, insecure }) => `ollama pull ${insecure ? "--insecure " : ""}'${model}'`);
    return {
        backoffLimit: 6,
        template: {
            metadata: { labels: pullLabels(spec, settings.stack) },
            spec: {
                restartPolicy: "Never",
                automountServiceAccountToken: false,
                containers: [
                    {
                        name: "pull",
                        image: spec.image,
                        command: [
                            "sh",
                            "-c",
                            ["until ollama list >/dev/null 2>&1; do sleep 2; done", "set -e", ...pulls].join("\n"),
                        ],
                        env: [{ name: "OLLAMA_HOST", value: `http://${spec.name}:${spec.port.service}` }],
                    },
                ],
            },
        },
    };
}
