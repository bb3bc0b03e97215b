/**
 * The request log inside the real LiteLLM 1.87.0 (the router config and hooks the program renders, real Ollama 0.17.4
 * with tiny models): exactly one line per request, for a success, a streamed answer, `auto` with its routing
 * decision, a request retried on the group's other instance, a fallback to another group, a request that failed on
 * every instance, and the refusals (an unknown model, a wrong key, no key). Ports: Ollama 11485-11486, LiteLLM 4085.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parseRequestLine } from "../../commands/logs";
import { validateStackConfig } from "../../config/load";
import { OLLAMA_CONTAINER_PORT } from "../../model/ollama";
import { RequestRecord } from "../../routing/requestLog";
import {
    Answer,
    answeredBy,
    chat,
    loadTinyModel,
    loopback,
    Peer,
    startOllama,
    startRoutedLiteLLM,
    stopPeers,
} from "./support/peers";

const MASTER_KEY = "sk-ai-gateway-request-log-test";
const PORTS = { ollama: 11485, ollama2: 11486, router: 4085 };
const FIRST = loopback(PORTS.ollama);
const SECOND = loopback(PORTS.ollama2);
const PROMPT_MARK = "zebra-prompt-0c7d";

/** `fast` on both instances; `code` and `heavy` on the second only, `code` falling back to `fast`. */
const config = validateStackConfig({
    hosts: [
        {
            name: "box",
            ollama: [
                { name: "ollama", port: PORTS.ollama, gpu: "none", models: ["tiny-a"] },
                { name: "ollama-2", port: PORTS.ollama2, gpu: "none", models: ["tiny-a", "tiny-b", "tiny-c"] },
            ],
        },
    ],
    groups: { fast: ["tiny-a"], code: ["tiny-b"], heavy: ["tiny-c"] },
    router: { fallbacks: { code: ["fast"] } },
    routing: { default: "fast", routes: [{ name: "code", group: "code", keywords: ["python"] }] },
});

let state: string;
let router: Peer;
let first: Peer;
let second: Peer;
/** Lines of the router's log read so far. */
let seen = 0;

/** The request lines the router printed since the last call. */
function newRecords(): RequestRecord[] {
    const lines = readFileSync(path.join(router.dir, "litellm.log"), "utf8").split("\n");
    const fresh = lines.slice(seen, -1);
    seen += fresh.length;
    return fresh.map(parseRequestLine).filter((r): r is RequestRecord => r !== undefined);
}

