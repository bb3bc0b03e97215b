/**
 * The stack of Pulumi.k8s.yaml, deployed by the real Pulumi engine (`npm run up`, as a user runs it) to the real
 * control plane of ../shared/kubernetes: its API server validates every object, its scheduler places the pods
 * by GPUs, taints and labels, its controllers make Deployments available and StatefulSets ready, bind the claims
 * and fill the EndpointSlices. No container runs (kwok marks pods ready): what is proven is the API, the
 * scheduling, the controllers and the waits of `up`, not a model answering.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { PROJECT_DIR } from "../../commands/stackFile";
import { DeployFolder } from "../e2e/support/deployFolder";
import { phase } from "../e2e/support/stackHarness";
import { KUBECONFIG, STORAGE_CLASS, gpuNodesFree, kubeGet, kubectl } from "./support/cluster";

/** The `ai-gateway:` keys of Pulumi.k8s.yaml, pointed at the suite's cluster and its StorageClass. */
function exampleStack(): Record<string, any> {
    const file = parse(readFileSync(path.join(PROJECT_DIR, "Pulumi.k8s.yaml"), "utf8")) as {
        config: Record<string, unknown>;
    };
    const config = Object.fromEntries(
        Object.entries(file.config).map(([key, value]) => [key.replace(/^ai-gateway:/, ""), value]),
    ) as Record<string, any>;
    config.kubernetes = { ...config.kubernetes, kubeconfig: KUBECONFIG, storageClass: STORAGE_CLASS };
    return config;
}

const LIMIT_SECONDS = 60;
const byName = <T extends { metadata: { name: string } }>(items: T[]) =>
    Object.fromEntries(items.map((item) => [item.metadata.name, item]));

