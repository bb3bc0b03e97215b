/**
 * What the cluster cannot take fails `up` with the reason, on the real control plane: GPUs it does not have,
 * before anything is created; a pod the scheduler cannot place, as soon as the scheduler says so, in its words.
 * And a stack that asks for it is destroyed with its data.
 */
import { DeployFolder } from "../e2e/support/deployFolder";
import { phase } from "../e2e/support/stackHarness";
import { KUBECONFIG, STORAGE_CLASS, gpuNodesFree, kubeGet, kubectl } from "./support/cluster";

/** A small stack in a namespace of its own: Ollama instances on the CPU unless `gpus` say otherwise, one router. */
function smallStack(namespace: string, gpus: (number | "none")[], extra: Record<string, unknown> = {}) {
    return {
        target: "kubernetes",
        kubernetes: {
            kubeconfig: KUBECONFIG,
            storageClass: STORAGE_CLASS,
            namespace,
            keepDataOnDestroy: false,
            ...extra,
        },
        hosts: [{ name: "cluster", ollama: gpus.map((gpu, i) => ({ name: `ollama-${i}`, port: 11434, gpu })) }],
        groups: { fast: ["llama3.2:1b"] },
        openWebUI: { enabled: false },
    };
}

const namespaceExists = (namespace: string) =>
    kubeGet(["namespaces"]).items.some((n: any) => n.metadata.name === namespace && n.status.phase === "Active");

describe("a stack the cluster cannot take", () => {
    const folders: DeployFolder[] = [];
    const folderFor = (stack: string, config: Record<string, unknown>) => {
        const folder = new DeployFolder(stack);
        folder.writeConfig(config);
        folders.push(folder);
        return folder;
    };
    afterAll(async () => {
        for (const folder of folders) {
            await folder.run("destroy", ["--yes"]);
            folder.remove();
        }
    });

    it("asking for 3 GPUs of 2 fails before anything is created, saying why and what to do", async () => {
        await gpuNodesFree();
        const folder = folderFor("k8s-gpus", smallStack("gpus", [1, 1, 1]));
        const up = await folder.run("up", ["--yes"]);
        expect(up.code).toBe(1);
        expect(up.output).toContain(
            "Insufficient nvidia.com/gpu: the instances ask for 3 (ai-gateway:hosts[0].ollama[0].gpu: 1, " +
                "ai-gateway:hosts[0].ollama[1].gpu: 1, ai-gateway:hosts[0].ollama[2].gpu: 1) and the nodes that take GPU work " +
                "have 2 free (gpu-0: 1, gpu-1: 1)",
        );
        expect(up.output).toContain("lower gpu, add GPU nodes, or set gpu: none for CPU instances");
        expect(namespaceExists("gpus")).toBe(false);
    });

    it("a pod the scheduler cannot place fails up with the scheduler's reason, not a timeout", async () => {
        // More memory than the CPU node has; the GPU nodes' taint is not tolerated by a router.
        const config = smallStack("unplaceable", ["none"], {
            resources: { router: { requests: { memory: "100Gi" } } },
            timeoutSeconds: 300,
        });
        const folder = folderFor("k8s-unplaceable", config);
        const up = await folder.run("up", ["--yes"]);
        phase("up with a pod that cannot be scheduled", up.seconds);
        expect(up.code).toBe(1);
        expect(up.output).toMatch(
            /pod unplaceable\/litellm-\S+ of Deployment unplaceable\/litellm cannot be scheduled: 0\/3 nodes are available: .*Insufficient memory/,
        );
        expect(up.output).toContain("(lower kubernetes.resources, or add nodes)");
        expect(up.seconds).toBeLessThan(120);
    });

    it("is destroyed with its namespace and volume claims when keepDataOnDestroy is false", async () => {
        const folder = folders[1];
        const claims = kubeGet(["-n", "unplaceable", "persistentvolumeclaims"]).items;
        expect(claims.map((c: any) => c.metadata.name)).toEqual(["models-ollama-0-0"]);
        const destroy = await folder.run("destroy", ["--yes"]);
        phase("destroy with its data", destroy.seconds);
        expect(destroy.code).toBe(0);
        expect(namespaceExists("unplaceable")).toBe(false);
        expect(kubectl(["get", "persistentvolumeclaims", "-A", "-o", "name"])).not.toContain("models-ollama-0-0");
    });
});
