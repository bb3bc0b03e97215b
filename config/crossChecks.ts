/**
 * The rules of the stack config that span several keys: hosts and placements, groups and fallbacks, the cloud
 * key, routing, Open WebUI's references, names, ports and reachability. Each problem names the key to fix.
 */
import { z } from "zod";
import { checkRouting } from "../routing/checks";
import { openWebUIEmbeddingHost } from "../model/plan";
import { checkPorts, checkReachability } from "./hostChecks";
import { checkNames } from "./nameChecks";
import { checkRemoteAccess } from "./remoteAccessChecks";
import { Problem, ollamaModelKey, sameOllamaModel } from "./primitives";
import { RESERVED_GROUPS } from "./serviceKeys";
import type { StackConfig } from "./stackKeys";

/** Rules that span several keys: names, ports, groups, fallbacks, hosts and reachability. */
export function checkCrossReferences(config: StackConfig, ctx: z.RefinementCtx): void {
    const problem: Problem = (path, message, input) => ctx.addIssue({ code: "custom", path, message, input });
    /** A problem with a key itself rather than its value: the message names it. */
    const keyProblem = (path: (string | number)[], message: string) =>
        ctx.addIssue({ code: "custom", path, message, params: { aboutKey: true } });

    const hostNames = config.hosts.map((h) => h.name);
    config.hosts.forEach((h, i) => {
        if (hostNames.indexOf(h.name) !== i) problem(["hosts", i, "name"], "is used by another host", h.name);
    });

    let placementInvalid = false;
    const placedOn = (path: (string | number)[], placement: string | undefined) => {
        if (placement !== undefined && !hostNames.includes(placement)) {
            problem(path, `is not one of the hosts (${hostNames.join(", ")})`, placement);
            placementInvalid = true;
        }
    };
    (config.router.hosts ?? []).forEach((routerHost, i) => {
        placedOn(["router", "hosts", i], routerHost);
        if (config.router.hosts!.indexOf(routerHost) !== i) {
            problem(["router", "hosts", i], "is listed twice", routerHost);
            placementInvalid = true;
        }
    });
    placedOn(["openWebUI", "host"], config.openWebUI.host);
    placedOn(["qdrant", "host"], config.qdrant.host);

    const served = new Set(config.hosts.flatMap((h) => h.ollama.flatMap((o) => o.models)));
    const groupNames = Object.keys(config.groups);
    if (groupNames.length === 0)
        problem(
            ["groups"],
            "defines no model group (define at least one, e.g. fast: [llama3.2:3b], and list its model under an Ollama instance's models)",
            config.groups,
        );
    /** The first spelling of each model in the groups, and where it is: another spelling is refused. */
    const spellings = new Map<string, { model: string; where: string }>();
    for (const [group, models] of Object.entries(config.groups)) {
        models.forEach((model, i) => {
            const first = spellings.get(ollamaModelKey(model));
            if (!first) spellings.set(ollamaModelKey(model), { model, where: `groups.${group}[${i}]` });
            else if (first.model !== model)
                problem(
                    ["groups", group, i],
                    sameOllamaModel(first.model, first.where, "spell each model one way"),
                    model,
                );
        });
    }
    for (const [group, models] of Object.entries(config.groups)) {
        if (RESERVED_GROUPS.includes(group))
            keyProblem(["groups", group], `is a name the router reserves for itself (${RESERVED_GROUPS.join(", ")})`);
        models.forEach((model, i) => {
            if (!served.has(model))
                problem(
                    ["groups", group, i],
                    "is not pulled by any Ollama instance (add it to an instance's models)",
                    model,
                );
        });
    }
    for (const [group, targets] of Object.entries(config.router.fallbacks)) {
        if (!groupNames.includes(group))
            problem(
                ["router", "fallbacks", group],
                `falls back from a group that does not exist (groups: ${groupNames.join(", ")})`,
                group,
            );
        targets.forEach((target, i) => {
            if (target === group) problem(["router", "fallbacks", group, i], "is the group itself", target);
            else if (!groupNames.includes(target))
                problem(["router", "fallbacks", group, i], `is not a group (groups: ${groupNames.join(", ")})`, target);
        });
    }

    if (config.cloud.enabled && !config.cloudApiKey)
        problem(
            ["cloudApiKey"],
            "is required when cloud.enabled is true (pulumi config set --secret cloudApiKey <key>)",
            undefined,
        );
    checkRouting(config, problem);
    checkOpenWebUI(config, problem);
    checkNames(config, problem, placementInvalid);

    // Ports and reachability are judged per Docker host: they mean nothing while a placement is wrong, nor on
    // Kubernetes, where every service has a Service of its own.
    if (placementInvalid || config.target !== "docker") return;
    checkPorts(config, problem);
    checkReachability(config, problem);
    checkRemoteAccess(config, problem);
}

/** Open WebUI's keys that name other parts of the stack: its embedding model, the routing filter's examples. */
function checkOpenWebUI(config: StackConfig, problem: Problem): void {
    const { embeddingModel, routingFilter } = config.openWebUI;
    if (embeddingModel !== undefined && openWebUIEmbeddingHost(config) === undefined)
        problem(
            ["openWebUI", "embeddingModel"],
            "is not pulled by any Ollama instance (add it to an instance's models)",
            embeddingModel,
        );
    if (routingFilter.useEmbeddings && config.routing && !config.routing.embedding)
        problem(
            ["openWebUI", "routingFilter", "useEmbeddings"],
            "is true, but routing.embedding is not set, so the filter has nothing to compare prompts with (set routing.embedding, or remove this key)",
            routingFilter.useEmbeddings,
        );
}
