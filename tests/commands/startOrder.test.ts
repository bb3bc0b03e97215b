import {
    GraphResource,
    MAY_START_AFTER_MODEL_PULLS,
    containerStartsBehindModelPulls,
    criticalPath,
    measuredSpans,
    plannedSpans,
} from "../../commands/startOrder";
import { evaluate, evaluateStackFile, minimalConfig, Program } from "../support/stack";

const CONTAINER = "docker:index/container:Container";
const PULL = "pulumi-nodejs:dynamic/aigateway:OllamaModel";
const CHECK = "pulumi-nodejs:dynamic/aigateway:HealthCheck";
const IMAGE = "docker:index/remoteImage:RemoteImage";

/** What `npm run render` lists: the custom resources, with the edges between them. */
const rendered = (program: Program) => program.resources.filter((resource) => resource.custom);

/** Every stack shape the project ships, and one with every optional service, replicas and a second host. */
async function everyStack(): Promise<[string, Program][]> {
    const shipped = await Promise.all(
        ["dev", "cpu", "cluster"].map(async (stack) => [stack, await evaluateStackFile(stack)] as [string, Program]),
    );
    const everything = await evaluate({
        ...minimalConfig({
            hosts: [
                {
                    name: "box",
                    bindAddress: "10.0.0.1",
                    ollama: [{ name: "ollama", port: 11434, gpu: "all", models: ["llama3.2:3b"] }],
                },
                {
                    name: "other",
                    docker: "ssh://ops@other",
                    bindAddress: "10.0.0.2",
                    ollama: [{ name: "ollama-b", port: 11434, gpu: "none", models: ["llama3.2:3b", "qwen3:8b"] }],
                },
            ],
            groups: { fast: ["llama3.2:3b"], light: ["qwen3:8b"] },
            router: { replicas: 2, hosts: ["box", "other"] },
            cloud: { enabled: true, port: 4010 },
            qdrant: { enabled: true },
        }),
        cloudApiKey: "sk-test",
    });
    return [...shipped, ["every service, replicas, two router hosts", everything]];
}

describe("start order of the rendered stacks", () => {
    let stacks: [string, Program][];
    beforeAll(async () => {
        stacks = await everyStack();
    });

    it("puts no container start behind a model pull, except those allowed with a reason", () => {
        for (const [stack, program] of stacks) {
            expect({ stack, behindModelPulls: containerStartsBehindModelPulls(rendered(program)) }).toEqual({
                stack,
                behindModelPulls: [],
            });
        }
        for (const reason of Object.values(MAY_START_AFTER_MODEL_PULLS)) expect(reason.length).toBeGreaterThan(20);
    });

    it("ends a cold up with its longest model pull: nothing waits for a pull", () => {
        for (const [stack, program] of stacks) {
            const pulls = program.ofType(":OllamaModel").map((pull) => pull.name);
            const longest = pulls[0];
            // Every step 1 s, one pull 100 s: the run ends when that pull does, 100 s after Ollama was healthy.
            const spans = plannedSpans(rendered(program), (r) => (r.name === longest ? 100 : 1));
            const path = criticalPath(rendered(program), spans);
            expect({ stack, last: path.at(-1)?.name }).toEqual({ stack, last: longest });
            const waitsForPull = rendered(program).filter((r) => r.dependsOn.some((d) => pulls.includes(d)));
            expect({ stack, waitsForPull: waitsForPull.map((r) => r.name) }).toEqual({ stack, waitsForPull: [] });
        }
    });
});

