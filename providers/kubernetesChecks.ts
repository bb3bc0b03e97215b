import * as pulumi from "@pulumi/pulumi";

/**
 * The checks `pulumi up` makes on a Kubernetes cluster, talking to its API server the way kubectl does (the
 * kubeconfig's server, certificates, token or exec credential plugin):
 * - KubernetesPreflight, before anything is created (in `check`, so `preview` runs it too): the cluster answers,
 *   the namespace can be used, the StorageClass, RuntimeClass and IngressClass the stack names exist, and the
 *   nodes that take GPU work have the GPUs the instances ask for;
 * - KubernetesRollout, once a workload is created or changed: waits until it is ready (a Job: complete), and fails
 *   at once with the scheduler's own reason when a pod cannot be scheduled, where a bare timeout would come later.
 * Self-contained: Node's built-ins and the `yaml` package, required inside the functions that use them.
 */

/** Where the cluster is: a kubeconfig file (unset: KUBECONFIG, else ~/.kube/config) and a context in it. */
export interface ClusterAccess {
    /** Path of the kubeconfig; unset reads KUBECONFIG, else ~/.kube/config. */
    kubeconfig?: string;
    /** Context to use; unset: the kubeconfig's current-context. */
    context?: string;
}

/** An instance's GPU request, with the config key that sets it. */
export interface GpuAsk {
    /** `hosts[0].ollama[1].gpu`. */
    key: string;
    /** Whole GPUs. */
    count: number;
}

/** What the preflight checks. */
export interface PreflightArgs {
    /** The cluster. */
    access: ClusterAccess;
    /** The stack's namespace. */
    namespace: string;
    /** The stack's name: its own pods' GPUs are not counted as taken by others. */
    stack: string;
    /** The StorageClass the volume claims name; unset: the cluster needs a default one. */
    storageClass?: string;
    /** The IngressClass the Ingress names, when there is one. */
    ingressClass?: string;
    /** The GPU instances' asks, and where they may run. */
    gpu: {
        resource: string;
        runtimeClassName: string;
        nodeSelector: Record<string, string>;
        tolerations: { key?: string; operator?: string; value?: string; effect?: string }[];
        asks: GpuAsk[];
    };
}

/** What the rollout waits for. */
export interface RolloutArgs {
    /** The cluster. */
    access: ClusterAccess;
    /** The workload's namespace. */
    namespace: string;
    /** Its kind. */
    kind: "Deployment" | "StatefulSet" | "Job";
    /** Its name. */
    name: string;
    /** Its generation as the API server answered the last apply: a change is a new rollout to wait for. */
    generation: number;
    /** Seconds to wait before giving up. */
    timeoutSeconds: number;
}

/** A pod may be unschedulable for a moment (a volume being bound, a node joining): this long, and it fails. */
const UNSCHEDULABLE_GRACE_MS = 15_000;
const POLL_MS = 1000;
const REQUEST_TIMEOUT_MS = 15_000;

export interface Kubeconfig {
    server: string;
    tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized: boolean };
    token?: string;
}

