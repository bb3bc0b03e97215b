import { spawnSync } from "node:child_process";
import { parse } from "yaml";
import { doorForwards, dockerVantage } from "../../targets/docker/doorPlan";
import { validateStackConfig } from "../../config/load";
import { renderRouterConfig } from "../../model/litellm";
import { unportablePatternReason } from "../../routing/schema";
import { classifierSpec } from "../../routing/classifier";
import { routingHookFiles } from "../../routing/hook";
import { renderRoutingFilter } from "../../routing/filter";
import { Program, evaluate, problemsOf } from "../support/stack";
import { routedConfig } from "../support/routing";

const withRouting = (routing: unknown) => ({ ...routedConfig(), routing });

describe("the routing key", () => {
    it("is off when absent, and fills in the embedding defaults when present", () => {
        expect(validateStackConfig(routedConfig({ routing: undefined })).routing).toBeUndefined();
        const routing = validateStackConfig(
            withRouting({
                default: "general",
                routes: [{ name: "code", group: "code", examples: ["x"] }],
                embedding: { model: "nomic-embed-text:v1.5" },
            }),
        ).routing!;
        expect(routing.routes[0]).toEqual({ name: "code", group: "code", keywords: [], patterns: [], examples: ["x"] });
        expect(routing.embedding).toEqual({ model: "nomic-embed-text:v1.5", threshold: 0.6, timeoutMs: 2000 });
    });

    it.each([
        [
            "a default group that does not exist",
            { default: "chat", routes: [{ name: "code", group: "code", keywords: ["python"] }] },
            ['ai-gateway:routing.default: "chat" is not a group (groups: general, code, search)'],
        ],
        [
            "a route to a group that does not exist, and a name used twice",
            {
                default: "general",
                routes: [
                    { name: "code", group: "coder", keywords: ["python"] },
                    { name: "code", group: "code", keywords: ["rust"] },
                ],
            },
            [
                'ai-gateway:routing.routes[0].group: "coder" is not a group (groups: general, code, search)',
                'ai-gateway:routing.routes[1].name: "code" is the name of another route',
            ],
        ],
        [
            "a route with no signal",
            { default: "general", routes: [{ name: "code", group: "code" }] },
            [
                'ai-gateway:routing.routes[0]: {"name":"code","group":"code"} has no keyword, pattern or example (give at least one)',
            ],
        ],
        [
            "examples without an embedding model",
            { default: "general", routes: [{ name: "code", group: "code", examples: ["write code"] }] },
            [
                'ai-gateway:routing.routes[0].examples: ["write code"] are compared only by embedding, and routing.embedding is not set (set it, or add keywords or patterns)',
            ],
        ],
        [
            "an embedding model no instance pulls, and no example to compare with",
            {
                default: "general",
                routes: [{ name: "code", group: "code", keywords: ["python"] }],
                embedding: { model: "bge-m3" },
            },
            [
                'ai-gateway:routing.embedding.model: "bge-m3" is not pulled by any Ollama instance (add it to an instance\'s models)',
                'ai-gateway:routing.embedding: {"model":"bge-m3"} is set but no route has examples to compare with (add examples to a route)',
            ],
        ],
        [
            "a threshold outside 0-1, an empty keyword and a misspelt key",
            {
                default: "general",
                routes: [{ name: "code", group: "code", keywords: [" "], example: ["x"] }],
                embedding: { model: "nomic-embed-text:v1.5", threshold: 1.5 },
            },
            [
                'ai-gateway:routing.routes[0].keywords[0]: " " is not a keyword (a non-empty string: it has nothing but whitespace, as Python reads it)',
                "ai-gateway:routing.routes[0].example: unknown key (allowed: name, group, keywords, patterns, examples)",
                "ai-gateway:routing.embedding.threshold: 1.5 is not a similarity threshold (a number from 0 to 1)",
            ],
        ],
        [
            "a pattern outside the portable subset",
            { default: "general", routes: [{ name: "code", group: "code", patterns: ["(?P<lang>python)"] }] },
            [
                'ai-gateway:routing.routes[0].patterns[0]: "(?P<lang>python)" is not a portable pattern: it uses "(?" other than (?:...), (?=...) and (?!...) (no named groups, lookbehind or inline flags)',
            ],
        ],
    ])("refuses %s, naming the key and the value", (_, routing, expected) => {
        expect(problemsOf(withRouting(routing))).toEqual(expected);
    });
});

