/**
 * Level 2 of load balancing, measured against the real LiteLLM 1.87.0 and Ollama 0.17.4: a group on two
 * instances of one model, one of them made slow by a parallel job (clients of its own sending it long
 * generations, which Ollama, one request at a time per model, serves in turn with ours), and 4 concurrent clients
 * through the router. Per strategy: p50/p95 latency and the share of requests each instance answered.
 * `least-busy` and `latency-based-routing` must send clearly more to the fast instance than `simple-shuffle`.
 * Ports: Ollama 11472 (slow), 11473 (fast), LiteLLM 4071.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { ROUTING_STRATEGIES } from "../../config/serviceKeys";
import {
    countByInstance,
    drive,
    loadGroup,
    loadOneThreadModel,
    ONE_THREAD_MODEL,
    RoutingStrategy,
} from "./support/load";
import {
    Answer,
    answeredBy,
    chat,
    p50,
    Peer,
    percentile,
    startOllama,
    startRoutedLiteLLM,
    stopPeers,
} from "./support/peers";

const MASTER_KEY = "sk-ai-gateway-level-two-test";
const PORTS = { slow: 11472, fast: 11473, router: 4071 };
const REQUESTS = 100;
const CLIENTS = 4;
/** Tokens of each of our requests. */
const TOKENS = 8;
/**
 * The parallel job that makes one instance slow: clients of its own, each sending one long generation after another.
 * Two of them keep a generation waiting behind the running one, so our requests there wait for one to two of them
 * however busy the machine is (the job's generations slow down with the machine as ours do).
 */
const JOB_CLIENTS = 2;
const JOB_TOKENS = 2000;
/** How much larger the fast instance's share must be than with simple-shuffle's uniform pick (0.5 ± 0.05). */
const MARGIN = 0.15;

interface Row {
    strategy: RoutingStrategy;
    answers: Answer[];
    share: { fast: number; slow: number };
}

let state: string;
let slow: Peer;
let fast: Peer;
let jobRunning = true;
let job: Promise<unknown>;
const rows: Row[] = [];

beforeAll(async () => {
    state = mkdtempSync(path.join(tmpdir(), "ai-gateway-level-two-"));
    slow = startOllama(PORTS.slow, path.join(state, "slow"));
    fast = startOllama(PORTS.fast, path.join(state, "fast"));
    for (const peer of [slow, fast]) await loadOneThreadModel(peer);
    // The parallel job, straight to the slow instance.
    job = Promise.all(
        Array.from({ length: JOB_CLIENTS }, async () => {
            while (jobRunning)
                await chat({ url: slow.url, model: ONE_THREAD_MODEL, extra: { max_tokens: JOB_TOKENS } });
        }),
    );
});

afterAll(async () => {
    jobRunning = false;
    await job;
    stopPeers(slow, fast);
    rmSync(state, { recursive: true, force: true });
});

async function measure(strategy: RoutingStrategy): Promise<Row> {
    // The slow instance first: least-busy breaks ties in list order, so ties favour the slow one.
    const { config, apiBases } = loadGroup(strategy, [
        { name: "ollama-slow", port: PORTS.slow },
        { name: "ollama-fast", port: PORTS.fast },
    ]);
    const router = startRoutedLiteLLM(config, apiBases, PORTS.router, path.join(state, strategy), MASTER_KEY);
    try {
        const answers = await drive(REQUESTS, CLIENTS, () =>
            chat({ url: router.url, model: "fast", key: MASTER_KEY, extra: { max_tokens: TOKENS } }),
        );
        const counts = countByInstance(answers);
        return {
            strategy,
            answers,
            share: { fast: (counts[fast.url] ?? 0) / answers.length, slow: (counts[slow.url] ?? 0) / answers.length },
        };
    } finally {
        stopPeers(router);
    }
}

const ms = (samples: number[]) => (samples.length > 0 ? `${p50(samples).toFixed(0)}` : "-");
const percent = (share: number) => `${(share * 100).toFixed(0)}%`;

describe("level 2: one of two instances slowed by a parallel job", () => {
    it.each(ROUTING_STRATEGIES)("%s: every request answered", async (strategy) => {
        const row = await measure(strategy);
        rows.push(row);
        expect(row.answers.filter((a) => a.status !== 200).map((a) => a.status)).toEqual([]);
    });

    it("least-busy and latency-based-routing send clearly more to the fast instance than simple-shuffle", () => {
        const on = (instance: Peer, row: Row) =>
            row.answers.filter((a) => answeredBy(a) === instance.url).map((a) => a.ms);
        const lines = rows.map((row) => {
            const all = row.answers.map((a) => a.ms);
            return (
                `| \`${row.strategy}\` | ${percent(row.share.fast)} | ${percent(row.share.slow)} | ` +
                `${p50(all).toFixed(0)} | ${percentile(all, 95).toFixed(0)} | ${ms(on(fast, row))} | ${ms(on(slow, row))} |`
            );
        });
        console.log(
            `level 2: ${REQUESTS} requests of ${TOKENS} tokens from ${CLIENTS} clients per strategy; the slow instance ` +
                `also serves a parallel job of ${JOB_CLIENTS} clients sending ${JOB_TOKENS}-token generations\n` +
                "| strategy | to fast | to slow | p50 ms | p95 ms | p50 ms on fast | p50 ms on slow |\n" +
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n" +
                lines.join("\n"),
        );
        const share = (strategy: RoutingStrategy) => rows.find((r) => r.strategy === strategy)!.share.fast;
        expect(share("least-busy")).toBeGreaterThan(share("simple-shuffle") + MARGIN);
        expect(share("latency-based-routing")).toBeGreaterThan(share("simple-shuffle") + MARGIN);
    });
});