/** The kubeconfig's cluster and credentials for `access`, as kubectl reads them (files merged, first wins). */
export function readKubeconfig(access: ClusterAccess): Kubeconfig {
    const fs = require("node:fs");
    const os = require("node:os");
    const path = require("node:path");
    const { parse } = require("yaml");
    const home = (file: string) => file.replace(/^~(?=\/|$)/, os.homedir());
    const files = access.kubeconfig
        ? [home(access.kubeconfig)]
        : (process.env.KUBECONFIG ?? path.join(os.homedir(), ".kube", "config")).split(path.delimiter).filter(Boolean);
    const named = { clusters: new Map(), users: new Map(), contexts: new Map() } as Record<string, Map<string, any>>;
    let current: string | undefined;
    for (const file of files.map(home)) {
        if (!fs.existsSync(file)) continue;
        const doc = parse(fs.readFileSync(file, "utf8")) ?? {};
        const base = path.dirname(file);
        current ??= doc["current-context"] || undefined;
        for (const kind of ["clusters", "users", "contexts"])
            for (const entry of doc[kind] ?? [])
                if (!named[kind].has(entry.name)) named[kind].set(entry.name, { ...entry, base });
    }
    const where = access.kubeconfig ?? (process.env.KUBECONFIG ? "KUBECONFIG" : "~/.kube/config");
    const contextName = access.context ?? current;
    if (!contextName) throw new Error(`${where} names no current-context (set kubernetes.context)`);
    const context = named.contexts.get(contextName)?.context;
    if (!context) throw new Error(`${where} has no context ${contextName} (kubernetes.context)`);
    const cluster = named.clusters.get(context.cluster);
    const user = named.users.get(context.user) ?? { user: {}, base: "." };
    if (!cluster) throw new Error(`${where} has no cluster ${context.cluster} (context ${contextName})`);
    const read = (holder: any, base: string, dataKey: string, fileKey: string): Buffer | undefined =>
        holder[dataKey]
            ? Buffer.from(holder[dataKey], "base64")
            : holder[fileKey]
              ? fs.readFileSync(path.resolve(base, home(holder[fileKey])))
              : undefined;
    const c = cluster.cluster;
    const u = user.user ?? {};
    if (u["auth-provider"])
        throw new Error(
            `the kubeconfig's user ${context.user} uses an auth-provider, which these checks cannot use: use an exec credential plugin (kubectl's current way)`,
        );
    const config: Kubeconfig = {
        server: String(c.server).replace(/\/+$/, ""),
        tls: {
            ca: read(c, cluster.base, "certificate-authority-data", "certificate-authority"),
            cert: read(u, user.base, "client-certificate-data", "client-certificate"),
            key: read(u, user.base, "client-key-data", "client-key"),
            rejectUnauthorized: c["insecure-skip-tls-verify"] !== true,
        },
        token:
            u.token ?? (u.tokenFile ? fs.readFileSync(path.resolve(user.base, u.tokenFile), "utf8").trim() : undefined),
    };
    if (u.exec) {
        const { execFileSync } = require("node:child_process");
        const env = { ...process.env, ...Object.fromEntries((u.exec.env ?? []).map((e: any) => [e.name, e.value])) };
        const status =
            JSON.parse(execFileSync(u.exec.command, u.exec.args ?? [], { env, encoding: "utf8" })).status ?? {};
        config.token = status.token ?? config.token;
        if (status.clientCertificateData) config.tls.cert = Buffer.from(status.clientCertificateData);
        if (status.clientKeyData) config.tls.key = Buffer.from(status.clientKeyData);
    }
    return config;
}

/** One call to the API server: its status and its JSON answer. Refused, reset or timed out: it throws. */
function kubeApi(
    config: Kubeconfig,
    method: string,
    path: string,
    body?: unknown,
): Promise<{ status: number; json: any }> {
    const https = require("node:https");
    const http = require("node:http");
    const url = new URL(config.server + path);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
        const request = (url.protocol === "https:" ? https : http).request(
            url,
            {
                method,
                ...config.tls,
                timeout: REQUEST_TIMEOUT_MS,
                headers: {
                    accept: "application/json",
                    ...(payload ? { "content-type": "application/json" } : {}),
                    ...(config.token ? { authorization: `Bearer ${config.token}` } : {}),
                },
            },
            (response: any) => {
                let text = "";
                response.setEncoding("utf8");
                response.on("data", (chunk: string) => (text += chunk));
                response.on("end", () => {
                    let json: unknown;
                    try {
                        json = JSON.parse(text);
                    } catch {
                        json = { message: text.slice(0, 200) };
                    }
                    resolve({ status: response.statusCode, json });
                });
            },
        );
        request.on("timeout", () => request.destroy(new Error(`no answer in ${REQUEST_TIMEOUT_MS / 1000}s`)));
        request.on("error", reject);
        request.end(payload);
    });
}

