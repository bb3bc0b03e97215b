/**
 * The cost of routing by content on the rules-only path (part of `npm run bench`): one real LiteLLM 1.87.0 router
 * with the rendered routing hook, in front of one Ollama 0.17.4 with two tiny models, asked for `auto` and for the
 * named group `code` with a prompt that the rules send to `code`, in pairs: both reach the same model, so what
 * differs is the hook. Whole requests vary by more than the hook costs, and under load they measure the load: a
 * figure to measure on a quiet machine, not a test. Ports: Ollama 11478, LiteLLM 4078.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { validateStackConfig } from "../../../config/load";
import { OLLAMA_CONTAINER_PORT } from "../../../model/ollama";
import { ROUTING_HOOK_FILE } from "../../../routing/schema";
import {
    answeredBy,
    chat,
    LITELLM_PYTHON,
    loadTinyModel,
    loopback,
    p50,
    Peer,
    startOllama,
    startRoutedLiteLLM,
    stopPeers,
} from "../support/peers";
import { Measure } from "./results";

const PORTS = { ollama: 11478, router: 4078 };
const MASTER_KEY = "sk-ai-gateway-bench-routing";
const PROMPT = "Write a Python function";
const PAIRS = 80;

const config = validateStackConfig({
    hosts: [
        { name: "box", ollama: [{ name: "ollama", port: PORTS.ollama, gpu: "none", models: ["tiny-a", "tiny-b"] }] },
    ],
    groups: { general: ["tiny-a"], code: ["tiny-b"] },
    routing: {
        default: "general",
        routes: [{ name: "code", group: "code", keywords: ["python", "function", "bug"], patterns: ["```"] }],
    },
});

/** The rows of the routing benchmark; starts and stops its own peers. */
export async function routingBench(): Promise<Measure[]> {
    const state = mkdtempSync(path.join(tmpdir(), "ai-gateway-bench-routing-"));
    const peers: Peer[] = [];
    try {
        const ollama = startOllama(PORTS.ollama, path.join(state, "ollama"));
        peers.push(ollama);
        for (const model of ["tiny-a", "tiny-b"]) loadTinyModel(PORTS.ollama, model);
        const apiBases = { [`http://ollama:${OLLAMA_CONTAINER_PORT}`]: loopback(PORTS.ollama) };
        const router = startRoutedLiteLLM(config, apiBases, PORTS.router, path.join(state, "litellm"), MASTER_KEY);
        peers.push(router);

        const ask = async (model: string) => {
            const answer = await chat({
                url: router.url,
                model,
                key: MASTER_KEY,
                content: PROMPT,
                extra: { max_tokens: 1 },
            });
            const routed = model !== "auto" || answer.headers["x-ai-gateway-route-group"] === "code";
            if (answer.status !== 200 || answeredBy(answer) !== ollama.url || !routed)
                throw new Error(
                    `${model}: HTTP ${answer.status} from ${answeredBy(answer)}, route group ` +
                        `${answer.headers["x-ai-gateway-route-group"]}: ${answer.body.slice(0, 300)}`,
                );
            return answer.ms;
        };
        for (let i = 0; i < 5; i++) await Promise.all([ask("auto"), ask("code")]);
        const auto: number[] = [];
        const named: number[] = [];
        const added: number[] = [];
        for (let i = 0; i < PAIRS; i++) {
            // In pairs, alternating which goes first: drift in the backend's speed weighs on both alike.
            const ms: Record<string, number> = {};
            for (const model of i % 2 ? ["auto", "code"] : ["code", "auto"]) ms[model] = await ask(model);
            auto.push(ms.auto);
            named.push(ms.code);
            added.push(ms.auto - ms.code);
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
                    path.join(router.dir, ROUTING_HOOK_FILE),
                    PROMPT,
                ],
                { encoding: "utf8" },
            ),
        );
        return [
            {
                id: "routing.rules.added.p50",
                what: `routing by content, rules only: p50 of auto minus code per pair, one-token completions on one router (${PAIRS} pairs)`,
                unit: "ms",
                measured: p50(added),
                target: { of: "measured", atMost: 5 },
                samples: { measured: added },
            },
            {
                id: "routing.rules.p50",
                what: "the same: one-token completion p50, auto vs the named group code",
                unit: "ms",
                measured: p50(auto),
                baseline: p50(named),
                samples: { measured: auto, baseline: named },
            },
            {
                id: "routing.classifier",
                what: "the same prompt's rules alone in the router's Python (best of 5 rounds of 2000)",
                unit: "µs",
                measured: classifierUs,
            },
        ];
    } finally {
        stopPeers(...peers);
        rmSync(state, { recursive: true, force: true });
    }
}
