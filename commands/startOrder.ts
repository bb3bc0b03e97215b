/**
 * The start order of a stack, read from the dependency edges of its resources (what `npm run render` prints
 * as `dependsOn`): which container starts wait for a model pull, and the critical path of a run, the chain
 * of waits that ends last, from planned or measured step times. Pure: the tests run it on rendered stacks,
 * the e2e suite on the times of a real `up`.
 */

/** A resource and the resources it waits for, as the render lists them. */
export interface GraphResource {
    /** Pulumi type token, e.g. `docker:index/container:Container`. */
    type: string;
    /** Resource name. */
    name: string;
    /** Names of the resources it waits for. */
    dependsOn: string[];
}

/** When a resource's step ran, in seconds from the start of the run. */
export interface StepSpan {
    /** The step began. */
    start: number;
    /** The step ended. */
    end: number;
}

/** One link of a critical path: a resource and when its step ran. */
export interface PathStep extends StepSpan {
    /** Resource name. */
    name: string;
    /** Its type token. */
    type: string;
}

/**
 * Containers that may start only after a model pull, by container name, with the reason. None needs to:
 * the routers only forward requests and Open WebUI asks the router only when a user does, so a model that
 * is still downloading answers "not found" for a while and nothing else goes wrong.
 */
export const MAY_START_AFTER_MODEL_PULLS: Record<string, string> = {};

const isContainer = (resource: GraphResource) => resource.type === "docker:index/container:Container";
const isModelPull = (resource: GraphResource) => resource.type.endsWith(":OllamaModel");

function byName(graph: GraphResource[]): Map<string, GraphResource> {
    return new Map(graph.map((resource) => [resource.name, resource]));
}

/**
 * The shortest chain of waits from a model pull to `start`, pull first; undefined when `start` waits for no
 * model pull, directly or through what it waits for.
 */
function chainFromModelPull(resources: Map<string, GraphResource>, start: GraphResource): string[] | undefined {
    const cameFrom = new Map<string, string>([[start.name, ""]]);
    for (const queue = [start.name]; queue.length > 0;) {
        const name = queue.shift()!;
        const resource = resources.get(name);
        if (resource && resource !== start && isModelPull(resource)) {
            const chain = [name];
            for (let next = cameFrom.get(name)!; next; next = cameFrom.get(next)!) chain.push(next);
            return chain;
        }
        for (const dependency of resource?.dependsOn ?? []) {
            if (cameFrom.has(dependency)) continue;
            cameFrom.set(dependency, name);
            queue.push(dependency);
        }
    }
    return undefined;
}

/**
 * Every container whose start waits for a model pull and is not in `allowed`, with the chain of waits from
 * the pull to the container (`["ollama-llama3.2:3b", "router-healthy", "open-webui"]`).
 */
export function containerStartsBehindModelPulls(
    graph: GraphResource[],
    allowed: Record<string, string> = MAY_START_AFTER_MODEL_PULLS,
): { container: string; chain: string[] }[] {
    const resources = byName(graph);
    // Own keys only: `"constructor" in {}` is true, and a container may be named so.
    return graph
        .filter((resource) => isContainer(resource) && !Object.hasOwn(allowed, resource.name))
        .flatMap((container) => {
            const chain = chainFromModelPull(resources, container);
            return chain ? [{ container: container.name, chain }] : [];
        });
}

/**
 * When each step would run if it began as soon as everything it waits for had ended and took
 * `seconds(resource)`: the plan a render's edges give, with unlimited parallelism.
 */
export function plannedSpans(graph: GraphResource[], seconds: (resource: GraphResource) => number) {
    const resources = byName(graph);
    const spans = new Map<string, StepSpan>();
    const plan = (name: string, visiting: Set<string>): StepSpan => {
        const known = spans.get(name);
        if (known) return known;
        const resource = resources.get(name);
        if (!resource || visiting.has(name)) return { start: 0, end: 0 };
        visiting.add(name);
        const start = Math.max(0, ...resource.dependsOn.map((dependency) => plan(dependency, visiting).end));
        const span = { start, end: start + seconds(resource) };
        spans.set(name, span);
        return span;
    };
    for (const resource of graph) plan(resource.name, new Set());
    return spans;
}

/**
 * The spans of a run's steps (`npm run up -- --json`'s `steps`) for the resources of `graph`, matched by type
 * and name: a component can share its name with a resource of the graph.
 */
export function measuredSpans(
    graph: GraphResource[],
    steps: { name: string; type: string; startedAt: number; endedAt: number }[],
): Map<string, StepSpan> {
    const inGraph = new Set(graph.map((resource) => `${resource.type}::${resource.name}`));
    return new Map(
        steps
            .filter((step) => inGraph.has(`${step.type}::${step.name}`))
            .map((step) => [step.name, { start: step.startedAt, end: step.endedAt }]),
    );
}

/**
 * The critical path: from the step that ended last, back through the dependency that ended last before it,
 * to a step that waited for no other step. Resources without a span (left as they were) are skipped.
 * The steps come in the order they ran.
 */
export function criticalPath(graph: GraphResource[], spans: Map<string, StepSpan>): PathStep[] {
    const resources = byName(graph);
    const stepOf = (name: string): PathStep | undefined => {
        const span = spans.get(name);
        const resource = resources.get(name);
        return span && resource ? { name, type: resource.type, ...span } : undefined;
    };
    const latest = (names: string[]) =>
        names
            .map(stepOf)
            .filter((step): step is PathStep => step !== undefined)
            .reduce<PathStep | undefined>((a, b) => (a && a.end >= b.end ? a : b), undefined);
    const path: PathStep[] = [];
    for (let step = latest([...spans.keys()]); step; step = latest(resources.get(step.name)!.dependsOn))
        path.unshift(step);
    return path;
}
