/**
 * Adversarial prompts against the real LiteLLM 1.87.0 router with the rendered hook: a pattern that backtracks
 * catastrophically in Python's re (validation refuses it; here it is put into the rendered config by hand, as an
 * older stack or a hand edit would) must neither stall the router's event loop nor hold up a request for auto.
 * One real Ollama 0.17.4 with a tiny model. Ports: Ollama 11455, LiteLLM 4055.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { validateStackConfig } from "../../config/load";
import { OLLAMA_CONTAINER_PORT } from "../../model/ollama";
import { unportablePatternReason } from "../../routing/schema";
import { chat, loadTinyModel, loopback, Peer, startOllama, startRoutedLiteLLM, stopPeers } from "./support/peers";

const MASTER_KEY = "sk-ai-gateway-adversarial-test";
const OLLAMA_PORT = 11455;
const ROUTER_PORT = 4055;
/** The pattern of the finding: exponential in the length of a run of word characters not followed by "()". */
const CATASTROPHIC = "(\\w+\\s?)+\\(\\)";

const config = validateStackConfig({
    hosts: [{ name: "box", ollama: [{ name: "ollama", port: OLLAMA_PORT, gpu: "none", models: ["tiny-a"] }] }],
    groups: { general: ["tiny-a"], code: ["tiny-a"] },
    routing: { default: "general", routes: [{ name: "code", group: "code", keywords: ["python"] }] },
});
config.routing!.routes[0].patterns.push(CATASTROPHIC);
const apiBases = { [`http://ollama:${OLLAMA_CONTAINER_PORT}`]: loopback(OLLAMA_PORT) };

let state: string;
const peers: Peer[] = [];
let router: Peer;

beforeAll(() => {
    state = mkdtempSync(path.join(tmpdir(), "ai-gateway-adversarial-"));
    peers.push(startOllama(OLLAMA_PORT, path.join(state, "ollama")));
    loadTinyModel(OLLAMA_PORT, "tiny-a");
    router = startRoutedLiteLLM(config, apiBases, ROUTER_PORT, path.join(state, "litellm"), MASTER_KEY);
    peers.push(router);
});

// LiteLLM's own first request imports and warms up on its event loop: not what is measured here.
beforeAll(async () => {
    expect((await chat({ url: router.url, model: "code", key: MASTER_KEY, extra: { max_tokens: 1 } })).status).toBe(
        200,
    );
});

afterAll(() => {
    stopPeers(...peers);
    rmSync(state, { recursive: true, force: true });
});

/** Milliseconds until GET /health/liveliness answers. */
async function livelinessMs(): Promise<number> {
    const started = performance.now();
    const response = await fetch(`${router.url}/health/liveliness`, { signal: AbortSignal.timeout(60_000) });
    expect(response.status).toBe(200);
    return performance.now() - started;
}

describe("a catastrophically backtracking pattern in the real router", () => {
    it("is refused by validation", () => {
        expect(unportablePatternReason(CATASTROPHIC)).toContain("repeats a group that itself repeats");
    });

    it.each([28, 40])(
        "a %i-character prompt to auto gets the default group within the rules' bound, the router stays live",
        async (length) => {
            const prompt = "a".repeat(length);
            const started = performance.now();
            const pending = chat({
                url: router.url,
                model: "auto",
                key: MASTER_KEY,
                content: prompt,
                extra: { max_tokens: 1 },
            });
            // Other clients meanwhile: liveliness answers at once, a named group too.
            await new Promise((resolve) => setTimeout(resolve, 200));
            const live = await livelinessMs();
            const other = await chat({ url: router.url, model: "code", key: MASTER_KEY, extra: { max_tokens: 1 } });
            const answer = await pending;
            const total = performance.now() - started;
            console.log(
                `adversarial ${length} chars: auto answered in ${total.toFixed(0)} ms, liveliness ${live.toFixed(0)} ms`,
            );
            expect(answer.status).toBe(200);
            expect(answer.headers["x-ai-gateway-route-group"]).toBe("general");
            expect(answer.headers["x-ai-gateway-route-reason"]).toBe("rules took over 1s");
            expect(other.status).toBe(200);
            // Blocked, it waits out the whole match (36 s for 28 characters on a quiet machine, measured with the rules
            // in the router's own process, longer on a busy one; 40 characters: days); free, it shares 2 cores with the
            // rules' child, which spins for its 1 s bound: milliseconds and about 1.2 s. The bounds are generous (a
            // loaded machine may take many times those), and still well short of a blocked router.
            expect(live).toBeLessThan(10_000);
            expect(total).toBeLessThan(30_000);
        },
    );

    it("still routes ordinary prompts by the rules afterwards (a new rules process)", async () => {
        const answer = await chat({
            url: router.url,
            model: "auto",
            key: MASTER_KEY,
            content: "python()",
            extra: { max_tokens: 1 },
        });
        expect(answer.status).toBe(200);
        expect(answer.headers["x-ai-gateway-route-group"]).toBe("code");
        expect(answer.headers["x-ai-gateway-route-reason"]).toContain('keyword "python"');
    });

    it("bounds a burst of adversarial prompts: each waits at most for its turn and its own bound", async () => {
        const started = performance.now();
        const answers = await Promise.all(
            Array.from({ length: 4 }, () =>
                chat({
                    url: router.url,
                    model: "auto",
                    key: MASTER_KEY,
                    content: "b".repeat(30),
                    extra: { max_tokens: 1 },
                }),
            ),
        );
        const live = await livelinessMs();
        expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
        expect(answers.map((a) => a.headers["x-ai-gateway-route-group"])).toEqual([
            "general",
            "general",
            "general",
            "general",
        ]);
        // Blocked, four 30-character matches would take minutes each (36 s for 28 characters, doubling per
        // character); bounded, each waits at most 1 s for its turn and 1 s for its rules: seconds. Generous bounds,
        // as above.
        expect(live).toBeLessThan(10_000);
        expect(performance.now() - started).toBeLessThan(60_000);
    });
});