/** A GET that must answer 200; the API server's own message otherwise. */
async function kubeGet(config: Kubeconfig, path: string): Promise<any> {
    const { status, json } = await kubeApi(config, "GET", path);
    if (status !== 200) throw new Error(`GET ${path}: ${status} ${json?.message ?? ""}`.trim());
    return json;
}

/** What to do about a scheduler's reason (kube-scheduler's own words). */
export function schedulingFix(reason: string): string {
    if (/Insufficient [\w.]+\/(gpu|mig)/.test(reason))
        return "too few free GPUs: lower the instances' gpu, free GPUs, or add GPU nodes (the NVIDIA GPU operator advertises them)";
    // Before the taints: GPU nodes are tainted on purpose, and what a pod that may not go there lacks is elsewhere.
    if (/Insufficient (cpu|memory)/.test(reason)) return "lower kubernetes.resources, or add nodes";
    if (/didn't match Pod's node affinity\/selector/.test(reason))
        return "no node has the labels kubernetes.nodeSelector asks for (the NVIDIA GPU operator labels GPU nodes nvidia.com/gpu.present=true)";
    if (/untolerated taint/.test(reason)) return "the nodes are tainted: add the taint to kubernetes.tolerations";
    if (/PersistentVolumeClaim|volume node affinity|unbound/.test(reason))
        return "a volume claim cannot be bound: set kubernetes.storageClass to a class that provisions volumes";
    return "see kubectl describe pod";
}

/** Whether a pod spec's tolerations admit a node's taint. */
function tolerates(
    tolerations: PreflightArgs["gpu"]["tolerations"],
    taint: { key: string; value?: string; effect: string },
): boolean {
    return tolerations.some(
        (t) =>
            (t.effect === undefined || t.effect === taint.effect) &&
            (t.key === undefined || t.key === taint.key) &&
            ((t.operator ?? "Equal") === "Exists" || t.value === taint.value),
    );
}

/** Every problem the preflight finds, one line each with the fix; none when the cluster can take the stack. */
export async function preflightProblems(args: PreflightArgs): Promise<string[]> {
    let config: Kubeconfig;
    try {
        config = readKubeconfig(args.access);
        await kubeGet(config, "/version");
    } catch (err) {
        return [
            `the cluster does not answer: ${(err as Error).message} (check kubernetes.kubeconfig and kubernetes.context)`,
        ];
    }
    const problems: string[] = [];
    const found = async (path: string) => (await kubeApi(config, "GET", path)).status === 200;

    const namespace = await kubeApi(config, "GET", `/api/v1/namespaces/${args.namespace}`);
    if (namespace.status === 200 && namespace.json.status?.phase === "Terminating")
        problems.push(
            `namespace ${args.namespace} is being deleted: wait until it is gone, or set kubernetes.namespace`,
        );
    const can = async (verb: string, group: string, resource: string, ns?: string) => {
        const review = await kubeApi(config, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
            apiVersion: "authorization.k8s.io/v1",
            kind: "SelfSubjectAccessReview",
            spec: { resourceAttributes: { verb, group, resource, namespace: ns } },
        });
        return review.json?.status?.allowed === true;
    };
    if (namespace.status === 404 && !(await can("create", "", "namespaces")))
        problems.push(
            `namespace ${args.namespace} does not exist, and this user may not create it: create it, or set kubernetes.namespace`,
        );
    const needed = [
        ["apps", "deployments"],
        ["apps", "statefulsets"],
        ["batch", "jobs"],
        ["", "services"],
        ["", "secrets"],
        ["", "configmaps"],
        ["", "persistentvolumeclaims"],
        ["networking.k8s.io", "networkpolicies"],
    ];
    const denied = [];
    for (const [group, resource] of needed)
        if (!(await can("create", group, resource, args.namespace))) denied.push(resource);
    if (denied.length > 0)
        problems.push(
            `this user may not create ${denied.join(", ")} in namespace ${args.namespace}: ask for a role that may, or set kubernetes.namespace`,
        );

    if (args.storageClass) {
        if (!(await found(`/apis/storage.k8s.io/v1/storageclasses/${args.storageClass}`)))
            problems.push(
                `StorageClass ${args.storageClass} does not exist (kubernetes.storageClass; kubectl get storageclass lists them)`,
            );
    } else {
        const classes = (await kubeGet(config, "/apis/storage.k8s.io/v1/storageclasses")).items ?? [];
        if (
            !classes.some(
                (c: any) => c.metadata?.annotations?.["storageclass.kubernetes.io/is-default-class"] === "true",
            )
        )
            problems.push(
                "the cluster has no default StorageClass, so the volume claims would never be bound: set kubernetes.storageClass",
            );
    }
    if (args.ingressClass && !(await found(`/apis/networking.k8s.io/v1/ingressclasses/${args.ingressClass}`)))
        problems.push(
            `IngressClass ${args.ingressClass} does not exist (kubernetes.ingress.className; install its controller first)`,
        );

    const { gpu } = args;
    if (gpu.asks.length > 0) {
        if (gpu.runtimeClassName && !(await found(`/apis/node.k8s.io/v1/runtimeclasses/${gpu.runtimeClassName}`)))
            problems.push(
                `RuntimeClass ${gpu.runtimeClassName} does not exist: install the NVIDIA GPU operator (it creates it), or set kubernetes.runtimeClassName to your cluster's ("" for none)`,
            );
        problems.push(...(await gpuProblems(config, args)));
    }
    return problems;
}

