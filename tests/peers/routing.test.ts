/**
 * Routing by content through the real router: real Ollama 0.17.4 servers with tiny models and the real
 * LiteLLM 1.87.0 proxy (the peers/ harness), fed the config and hook the program renders, with the Docker
 * network's container names rewritten to the loopback ports. Ports: Ollama 11451-11453, LiteLLM 4051.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { validateStackConfig } from "../../config/load";
import { OLLAMA_CONTAINER_PORT } from "../../model/ollama";
import {
    chat,
    answeredBy,
    listedModels,
    loadTinyModel,
    loopback,
    Peer,
    startRoutedLiteLLM,
    startOllama,
    stopPeers,
} from "./support/peers";

const MASTER_KEY = "sk-ai-gateway-routing-test";
const ROUTER_PORT = 4051;
/** The instances of the rendered stack, the loopback port each really listens on, and the tiny model it serves. */
const INSTANCES = [
    { name: "ollama-general", port: 11451, model: "tiny-a", weights: "tiny-a" },
    { name: "ollama-coder", port: 11452, model: "tiny-b", weights: "tiny-b" },
    { name: "ollama-embed", port: 11453, model: "tiny-embed", weights: "tiny-a" },
];
const GENERAL = loopback(11451);
const CODER = loopback(11452);
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

/** Each rendered container address to the loopback port its instance really listens on. */
const apiBases = Object.fromEntries(
    INSTANCES.map((i) => [`http://${i.name}:${OLLAMA_CONTAINER_PORT}`, loopback(i.port)]),
);

let state: string;
let router: Peer;
const ollamas: Record<string, Peer> = {};

/** One completion of one token through the router, with the master key. */
const ask = (model: string, content: string, extra: Record<string, unknown> = {}) =>
    chat({ url: router.url, model, key: MASTER_KEY, content, extra: { max_tokens: 1, ...extra } });

beforeAll(() => {
    state = mkdtempSync(path.join(tmpdir(), "ai-gateway-routing-"));
    for (const { name, port, model, weights } of INSTANCES) {
        ollamas[name] = startOllama(port, path.join(state, name));
        loadTinyModel(port, weights, model);
    }
    router = startRoutedLiteLLM(config, apiBases, ROUTER_PORT, path.join(state, "litellm"), MASTER_KEY);
});

afterAll(() => {
    stopPeers(...Object.values(ollamas), ...(router ? [router] : []));
    rmSync(state, { recursive: true, force: true });
});

describe("auto through the real LiteLLM router", () => {
    it("is listed in /v1/models beside the groups", async () => {
        expect(await listedModels(router.url, MASTER_KEY)).toEqual(["auto", "code", "general"]);
    });

    it.each([
        ["code by keyword", "Write a Python function that adds two numbers", "code", CODER],
        ["code by pattern", "```\nprint(1)\n```", "code", CODER],
        ["summary by keyword", "Summarize this text: the meeting moved to Friday", "summary", GENERAL],
        ["summary by example (embedding)", SUMMARY_EXAMPLE, "summary", GENERAL],
        ["nothing matches", "Tell me a joke about cats", "default", GENERAL],
        ["empty", "", "default", GENERAL],
    ])("%s lands on the expected backend", async (_, prompt, route, backend) => {
        const answer = await ask("auto", prompt);
        expect(answer.status).toBe(200);
        expect(answer.headers["x-ai-gateway-route"]).toBe(route);
        expect(answeredBy(answer)).toBe(backend);
    });

    it("logs each decision on one line in the router's log", () => {
        expect(readFileSync(path.join(router.dir, "litellm.log"), "utf8")).toContain(
            'ai_gateway.routing routing: auto -> code (route code: matched keyword "python", keyword "function")',
        );
    });

    it("routes streamed requests too, with the decision in the headers", async () => {
        const answer = await ask("auto", "fix this bug", { stream: true });
        expect(answer.status).toBe(200);
        expect(answer.headers["x-ai-gateway-route-group"]).toBe("code");
        expect(answeredBy(answer)).toBe(CODER);
        expect(answer.body).toContain("data: ");
    });

    it("degrades to the default group with no failed request when the embedding backend is down", async () => {
        stopPeers(ollamas["ollama-embed"]);
        const answers = await Promise.all(
            [SUMMARY_EXAMPLE, "Tell me a joke", "What is the capital of France?", "Python please"].map((p) =>
                ask("auto", p),
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
