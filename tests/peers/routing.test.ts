/**
 * Routing by content through the real router: real Ollama 0.17.4 servers with tiny models and the real
 * LiteLLM 1.87.0 proxy (the peers/ harness), fed the config and hook the program renders, with the Docker
 * network's container names rewritten to the loopback ports. Ports: Ollama 11451-11453, LiteLLM 4051.
 */
import { execFileSync } from "node:child_process";
import * as http from "node:http";
import { IncomingHttpHeaders } from "node:http";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import * as path from "node:path";
import { validateStackConfig } from "../../config/load";
import { LITELLM_CONFIG_FILE, renderRouterConfig } from "../../config/litellm";
import { ROUTING_HOOK_FILE } from "../../config/routing";
import { renderRoutingHook } from "../../config/routingHook";

const PEERS = path.join(__dirname, "..", "..", "peers");
/** The LiteLLM venv of the harness (peers/common.sh): its Python is the one the router's hook runs in. */
const LITELLM_PYTHON = path.join(
    process.env.AIGW_PEERS_CACHE ?? path.join(homedir(), ".cache", "ai-gateway-peers"),
    "litellm-1.87.0",
    "bin",
    "python",
);
const MASTER_KEY = "sk-ai-gateway-routing-test";
const ROUTER = "127.0.0.1:4051";
/** The instances of the rendered stack and the loopback port each really listens on. */
const INSTANCES = [
    { name: "ollama-general", port: 11451, model: "tiny-a" },
    { name: "ollama-coder", port: 11452, model: "tiny-b" },
    { name: "ollama-embed", port: 11453, model: "tiny-embed" },
];
const base = (port: number) => `http://127.0.0.1:${port}`;
const GENERAL = base(11451);
const CODER = base(11452);
/** An example of the summary route that no keyword of any route matches: only the embedding path finds it. */
const SUMMARY_EXAMPLE = "condense this text into one paragraph";

const config = validateStackConfig({
    hosts: [
        {
            name: "box",
            ollama: INSTANCES.map(({ name, port, model }) => ({ name, port, gpu: "none", models: [model] })),
        },
    ],
    groups: { general: ["tiny-a"], code: ["tiny-b"] },
    routing: {
        default: "general",
        routes: [
            { name: "code", group: "code", keywords: ["python", "function", "bug"], patterns: ["```"] },
            { name: "summary", group: "general", keywords: ["summarize"], examples: [SUMMARY_EXAMPLE] },
        ],
        // The tiny models' embeddings mean nothing, so only a prompt equal to an example is similar enough.
        embedding: { model: "tiny-embed", threshold: 0.99, timeoutMs: 3000 },
    },
});

/** The rendered file with every Ollama container URL replaced by its loopback address. */
function onLoopback(text: string): string {
    return INSTANCES.reduce((t, i) => t.replaceAll(`http://${i.name}:11434`, base(i.port)), text);
}

function peer(script: string, ...args: string[]): string {
    return execFileSync(path.join(PEERS, script), args, {
        encoding: "utf8",
        env: { ...process.env, LITELLM_MASTER_KEY: MASTER_KEY },
        stdio: ["ignore", "pipe", "inherit"],
    });
}

interface Answer {
    status: number;
    headers: IncomingHttpHeaders;
    body: string;
    ms: number;
}

/**
 * One chat completion on a fresh connection: a pooled keep-alive connection that the router closes while idle
 * would fail a request for reasons that have nothing to do with routing.
 */
function chat(model: string, content: string, extra: Record<string, unknown> = {}): Promise<Answer> {
    const payload = JSON.stringify({ model, messages: [{ role: "user", content }], max_tokens: 1, ...extra });
    const started = performance.now();
    return new Promise((resolve, reject) => {
        const request = http.request(
            `http://${ROUTER}/v1/chat/completions`,
            {
                method: "POST",
                agent: false,
                headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" },
            },
            (response) => {
                let body = "";
                response.setEncoding("utf8");
                response.on("data", (chunk: string) => (body += chunk));
                response.on("end", () =>
                    resolve({
                        status: response.statusCode!,
                        headers: response.headers,
                        body,
                        ms: performance.now() - started,
                    }),
                );
            },
        );
        request.on("error", reject);
        request.end(payload);
    });
}

function p50(samples: number[]): number {
    const sorted = [...samples].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
}

let state: string;
let routerDir: string;
const pidFiles: string[] = [];

beforeAll(() => {
    state = mkdtempSync(path.join(tmpdir(), "ai-gateway-routing-"));
    for (const { name, port, model } of INSTANCES) {
        pidFiles.push(path.join(state, name, "ollama.pid"));
        peer("start_ollama.sh", `127.0.0.1:${port}`, path.join(state, name));
        peer("load_tiny_model.sh", `127.0.0.1:${port}`, model === "tiny-embed" ? "tiny-a" : model, model);
    }
    routerDir = path.join(state, "litellm");
    mkdirSync(routerDir);
    writeFileSync(path.join(routerDir, LITELLM_CONFIG_FILE), onLoopback(renderRouterConfig(config, "local")));
    writeFileSync(path.join(routerDir, ROUTING_HOOK_FILE), onLoopback(renderRoutingHook(config, "box")));
    pidFiles.push(path.join(routerDir, "litellm.pid"));
    peer("start_litellm.sh", path.join(routerDir, LITELLM_CONFIG_FILE), ROUTER, routerDir);
});