describe("Pulumi.k8s.yaml on a real control plane", () => {
    const stack = "k8s-example";
    const config = exampleStack();
    const namespace: string = config.kubernetes.namespace;
    const inNamespace = (kind: string) => kubeGet(["-n", namespace, kind, "-l", `ai-gateway/stack=${stack}`]).items;
    let folder: DeployFolder;

    beforeAll(async () => {
        folder = new DeployFolder(stack);
        folder.writeConfig(config);
        await gpuNodesFree();
    });
    afterAll(async () => {
        await folder?.run("destroy", ["--yes"]);
        folder?.remove();
        kubectl(["delete", "namespace", namespace, "--ignore-not-found", "--wait=false"]);
    });

    it(`comes up whole in ${LIMIT_SECONDS}s or less: Ollama alone on the GPU nodes, the rest on the CPU node`, async () => {
        const up = await folder.run("up", ["--yes"]);
        phase("up of the example stack", up.seconds);
        expect(up.output).toContain("succeeded");
        expect(up.code).toBe(0);
        expect(up.seconds).toBeLessThanOrEqual(LIMIT_SECONDS);

        const deployments = byName(inNamespace("deployments"));
        expect(Object.keys(deployments).sort()).toEqual(["litellm", "open-webui", "redis"]);
        for (const deployment of Object.values(deployments)) {
            const available = deployment.status.conditions.find((c: any) => c.type === "Available");
            expect([deployment.metadata.name, available.status]).toEqual([deployment.metadata.name, "True"]);
        }
        expect(deployments.litellm.status.availableReplicas).toBe(2);
        const statefulSets = byName(inNamespace("statefulsets"));
        expect(Object.keys(statefulSets).sort()).toEqual(["ollama", "ollama-2", "qdrant"]);
        for (const set of Object.values(statefulSets)) expect(set.status.readyReplicas).toBe(1);

        const pods = inNamespace("pods").filter((pod: any) => !pod.metadata.deletionTimestamp);
        const nodeOf = (prefix: string) =>
            pods.filter((p: any) => p.metadata.name.startsWith(prefix)).map((p: any) => p.spec.nodeName);
        expect([...nodeOf("ollama-0"), ...nodeOf("ollama-2-0")].sort()).toEqual(["gpu-0", "gpu-1"]);
        const onGpuNodes = pods.filter((p: any) => p.spec.nodeName.startsWith("gpu-")).map((p: any) => p.metadata.name);
        expect(onGpuNodes.sort()).toEqual(["ollama-0", "ollama-2-0"]);
        const elsewhere = pods.filter((p: any) => !onGpuNodes.includes(p.metadata.name));
        expect(elsewhere.length).toBeGreaterThanOrEqual(6); // 2 routers, Redis, Open WebUI, Qdrant, the pulls
        for (const pod of elsewhere)
            expect([pod.metadata.name, pod.spec.nodeName]).toEqual([pod.metadata.name, "cpu-0"]);

        const jobs = inNamespace("jobs");
        expect(jobs.map((job: any) => job.status.succeeded)).toEqual([1, 1]);
        const slices = kubeGet(["-n", namespace, "endpointslices"]).items;
        for (const service of ["litellm", "ollama", "ollama-2", "open-webui", "qdrant", "redis"]) {
            const ready = slices
                .filter((s: any) => s.metadata.labels["kubernetes.io/service-name"] === service)
                .flatMap((s: any) => s.endpoints ?? [])
                .filter((e: any) => e.conditions.ready);
            expect([service, ready.length > 0]).toEqual([service, true]);
        }
        const claims = kubeGet(["-n", namespace, "persistentvolumeclaims"]).items;
        expect(claims.map((c: any) => `${c.metadata.name} ${c.status.phase}`).sort()).toEqual([
            "data-qdrant-0 Bound",
            "models-ollama-0 Bound",
            "models-ollama-2-0 Bound",
            "open-webui-data Bound",
        ]);
        expect(
            inNamespace("networkpolicies")
                .map((p: any) => p.metadata.name)
                .sort(),
        ).toEqual([
            "deny-all",
            "litellm",
            "ollama",
            "ollama-2",
            "ollama-2-pull",
            "ollama-pull",
            "open-webui",
            "qdrant",
            "redis",
        ]);
        const [ingress] = inNamespace("ingresses");
        expect(ingress.spec.rules[0].http.paths.map((p: any) => `${p.path} ${p.backend.service.name}`)).toEqual([
            "/ open-webui",
            "/v1 litellm",
        ]);
    });

    it("changes nothing on a second up", async () => {
        const preview = await folder.run("preview", ["--expect-no-changes"]);
        expect(preview.code).toBe(0);
        const up = await folder.run("up", ["--yes"]);
        expect(up.output).toMatch(/succeeded in [\d.]+s \(same \d+\)/);
    });

    it("rolls the router Deployment when the routes change, and leaves the Ollama instances alone", async () => {
        const before = byName(inNamespace("deployments"));
        const ollamaBefore = byName(inNamespace("statefulsets")).ollama.metadata.generation;
        const checksum = (deployment: any) =>
            deployment.spec.template.metadata.annotations["ai-gateway/files-checksum"];
        config.routing.routes[0].keywords.push("kotlin");
        folder.writeConfig(config);
        const up = await folder.run("up", ["--yes"]);
        phase("up with a changed route", up.seconds);
        expect(up.code).toBe(0);

        const after = byName(inNamespace("deployments"));
        expect(after.litellm.metadata.generation).toBe(before.litellm.metadata.generation + 1);
        expect(checksum(after.litellm)).not.toBe(checksum(before.litellm));
        expect(after.litellm.status.updatedReplicas).toBe(2);
        expect(after.litellm.status.availableReplicas).toBe(2);
        const configMap = kubeGet<any>(["-n", namespace, "configmap", "litellm-files"]);
        expect(configMap.data["routing_hook.py"]).toContain('"kotlin"');
        expect(after.redis.metadata.generation).toBe(before.redis.metadata.generation);
        expect(byName(inNamespace("statefulsets")).ollama.metadata.generation).toBe(ollamaBefore);
    });

    it("shows an object the API server refuses in preview, in the API server's own words", async () => {
        const invalid = structuredClone(config);
        invalid.kubernetes.resources.router = { requests: { cpu: "2" }, limits: { cpu: "1" } };
        folder.writeConfig(invalid);
        const preview = await folder.run("preview");
        folder.writeConfig(config);
        expect(preview.code).toBe(1);
        expect(preview.output).toContain("must be less than or equal to cpu limit");
    });

    it(`is destroyed in ${LIMIT_SECONDS}s or less, but for the volume claims and the namespace that holds them`, async () => {
        const destroy = await folder.run("destroy", ["--yes"]);
        phase("destroy of the example stack", destroy.seconds);
        expect(destroy.code).toBe(0);
        expect(destroy.seconds).toBeLessThanOrEqual(LIMIT_SECONDS);
        for (const kind of [
            "deployments",
            "statefulsets",
            "jobs",
            "services",
            "configmaps",
            "secrets",
            "networkpolicies",
            "ingresses",
        ])
            expect([kind, inNamespace(kind).length]).toEqual([kind, 0]);
        // The pods stop after their workloads, as after kubectl delete: each is on its way out.
        for (const pod of inNamespace("pods"))
            expect([pod.metadata.name, pod.metadata.deletionTimestamp]).toEqual([
                pod.metadata.name,
                expect.any(String),
            ]);
        const claims = kubeGet(["-n", namespace, "persistentvolumeclaims"]).items;
        expect(claims.map((c: any) => c.status.phase)).toEqual(["Bound", "Bound", "Bound", "Bound"]);
    });
});
