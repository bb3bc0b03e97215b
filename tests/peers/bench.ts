/**
 * `npm run bench [-- --only <section,...>]`: the stack's overheads and targets against the real software, each
 * as a ratio against a reference measured in the same run (not a timed test). Sections:
 * - pull: a ~590 MB model pulled by OllamaModel vs `ollama pull` vs an unstreamed pull, and its progress lines
 *   at 30 MB/s; a tiny model's pull latency;
 * - loadBalancing: the router against direct Ollama, its overhead and throughput (tests/peers/bench/loadBalancing.ts);
 * - health: HealthCheck's detection after a real Ollama becomes ready, and its requests to a slow starter;
 * - routing: what routing by content adds on the rules-only path, `auto` against the named group
 *   (tests/peers/bench/routing.ts);
 * - remoteAccess: what the door's HTTPS front adds to a short streamed chat, against the router on loopback
 *   (tests/peers/bench/remoteAccess.ts).
 * Prints a Markdown table and writes every row to bench-results/bench.json (tests/peers/bench/results.ts).
 * Ports: Ollama 11464 (pulls), 11465 (pushes), registry 5061 (blobs 127.0.0.2:5061),
 * the slowed registry 5092 (blobs 5093), HealthCheck's slow starters 11490-11491.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import * as path from "node:path";
import { parseArgs, promisify } from "node:util";
import { ModelRegistry } from "../e2e/support/modelRegistry";
import { ollamaModelProvider } from "../../providers/ollamaModel";
import { detectionOnRealStarts, loadOnSlowStarter } from "./bench/healthDetection";
import { pullProgress, pullThroughput } from "./bench/modelPull";
import { BENCH_RESULTS_FILE, benchResults, benchTable, judged, Measure, writeBenchResults } from "./bench/results";
import {
    LARGE_MODEL,
    LARGE_MODEL_SIZE,
    loadTinyModel,
    OLLAMA_BIN,
    Peer,
    percentile,
    pushModel,
    startOllama,
    startRegistry,
    stopPeers,
} from "./support/peers";
import { requirePeersFor } from "./support/requirements";
import { loadBalancingBench } from "./bench/loadBalancing";
import { remoteAccessBench } from "./bench/remoteAccess";
import { routingBench } from "./bench/routing";

const PORTS = {
    ollama: 11464,
    pusher: 11465,
    registry: 5061,
    slowedRegistry: 5092,
    slowStarters: [11490, 11491] as const,
};
const TINY_PULLS = 5;
const LARGE_PULL_ROUNDS = 7;
/** The slowed registry's speed: the 590 MB model in about 20 s, slow enough to follow its progress. */
const FOLLOWED_BYTES_PER_SECOND = 30e6;
const STARTS = 7;
/** How long the slow starter answers 503: a start of a minute, as the issue's example. */
const SLOW_START_MS = 60_000;
const TINY = `127.0.0.1:${PORTS.registry}/aigw/tiny-a:latest`;
const LARGE = `127.0.0.1:${PORTS.registry}/aigw/${LARGE_MODEL}:latest`;

/** The tiny model from the same registry: OllamaModel's create vs the CLI's `ollama pull`, deleted between. */
async function tinyPullLatency(ollama: string): Promise<Measure[]> {
    const remove = () => fetch(`${ollama}/api/delete`, { method: "DELETE", body: JSON.stringify({ model: TINY }) });
    const provider: number[] = [];
    const cli: number[] = [];
    const quiet = console.log;
    for (let i = 0; i < TINY_PULLS; i++) {
        await remove();
        let started = performance.now();
        console.log = () => undefined; // the provider's progress lines
        await ollamaModelProvider.create({ ollamaUrl: ollama, model: TINY, insecure: true });
        console.log = quiet;
        provider.push(performance.now() - started);
        await remove();
        started = performance.now();
        await promisify(execFile)(OLLAMA_BIN, ["pull", "--insecure", TINY], {
            env: { ...process.env, OLLAMA_HOST: ollama.replace("http://", "") },
        });
        cli.push(performance.now() - started);
    }
    return [
        {
            id: "pull.tiny.p50",
            what: `tiny model (273 KB) pull p50: OllamaModel vs ollama pull (${TINY_PULLS} each, downloaded from the registry)`,
            unit: "ms",
            measured: percentile(provider, 50),
            baseline: percentile(cli, 50),
        },
    ];
}

/** What the sections share: the peers, started once. */
interface Peers {
    state: string;
    ollama: Peer;
    /** The registry whose blob server can be slowed down, when the pull section runs. */
    slowedRegistry?: ModelRegistry;
}

