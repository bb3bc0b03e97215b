/**
 * `npm run bench`: the stack's overheads against the real software, as ratios on the same run (not a timed
 * test). Router path vs direct Ollama (p50/p95 of a one-token completion), a model pull through OllamaModel
 * vs `ollama pull` (same model, same registry), and HealthCheck's detection latency after the port opens.
 * Ports: Ollama 11464 (serves and pulls), 11465 (pushes), LiteLLM 4064, registry 5061 (blobs 127.0.0.2:5061).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { cpus, tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { renderRouterConfig } from "../../config/litellm";
import { validateStackConfig } from "../../config/load";
import { healthCheckProvider } from "../../providers/healthCheck";
import { ollamaModelProvider } from "../../providers/ollamaModel";
import { toLoopback } from "./support/loopback";
import {
    chat,
    loadTinyModel,
    loopback,
    OLLAMA_BIN,
    Peer,
    PEERS_DIR,
    percentile,
    pushModel,
    startLiteLLM,
    startOllama,
    startRegistry,
    stopPeers,
} from "./support/peers";
import { requirePeersFor } from "./support/requirements";
import { formatBenchRows, loadBalancingBench } from "./bench/loadBalancing";

const PORTS = { ollama: 11464, pusher: 11465, router: 4064, registry: 5061 };
const MASTER_KEY = "sk-ai-gateway-bench";
const REQUESTS = 60;
const PULLS = 5;
const STARTS = 3;
const PULLED = `127.0.0.1:${PORTS.registry}/aigw/tiny-a:latest`;

const ms = (value: number) => `${value.toFixed(1)} ms`;

/** p50 and p95 of a one-token completion, router and direct alternated so drift weighs on both alike. */
async function routerVsDirect(router: string, ollama: string) {
    const ask = (url: string, model: string, key?: string) =>
        chat({ url, model, key, extra: { max_tokens: 1 } }).then((a) => {
            if (a.status !== 200) throw new Error(`${url}: HTTP ${a.status} ${a.body}`);
            return a.ms;
        });
    for (let i = 0; i < 5; i++) await Promise.all([ask(router, "fast", MASTER_KEY), ask(ollama, "tiny-a")]);
    const viaRouter: number[] = [];
    const direct: number[] = [];
    for (let i = 0; i < REQUESTS; i++) {
        viaRouter.push(await ask(router, "fast", MASTER_KEY));
        direct.push(await ask(ollama, "tiny-a"));
    }
    return [50, 95].map((p) => ({
        what: `short completion p${p}: router vs direct Ollama (${REQUESTS} each)`,
        measured: percentile(viaRouter, p),
        reference: percentile(direct, p),
    }));
}

/** The same model from the same registry: OllamaModel's create vs the CLI's `ollama pull`, deleted between. */
async function pullVsCli(ollama: string) {
    const remove = () => fetch(`${ollama}/api/delete`, { method: "DELETE", body: JSON.stringify({ model: PULLED }) });
    const provider: number[] = [];
    const cli: number[] = [];
    const quiet = console.log;
    for (let i = 0; i < PULLS; i++) {
        await remove();
        let started = performance.now();
        console.log = () => undefined; // the provider's progress lines
        await ollamaModelProvider.create({ ollamaUrl: ollama, model: PULLED, insecure: true });
        console.log = quiet;
        provider.push(performance.now() - started);
        await remove();
        started = performance.now();
        await promisify(execFile)(OLLAMA_BIN, ["pull", "--insecure", PULLED], {
            env: { ...process.env, OLLAMA_HOST: ollama.replace("http://", "") },
        });
        cli.push(performance.now() - started);
    }
    return [
        {
            what: `model pull p50: OllamaModel vs ollama pull (${PULLS} each)`,
            measured: percentile(provider, 50),
            reference: percentile(cli, 50),
        },
    ];
}

