/**
 * HealthCheck in `npm run bench`: how soon after a real service becomes ready it is seen, and how many requests
 * a service that answers early but is ready late receives. The reference is the former scheme, a request every
 * 2 s on a fixed cadence (the stack's interval), run on the same starts.
 */
import { execFile } from "node:child_process";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";
import { promisify } from "node:util";
import { healthCheckProvider } from "../../../providers/healthCheck";
import { LocalServer, sendJson, startHttpServer } from "../../support/httpServer";
import { loopback, PEERS_DIR, percentile, stopPeers } from "../support/peers";
import { Measure } from "./results";

/** The stack's interval, and the period of the former fixed cadence. */
const INTERVAL_MS = 2000;

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

/**
 * The former scheme, as the reference: GET every `INTERVAL_MS` on a fixed cadence until `healthy` says so;
 * resolves with the moment it saw the service healthy.
 */
async function fixedCadence(url: string, healthy: (status: number) => boolean): Promise<number> {
    const startedAt = performance.now();
    for (let probe = 1; ; probe++) {
        const status = await fetch(url, { signal: AbortSignal.timeout(INTERVAL_MS) }).then(
            (response) => response.arrayBuffer().then(() => response.status),
            () => 0,
        );
        if (healthy(status)) return performance.now();
        await new Promise((resolve) => setTimeout(resolve, startedAt + probe * INTERVAL_MS - performance.now()));
    }
}

/**
 * A real Ollama started `starts` times (peers/start_ollama.sh): the delay between its port opening, the moment
 * it answers `/api/version`, and HealthCheck (the stack's settings) seeing it, against the former cadence.
 */
export async function detectionOnRealStarts(port: number, stateDir: string, starts: number): Promise<Measure[]> {
    const ours: number[] = [];
    const former: number[] = [];
    for (let i = 0; i < starts; i++) {
        const dir = path.join(stateDir, `start-${i}`);
        const url = `${loopback(port)}/api/version`;
        // Started at a random point of the former cadence, as a real start is.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * INTERVAL_MS));
        const check = healthCheckProvider
            .create({ url, expectJsonField: "version", timeoutSeconds: 60 })
            .then(() => performance.now());
        const reference = fixedCadence(url, (status) => status === 200);
        const opened = portOpensAt(port);
        const starting = promisify(execFile)(path.join(PEERS_DIR, "start_ollama.sh"), [`127.0.0.1:${port}`, dir]);
        const [seenAt, referenceSawAt, openAt] = await Promise.all([check, reference, opened, starting]);
        ours.push(seenAt - openAt);
        former.push(referenceSawAt - openAt);
        stopPeers({ url: "", dir, pidFiles: [path.join(dir, "ollama.pid")] });
    }
    return [
        {
            id: "health.detection.p50",
            what: `HealthCheck sees a real Ollama this long after it is ready (${starts} starts, p50), against a GET every 2 s`,
            unit: "ms",
            measured: percentile(ours, 50),
            baseline: percentile(former, 50),
            target: { of: "measured", atMost: 250 },
        },
        {
            id: "health.detection.max",
            what: `the same, the slowest of the ${starts} starts`,
            unit: "ms",
            measured: Math.max(...ours),
            baseline: Math.max(...former),
        },
    ];
}

/** A real HTTP server that answers 503 for `notReadyMs` after it starts, then 200; it counts the requests before. */
async function lateReadyServer(port: number, notReadyMs: number) {
    const startedAt = performance.now();
    const requestsAt: number[] = [];
    const server: LocalServer = await startHttpServer((_req: http.IncomingMessage, res: http.ServerResponse) => {
        const at = performance.now() - startedAt;
        if (at < notReadyMs) {
            requestsAt.push(at);
            sendJson(res, 503, { status: "starting" });
        } else sendJson(res, 200, { status: "ready" });
    }, port);
    return { server, requestsAt };
}

/**
 * The load on a service that listens at once but is ready only after `notReadyMs` (a 503 until then): the
 * requests HealthCheck sends it, against the former cadence, each against its own server on the same clock.
 */
export async function loadOnSlowStarter(ports: [number, number], notReadyMs: number): Promise<Measure[]> {
    const [ours, former] = await Promise.all(ports.map((port) => lateReadyServer(port, notReadyMs)));
    try {
        await Promise.all([
            healthCheckProvider.create({
                url: `${ours.server.url}/health`,
                expectJsonField: "status",
                timeoutSeconds: notReadyMs / 1000 + 60,
            }),
            fixedCadence(`${former.server.url}/health`, (status) => status === 200),
        ]);
    } finally {
        await Promise.all([ours.server.close(), former.server.close()]);
    }
    const seconds = notReadyMs / 1000;
    // After the ladder's first few seconds: the steady rate, which is what a start of minutes feels.
    const steadyFrom = 10_000;
    const steady = (times: number[]) => times.filter((at) => at >= steadyFrom).length;
    return [
        {
            id: "health.slowStart.requests",
            what: `requests to a service answering 503 for ${seconds} s, against a GET every 2 s`,
            unit: "requests",
            measured: ours.requestsAt.length,
            baseline: former.requestsAt.length,
        },
        {
            id: "health.slowStart.steadyRequests",
            what: `the same, from its 10th second on (the rate a start of minutes gets)`,
            unit: "requests",
            measured: steady(ours.requestsAt),
            baseline: steady(former.requestsAt),
            target: { of: "ratio", atMost: 1 },
        },
    ];
}
