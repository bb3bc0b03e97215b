/**
 * The generated failover hook, run by python3 on the generated file itself (tests/support/failover_driver.py):
 * which deployments each pick of a request is offered, when an instance is probed and left out, and the probe
 * against real local servers. The hook inside the real LiteLLM is proven by tests/peers/failover.test.ts.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { AddressInfo, createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import {
    FAILOVER_HOOK_FILE,
    failoverHookFiles,
    needsFailoverHook,
    renderFailoverHook,
} from "../../routing/failoverHook";
import { validateStackConfig } from "../../config/load";
import { ROUTING_STRATEGIES } from "../../config/serviceKeys";
import { freePort, startHttpServer } from "../support/httpServer";
import { minimalConfig } from "../support/stack";

const withStrategy = (strategy: (typeof ROUTING_STRATEGIES)[number], cooldownSeconds = 30) =>
    validateStackConfig(minimalConfig({ router: { strategy, cooldownSeconds } }));

const A = ["fast/box/ollama/m", "http://ollama:11434/v1"];
const B = ["fast/box/ollama-2/m", "http://ollama-2:11434/v1"];
const C = ["fast/box/ollama-3/m", "http://ollama-3:11434/v1"];

interface Step {
    request: number;
    picked?: string;
    at?: number;
    metadataKey?: string;
}
interface Result {
    offered: string[][];
    probes: string[];
    answers: boolean[];
}

/** Runs the driver on the hook rendered for `cooldown` (asynchronously: the servers answering it are in this process). */
async function run(scenario: { cooldown?: number; dead?: string[]; steps: Step[]; answers?: string[] }) {
    const dir = mkdtempSync(path.join(tmpdir(), "failover-"));
    try {
        const file = path.join(dir, FAILOVER_HOOK_FILE);
        writeFileSync(file, renderFailoverHook(withStrategy("least-busy", scenario.cooldown ?? 30)));
        const child = promisify(execFile)(
            "python3",
            [path.join(__dirname, "..", "support", "failover_driver.py"), file],
            {
                timeout: 60_000,
            },
        );
        child.child.stdin!.end(JSON.stringify({ deployments: [A, B, C], dead: [], ...scenario }));
        return JSON.parse((await child).stdout) as Result;
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

const [a, b, c] = [A[0], B[0], C[0]];

describe("which strategies get the hook", () => {
    it("every strategy but simple-shuffle, whose failover LiteLLM does itself", () => {
        expect(ROUTING_STRATEGIES.filter((s) => needsFailoverHook(withStrategy(s)))).toEqual([
            "least-busy",
            "usage-based-routing-v2",
            "latency-based-routing",
        ]);
        expect(failoverHookFiles(withStrategy("simple-shuffle"))).toEqual({});
        expect(Object.keys(failoverHookFiles(withStrategy("latency-based-routing")))).toEqual([FAILOVER_HOOK_FILE]);
    });

    it("carries the stack's cooldown and is the same text for the same config", () => {
        const text = renderFailoverHook(withStrategy("least-busy", 45));
        expect(text).toContain("\nCOOLDOWN_SECONDS = 45\n");
        expect(text).toContain("\nfailover = Failover()\n");
        expect(text).toBe(renderFailoverHook(withStrategy("least-busy", 45)));
    });
});

describe("the hook's picks", () => {
    it("offers every instance first, then never one the request has already failed on", async () => {
        const { offered, probes } = await run({
            steps: [{ request: 1 }, { request: 1, picked: a }, { request: 1, picked: b }],
        });
        expect(offered).toEqual([[a, b, c], [b, c], [c]]);
        // Both answered their probe: they stay in for other requests.
        expect(probes).toEqual([A[1], B[1]]);
    });

    it("leaves an instance that answers no probe out of every request for the cooldown, then offers it again", async () => {
        const { offered, probes } = await run({
            dead: [A[1]],
            steps: [
                { request: 1, at: 0 },
                { request: 1, picked: a, at: 0 },
                { request: 2, at: 10 },
                { request: 3, at: 29.9 },
                { request: 4, at: 30.1 },
            ],
        });
        expect(offered).toEqual([
            [a, b, c],
            [b, c],
            [b, c],
            [b, c],
            [a, b, c],
        ]);
        expect(probes).toEqual([A[1]]);
    });

    it("keeps an instance that still answers: a failed request alone is LiteLLM's cooldown to judge", async () => {
        const { offered } = await run({ steps: [{ request: 1 }, { request: 1, picked: a }, { request: 2 }] });
        expect(offered).toEqual([
            [a, b, c],
            [b, c],
            [a, b, c],
        ]);
    });

    it("never offers nothing: with every instance failed or down, LiteLLM's own errors and fallbacks decide", async () => {
        const { offered } = await run({
            dead: [A[1], B[1], C[1]],
            steps: [
                { request: 1 },
                { request: 1, picked: a },
                { request: 1, picked: b },
                { request: 1, picked: c },
                { request: 2 },
            ],
        });
        // The third pick: all failed, so all are offered again but the two found dead; the fourth: all dead.
        expect(offered).toEqual([[a, b, c], [b, c], [c], [c], [a, b, c]]);
    });

    it("with cooldownSeconds 0, probes nothing and keeps only the failover inside a request", async () => {
        const { offered, probes } = await run({
            cooldown: 0,
            dead: [A[1]],
            steps: [{ request: 1 }, { request: 1, picked: a }, { request: 2 }],
        });
        expect(offered).toEqual([
            [a, b, c],
            [b, c],
            [a, b, c],
        ]);
        expect(probes).toEqual([]);
    });

    it("reads LiteLLM's newer litellm_metadata the same way", async () => {
        const { offered } = await run({
            steps: [
                { request: 1, metadataKey: "litellm_metadata" },
                { request: 1, picked: b, metadataKey: "litellm_metadata" },
            ],
        });
        expect(offered).toEqual([
            [a, b, c],
            [a, c],
        ]);
    });
});

describe("the probe, against real local servers", () => {
    it("counts any HTTP answer as alive, and a refused or silent port as dead", async () => {
        const server = await startHttpServer((_req, res) => res.writeHead(404).end());
        // Accepts connections and never answers, as a hung instance does.
        const accepted: Socket[] = [];
        const silent = createServer((socket) => accepted.push(socket));
        await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
        const silentPort = (silent.address() as AddressInfo).port;
        const closed = await freePort();
        try {
            const { answers } = await run({
                steps: [],
                answers: [`${server.url}/v1`, `http://127.0.0.1:${closed}/v1`, `http://127.0.0.1:${silentPort}/v1`],
            });
            expect(answers).toEqual([true, false, false]);
        } finally {
            await server.close();
            accepted.forEach((socket) => socket.destroy());
            silent.close();
        }
    });
});