describe("patterns", () => {
    /** Patterns JavaScript checks and Python runs: each must mean the same to both. */
    const portable = [
        "```",
        "\\bdef\\s+\\w+\\s*\\(",
        "^(?:fix|debug)\\b",
        "\\b(?:class|interface)\\s+[A-Z]\\w*",
        "[(?]literal",
        "colou?r",
        "x{2,3}(?=y)(?!z)",
        "\\d{4}-\\d{2}-\\d{2}",
        "[^\\s]+\\.py\\b",
    ];

    it.each(portable)("accepts %s", (pattern) => {
        expect(unportablePatternReason(pattern)).toBeUndefined();
    });

    it("compiles every accepted pattern in Python too", () => {
        const check = spawnSync(
            "python3",
            ["-c", "import json, re, sys\nfor p in json.load(sys.stdin): re.compile(p, re.IGNORECASE)"],
            { input: JSON.stringify(portable), encoding: "utf8" },
        );
        expect(check.stderr).toBe("");
        expect(check.status).toBe(0);
    });

    it.each([
        ["(?<lang>x)", 'uses "(?" other than'],
        ["(?<=a)b", 'uses "(?" other than'],
        ["(?i)python", 'uses "(?" other than'],
        ["\\p{L}+", "uses Unicode property escapes"],
        ["\\u{1F600}", "uses code point escapes"],
        ["\\cJ", "uses control escapes"],
        ["[^]", "uses an empty class"],
        ["\\Apython", "does not compile (Invalid escape)"],
        ["a++", "does not compile (Nothing to repeat)"],
        ["(unclosed", "does not compile"],
        ["(\\w+\\s?)+\\(\\)", "repeats a group that itself repeats (nested or overlapping quantifiers"],
        ["(?:a|ab)*c", "repeats a group that itself has alternatives"],
        ["((x+))+y", "repeats a group that itself repeats"],
        ["(a+){11}", "repeats a group that itself repeats"],
        ["x{4294967296}", "repeats 4294967296 times (at most 1000)"],
        ["x{2,5000}", "repeats 5000 times (at most 1000)"],
        ["(".repeat(1000) + "x" + ")".repeat(1000), "nests groups more than 20 deep"],
    ])("refuses %s: it %s", (pattern, reason) => {
        expect(unportablePatternReason(pattern)).toContain(reason);
    });

    it.each(["(?:\\d{1,3}\\.){3}\\d{1,3}", "(?:foo|bar)?", "[(+]+(x)*", "\\((a)+\\)"])(
        "accepts %s: no repeated group that repeats inside, beyond a few times",
        (pattern) => {
            expect(unportablePatternReason(pattern)).toBeUndefined();
        },
    );

    it("refuses a keyword that is only whitespace to Python, with the full key", () => {
        const raw = routedConfig();
        raw.routing!.routes[0].keywords = ["python", "\x1c", "\x85"];
        expect(problemsOf(raw)).toEqual([
            'ai-gateway:routing.routes[0].keywords[1]: "\\u001c" is not a keyword (a non-empty string: it has nothing but whitespace, as Python reads it)',
            'ai-gateway:routing.routes[0].keywords[2]: "\x85" is not a keyword (a non-empty string: it has nothing but whitespace, as Python reads it)',
        ]);
    });
});

describe("the router config with routing by content", () => {
    const config = validateStackConfig(routedConfig());
    type Doc = {
        model_list: { model_name: string; litellm_params: Record<string, string>; model_info: { id: string } }[];
        litellm_settings: Record<string, unknown>;
    };
    const local = parse(renderRouterConfig(config, "local", dockerVantage(config))) as Doc;

    it("lists auto as the default group's deployments, so /v1/models shows it", () => {
        const auto = local.model_list.filter((d) => d.model_name === "auto");
        expect(auto).toEqual([
            {
                model_name: "auto",
                litellm_params: { model: "hosted_vllm/llama3.2:3b", api_base: "http://ollama:11434/v1" },
                model_info: { id: "auto/general/box/ollama/llama3.2:3b" },
            },
        ]);
    });

    it("loads the hook from the config's directory", () => {
        expect(local.litellm_settings.callbacks).toEqual(["routing_hook.route_by_content", "request_log.request_log"]);
        expect(Object.keys(routingHookFiles(config, dockerVantage(config, "box")))).toEqual(["routing_hook.py"]);
    });

    it("keeps auto on the host on the cloud router, where the hook runs too", () => {
        const withCloud = validateStackConfig(routedConfig({ cloud: { enabled: true }, cloudApiKey: "sk-x" }));
        const cloud = parse(renderRouterConfig(withCloud, "cloud", dockerVantage(withCloud))) as Doc;
        const auto = cloud.model_list.filter((d) => d.model_name === "auto");
        expect(auto.map((d) => d.litellm_params.model)).toEqual(["hosted_vllm/llama3.2:3b"]);
        expect(cloud.litellm_settings.callbacks).toEqual(["routing_hook.route_by_content", "request_log.request_log"]);
    });

    it("adds nothing while routing is off", () => {
        const off = validateStackConfig(routedConfig({ routing: undefined }));
        const doc = parse(renderRouterConfig(off, "local", dockerVantage(off))) as Doc;
        expect(doc.model_list.some((d) => d.model_name === "auto")).toBe(false);
        expect(doc.litellm_settings.callbacks).toEqual(["request_log.request_log"]);
        expect(routingHookFiles(off, dockerVantage(off, "box"))).toEqual({});
    });
});

