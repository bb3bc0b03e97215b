import { validateStackConfig } from "../../../config/load";
import { ServiceSpec, describeServices } from "../../../model/services";
import { kubernetesVantage } from "../../../targets/kubernetes/names";
import { NamedPolicy, networkPolicies } from "../../../targets/kubernetes/networkPolicies";
import { labelsOf } from "../../../targets/kubernetes/names";
import { pullLabels } from "../../../targets/kubernetes/workloads";
import { Endpoint, mayConnect } from "../../support/networkPolicies";

/** Every service: two GPU instances, the routers (so Redis), the cloud router, Qdrant, Open WebUI with embeddings. */
const config = validateStackConfig({
    target: "kubernetes",
    hosts: [
        {
            name: "cluster",
            ollama: [
                { name: "ollama", port: 11434, models: ["llama3.2:3b", "nomic-embed-text:v1.5"] },
                { name: "ollama-2", port: 11434, models: ["qwen3:8b"] },
            ],
        },
    ],
    groups: { fast: ["llama3.2:3b"], light: ["qwen3:8b"] },
    router: { replicas: 2 },
    cloud: { enabled: true },
    cloudApiKey: "sk-test",
    qdrant: { enabled: true },
    openWebUI: { embeddingModel: "nomic-embed-text:v1.5" },
});
const NAMESPACE = "ai-gateway";
const STACK = "test";
const services = describeServices(config, () => kubernetesVantage);
const policies = networkPolicies(services, STACK);
const spec = (name: string) => services.find((s) => s.name === name)!;
const pod = (name: string): Endpoint => ({ namespace: NAMESPACE, labels: labelsOf(name, spec(name).role, STACK) });
const pullPod = (name: string): Endpoint => ({ namespace: NAMESPACE, labels: pullLabels(spec(name), STACK) });
const INTERNET: Endpoint = { outside: "203.0.113.7" };
/** A pod of another application in the cluster, or a client through an Ingress controller. */
const STRANGER: Endpoint = { namespace: "default", labels: { app: "something-else" } };
const DNS: Endpoint = { namespace: "kube-system", labels: { "k8s-app": "kube-dns" } };
const port = (s: ServiceSpec) => s.port.container;

/** Which of the stack's pods may open a connection to `to` on its port. */
const callersOf = (to: string) =>
    services
        .map((s) => s.name)
        .filter((from) => from !== to && mayConnect(policies, NAMESPACE, pod(from), pod(to), port(spec(to))));

describe("the NetworkPolicies: who may talk to whom, as a CNI that enforces them computes it", () => {
    it("let only the routers, Open WebUI (embeddings) and the model pulls reach Ollama", () => {
        for (const instance of ["ollama", "ollama-2"]) {
            expect(callersOf(instance)).toEqual(["litellm", "litellm-cloud", "open-webui"]);
            expect(mayConnect(policies, NAMESPACE, pullPod(instance), pod(instance), 11434)).toBe(true);
            expect(mayConnect(policies, NAMESPACE, STRANGER, pod(instance), 11434)).toBe(false);
        }
    });

    it("let the router on 4000 reach Ollama, Redis and DNS, and nothing beyond the cluster", () => {
        const reaches = services
            .map((s) => s.name)
            .filter((to) => mayConnect(policies, NAMESPACE, pod("litellm"), pod(to), port(spec(to))));
        expect(reaches).toEqual(["ollama", "ollama-2", "redis"]);
        expect(mayConnect(policies, NAMESPACE, pod("litellm"), DNS, 53, "UDP")).toBe(true);
        expect(mayConnect(policies, NAMESPACE, pod("litellm"), INTERNET, 443)).toBe(false);
        expect(mayConnect(policies, NAMESPACE, pod("litellm"), STRANGER, 80)).toBe(false);
    });

    it("let Open WebUI reach the router, Qdrant and its embedding model only", () => {
        const reaches = services
            .map((s) => s.name)
            .filter((to) => mayConnect(policies, NAMESPACE, pod("open-webui"), pod(to), port(spec(to))));
        expect(reaches).toEqual(["ollama", "ollama-2", "litellm", "qdrant"]);
        expect(mayConnect(policies, NAMESPACE, pod("open-webui"), INTERNET, 443)).toBe(false);
    });

    it("let only the cloud router and Ollama (its model pulls) reach beyond the cluster", () => {
        const out = services
            .map((s) => s.name)
            .filter((from) => mayConnect(policies, NAMESPACE, pod(from), INTERNET, 443));
        expect(out).toEqual(["ollama", "ollama-2", "litellm-cloud"]);
    });

    it("let clients reach the routers, Open WebUI and Qdrant, and never Ollama or Redis", () => {
        const open = services
            .map((s) => s.name)
            .filter((to) => mayConnect(policies, NAMESPACE, STRANGER, pod(to), port(spec(to))));
        expect(open).toEqual(["litellm", "litellm-cloud", "qdrant", "open-webui"]);
        expect(callersOf("redis")).toEqual(["litellm"]);
    });

    it("deny every other port of a service", () => {
        expect(mayConnect(policies, NAMESPACE, pod("litellm"), pod("ollama"), 22)).toBe(false);
        expect(mayConnect(policies, NAMESPACE, STRANGER, pod("qdrant"), 6334)).toBe(false);
    });
});

describe("the computation itself", () => {
    const a: Endpoint = { namespace: NAMESPACE, labels: { app: "a" } };
    const b: Endpoint = { namespace: NAMESPACE, labels: { app: "b" } };
    const only = (name: string, spec: { podSelector: object } & Record<string, unknown>): NamedPolicy[] => [
        { name, spec: { policyTypes: ["Ingress", "Egress"], ...spec } },
    ];

    it("allows what no policy selects, and denies what a policy selects without a rule for it", () => {
        expect(mayConnect([], NAMESPACE, a, b, 80)).toBe(true);
        expect(mayConnect(only("deny", { podSelector: { matchLabels: { app: "b" } } }), NAMESPACE, a, b, 80)).toBe(
            false,
        );
        expect(mayConnect(only("deny", { podSelector: { matchLabels: { app: "a" } } }), NAMESPACE, a, b, 80)).toBe(
            false,
        );
    });

    it("needs both the source's egress and the destination's ingress", () => {
        const ingressOnly = only("b", {
            podSelector: { matchLabels: { app: "b" } },
            ingress: [{ from: [{ podSelector: { matchLabels: { app: "a" } } }], ports: [{ port: 80 }] }],
        });
        expect(mayConnect(ingressOnly, NAMESPACE, a, b, 80)).toBe(true);
        expect(mayConnect(ingressOnly, NAMESPACE, a, b, 81)).toBe(false);
        const denyA = only("a", { podSelector: { matchLabels: { app: "a" } } });
        expect(mayConnect([...ingressOnly, ...denyA], NAMESPACE, a, b, 80)).toBe(false);
        expect(() => mayConnect(only("x", { podSelector: { matchExpressions: [] } }), NAMESPACE, a, b, 80)).toThrow(
            "matchExpressions are not read here",
        );
    });
});