afterAll(() => {
    execFileSync(path.join(PEERS, "stop.sh"), pidFiles, { stdio: "inherit" });
    rmSync(state, { recursive: true, force: true });
});

describe("auto through the real LiteLLM router", () => {
    it("is listed in /v1/models beside the groups", async () => {
        const response = await fetch(`http://${ROUTER}/v1/models`, {
            headers: { authorization: `Bearer ${MASTER_KEY}` },
        });
        const ids = ((await response.json()) as { data: { id: string }[] }).data.map((m) => m.id);
        expect(ids.sort()).toEqual(["auto", "code", "general"]);
    });

    it.each([
        ["code by keyword", "Write a Python function that adds two numbers", "code", CODER],
        ["code by pattern", "```\nprint(1)\n```", "code", CODER],
        ["summary by keyword", "Summarize this text: the meeting moved to Friday", "summary", GENERAL],
        ["summary by example (embedding)", SUMMARY_EXAMPLE, "summary", GENERAL],
        ["nothing matches", "Tell me a joke about cats", "default", GENERAL],
        ["empty", "", "default", GENERAL],
    ])("%s lands on the expected backend", async (_, prompt, route, backend) => {
        const answer = await chat("auto", prompt);
        expect(answer.status).toBe(200);
        expect(answer.headers["x-ai-gateway-route"]).toBe(route);
        expect(answer.headers["x-litellm-model-api-base"]).toBe(backend);
    });

    it("logs each decision on one line in the router's log", () => {
        expect(readFileSync(path.join(routerDir, "litellm.log"), "utf8")).toContain(
            'ai_gateway.routing routing: auto -> code (route code: matched keyword "python", keyword "function")',
        );
    });

    it("routes streamed requests too, with the decision in the headers", async () => {
        const answer = await chat("auto", "fix this bug", { stream: true });
        expect(answer.status).toBe(200);
        expect(answer.headers["x-ai-gateway-route-group"]).toBe("code");
        expect(answer.headers["x-litellm-model-api-base"]).toBe(CODER);
        expect(answer.body).toContain("data: ");
    });

    it("adds under 5 ms at p50 on the rules-only path (auto vs the named group, same router)", async () => {
        const prompt = "Write a Python function";
        const pairs = 80;
        for (let i = 0; i < 5; i++) await Promise.all([chat("auto", prompt), chat("code", prompt)]);
        const auto: number[] = [];
        const named: number[] = [];
        const added: number[] = [];
        for (let i = 0; i < pairs; i++) {
            // In pairs, alternating which goes first: drift in the backend's speed weighs on both alike.
            const models = i % 2 ? ["auto", "code"] : ["code", "auto"];
            const answers: Record<string, Answer> = {};
            for (const model of models) answers[model] = await chat(model, prompt);
            for (const answer of Object.values(answers)) expect(answer.headers["x-litellm-model-api-base"]).toBe(CODER);
            auto.push(answers.auto.ms);
            named.push(answers.code.ms);
            added.push(answers.auto.ms - answers.code.ms);
        }
        // The hook's own cost, far below the noise of a whole request: the rules on this prompt, in the router's Python.
        const classifierUs = Number(
            execFileSync(
                LITELLM_PYTHON,
                [
                    "-c",
                    "import importlib.util, sys, timeit\n" +
                        "spec = importlib.util.spec_from_file_location('hook', sys.argv[1])\n" +
                        "hook = importlib.util.module_from_spec(spec); spec.loader.exec_module(hook)\n" +
                        "print(min(timeit.repeat(lambda: hook.classify(sys.argv[2], examples=None), number=2000, repeat=5)) / 2000 * 1e6)",
                    path.join(routerDir, ROUTING_HOOK_FILE),
                    prompt,
                ],
                { encoding: "utf8" },
            ),
        );
        console.log(
            `bench:routing rules-only, ${pairs} pairs: p50 auto ${p50(auto).toFixed(1)} ms, ` +
                `p50 code ${p50(named).toFixed(1)} ms, ratio ${(p50(auto) / p50(named)).toFixed(3)}; ` +
                `p50 of auto minus code per pair ${p50(added).toFixed(1)} ms; classifier alone ${classifierUs.toFixed(1)} µs`,
        );
        expect(p50(added)).toBeLessThan(5);
    });

    it("degrades to the default group with no failed request when the embedding backend is down", async () => {
        execFileSync(path.join(PEERS, "stop.sh"), [path.join(state, "ollama-embed", "ollama.pid")]);
        const answers = await Promise.all(
            [SUMMARY_EXAMPLE, "Tell me a joke", "What is the capital of France?", "Python please"].map((p) =>
                chat("auto", p),
            ),
        );
        expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
        expect(answers.map((a) => a.headers["x-ai-gateway-route-group"])).toEqual([
            "general",
            "general",
            "general",
            "code",
        ]);
        expect(answers[0].headers["x-ai-gateway-route-reason"]).toContain("embedding failed");
    });
});