describe("containerStartsBehindModelPulls", () => {
    const graph: GraphResource[] = [
        { type: IMAGE, name: "ollama-image", dependsOn: [] },
        { type: CONTAINER, name: "ollama", dependsOn: ["ollama-image"] },
        { type: CHECK, name: "ollama-healthy", dependsOn: ["ollama"] },
        { type: PULL, name: "ollama-llama3.2:3b", dependsOn: ["ollama-healthy"] },
        { type: CHECK, name: "models-answer", dependsOn: ["ollama-llama3.2:3b"] },
        { type: CONTAINER, name: "litellm", dependsOn: ["models-answer", "ollama-image"] },
        { type: CONTAINER, name: "open-webui", dependsOn: ["ollama-image"] },
    ];

    it("names a container that waits for a pull through another resource, with the chain from the pull", () => {
        expect(containerStartsBehindModelPulls(graph)).toEqual([
            { container: "litellm", chain: ["ollama-llama3.2:3b", "models-answer", "litellm"] },
        ]);
    });

    it("lets an allowed container wait", () => {
        expect(containerStartsBehindModelPulls(graph, { litellm: "a reason long enough to be one" })).toEqual([]);
    });

    it("allows only the containers listed, not one named like a property of every object", () => {
        const named = (name: string) => graph.map((r) => (r.name === "litellm" ? { ...r, name } : r));
        for (const name of ["constructor", "toString", "__proto__"])
            expect(containerStartsBehindModelPulls(named(name), {})).toEqual([
                { container: name, chain: ["ollama-llama3.2:3b", "models-answer", name] },
            ]);
    });

    it("catches the edge a change to the program adds", async () => {
        const program = await evaluateStackFile("cpu");
        const openWebUI = program.container("open-webui");
        const withNewEdge = rendered(program).map((r) =>
            r === openWebUI ? { ...r, dependsOn: [...r.dependsOn, "router-healthy"] } : r,
        );
        const [found] = containerStartsBehindModelPulls(withNewEdge);
        expect(found).toBeUndefined();
        const router = program.container("litellm");
        const pull = program.ofType(":OllamaModel")[0].name;
        const routerBehindPull = withNewEdge.map((r) =>
            r.name === router.name && r.type === CONTAINER ? { ...r, dependsOn: [...r.dependsOn, pull] } : r,
        );
        // The door, which waits for the router's container to take its port, would wait for the pull too.
        expect(containerStartsBehindModelPulls(routerBehindPull)).toEqual([
            { container: "door", chain: [pull, "litellm", "door"] },
            { container: "litellm", chain: [pull, "litellm"] },
            { container: "open-webui", chain: [pull, "litellm", "router-healthy", "open-webui"] },
        ]);
    });
});

describe("plannedSpans and criticalPath", () => {
    const graph: GraphResource[] = [
        { type: IMAGE, name: "a-image", dependsOn: [] },
        { type: IMAGE, name: "b-image", dependsOn: [] },
        { type: CONTAINER, name: "a", dependsOn: ["a-image"] },
        { type: CONTAINER, name: "b", dependsOn: ["b-image", "a"] },
    ];

    it("starts each step when the last of its dependencies ends", () => {
        const seconds: Record<string, number> = { "a-image": 10, "b-image": 30, a: 5, b: 2 };
        const spans = plannedSpans(graph, (r) => seconds[r.name]);
        expect(Object.fromEntries(spans)).toEqual({
            "a-image": { start: 0, end: 10 },
            "b-image": { start: 0, end: 30 },
            a: { start: 10, end: 15 },
            b: { start: 30, end: 32 },
        });
        expect(criticalPath(graph, spans).map((step) => step.name)).toEqual(["b-image", "b"]);
    });

    it("follows measured times, skipping resources a run left as they were", () => {
        const step = (name: string, type: string, startedAt: number, endedAt: number) => ({
            name,
            type,
            op: "create",
            seconds: endedAt - startedAt,
            startedAt,
            endedAt,
        });
        const measured = measuredSpans(graph, [
            step("a-image", IMAGE, 0.5, 40),
            step("a", "aigateway:docker:ServiceContainer", 0.4, 41.5), // a component of the same name
            step("a", CONTAINER, 40.1, 41),
            step("b", CONTAINER, 41.2, 43),
        ]);
        expect(measured.get("a")).toEqual({ start: 40.1, end: 41 });
        expect(criticalPath(graph, measured)).toEqual([
            { name: "a-image", type: IMAGE, start: 0.5, end: 40 },
            { name: "a", type: CONTAINER, start: 40.1, end: 41 },
            { name: "b", type: CONTAINER, start: 41.2, end: 43 },
        ]);
    });
});