/** Whether the nodes that take GPU work have, free, the GPUs the instances ask for: each instance on one node. */
async function gpuProblems(config: Kubeconfig, args: PreflightArgs): Promise<string[]> {
    const { gpu } = args;
    const nodes = ((await kubeGet(config, "/api/v1/nodes")).items ?? []).filter(
        (node: any) =>
            !node.spec?.unschedulable &&
            Object.entries(gpu.nodeSelector).every(([key, value]) => node.metadata?.labels?.[key] === value) &&
            (node.spec?.taints ?? [])
                .filter((taint: any) => taint.effect !== "PreferNoSchedule")
                .every((taint: any) => tolerates(gpu.tolerations, taint)),
    );
    const free = new Map<string, number>(
        nodes.map((node: any) => [node.metadata.name, Number(node.status?.allocatable?.[gpu.resource] ?? 0)]),
    );
    // GPUs held by pods of others; the stack's own pods (a later up) give theirs back when they are replaced.
    const pods = await kubeApi(
        config,
        "GET",
        "/api/v1/pods?fieldSelector=status.phase!=Succeeded,status.phase!=Failed",
    );
    for (const pod of pods.status === 200 ? pods.json.items : []) {
        const ours =
            pod.metadata?.labels?.["ai-gateway/stack"] === args.stack && pod.metadata?.namespace === args.namespace;
        if (ours || !free.has(pod.spec?.nodeName)) continue;
        const held = (pod.spec.containers ?? []).reduce(
            (sum: number, c: any) => sum + Number(c.resources?.limits?.[gpu.resource] ?? 0),
            0,
        );
        free.set(pod.spec.nodeName, free.get(pod.spec.nodeName)! - held);
    }
    const offered = [...free].map(([name, count]) => `${name}: ${count}`).join(", ");
    const total = [...free.values()].reduce((a, b) => a + b, 0);
    if (total === 0 && [...free].length === 0)
        return [
            `no node takes GPU work (none matches kubernetes.nodeSelector ${JSON.stringify(gpu.nodeSelector)} and tolerates its taints): install the NVIDIA GPU operator or device plugin, or set the instances' gpu: none`,
        ];
    const asked = gpu.asks.reduce((sum, ask) => sum + ask.count, 0);
    // First fit, largest first: each instance's pod needs all its GPUs on one node.
    const left = [...free.values()].sort((a, b) => b - a);
    const unplaced = [...gpu.asks]
        .sort((a, b) => b.count - a.count)
        .filter((ask) => {
            const at = left.findIndex((count) => count >= ask.count);
            if (at < 0) return true;
            left[at] -= ask.count;
            return false;
        });
    if (unplaced.length === 0) return [];
    return [
        `Insufficient ${gpu.resource}: the instances ask for ${asked} (${gpu.asks.map((a) => `${a.key}: ${a.count}`).join(", ")}) ` +
            `and the nodes that take GPU work have ${total} free (${offered}); ${unplaced.map((a) => a.key).join(", ")} would not be scheduled: ` +
            "lower gpu, add GPU nodes, or set gpu: none for CPU instances",
    ];
}

