/**
 * The routing rules that span other keys of the stack config: the groups a route names exist, the embedding
 * model is pulled, every route can be chosen.
 */
import type { Problem } from "../config/primitives";
import type { StackConfig } from "../config/stackKeys";

/** Routing rules that span keys: groups exist, the embedding model is pulled, every route can be chosen. */
export function checkRouting(config: StackConfig, problem: Problem): void {
    const routing = config.routing;
    if (!routing) return;
    const groupNames = Object.keys(config.groups);
    const notAGroup = `is not a group (groups: ${groupNames.join(", ")})`;
    if (!groupNames.includes(routing.default)) problem(["routing", "default"], notAGroup, routing.default);

    const seen = new Set<string>();
    routing.routes.forEach((route, i) => {
        if (seen.has(route.name)) problem(["routing", "routes", i, "name"], "is the name of another route", route.name);
        seen.add(route.name);
        if (!groupNames.includes(route.group)) problem(["routing", "routes", i, "group"], notAGroup, route.group);
        const hasRule = route.keywords.length > 0 || route.patterns.length > 0;
        if (!hasRule && route.examples.length === 0)
            problem(["routing", "routes", i], "has no keyword, pattern or example (give at least one)", route.name);
        else if (!hasRule && !routing.embedding)
            problem(
                ["routing", "routes", i, "examples"],
                "are compared only by embedding, and routing.embedding is not set (set it, or add keywords or patterns)",
                route.examples,
            );
    });

    if (routing.embedding) {
        const served = new Set(config.hosts.flatMap((h) => h.ollama.flatMap((o) => o.models)));
        if (!served.has(routing.embedding.model))
            problem(
                ["routing", "embedding", "model"],
                "is not pulled by any Ollama instance (add it to an instance's models)",
                routing.embedding.model,
            );
        if (routing.routes.every((route) => route.examples.length === 0))
            problem(
                ["routing", "embedding"],
                "is set but no route has examples to compare with (add examples to a route)",
                routing.embedding,
            );
    }
}
