/**
 * The checks `up` makes on a cluster (providers/kubernetesChecks.ts), against the real API server of the
 * suite's control plane: each problem is found, and said with its fix; a cluster that can take the stack has none.
 */
import { doctorCommand } from "../../commands/doctor";
import { PreflightArgs, awaitRollout, preflightProblems } from "../../providers/kubernetesChecks";
import { StackFolder, runInProcess } from "../support/operator";
import { freePort } from "../support/httpServer";
import { KUBECONFIG, STORAGE_CLASS, gpuNodesFree, kubectl } from "./support/cluster";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

const GPU_ACCESS = {
    resource: "nvidia.com/gpu",
    runtimeClassName: "nvidia",
    nodeSelector: { "nvidia.com/gpu.present": "true" },
    tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
    asks: [
        { key: "hosts[0].ollama[0].gpu", count: 1 },
        { key: "hosts[0].ollama[1].gpu", count: 1 },
    ],
};

const args = (overrides: Partial<PreflightArgs> = {}, gpu: Partial<PreflightArgs["gpu"]> = {}): PreflightArgs => ({
    access: { kubeconfig: KUBECONFIG },
    namespace: "checks",
    stack: "checks",
    storageClass: STORAGE_CLASS,
    ...overrides,
    gpu: { ...GPU_ACCESS, ...gpu },
});