/** Whether a workload is ready: every replica updated and available; a Job: complete. */
function rolloutState(kind: RolloutArgs["kind"], object: any): { ready: boolean; failed?: string; detail: string } {
    const status = object.status ?? {};
    if (kind === "Job") {
        const failed = (status.conditions ?? []).find((c: any) => c.type === "Failed" && c.status === "True");
        return {
            ready: (status.succeeded ?? 0) >= 1,
            failed: failed && `${failed.reason}: ${failed.message}`,
            detail: `${status.succeeded ?? 0} succeeded, ${status.failed ?? 0} failed`,
        };
    }
    const wanted = object.spec?.replicas ?? 1;
    const observed = (status.observedGeneration ?? 0) >= (object.metadata?.generation ?? 0);
    const available = kind === "Deployment" ? (status.availableReplicas ?? 0) : (status.readyReplicas ?? 0);
    const current = kind === "Deployment" || !status.updateRevision || status.currentRevision === status.updateRevision;
    return {
        ready:
            observed &&
            current &&
            (status.updatedReplicas ?? 0) === wanted &&
            available === wanted &&
            (status.replicas ?? 0) === wanted,
        detail: `${available} of ${wanted} ready, ${status.updatedReplicas ?? 0} updated`,
    };
}

/** The labels of a workload's pods: its selector; a Job's pods carry its name. */
function podSelector(kind: RolloutArgs["kind"], object: any): string {
    const labels =
        kind === "Job"
            ? { "batch.kubernetes.io/job-name": object.metadata.name }
            : (object.spec?.selector?.matchLabels ?? {});
    return Object.entries(labels)
        .map(([key, value]) => `${key}=${value}`)
        .join(",");
}

/** The last lines a failed Job's pod printed: `ollama pull`'s own words on a model it could not get. */
async function lastLines(config: Kubeconfig, namespace: string, selector: string): Promise<string> {
    const pods = await kubeApi(
        config,
        "GET",
        `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(selector)}`,
    );
    const pod = (pods.json?.items ?? []).at(-1);
    if (!pod) return "";
    const log = await kubeApi(
        config,
        "GET",
        `/api/v1/namespaces/${namespace}/pods/${pod.metadata.name}/log?tailLines=5`,
    );
    return log.status === 200
        ? ` (${pod.metadata.name}: ${String(log.json?.message ?? "")
              .trim()
              .split("\n")
              .join(" | ")})`
        : "";
}

/**
 * Waits until the workload is ready. A pod the scheduler leaves unscheduled for UNSCHEDULABLE_GRACE_MS fails it
 * with the scheduler's reason and the fix; past `timeoutSeconds` it fails with what each pod is waiting for.
 */