/** Until the router has printed `count` more request lines (a success is logged right after the answer is sent). */
async function recordsOf(count: number): Promise<RequestRecord[]> {
    const records: RequestRecord[] = [];
    const deadline = Date.now() + 20_000;
    while (records.length < count && Date.now() < deadline) {
        records.push(...newRecords());
        if (records.length < count) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    return [...records, ...newRecords()];
}

const ask = (model: string, content = "hello", extra: Record<string, unknown> = {}, key = MASTER_KEY) =>
    chat({ url: router.url, model, key, content: `${content} ${PROMPT_MARK}`, extra: { max_tokens: 1, ...extra } });

beforeAll(() => {
    state = mkdtempSync(path.join(tmpdir(), "ai-gateway-request-log-"));
    first = startOllama(PORTS.ollama, path.join(state, "ollama"));
    second = startOllama(PORTS.ollama2, path.join(state, "ollama-2"));
    loadTinyModel(PORTS.ollama, "tiny-a");
    for (const model of ["tiny-a", "tiny-b"]) loadTinyModel(PORTS.ollama2, model);
    loadTinyModel(PORTS.ollama2, "tiny-a", "tiny-c");
    const apiBases = {
        [`http://ollama:${OLLAMA_CONTAINER_PORT}`]: FIRST,
        [`http://ollama-2:${OLLAMA_CONTAINER_PORT}`]: SECOND,
    };
    router = startRoutedLiteLLM(config, apiBases, PORTS.router, path.join(state, "litellm"), MASTER_KEY);
    newRecords();
});

afterAll(() => {
    stopPeers(first, second, router);
    rmSync(state, { recursive: true, force: true });
});

describe("the request log in the real router", () => {
    it("prints one line per answered request: the model asked for, the group and instance that answered, 200, the time", async () => {
        const before = Date.now();
        const answers: Answer[] = [];
        for (let i = 0; i < 12; i++) answers.push(await ask("fast"));
        const records = await recordsOf(12);
        expect(records).toHaveLength(12);
        records.forEach((record, i) => {
            expect(record).toMatchObject({ path: "/v1/chat/completions", model: "fast", group: "fast", status: 200 });
            expect(`${record.apiBase}`).toBe(`${answeredBy(answers[i])}/v1`);
            expect(record.deployment).toMatch(/^fast\/box\/ollama(-2)?\/tiny-a$/);
            expect(record.ms).toBeGreaterThan(0);
            expect(Date.parse(record.time)).toBeGreaterThanOrEqual(before - 1000);
        });
        // The line names the instance that really answered, which is either.
        expect(new Set(records.map((r) => r.apiBase))).toEqual(new Set([`${FIRST}/v1`, `${SECOND}/v1`]));
        expect(JSON.stringify(records)).not.toContain(PROMPT_MARK);
    });

    it("gives auto's decision and why, and a streamed answer's first token", async () => {
        await ask("auto", "write a python function");
        await ask("auto", "tell me a joke", { stream: true });
        const [code, joke] = await recordsOf(2);
        expect(code).toMatchObject({
            model: "auto",
            group: "code",
            route: { route: "code", group: "code", reason: 'matched keyword "python"' },
            deployment: "code/box/ollama-2/tiny-b",
            apiBase: `${SECOND}/v1`,
            status: 200,
            stream: false,
        });
        expect(joke).toMatchObject({
            model: "auto",
            group: "fast",
            route: { route: null, group: "fast", reason: "no rule matched" },
            status: 200,
            stream: true,
        });
        expect(joke.firstTokenMs).toBeGreaterThan(0);
        expect(joke.firstTokenMs).toBeLessThanOrEqual(joke.ms!);
    });

    it("prints one line for a request it refused: an unknown model, a wrong key, no key", async () => {
        const statuses = [
            (await ask("no-such-group")).status,
            (await ask("fast", "hello", {}, "sk-not-the-key")).status,
            (await ask("fast", "hello", {}, "")).status, // no Authorization header
        ];
        const records = await recordsOf(3);
        expect(records.map((r) => [r.model, r.status])).toEqual([
            ["no-such-group", statuses[0]],
            ["fast", statuses[1]],
            ["fast", statuses[2]],
        ]);
        expect(statuses).toEqual([400, 400, 401]);
        expect(records[0].error).toMatch(/Invalid model name/);
        expect(records[2].error).toMatch(/No api key passed in/);
    });

    it("with an instance dead: one 200 line for a request retried on the other, one for a fallback, one for a failure", async () => {
        stopPeers(second);
        const fast: Answer[] = [];
        for (let i = 0; i < 8; i++) fast.push(await ask("fast"));
        const code = await ask("code");
        const auto = await ask("auto", "python please");
        const heavy = await ask("heavy");
        expect([...fast, code, auto].map((a) => a.status)).toEqual(Array(10).fill(200));
        expect(heavy.status).toBeGreaterThanOrEqual(500);

        const records = await recordsOf(11);
        expect(records).toHaveLength(11);
        for (const record of records.slice(0, 8))
            expect(record).toMatchObject({ model: "fast", group: "fast", apiBase: `${FIRST}/v1`, status: 200 });
        // code's only instance is down: answered by its fallback group.
        expect(records[8]).toMatchObject({ model: "code", group: "fast", apiBase: `${FIRST}/v1`, status: 200 });
        expect(records[9]).toMatchObject({ model: "auto", route: { group: "code" }, group: "fast", status: 200 });
        expect(records[10]).toMatchObject({
            model: "heavy",
            group: "heavy",
            deployment: "heavy/box/ollama-2/tiny-c",
            apiBase: `${SECOND}/v1`,
            status: heavy.status,
        });
        expect(records[10].error).toMatch(/Cannot connect/);
    });
});
