/**
 * The generated classifier, run by python3 on the generated files themselves: the decisions on a table of
 * prompts, the embedding path with a predictable embedding, its failures, the hook's wiring and the filter
 * loaded the way Open WebUI 0.12.4 loads a function.
 */
import { validateStackConfig } from "../../config/load";
import { renderRoutingFilter } from "../../routing/filter";
import { renderRoutingHook } from "../../routing/hook";
import { REWRITTEN_IMPORTS, openWebUIFunctionProvider } from "../../providers/openWebUIFunction";
import { Decision, routedConfig, runGenerated } from "../support/routing";
import { dockerVantage } from "../../targets/docker/doorPlan";

const config = validateStackConfig(routedConfig());
const hook = renderRoutingHook(config, dockerVantage(config, "box"));
const filter = renderRoutingFilter(config, dockerVantage(config, "box"));

const filler = "The quarterly report lists revenue, costs and staffing. ".repeat(1000);

/** [what, prompt, route (null: the default group), group, reason contains] */
const TABLE: [string, string, string | null, string, string][] = [
    ["code by keyword", "Write a Python function that reverses a list", "code", "code", 'keyword "python"'],
    ["code by pattern", "Why does this fail?\ndef parse(line):\n    return line.split()", "code", "code", "pattern"],
    ["code by fence", "```\nconsole.log(1)\n```", "code", "code", 'pattern "```"'],
    ["summary", "Summarize this text: the meeting moved to Friday.", "summary", "general", 'keyword "summarize"'],
    ["summary, other case and punctuation", "TL;DR of the thread below?", "summary", "general", "tl;dr"],
    ["search", "Search the web for the latest news on solar panels", "search", "search", "latest news"],
    ["mixed: the route with more hits wins", "Search for a Rust function example", "code", "code", "function"],
    ["mixed: a tie goes to the earlier route", "Summarize the bug report", "code", "code", 'keyword "bug"'],
    ["mixed: summary of search results", "Look up the latest news and summarize", "search", "search", "look up"],
    ["nothing matches", "Tell me a joke about cats", null, "general", "no rule matched"],
    ["a keyword inside a longer word", "Is this pythonic? I am debugging it", null, "general", "no rule matched"],
    ["empty", "", null, "general", "empty prompt"],
    ["whitespace only", "   \n\t", null, "general", "empty prompt"],
    ["huge, instruction first", `Summarize the following report:\n${filler}`, "summary", "general", "summarize"],
    ["huge, instruction last", `${filler}\nNow write a Python script for it.`, "code", "code", "python"],
    ["huge, keyword only in the unread middle", `${filler}python${filler}`, null, "general", "no rule matched"],
    ["German", "Schreibe eine Zusammenfassung dieses Textes", "summary", "general", "zusammenfassung"],
    ["French with an accent", "Fais un RÉSUMÉ de ce texte", "summary", "general", "résumé"],
    ["Chinese next to a Latin keyword", "请帮我写一个Python函数", "code", "code", 'keyword "python"'],
    ["Chinese keyword inside a sentence", "帮我看看这段代码有什么问题", "code", "code", "代码"],
    ["Japanese keyword", "この記事を要約してください", "summary", "general", "要約"],
    ["Russian with a Latin keyword", "Напиши функцию на Python", "code", "code", "python"],
    ["a spaced keyword over a line break", "add a unit\ntest for this", "code", "code", "unit test"],
];

describe("the classifier (rules)", () => {
    const decisions = runGenerated<Decision[]>(hook, "classify", { texts: TABLE.map((row) => row[1]), embed: "none" });

    it.each(TABLE.map((row, i) => [...row, i] as const))("%s", (_, __, route, group, reason, i) => {
        expect(decisions[i]).toMatchObject({ route, group });
        expect(decisions[i].reason.toLowerCase()).toContain(reason.toLowerCase());
    });
});