/** Resolves with the moment a TCP connection to the port first succeeds, trying every 5 ms. */
async function portOpensAt(port: number): Promise<number> {
    for (;;) {
        const open = await new Promise<boolean>((resolve) => {
            const socket = net.connect(port, "127.0.0.1", () => resolve(true));
            socket.on("error", () => resolve(false));
            socket.setTimeout(200, () => resolve(false));
            socket.on("close", () => socket.destroy());
        });
        if (open) return performance.now();
        await new Promise((resolve) => setTimeout(resolve, 5));
    }
}

/** HealthCheck (the stack's 2 s interval) on a real Ollama starting up: how long after its port opens it sees it. */
async function healthCheckDetection(state: string) {
    const latencies: number[] = [];
    for (let i = 0; i < STARTS; i++) {
        const dir = path.join(state, `start-${i}`);
        const check = healthCheckProvider
            .create({
                url: `${loopback(PORTS.ollama)}/api/version`,
                expectJsonField: "version",
                timeoutSeconds: 60,
            })
            .then(() => performance.now());
        const opened = portOpensAt(PORTS.ollama);
        const starting = promisify(execFile)(path.join(PEERS_DIR, "start_ollama.sh"), [
            `127.0.0.1:${PORTS.ollama}`,
            dir,
        ]);
        const [seenAt, openAt] = await Promise.all([check, opened, starting]);
        latencies.push(seenAt - openAt);
        stopPeers({ url: "", dir, pidFiles: [path.join(dir, "ollama.pid")] });
    }
    return [
        {
            what: `HealthCheck detection after the port opens, interval 2 s (${STARTS} starts, p50)`,
            measured: percentile(latencies, 50),
            reference: 2000,
        },
    ];
}

async function main(): Promise<void> {
    requirePeersFor("npm run bench");
    const state = mkdtempSync(path.join(tmpdir(), "ai-gateway-bench-"));
    const peers: Peer[] = [];
    try {
        const ollama = startOllama(PORTS.ollama, path.join(state, "ollama"));
        peers.push(ollama);
        loadTinyModel(PORTS.ollama, "tiny-a");
        const pusher = startOllama(PORTS.pusher, path.join(state, "pusher"));
        peers.push(pusher, startRegistry(PORTS.registry, path.join(state, "registry")));
        loadTinyModel(PORTS.pusher, "tiny-a");
        pushModel(PORTS.pusher, "tiny-a", PULLED);
        const config = validateStackConfig({
            hosts: [{ name: "box", ollama: [{ name: "ollama", port: PORTS.ollama, gpu: "none", models: ["tiny-a"] }] }],
            groups: { fast: ["tiny-a"] },
        });
        const routerConfig = toLoopback(renderRouterConfig(config, "local"), {
            apiBases: { "http://ollama:11434": ollama.url },
        });
        const router = startLiteLLM(routerConfig, PORTS.router, path.join(state, "litellm"), {
            LITELLM_MASTER_KEY: MASTER_KEY,
        });
        peers.push(router);

        const rows = [...(await routerVsDirect(router.url, ollama.url)), ...(await pullVsCli(ollama.url))];
        stopPeers(router, ollama);
        rows.push(...(await healthCheckDetection(state)));

        const date = new Date().toISOString().slice(0, 10);
        console.log(`\nnpm run bench, ${date}: Ollama 0.17.4, LiteLLM 1.87.0, model tiny-a, ${cpus().length} cores\n`);
        console.log("| measure | ours | reference | ratio |");
        console.log("| --- | ---: | ---: | ---: |");
        for (const row of rows)
            console.log(
                `| ${row.what} | ${ms(row.measured)} | ${ms(row.reference)} | ${(row.measured / row.reference).toFixed(2)} |`,
            );
        // Load balancing (tests/peers/bench/loadBalancing.ts): its own peers and ports, its rows in a table of their own.
        console.log(`\n${formatBenchRows(await loadBalancingBench())}`);
    } finally {
        stopPeers(...peers);
        rmSync(state, { recursive: true, force: true });
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