describe("the preflight of a Kubernetes stack", () => {
    beforeAll(gpuNodesFree);

    it("finds nothing wrong where the cluster can take the stack", async () => {
        expect(await preflightProblems(args())).toEqual([]);
    });

    it("says a cluster that does not answer is not there, naming the keys to check", async () => {
        const dir = mkdtempSync(path.join(tmpdir(), "aigw-kubeconfig-"));
        const elsewhere = path.join(dir, "kubeconfig");
        const port = await freePort();
        writeFileSync(elsewhere, readFileSync(KUBECONFIG, "utf8").replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${port}`));
        const [problem] = await preflightProblems(args({ access: { kubeconfig: elsewhere } }));
        rmSync(dir, { recursive: true });
        expect(problem).toMatch(
            /^the cluster does not answer: .*ECONNREFUSED.* \(check kubernetes\.kubeconfig and kubernetes\.context\)$/,
        );
        expect(await preflightProblems(args({ access: { kubeconfig: KUBECONFIG, context: "nowhere" } }))).toEqual([
            `the cluster does not answer: ${KUBECONFIG} has no context nowhere (kubernetes.context) (check kubernetes.kubeconfig and kubernetes.context)`,
        ]);
    });

    it("names a StorageClass, RuntimeClass or IngressClass that does not exist, and a cluster without a default StorageClass", async () => {
        expect(
            await preflightProblems(
                args({ storageClass: "fast-ssd", ingressClass: "traefik" }, { runtimeClassName: "nvidia-cdi" }),
            ),
        ).toEqual([
            "StorageClass fast-ssd does not exist (kubernetes.storageClass; kubectl get storageclass lists them)",
            "IngressClass traefik does not exist (kubernetes.ingress.className; install its controller first)",
            'RuntimeClass nvidia-cdi does not exist: install the NVIDIA GPU operator (it creates it), or set kubernetes.runtimeClassName to your cluster\'s ("" for none)',
        ]);
        expect(await preflightProblems(args({ storageClass: undefined }))).toEqual([
            "the cluster has no default StorageClass, so the volume claims would never be bound: set kubernetes.storageClass",
        ]);
    });

    it("counts the GPUs of the nodes that take GPU work, each instance on one node", async () => {
        expect(await preflightProblems(args({}, { asks: [{ key: "hosts[0].ollama[0].gpu", count: 2 }] }))).toEqual([
            "Insufficient nvidia.com/gpu: the instances ask for 2 (hosts[0].ollama[0].gpu: 2) and the nodes that take GPU work have 2 free " +
                "(gpu-0: 1, gpu-1: 1); hosts[0].ollama[0].gpu would not be scheduled: lower gpu, add GPU nodes, or set gpu: none for CPU instances",
        ]);
        expect(await preflightProblems(args({}, { nodeSelector: { "nvidia.com/gpu.product": "H100" } }))).toEqual([
            'no node takes GPU work (none matches kubernetes.nodeSelector {"nvidia.com/gpu.product":"H100"} and tolerates its taints): ' +
                "install the NVIDIA GPU operator or device plugin, or set the instances' gpu: none",
        ]);
        expect(await preflightProblems(args({}, { tolerations: [] }))).toEqual([
            expect.stringMatching(/^no node takes GPU work/),
        ]);
        expect(await preflightProblems(args({}, { resource: "nvidia.com/mig-1g.10gb" }))).toEqual([
            expect.stringMatching(
                /^Insufficient nvidia.com\/mig-1g.10gb: the instances ask for 2 .* have 0 free \(gpu-0: 0, gpu-1: 0\)/,
            ),
        ]);
    });

    it("counts a GPU another pod holds as taken", async () => {
        kubectl(["create", "namespace", "holder"]);
        try {
            kubectl(
                ["apply", "-n", "holder", "-f", "-"],
                JSON.stringify({
                    apiVersion: "v1",
                    kind: "Pod",
                    metadata: { name: "holder" },
                    spec: {
                        nodeName: "gpu-1",
                        tolerations: GPU_ACCESS.tolerations,
                        containers: [{ name: "c", image: "x", resources: { limits: { "nvidia.com/gpu": "1" } } }],
                    },
                }),
            );
            expect(await preflightProblems(args())).toEqual([
                expect.stringContaining("have 1 free (gpu-0: 1, gpu-1: 0)"),
            ]);
        } finally {
            kubectl(["delete", "namespace", "holder", "--wait=false"]);
        }
    });
});

describe("the wait for a rollout", () => {
    const namespace = "rollouts";
    beforeAll(() => kubectl(["create", "namespace", namespace]));
    afterAll(() => kubectl(["delete", "namespace", namespace, "--wait=false"]));

    const deployment = (name: string, limits: Record<string, string>) =>
        kubectl(
            ["apply", "-n", namespace, "-f", "-"],
            JSON.stringify({
                apiVersion: "apps/v1",
                kind: "Deployment",
                metadata: { name },
                spec: {
                    selector: { matchLabels: { app: name } },
                    template: {
                        metadata: { labels: { app: name } },
                        spec: { containers: [{ name: "c", image: "x", resources: { limits } }] },
                    },
                },
            }),
        );
    const rollout = (name: string, timeoutSeconds = 120) =>
        awaitRollout({
            access: { kubeconfig: KUBECONFIG },
            namespace,
            kind: "Deployment",
            name,
            generation: 1,
            timeoutSeconds,
        });

    it("ends once the workload is ready", async () => {
        deployment("fits", { cpu: "1" });
        expect(await rollout("fits")).toBe(`Deployment ${namespace}/fits: 1 of 1 ready, 1 updated`);
    });

    it("fails with the scheduler's reason and the fix, long before its timeout", async () => {
        deployment("too-big", { "nvidia.com/gpu": "4" });
        const started = Date.now();
        await expect(rollout("too-big")).rejects.toThrow(
            /^pod rollouts\/too-big-\S+ of Deployment rollouts\/too-big cannot be scheduled: 0\/3 nodes are available: .*Insufficient nvidia\.com\/gpu.* \(too few free GPUs: lower the instances' gpu, free GPUs, or add GPU nodes/,
        );
        expect(Date.now() - started).toBeLessThan(60_000);
    });

    it("times out with what the pods wait for", async () => {
        deployment("never", { "nvidia.com/gpu": "4" });
        await expect(rollout("never", 3)).rejects.toThrow(
            /^Deployment rollouts\/never is not ready after 3s \(0 of 1 ready/,
        );
    });
});

describe("npm run doctor on a Kubernetes stack", () => {
    const folder = new StackFolder();
    const stack = (name: string, kubernetes: Record<string, unknown>, gpu: number | "none" = 1) =>
        folder.write(name, {
            target: "kubernetes",
            kubernetes: { kubeconfig: KUBECONFIG, storageClass: STORAGE_CLASS, ...kubernetes },
            hosts: [{ name: "cluster", ollama: [{ name: "ollama", port: 11434, gpu }] }],
            groups: { fast: ["llama3.2:3b"] },
        });
    afterAll(() => folder.remove());

    it("runs the preflight up runs: the cluster can take the stack", async () => {
        const { code, out } = await runInProcess(doctorCommand, ["--stack", stack("fits", {}), "--json"], folder.env());
        const report = JSON.parse(out);
        expect(report.findings[0]).toEqual({
            rule: "cluster",
            subject: "namespace ai-gateway",
            verdict: "pass",
            detail: "the cluster answers, the namespace can be used, the classes the stack names exist, and its GPU nodes have the 1 nvidia.com/gpu the instances ask for",
        });
        expect(code).toBe(0);
    });

    it("fails with each problem and its fix", async () => {
        const { code, out, err } = await runInProcess(
            doctorCommand,
            ["--stack", stack("missing", { storageClass: "fast-ssd", runtimeClassName: "nvidia-cdi" }, 3)],
            folder.env(),
        );
        expect(code).toBe(1);
        expect(out).toContain("StorageClass fast-ssd does not exist");
        expect(out).toContain("RuntimeClass nvidia-cdi does not exist");
        expect(out).toContain("Insufficient nvidia.com/gpu: the instances ask for 3");
        expect(err).toBe("doctor: stack missing fails 3 of 4 checks: cluster\n");
    });
});
