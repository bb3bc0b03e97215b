import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ServiceSpec } from "../../model/services";
import { ClusterAccess, KubernetesRollout, RolloutArgs } from "../../providers/kubernetesChecks";
import { claimName, filesConfigMap, labelsOf } from "./names";
import {
    KubernetesSettings,
    StartsAfter,
    claimSpec,
    configMapData,
    deploymentSpec,
    pullJobSpec,
    pullLabels,
    serviceObjectSpec,
    statefulSetSpec,
    workloadKind,
} from "./workloads";

export interface ServiceWorkloadArgs {
    /** The service, as every target describes it (model/services.ts). */
    spec: ServiceSpec;
    /** The `ai-gateway:kubernetes` key and the stack's name. */
    settings: KubernetesSettings;
    /** The stack's namespace, once it exists. */
    namespace: pulumi.Input<string>;
    /** How the checks reach the cluster. */
    access: ClusterAccess;
    /** Keep its volume claims when the stack is destroyed. */
    keepData: boolean;
    /** What the pods need before they start: the Secret of the stack's keys. */
    dependsOn: pulumi.Resource[];
    /** The Services its pods wait for before they start (Redis for the routers, Qdrant for Open WebUI). */
    startsAfter: StartsAfter[];
}

/** `pulumi up` waits with its own check (KubernetesRollout), which names the scheduler's reason at once. */
const SKIP_AWAIT = { "pulumi.com/skipAwait": "true" };
/**
 * A workload is deleted at once and its pods after it, as `kubectl delete` does: a destroy need not wait for every
 * pod to stop (the default, foreground, would), and a later up makes new ones beside those still stopping.
 */
const WORKLOAD = { ...SKIP_AWAIT, "pulumi.com/deletionPropagationPolicy": "background" };

/**
 * One service on Kubernetes: the ConfigMap of its files, its workload (a StatefulSet with a claim of its own, or
 * a Deployment), its Service, Open WebUI's volume claim, and for an Ollama instance the Job that pulls its models
 * once it answers. Everything is created at once; `up` goes on once the workload is ready (and the models are
 * pulled).
 */
export class ServiceWorkload extends pulumi.ComponentResource {
    constructor(name: string, args: ServiceWorkloadArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aigateway:kubernetes:ServiceWorkload", name, {}, opts);
        const { spec, settings, namespace } = args;
        const labels = labelsOf(spec.name, spec.role, settings.stack);
        const metadata = (objectName: string, annotations?: Record<string, string>) => ({
            name: objectName,
            namespace,
            labels,
            ...(annotations ? { annotations } : {}),
        });
        const child = { parent: this };
        const kept = { ...child, retainOnDelete: args.keepData };

        const data = configMapData(spec);
        const files =
            data &&
            new k8s.core.v1.ConfigMap(`${name}-files`, { metadata: metadata(filesConfigMap(spec.name)), data }, child);
        const kind = workloadKind(spec);
        const claims =
            kind === "Deployment"
                ? spec.volumes.map(
                      (volume) =>
                          new k8s.core.v1.PersistentVolumeClaim(
                              `${name}-${volume.name}`,
                              {
                                  metadata: metadata(claimName(spec.name, volume.name), SKIP_AWAIT),
                                  spec: claimSpec(spec, volume.name, settings.kubernetes),
                              },
                              kept,
                          ),
                  )
                : [];
        const dependsOn = [...args.dependsOn, ...(files ? [files] : []), ...claims];
        const workload =
            kind === "StatefulSet"
                ? new k8s.apps.v1.StatefulSet(
                      name,
                      {
                          metadata: metadata(spec.name, WORKLOAD),
                          spec: statefulSetSpec(spec, settings, args.startsAfter),
                      },
                      { ...child, dependsOn },
                  )
                : new k8s.apps.v1.Deployment(
                      name,
                      {
                          metadata: metadata(spec.name, WORKLOAD),
                          spec: deploymentSpec(spec, settings, args.startsAfter),
                      },
                      { ...child, dependsOn },
                  );
        new k8s.core.v1.Service(
            `${name}-service`,
            { metadata: metadata(spec.name, SKIP_AWAIT), spec: serviceObjectSpec(spec) },
            child,
        );
        const rollout = (
            resource: string,
            object: k8s.apps.v1.Deployment | k8s.apps.v1.StatefulSet | k8s.batch.v1.Job,
            objectKind: RolloutArgs["kind"],
        ) =>
            new KubernetesRollout(
                resource,
                {
                    access: args.access,
                    namespace,
                    kind: objectKind,
                    name: object.metadata.name,
                    generation: object.metadata.generation,
                    timeoutSeconds: settings.kubernetes.timeoutSeconds,
                },
                child,
            );
        rollout(`${name}-ready`, workload, kind);
        if (spec.pulls.length > 0) {
            // Named by the provider with a suffix: a new model list is a new Job, made before the old one goes.
            const job = new k8s.batch.v1.Job(
                `${name}-pull`,
                {
                    metadata: { namespace, labels: pullLabels(spec, settings.stack), annotations: WORKLOAD },
                    spec: pullJobSpec(spec, settings),
                },
                { ...child, dependsOn: args.dependsOn },
            );
            rollout(`${name}-pulled`, job, "Job");
        }
        this.registerOutputs({});
    }
}