describe("the decision spec", () => {
    it("reaches the embedding model's instance by container name on its own host", () => {
        const config = validateStackConfig(routedConfig());
        expect(classifierSpec(config, dockerVantage(config, "box")).embedding).toEqual({
            url: "http://ollama:11434",
            model: "nomic-embed-text:v1.5",
            threshold: 0.5,
            timeoutSeconds: 2,
        });
    });

    it("reaches it from another host through that host's door (its forward after the router's)", () => {
        const config = validateStackConfig(
            routedConfig({
                hosts: [
                    {
                        name: "box",
                        bindAddress: "10.0.0.5",
                        ollama: [
                            { name: "ollama", port: 11434, models: ["llama3.2:3b", "nomic-embed-text:v1.5"] },
                            { name: "ollama-coder", port: 11435, models: ["qwen2.5-coder:7b"] },
                        ],
                    },
                    { name: "ui", bindAddress: "10.0.0.6", ollama: [{ name: "ollama-ui", port: 11434, models: [] }] },
                ],
                openWebUI: { host: "ui" },
            }),
        );
        expect(classifierSpec(config, dockerVantage(config, "ui")).embedding?.url).toBe("http://door:20001");
        expect(doorForwards(config, "ui").map((f) => [f.name, f.host.bindAddress, f.port, f.listen])).toEqual([
            ["litellm", "10.0.0.5", 4000, 20000],
            ["ollama", "10.0.0.5", 11434, 20001],
        ]);
    });
});

describe("the program with routing by content", () => {
    it("ships the hook to both routers, installs the filter into Open WebUI, and neither while routing is off", async () => {
        const on = await evaluate({ ...routedConfig(), cloud: { enabled: true }, cloudApiKey: "sk-x" });
        const files = (program: Program, name: string) =>
            ((program.container(name).inputs.uploads ?? []) as { file: string }[]).map((u) => u.file);
        expect(files(on, "litellm")).toEqual(["/app/config.yaml", "/app/routing_hook.py", "/app/request_log.py"]);
        expect(files(on, "litellm-cloud")).toEqual(["/app/config.yaml", "/app/routing_hook.py", "/app/request_log.py"]);
        // Installed through Open WebUI's API, so a change of routes never replaces the container.
        expect(files(on, "open-webui")).toEqual([]);
        const [filter] = on.ofType(":OpenWebUIFunction");
        const routed = validateStackConfig(routedConfig());
        expect(filter.inputs).toMatchObject({
            url: "http://127.0.0.1:3000",
            adminEmail: "admin@ai-gateway.local",
            functionId: "route_by_content",
            name: "Route by content (ai-gateway)",
            content: renderRoutingFilter(routed, dockerVantage(routed, "box")),
            valves: { priority: 0, show_status: true, use_embeddings: true },
            global: false,
            models: ["auto"],
        });
        expect(filter.dependsOn).toContain("open-webui-healthy");

        const off = await evaluate(routedConfig({ routing: undefined }));
        expect(off.container("litellm").inputs.uploads).toHaveLength(2); // config.yaml and the request log
        expect(off.container("open-webui").inputs.uploads).toBeUndefined();
        expect(off.ofType(":OpenWebUIFunction")).toEqual([]);
    });

    it("leaves Open WebUI's functions alone and ships the file instead when the filter is installed by hand", async () => {
        const byHand = await evaluate(routedConfig({ openWebUI: { routingFilter: { install: false } } }));
        expect(byHand.ofType(":OpenWebUIFunction")).toEqual([]);
        expect(byHand.container("open-webui").inputs.uploads).toEqual([
            { file: "/app/ai-gateway/route_by_content.py", content: expect.stringContaining("class Filter:") },
        ]);
    });

    it("takes the valves and the global switch from openWebUI.routingFilter", async () => {
        const program = await evaluate(
            routedConfig({
                openWebUI: { routingFilter: { global: true, priority: -5, showStatus: false, useEmbeddings: false } },
            }),
        );
        expect(program.ofType(":OpenWebUIFunction")[0].inputs).toMatchObject({
            valves: { priority: -5, show_status: false, use_embeddings: false },
            global: true,
            models: [],
        });
    });
});
