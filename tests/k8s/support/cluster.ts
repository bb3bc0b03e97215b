/**
 * The real Kubernetes control plane of ../shared/kubernetes (kube-apiserver, scheduler, controllers 1.34.4, kwok
 * nodes: gpu-0 and gpu-1 with one nvidia.com/gpu each, tainted as GPU nodes are, and cpu-0), started once for
 * the Kubernetes suite and stopped after it, with what a cluster with the NVIDIA GPU operator and a storage
 * provisioner has: the RuntimeClass `nvidia`, a StorageClass, volumes to bind, an IngressClass. No container runs
 * in a pod: kwok marks pods Running and Ready, and Job pods Succeeded. Its etcd is 3.5, built by tools.sh.
 */
import { execFileSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { PROJECT_DIR } from "../../../commands/stackFile";
import { until } from "../../e2e/support/deployFolder";

/** Where ../shared/kubernetes is, beside the project, as on this machine kind and in CI. */
export const KUBE_SHARED = process.env.AIGW_KUBE_SHARED ?? path.resolve(PROJECT_DIR, "..", "shared", "kubernetes");
/** The control plane's folder: its certificates, etcd's data, its logs, and the kubeconfig. */
export const CONTROL_PLANE_DIR = path.join(tmpdir(), "aigw-k8s-control-plane");
export const KUBECONFIG = path.join(CONTROL_PLANE_DIR, "kubeconfig");
/** The StorageClass the suite's stacks name: no provisioner, volumes made beforehand, bound on first use. */
export const STORAGE_CLASS = "manual";
/** The volumes made for the claims; each binds once (kept on release), so the suite's stacks get enough. */
const VOLUMES = 16;

/** What an administrator installs before the stack: what the GPU operator, a provisioner and a controller add. */
const CLUSTER_SETUP = [
    "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: nvidia}\nhandler: nvidia",
    `apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: ${STORAGE_CLASS}}\nprovisioner: kubernetes.io/no-provisioner\nvolumeBindingMode: WaitForFirstConsumer`,
    "apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: nginx}\nspec: {controller: k8s.io/ingress-nginx}",
    ...Array.from(
        { length: VOLUMES },
        (_, i) =>
            `apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: volume-${i}}\nspec:\n  capacity: {storage: 500Gi}\n` +
            `  accessModes: [ReadWriteOnce]\n  storageClassName: ${STORAGE_CLASS}\n  persistentVolumeReclaimPolicy: Retain\n` +
            `  hostPath: {path: /tmp/aigw-k8s-volume-${i}}`,
    ),
].join("\n---\n");

/** kubectl against the suite's control plane; its version-skew warnings are left out. */
export function kubectl(args: string[], input?: string): string {
    return execFileSync("kubectl", args, {
        env: { ...process.env, KUBECONFIG },
        encoding: "utf8",
        input,
        stdio: ["pipe", "pipe", "ignore"],
    });
}

/** A kubectl `get -o json` answer. */
export function kubeGet<T = { items: any[] }>(args: string[]): T {
    return JSON.parse(kubectl(["get", ...args, "-o", "json"])) as T;
}

/** The pods placed on the GPU nodes, in every namespace. */
const gpuPods = (): any[] => kubeGet(["pods", "-A"]).items.filter((pod: any) => pod.spec.nodeName?.startsWith("gpu-"));

/**
 * Waits until no pod is on a GPU node: a pod still stopping (an earlier suite's destroy, in the background) holds its
 * GPU until kwok has removed it, and a suite that counts or asks for the cluster's 2 GPUs starts with them free.
 */
export const gpuNodesFree = (): Promise<void> =>
    until(() => gpuPods().length === 0, 120, "the GPU nodes to have no pod");

/**
 * The folder of the control plane's tools, which also holds the @pulumi/kubernetes provider the engine runs:
 * ../shared/kubernetes's, with etcd 3.5 (tools.sh says why), made on first use.
 */
export function kubeTools(): string {
    return execFileSync("bash", [path.join(__dirname, "tools.sh")], {
        encoding: "utf8",
        env: { ...process.env, AIGW_KUBE_SHARED: KUBE_SHARED },
        stdio: ["ignore", "pipe", "inherit"],
    }).trim();
}

/** control-plane.sh with the suite's tools. */
function controlPlane(args: string[]): void {
    execFileSync("bash", [path.join(KUBE_SHARED, "control-plane.sh"), ...args], {
        env: { ...process.env, AIGW_KUBE_DIR: kubeTools() },
        stdio: ["ignore", "ignore", "inherit"],
    });
}

/** Starts a fresh control plane (whatever an earlier run left is stopped and removed first) and sets it up. */
export function startControlPlane(): void {
    stopControlPlane();
    rmSync(CONTROL_PLANE_DIR, { recursive: true, force: true });
    controlPlane(["start", CONTROL_PLANE_DIR, "2", "1"]);
    kubectl(["apply", "-f", "-"], CLUSTER_SETUP);
    waitForNodes();
}

/**
 * Waits until every node is Ready and the controllers have lifted the taints of a node that is not yet
 * (node.kubernetes.io/not-ready): before that the scheduler, and the preflight, rightly take no pod there.
 */
function waitForNodes(): void {
    const deadline = Date.now() + 90_000;
    for (;;) {
        const nodes = kubeGet(["nodes"]).items;
        const ready = nodes.filter(
            (node: any) =>
                node.status.conditions?.some((c: any) => c.type === "Ready" && c.status === "True") &&
                !(node.spec.taints ?? []).some((taint: any) => taint.key.startsWith("node.kubernetes.io/")),
        );
        if (nodes.length === 3 && ready.length === 3) return;
        if (Date.now() > deadline)
            throw new Error(`the control plane's nodes are not ready: ${kubectl(["get", "nodes"])}`);
        execFileSync("sleep", ["1"]);
    }
}

export function stopControlPlane(): void {
    if (existsSync(path.join(CONTROL_PLANE_DIR, "run"))) controlPlane(["stop", CONTROL_PLANE_DIR]);
}
