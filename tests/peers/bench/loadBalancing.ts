/**
 * The router's cost against direct Ollama, on the same model and the same Ollama, in one run (part of
 * `npm run bench`): p50 of a one-token completion from one client, and throughput with 16 concurrent clients.
 * Ports: Ollama 11474, LiteLLM 4072 (the default strategy) and 4073 (least-busy, with the failover hook).
 *
 * On this machine's 2 cores the router and Ollama compete for CPU, as they do not on a GPU host, where the model
 * runs on the GPU and the router has cores of its own. So Ollama (server and runner) is pinned to CPU 1 and the
 * router to CPU 0 with taskset, for the direct runs too, and the model runs on one thread (support/load.ts):
 * the direct baseline gets exactly the CPU Ollama has behind the router. The router's own CPU time per request
 * is measured from /proc, which no other load on the machine changes.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { drive, loadGroup, loadOneThreadModel, ONE_THREAD_MODEL, RoutingStrategy } from "../support/load";
import { chat, p50, Peer, peerPid, startOllama, startRoutedLiteLLM, stopPeers } from "../support/peers";
import { readProcessStat } from "../../../commands/processStat";
import { Measure } from "./results";

const PORTS = { ollama: 11474, router: 4072, hookedRouter: 4073 };
const MASTER_KEY = "sk-ai-gateway-bench-load-balancing";
const OVERHEAD_REQUESTS = 60;
const CLIENTS = 16;
/** Requests per throughput round; rounds alternate direct and router, so drift weighs on both alike. */
const ROUND_REQUESTS = 160;
const ROUNDS = 3;
/**
 * Tokens per answer in the throughput target: a short answer, ~40 ms of Ollama's work with the one-thread tiny
 * model, still less than any real model's answer.
 */
const ANSWER_TOKENS = 128;
/**
 * Tokens per answer in the row that finds the router's own ceiling: a 1-token answer costs Ollama ~3 ms, less than
 * the router's CPU per request, so the one router process on its one core is the bound. No real model answers
 * that fast, so this row is reported without the target.
 */
const CEILING_TOKENS = 1;
const CPU = { router: "0", ollama: "1" };

/** Pins every thread of the peer's process (and so the processes it starts later) to `cpus`. */
function pin(peer: Peer, cpus: string): number {
    const pid = peerPid(peer);
    execFileSync("taskset", ["-a", "-p", "-c", cpus, String(pid)], { stdio: "ignore" });
    return pid;
}

/** A completion through `url` (the router when `key` is given, else Ollama itself); throws unless it is a 200. */
async function ask(url: string, maxTokens: number, key?: string): Promise<number> {
    const answer = await chat({ url, model: key ? "fast" : ONE_THREAD_MODEL, key, extra: { max_tokens: maxTokens } });
    if (answer.status !== 200) throw new Error(`${url}: HTTP ${answer.status} ${answer.body.slice(0, 300)}`);
    return answer.ms;
}

/** p50 of a one-token completion from one client, router and direct alternated. */
async function overhead(router: string, ollama: string, id: string, what: string): Promise<Measure> {
    for (let i = 0; i < 5; i++) await Promise.all([ask(router, 1, MASTER_KEY), ask(ollama, 1)]);
    const viaRouter: number[] = [];
    const direct: number[] = [];
    for (let i = 0; i < OVERHEAD_REQUESTS; i++) {
        viaRouter.push(await ask(router, 1, MASTER_KEY));
        direct.push(await ask(ollama, 1));
    }
    return {
        id,
        what: `${what}: one-token completion p50, router vs direct Ollama (${OVERHEAD_REQUESTS} each)`,
        unit: "ms",
        measured: p50(viaRouter),
        baseline: p50(direct),
        target: { of: "difference", atMost: 10 },
        samples: { measured: viaRouter, baseline: direct },
    };
}

/** Requests per second with 16 clients, router and direct in alternating rounds; and the router's CPU per request. */
async function throughput(router: string, routerPid: number, ollama: string, tokens: number) {
    const rate = async (url: string, key?: string) => {
        const started = performance.now();
        await drive(ROUND_REQUESTS, CLIENTS, () => ask(url, tokens, key));
        return (ROUND_REQUESTS * 1000) / (performance.now() - started);
    };
    await drive(CLIENTS * 2, CLIENTS, () => ask(router, tokens, MASTER_KEY));
    const direct: number[] = [];
    const viaRouter: number[] = [];
    let routerCpu = 0;
    for (let round = 0; round < ROUNDS; round++) {
        direct.push(await rate(ollama));
        const cpuBefore = readProcessStat(routerPid)!.cpuMs;
        viaRouter.push(await rate(router, MASTER_KEY));
        routerCpu += readProcessStat(routerPid)!.cpuMs - cpuBefore;
    }
    return {
        direct: p50(direct),
        viaRouter: p50(viaRouter),
        routerCpuPerRequest: routerCpu / (ROUNDS * ROUND_REQUESTS),
    };
}

/** The rows of the load-balancing benchmark; starts and stops its own peers. */
export async function loadBalancingBench(): Promise<Measure[]> {
    const state = mkdtempSync(path.join(tmpdir(), "ai-gateway-bench-lb-"));
    const peers: Peer[] = [];
    try {
        const ollama = startOllama(PORTS.ollama, path.join(state, "ollama"));
        peers.push(ollama);
        pin(ollama, CPU.ollama);
        await loadOneThreadModel(ollama);
        const start = (strategy: RoutingStrategy, port: number) => {
            const { config, apiBases } = loadGroup(strategy, [{ name: "ollama", port: PORTS.ollama }]);
            const router = startRoutedLiteLLM(config, apiBases, port, path.join(state, strategy), MASTER_KEY);
            peers.push(router);
            return { url: router.url, pid: pin(router, CPU.router) };
        };
        const router = start("simple-shuffle", PORTS.router);
        const rows = [
            await overhead(router.url, ollama.url, "router.overhead.p50", "default strategy (simple-shuffle)"),
        ];
        for (const tokens of [ANSWER_TOKENS, CEILING_TOKENS]) {
            const measured = await throughput(router.url, router.pid, ollama.url, tokens);
            rows.push({
                id: `router.throughput.${tokens}-token`,
                what:
                    `throughput, ${CLIENTS} concurrent clients, ${tokens}-token answers: router vs direct Ollama ` +
                    `(p50 of ${ROUNDS} rounds of ${ROUND_REQUESTS}; router CPU ${measured.routerCpuPerRequest.toFixed(1)} ms per request)` +
                    (tokens === CEILING_TOKENS ? "; the one router process's ceiling" : ""),
                unit: "req/s",
                measured: measured.viaRouter,
                baseline: measured.direct,
                ...(tokens === ANSWER_TOKENS && { target: { of: "ratio", atLeast: 0.9 } }),
            });
        }
        stopPeers(peers.pop());
        const hooked = start("least-busy", PORTS.hookedRouter);
        rows.push(
            await overhead(
                hooked.url,
                ollama.url,
                "router.overhead.p50.least-busy",
                "least-busy with the failover hook",
            ),
        );
        return rows;
    } finally {
        stopPeers(...peers);
        rmSync(state, { recursive: true, force: true });
    }
}