export async function awaitRollout(args: RolloutArgs, now = () => Date.now()): Promise<string> {
    const config = readKubeconfig(args.access);
    const plural = { Deployment: "deployments", StatefulSet: "statefulsets", Job: "jobs" }[args.kind];
    const group = args.kind === "Job" ? "batch" : "apps";
    const what = `${args.kind} ${args.namespace}/${args.name}`;
    const started = now();
    const unschedulableSince = new Map<string, number>();
    let last = "not found yet";
    let waiting: string[] = [];
    for (;;) {
        const { status, json } = await kubeApi(
            config,
            "GET",
            `/apis/${group}/v1/namespaces/${args.namespace}/${plural}/${args.name}`,
        );
        if (status === 200) {
            const state = rolloutState(args.kind, json);
            if (state.ready) return `${what}: ${state.detail}`;
            const selector = podSelector(args.kind, json);
            if (state.failed)
                throw new Error(`${what} failed: ${state.failed}${await lastLines(config, args.namespace, selector)}`);
            last = state.detail;
            const pods = await kubeGet(
                config,
                `/api/v1/namespaces/${args.namespace}/pods?labelSelector=${encodeURIComponent(selector)}`,
            );
            waiting = [];
            for (const pod of pods.items ?? []) {
                const name = pod.metadata.name;
                const scheduled = (pod.status?.conditions ?? []).find((c: any) => c.type === "PodScheduled");
                if (scheduled?.status === "False" && scheduled.reason === "Unschedulable") {
                    const since = unschedulableSince.get(name) ?? now();
                    unschedulableSince.set(name, since);
                    if (now() - since >= UNSCHEDULABLE_GRACE_MS)
                        throw new Error(
                            `pod ${args.namespace}/${name} of ${what} cannot be scheduled: ${scheduled.message} (${schedulingFix(scheduled.message)})`,
                        );
                    waiting.push(`${name}: unschedulable: ${scheduled.message}`);
                } else unschedulableSince.delete(name);
                for (const container of pod.status?.containerStatuses ?? [])
                    if (container.state?.waiting?.reason)
                        waiting.push(
                            `${name}: ${container.state.waiting.reason} ${container.state.waiting.message ?? ""}`.trim(),
                        );
            }
        }
        if (now() - started >= args.timeoutSeconds * 1000)
            throw new Error(
                `${what} is not ready after ${args.timeoutSeconds}s (${last})${waiting.length > 0 ? `: ${waiting.join("; ")}` : ""} (kubernetes.timeoutSeconds)`,
            );
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
}

/** The engine's view of an input that a preview does not know yet. */
const UNKNOWN_DURING_PREVIEW = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Exported for direct tests; the engine runs its serialized copy. */
export const kubernetesPreflightProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds, news) {
        const problems = await preflightProblems(news as PreflightArgs);
        return { inputs: news, failures: problems.map((reason) => ({ property: "access", reason })) };
    },
    async diff(_id, olds, news) {
        return { changes: JSON.stringify(olds) !== JSON.stringify(news) };
    },
    async create(inputs) {
        return { id: `${inputs.namespace}`, outs: inputs };
    },
    async update(_id, _olds, news) {
        return { outs: news };
    },
};

/**
 * Before anything of the stack is created, in preview too: the cluster can take it (see the file's comment). Its
 * failures are the one line each that `up` prints, with the fix.
 */
export class KubernetesPreflight extends pulumi.dynamic.Resource {
    constructor(name: string, args: pulumi.Unwrap<PreflightArgs>, opts?: pulumi.CustomResourceOptions) {
        super(kubernetesPreflightProvider, name, args, opts, "aigateway", "KubernetesPreflight");
    }
}

/** Exported for direct tests; the engine runs its serialized copy. */
export const kubernetesRolloutProvider: pulumi.dynamic.ResourceProvider = {
    async diff(_id, olds, news) {
        const changed = ["namespace", "kind", "name", "generation"].some((key) => olds[key] !== news[key]);
        return { changes: changed || news.generation === UNKNOWN_DURING_PREVIEW };
    },
    async create(inputs) {
        const summary = await awaitRollout(inputs as RolloutArgs);
        console.log(summary);
        return { id: `${inputs.kind}/${inputs.namespace}/${inputs.name}`, outs: inputs };
    },
    async update(_id, _olds, news) {
        console.log(await awaitRollout(news as RolloutArgs));
        return { outs: news };
    },
};

/** Waits for a workload to be ready once it is created or changed (see the file's comment). */
export class KubernetesRollout extends pulumi.dynamic.Resource {
    constructor(
        name: string,
        args: { [K in keyof RolloutArgs]: pulumi.Input<RolloutArgs[K]> },
        opts?: pulumi.CustomResourceOptions,
    ) {
        super(kubernetesRolloutProvider, name, args, opts, "aigateway", "KubernetesRollout");
    }
}