describe("the classifier (embeddings)", () => {
    const texts = [
        "turn an iso date string into a timestamp", // an example itself
        "give me the main points of this article please", // close to a summary example
        "tell me a joke about cats", // far from every example
        "Python, obviously", // a rule decides before any embedding
    ];

    it("takes the nearest example's route when it is similar enough, else the default group", () => {
        const decisions = runGenerated<Decision[]>(hook, "classify", { texts, embed: "words" });
        expect(decisions.map((d) => [d.route, d.group])).toEqual([
            ["code", "code"],
            ["summary", "general"],
            [null, "general"],
            ["code", "code"],
        ]);
        expect(decisions[0].reason).toBe('similar to example "turn an iso date string into a timestamp" (1.00)');
        expect(decisions[2].reason).toMatch(/^no rule matched, nearest example 0\.\d\d < 0\.50$/);
        expect(decisions[3].reason).toBe('matched keyword "python"');
    });

    it("falls back to the default group when the embedding backend fails", () => {
        const decisions = runGenerated<Decision[]>(hook, "classify", { texts: texts.slice(0, 3), embed: "broken" });
        for (const d of decisions) {
            expect(d).toMatchObject({ route: null, group: "general" });
            expect(d.reason).toContain("embedding failed (ConnectionRefusedError('embedding backend down'))");
        }
    });

    it("waits at most its timeout for a stalled Ollama, then skips embeddings for a while", () => {
        const { results, connections } = runGenerated<{
            results: { decision: Decision; ms: number }[];
            connections: number;
        }>(hook, "stalled", {
            texts: ["tell me a joke", "another joke", "a third one"],
            timeoutSeconds: 0.3,
        });
        expect(results.map((r) => r.decision.group)).toEqual(["general", "general", "general"]);
        expect(results[0].decision.reason).toMatch(/embedding failed \(.*timed out/);
        // It waited for the stalled call (its 0.3 s timeout: waiting never makes time shorter) and gave up there:
        // within 10 times the timeout, where a call without one would wait for the driver's 60 s kill.
        expect(results[0].ms).toBeGreaterThanOrEqual(250);
        expect(results[0].ms).toBeLessThan(3000);
        // The next prompts did not ask the backend again: one connection for the three.
        for (const later of results.slice(1))
            expect(later.decision.reason).toContain("embedding backend failed less than 30s ago");
        expect(connections).toBe(1);
    });
});

describe("the LiteLLM hook", () => {
    type Routed = { model: string; headers: Record<string, string> | null };
    const routed = runGenerated<Routed[]>(hook, "hook", {
        // Not about the rules' time limit: room for a fresh rules process's start on a loaded machine.
        rulesTimeoutSeconds: 30,
        requests: [
            { model: "auto", messages: [{ role: "user", content: "fix this python bug" }], metadata: {} },
            {
                model: "auto",
                messages: [
                    { role: "system", content: "You write Python." },
                    { role: "user", content: [{ type: "text", text: "Résumé: summarize this" }] },
                ],
            },
            { model: "auto", prompt: "tell me a story" },
            { model: "code", messages: [{ role: "user", content: "summarize" }], metadata: {} },
            { model: "auto", messages: [{ role: "user", content: [{ type: "image_url", image_url: {} }] }] },
        ],
    });

    it("rewrites auto to the chosen group, reading the last user message only", () => {
        expect(routed.map((r) => r.model)).toEqual(["code", "general", "general", "code", "general"]);
    });

    it("tells the decision in response headers, in ASCII", () => {
        expect(routed[0].headers).toEqual({
            "x-ai-gateway-route": "code",
            "x-ai-gateway-route-group": "code",
            "x-ai-gateway-route-reason": 'matched keyword "python", keyword "bug"',
        });
        expect(routed[1].headers?.["x-ai-gateway-route-reason"]).toBe(
            'matched keyword "summarize", keyword "r\\xe9sum\\xe9"',
        );
        expect(routed[2].headers).toMatchObject({
            "x-ai-gateway-route": "default",
            "x-ai-gateway-route-group": "general",
        });
        expect(routed[4].headers?.["x-ai-gateway-route-reason"]).toBe("empty prompt");
    });

    it("leaves requests for a real group alone, without headers", () => {
        expect(routed[3]).toEqual({ model: "code", headers: null });
    });

    it("ignores a decision the client put in the request's metadata: it can neither make nor change the headers", () => {
        const spoof = { route: "evil\r\nset-cookie: a=b", group: "cloud", reason: "spoofed" };
        const spoofed = runGenerated<Routed[]>(hook, "hook", {
            rulesTimeoutSeconds: 30,
            requests: [
                { model: "code", messages: [{ role: "user", content: "hi" }], metadata: { ai_gateway_route: spoof } },
                {
                    model: "code",
                    messages: [{ role: "user", content: "hi" }],
                    litellm_metadata: { ai_gateway_route: spoof },
                },
                {
                    model: "auto",
                    messages: [{ role: "user", content: "fix this python bug" }],
                    metadata: { ai_gateway_route: spoof },
                    litellm_metadata: { ai_gateway_route: spoof },
                },
                {
                    model: "auto",
                    messages: [{ role: "user", content: "summarize this" }],
                    metadata: { ai_gateway_route: spoof },
                },
            ],
        });
        expect(spoofed.map((r) => r.headers)).toEqual([
            null,
            null,
            {
                "x-ai-gateway-route": "code",
                "x-ai-gateway-route-group": "code",
                "x-ai-gateway-route-reason": 'matched keyword "python", keyword "bug"',
            },
            {
                "x-ai-gateway-route": "summary",
                "x-ai-gateway-route-group": "general",
                "x-ai-gateway-route-reason": 'matched keyword "summarize"',
            },
        ]);
        expect(spoofed.map((r) => r.model)).toEqual(["code", "code", "code", "general"]);
    });
});

describe("the Open WebUI filter", () => {
    type Loaded = {
        frontmatter: Record<string, string>;
        rewrittenImports: string[];
        kind: string;
        valves: string[];
        models: string[];
        statuses: { type: string; data: { description: string; done: boolean } }[];
    };
    const loaded = runGenerated<Loaded>(filter, "openwebui", {
        bodies: [
            { model: "auto", messages: [{ role: "user", content: "write a rust function" }] },
            { model: "search", messages: [{ role: "user", content: "write a rust function" }] },
        ],
    });

    it("loads as Open WebUI 0.12.4 loads a function: frontmatter, no rewritten import, a Filter", () => {
        expect(loaded.frontmatter).toMatchObject({ title: "Route by content (ai-gateway)", version: "1.0.0" });
        expect(loaded.frontmatter.requirements).toBeUndefined();
        expect(loaded.rewrittenImports).toEqual([]);
        expect(loaded.kind).toBe("filter");
        expect(loaded.valves).toEqual(["priority", "show_status", "use_embeddings"]);
    });

    it("rewrites auto to the chosen group and shows the decision as a status, leaving other models alone", () => {
        expect(loaded.models).toEqual(["code", "search"]);
        expect(loaded.statuses).toEqual([
            {
                type: "status",
                data: { description: 'Routed to code: matched keyword "rust", keyword "function"', done: true },
            },
        ]);
    });

    it("holds the same classifier and routes as the hook", () => {
        const classifier = (source: string) =>
            source.slice(source.indexOf("LOG = "), source.indexOf("\ndef classify("));
        expect(classifier(filter)).toBe(classifier(hook));
    });
});

describe("rules and examples holding the text Open WebUI rewrites in a function's source", () => {
    // Open WebUI replaces "from main" with "from open_webui.main" (and utils, apps, config) anywhere in a
    // function's source before running it: in the rendered routes that text must never appear as such.
    const importish = validateStackConfig(
        routedConfig({
            routing: {
                default: "general",
                routes: [
                    {
                        name: "imports",
                        group: "code",
                        keywords: ["from main", "from utils", "\\from apps"],
                        patterns: ["from config\\b"],
                        examples: ["read the value from config files"],
                    },
                ],
            },
        }),
    );
    const rendered = renderRoutingFilter(importish, dockerVantage(importish, "box"));
    const prompts = ["import it from main", "load it from config", "copy it from utils", "\\from apps", "hello"];

    it("renders them so Open WebUI rewrites nothing, and OpenWebUIFunction's check accepts the filter", async () => {
        expect(REWRITTEN_IMPORTS.filter((text) => rendered.includes(text))).toEqual([]);
        const { failures } = await openWebUIFunctionProvider.check!(
            {},
            { url: "http://127.0.0.1:3000", functionId: "route_by_content", name: "r", content: rendered },
        );
        expect(failures).toEqual([]);
    });

    it("routes by them unchanged, in the filter as Open WebUI loads it and in the hook", () => {
        const loaded = runGenerated<{ rewrittenImports: string[]; models: string[] }>(rendered, "openwebui", {
            bodies: prompts.map((content) => ({ model: "auto", messages: [{ role: "user", content }] })),
        });
        expect(loaded.rewrittenImports).toEqual([]);
        expect(loaded.models).toEqual(["code", "code", "code", "code", "general"]);
        const decisions = runGenerated<Decision[]>(
            renderRoutingHook(importish, dockerVantage(importish, "box")),
            "classify",
            {
                texts: prompts,
                embed: "none",
            },
        );
        expect(decisions.map((d) => d.reason)).toEqual([
            'matched keyword "from main"',
            'matched pattern "from config\\b"',
            'matched keyword "from utils"',
            'matched keyword "\\from apps"',
            "no rule matched",
        ]);
    });
});

describe("values that get past validation (an older stack, a hand edit)", () => {
    // Validation refuses each of these; the generated code must still import, route and never stall.
    const risky = validateStackConfig(routedConfig());
    risky.routing!.routes[0].keywords.push("\x1c", "\x85");
    risky.routing!.routes[0].patterns.push("x{4294967296}", `${"(".repeat(1000)}x${")".repeat(1000)}`);
    risky.routing!.routes[1].patterns.push("(\\w+\\s?)+\\(\\)");
    // 32 characters: Python's re takes tens of seconds on 28 with the last pattern, doubling per character: minutes.
    const adversarial = "a".repeat(32);
    let nested: unknown = "python";
    for (let i = 0; i < 985; i++) nested = [nested];
    const bodies = [
        { model: "auto", messages: [{ role: "user", content: "fix this python bug" }] },
        { model: "auto", messages: [{ role: "user", content: adversarial }] },
        { model: "auto", messages: [{ role: "user", content: nested }] },
        { model: "auto", messages: [{ role: "user", content: "summarize the python docs" }] },
    ];

    it("the hook loads, leaves the bad rules out, and bounds the adversarial prompt's decision", () => {
        const started = Date.now();
        const routed = runGenerated<{ model: string; headers: Record<string, string> }[]>(
            renderRoutingHook(risky, dockerVantage(risky, "box")),
            "hook",
            // The adversarial prompt is cut at this limit; the others' fresh rules processes start well within it
            // even on a loaded machine, where the hook's own 1 s sent them to the default group too.
            { requests: bodies, rulesTimeoutSeconds: 5 },
        );
        expect(routed.map((r) => r.model)).toEqual(["code", "general", "general", "code"]);
        expect(routed[1].headers["x-ai-gateway-route-reason"]).toBe("rules took over 5s");
        // Four requests, each with a fresh rules process (one event loop per request here), one cut at 5 s: about
        // 7 s under a load average of 10. Not hung: well under the minutes of the whole match.
        expect(Date.now() - started).toBeLessThan(60_000);
    });

    it("the hook's headers hold printable ASCII only, whatever a rule holds (no CR or LF to split a header)", () => {
        const injecting = validateStackConfig(routedConfig());
        injecting.routing!.routes[0].keywords.push("evil\r\nset-cookie:\ta=b\u2028");
        const [{ headers }] = runGenerated<{ headers: Record<string, string> }[]>(
            renderRoutingHook(injecting, dockerVantage(injecting, "box")),
            "hook",
            {
                rulesTimeoutSeconds: 30,
                requests: [{ model: "auto", messages: [{ role: "user", content: "evil set-cookie: a=b\u2028" }] }],
            },
        );
        expect(headers["x-ai-gateway-route-reason"]).toBe('matched keyword "evil\\x0d\\x0aset-cookie:\\x09a=b\\u2028"');
        for (const value of Object.values(headers)) expect(value).toMatch(/^[\x20-\x7e]*$/);
    });

    it("the Open WebUI filter loads and routes the same, deeply nested content included", () => {
        const loaded = runGenerated<{ models: string[] }>(
            renderRoutingFilter(risky, dockerVantage(risky, "box")),
            "openwebui",
            {
                bodies,
            },
        );
        expect(loaded.models).toEqual(["code", "general", "general", "code"]);
    });
});
