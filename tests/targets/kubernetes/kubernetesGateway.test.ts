/** The program on the Kubernetes target, under Pulumi's mocks: what it declares, in which order, with which secrets. */
import { evaluate, evaluateStackFile } from "../../support/stack";

const KUBERNETES = "kubernetes:";

describe("the program with target: kubernetes", () => {
    const stack = {
        target: "kubernetes",
        hosts: [{ name: "cluster", ollama: [{ name: "ollama", port: 11434, models: ["llama3.2:3b"] }] }],
        groups: { fast: ["llama3.2:3b"] },
        cloud: { enabled: true },
        cloudApiKey: "sk-cloud",
        kubernetes: { namespace: "llm", kubeconfig: "/etc/kube/config", context: "prod" },
    };

    it("checks the cluster before anything else, then puts every object in the stack's namespace", async () => {
        const program = await evaluate(stack);
        const [preflight] = program.ofType(":KubernetesPreflight");
        expect(preflight.inputs).toMatchObject({
            access: { kubeconfig: "/etc/kube/config", context: "prod" },
            namespace: "llm",
            gpu: { resource: "nvidia.com/gpu", asks: [{ key: "ai-gateway:hosts[0].ollama[0].gpu", count: 1 }] },
        });
        const namespace = program.byName("namespace");
        expect(namespace.dependsOn).toContain("cluster-preflight");
        const [provider] = program.ofType("pulumi:providers:kubernetes");
        expect(provider.inputs).toMatchObject({ kubeconfig: "/etc/kube/config", context: "prod" });
        const objects = program.resources.filter((r) => r.custom && r.type.startsWith(KUBERNETES) && r !== namespace);
        for (const object of objects) {
            expect([object.name, object.provider]).toEqual([object.name, "cluster"]);
            expect([object.name, (object.inputs.metadata as { namespace: string }).namespace]).toEqual([
                object.name,
                "llm",
            ]);
        }
        expect(program.resources.filter((r) => r.type.startsWith("docker:"))).toEqual([]);
    });

    it("keeps the generated keys and the cloud key in one Secret, never in an object's plain inputs", async () => {
        const program = await evaluate(stack);
        const [secret] = program.ofType(":Secret");
        expect(Object.keys(secret.inputs.stringData as object).sort()).toEqual([
            "cloud-api-key",
            "cloud-router-master-key",
            "open-webui-admin-password",
            "open-webui-secret-key",
            "router-master-key",
        ]);
        expect((secret.inputs.stringData as Record<string, string>)["cloud-api-key"]).toBe("sk-cloud");
        const holding = program.resources.filter((r) => JSON.stringify(r.inputs).includes("sk-cloud"));
        expect(holding.map((r) => r.type)).toEqual(["kubernetes:core/v1:Secret"]);
        const cloudRouter = program.resources.find(
            (r) => r.type.endsWith(":Deployment") && r.name === "litellm-cloud",
        )!;
        expect(JSON.stringify(cloudRouter.inputs)).toContain('"key":"cloud-api-key"');
    });

    it("waits for each workload and the model pulls, and lets nothing wait for another workload to be ready", async () => {
        const program = await evaluate(stack);
        const waits = program.ofType(":KubernetesRollout").map((r) => `${r.name} ${r.inputs.kind}`);
        expect(waits.sort()).toEqual([
            "litellm-cloud-ready Deployment",
            "litellm-ready Deployment",
            "ollama-pulled Job",
            "ollama-ready StatefulSet",
            "open-webui-ready Deployment",
        ]);
        for (const workload of program.resources.filter((r) => /:(Deployment|StatefulSet|Job)$/.test(r.type)))
            expect([workload.name, workload.dependsOn.filter((d) => d.endsWith("-ready"))]).toEqual([
                workload.name,
                [],
            ]);
    });

    it("renders Pulumi.k8s.yaml: the dev host's models on two GPU instances, replicas, Qdrant, Open WebUI and an Ingress", async () => {
        const program = await evaluateStackFile("k8s");
        const kinds = (suffix: string) =>
            program
                .ofType(suffix)
                .map((r) => (r.inputs.metadata as { name?: string }).name ?? r.name)
                .sort();
        expect(kinds(":StatefulSet")).toEqual(["ollama", "ollama-2", "qdrant"]);
        expect(kinds(":Deployment")).toEqual(["litellm", "open-webui", "redis"]);
        expect(kinds(":Service")).toEqual(["litellm", "ollama", "ollama-2", "open-webui", "qdrant", "redis"]);
        expect(program.ofType(":Ingress")).toHaveLength(1);
        expect(program.evaluated.outputs.urls).toMatchObject({
            router: "http://litellm.ai-gateway.svc:4000",
            openWebUI: "http://open-webui.ai-gateway.svc:3000",
            ingress: "http://ai.example.com/",
        });
    });
});