/** The sections, in the order they run; each returns its measures. */
const SECTIONS: Record<string, (peers: Peers) => Promise<Measure[]>> = {
    pull: async ({ ollama, slowedRegistry }) => [
        ...(await tinyPullLatency(ollama.url)),
        ...(await pullThroughput(ollama.url, path.join(ollama.dir, "models"), LARGE, LARGE_PULL_ROUNDS)),
        ...(await pullProgress(ollama.url, slowedRegistry!, LARGE_MODEL, FOLLOWED_BYTES_PER_SECOND)),
    ],
    // Its own Ollama and routers, pinned to one core each (tests/peers/bench/loadBalancing.ts).
    loadBalancing: () => loadBalancingBench(),
    health: async ({ state, ollama }) => {
        stopPeers(ollama); // its port is the one the starts use
        return [
            ...(await detectionOnRealStarts(PORTS.ollama, path.join(state, "starts"), STARTS)),
            ...(await loadOnSlowStarter([...PORTS.slowStarters], SLOW_START_MS)),
        ];
    },
    // Its own Ollama and router (tests/peers/bench/routing.ts).
    routing: () => routingBench(),
    // Its own Ollama, router and door (tests/peers/bench/remoteAccess.ts).
    remoteAccess: () => remoteAccessBench(),
};

async function main(argv: string[]): Promise<void> {
    requirePeersFor("npm run bench");
    const { values } = parseArgs({ args: argv, options: { only: { type: "string" } } });
    const asked = values.only ? values.only.split(",") : Object.keys(SECTIONS);
    const unknown = asked.filter((name) => !(name in SECTIONS));
    if (unknown.length > 0)
        throw new Error(`--only: no section ${unknown.join(", ")} (sections: ${Object.keys(SECTIONS).join(", ")})`);
    const chosen = Object.keys(SECTIONS).filter((name) => asked.includes(name));
    const loadAtStart = loadavg();
    const state = mkdtempSync(path.join(tmpdir(), "ai-gateway-bench-"));
    const peers: Peer[] = [];
    let slowedRegistry: ModelRegistry | undefined;
    try {
        const ollama = startOllama(PORTS.ollama, path.join(state, "ollama"));
        peers.push(ollama);
        const pusher = startOllama(PORTS.pusher, path.join(state, "pusher"));
        peers.push(pusher, startRegistry(PORTS.registry, path.join(state, "registry")));
        loadTinyModel(PORTS.pusher, "tiny-a");
        pushModel(PORTS.pusher, "tiny-a", TINY);
        if (chosen.includes("pull")) {
            loadTinyModel(PORTS.pusher, LARGE_MODEL, LARGE_MODEL, "127.0.0.1", LARGE_MODEL_SIZE);
            pushModel(PORTS.pusher, LARGE_MODEL, LARGE);
            const registryDir = path.join(state, "slowed-registry");
            slowedRegistry = await ModelRegistry.start("127.0.0.1", PORTS.slowedRegistry, registryDir);
            pushModel(PORTS.pusher, LARGE_MODEL, slowedRegistry.model(LARGE_MODEL));
        }
        stopPeers(pusher);

        const rows = [];
        for (const name of chosen) {
            const started = performance.now();
            rows.push(...(await SECTIONS[name]({ state, ollama, slowedRegistry })).map(judged));
            process.stderr.write(`[bench] ${name}: ${((performance.now() - started) / 1000).toFixed(1)}s\n`);
        }

        const results = benchResults(rows, {
            date: new Date().toISOString(),
            command: `npm run bench${values.only ? ` -- --only ${values.only}` : ""}`,
            machine: { cores: cpus().length, loadAverage: { start: loadAtStart, end: loadavg() } },
            versions: { ollama: "0.17.4", litellm: "1.87.0", haproxy: "2.6.12" },
        });
        writeBenchResults(BENCH_RESULTS_FILE, results);
        const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(" ");
        console.log(
            `\nnpm run bench, ${results.date.slice(0, 10)}: Ollama 0.17.4, LiteLLM 1.87.0, ${results.machine.cores} cores, ` +
                `load average ${load(loadAtStart)} at the start, ${load(results.machine.loadAverage.end)} at the end\n`,
        );
        console.log(benchTable(rows));
        console.log(
            `\n${path.relative(process.cwd(), BENCH_RESULTS_FILE)}: ${results.targets.total - results.targets.failed.length} of ${results.targets.total} targets met` +
                (results.targets.failed.length ? `; missed: ${results.targets.failed.join(", ")}` : ""),
        );
    } finally {
        stopPeers(...peers);
        await slowedRegistry?.stop();
        rmSync(state, { recursive: true, force: true });
    }
}

main(process.argv.slice(2)).catch((err) => {
    console.error(err);
    process.exit(1);
});
