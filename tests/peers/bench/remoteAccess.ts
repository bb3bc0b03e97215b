/**
 * What the door's HTTPS front adds to a chat (part of `npm run bench`): one real LiteLLM 1.87.0 router with the
 * rendered config in front of one Ollama 0.17.4 with the tiny model, asked for a short streamed chat directly on
 * loopback, as a client on the host does, and through the door the stack renders for remoteAccess (Debian's
 * HAProxy 2.6.12, TLS 1.3 with an ECDSA P-256 certificate, `https://ai.lan/v1`), as a device on the LAN does.
 * In pairs, alternating which goes first, each on a kept-alive connection as a browser or an OpenAI client keeps
 * one: time to the first token and to the end of the answer, and the target on what the door adds per pair (the
 * p50s of two series drift apart with the machine's other load). And what a new connection's TLS handshake costs.
 * Ports: Ollama 11482, LiteLLM 4082, the door's HTTPS 8482 (its other listeners 14082, 13000, 18404).
 */
import * as http from "node:http";
import * as https from "node:https";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { connect as tlsConnect } from "node:tls";
import { connect as tcpConnect } from "node:net";
import { validateStackConfig } from "../../../config/load";
import { OLLAMA_CONTAINER_PORT } from "../../../model/ollama";
import { issueCertificate } from "../../support/certificates";
import { startRenderedDoor } from "../support/door";
import { Peer, loadTinyModel, loopback, p50, startOllama, startRoutedLiteLLM, stopPeers } from "../support/peers";
import { Measure } from "./results";

const PORTS = { ollama: 11482, router: 4082, https: 8482, doorRouter: 14082, doorOpenWebUI: 13000, doorHealth: 18404 };
const MASTER_KEY = "sk-ai-gateway-bench-remote-access";
const PAIRS = 200;
const HANDSHAKES = 100;
/** A short answer: a few tokens, streamed, as a chat's first words come. */
const ANSWER_TOKENS = 8;

const config = validateStackConfig({
    hosts: [{ name: "box", ollama: [{ name: "ollama", port: PORTS.ollama, gpu: "none", models: ["tiny-a"] }] }],
    groups: { fast: ["tiny-a"] },
    router: { port: PORTS.router },
    // The address is only a label here: the door listens on loopback.
    remoteAccess: { address: "192.0.2.10", hostnames: ["ai.lan"], expose: ["openWebUI", "router"] },
});

/** Times of one streamed chat: to the first content event, and to the end of the answer. */
interface Timed {
    ttft: number;
    total: number;
}

/** One streamed chat completion on a kept-alive connection; throws unless it is a 200 ending in [DONE]. */
function streamedChat(request: (options: http.RequestOptions) => http.ClientRequest): Promise<Timed> {
    const body = JSON.stringify({
        model: "fast",
        stream: true,
        max_tokens: ANSWER_TOKENS,
        messages: [{ role: "user", content: "hello" }],
    });
    const started = performance.now();
    return new Promise((resolve, reject) => {
        const req = request({
            method: "POST",
            path: "/v1/chat/completions",
            headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" },
        });
        req.on("response", (res) => {
            let text = "";
            let ttft: number | undefined;
            res.setEncoding("utf8");
            res.on("data", (chunk: string) => {
                text += chunk;
                if (ttft === undefined && text.includes('"content":')) ttft = performance.now() - started;
            });
            res.on("end", () => {
                if (res.statusCode !== 200 || !text.trimEnd().endsWith("data: [DONE]") || ttft === undefined)
                    return reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 300)}`));
                resolve({ ttft, total: performance.now() - started });
            });
        });
        req.on("error", reject);
        req.end(body);
    });
}

/** Milliseconds to a finished handshake on a new connection: TLS with the door, or TCP alone with the router. */
function connectTime(open: () => import("node:net").Socket, ready: string): Promise<number> {
    const started = performance.now();
    return new Promise((resolve, reject) => {
        const socket = open();
        socket.once(ready, () => {
            socket.destroy();
            resolve(performance.now() - started);
        });
        socket.once("error", reject);
    });
}

/** The rows of the remote-access benchmark; starts and stops its own peers and door. */
export async function remoteAccessBench(): Promise<Measure[]> {
    const state = mkdtempSync(path.join(tmpdir(), "ai-gateway-bench-remote-"));
    const peers: Peer[] = [];
    try {
        const ollama = startOllama(PORTS.ollama, path.join(state, "ollama"));
        peers.push(ollama);
        loadTinyModel(PORTS.ollama, "tiny-a");
        const apiBases = { [`http://ollama:${OLLAMA_CONTAINER_PORT}`]: loopback(PORTS.ollama) };
        const router = startRoutedLiteLLM(config, apiBases, PORTS.router, path.join(state, "litellm"), MASTER_KEY);
        peers.push(router);

        const { caFile, pemFile } = issueCertificate(path.join(state, "tls"), "DNS:ai.lan,IP:127.0.0.1");
        peers.push(
            startRenderedDoor(config, "box", path.join(state, "door"), {
                ports: { [PORTS.router]: PORTS.doorRouter, 3000: PORTS.doorOpenWebUI, 443: PORTS.https },
                servers: { "litellm:4000": `127.0.0.1:${PORTS.router}`, "open-webui:8080": "127.0.0.1:9" },
                pemFile,
                healthPort: PORTS.doorHealth,
            }),
        );

        const ca = readFileSync(caFile);
        const direct = new http.Agent({ keepAlive: true, maxSockets: 1 });
        const door = new https.Agent({ keepAlive: true, maxSockets: 1, ca, servername: "ai.lan" });
        const ways: Record<"direct" | "door", () => Promise<Timed>> = {
            direct: () =>
                streamedChat((o) => http.request({ ...o, host: "127.0.0.1", port: PORTS.router, agent: direct })),
            door: () =>
                streamedChat((o) =>
                    https.request({
                        ...o,
                        host: "127.0.0.1",
                        port: PORTS.https,
                        agent: door,
                        headers: { ...o.headers, host: "ai.lan" },
                    }),
                ),
        };
        for (let i = 0; i < 10; i++) for (const way of Object.values(ways)) await way();
        const samples = { direct: [] as Timed[], door: [] as Timed[] };
        for (let i = 0; i < PAIRS; i++)
            for (const name of i % 2 ? (["door", "direct"] as const) : (["direct", "door"] as const))
                samples[name].push(await ways[name]());
        direct.destroy();
        door.destroy();

        const handshakes = { tls: [] as number[], tcp: [] as number[] };
        for (let i = 0; i < HANDSHAKES; i++) {
            handshakes.tls.push(
                await connectTime(
                    () => tlsConnect({ host: "127.0.0.1", port: PORTS.https, servername: "ai.lan", ca }),
                    "secureConnect",
                ),
            );
            handshakes.tcp.push(
                await connectTime(() => tcpConnect({ host: "127.0.0.1", port: PORTS.router }), "connect"),
            );
        }

        const of = (name: "direct" | "door", field: keyof Timed) => samples[name].map((s) => s[field]);
        // Per pair: the two requests of a pair ran back to back, so what slows the machine slows both alike.
        const added = (field: keyof Timed) => samples.door.map((s, i) => s[field] - samples.direct[i][field]);
        const what = `${ANSWER_TOKENS}-token streamed chat on a kept-alive connection (${PAIRS} pairs)`;
        const rows = (field: keyof Timed, name: string, which: string): Measure[] => [
            {
                id: `remoteAccess.door.${name}.added.p50`,
                what: `${which}: p50 of what the door over TLS (https://ai.lan/v1) adds per pair to the router on loopback, ${what}`,
                unit: "ms",
                measured: p50(added(field)),
                target: { of: "measured", atMost: 3 },
                samples: { measured: added(field) },
            },
            {
                id: `remoteAccess.door.${name}.p50`,
                what: `the same, ${which} p50: through the door vs directly`,
                unit: "ms",
                measured: p50(of("door", field)),
                baseline: p50(of("direct", field)),
                samples: { measured: of("door", field), baseline: of("direct", field) },
            },
        ];
        return [
            ...rows("ttft", "ttft", "time to first token"),
            ...rows("total", "chat", "the whole answer"),
            {
                id: "remoteAccess.door.handshake.p50",
                what: `a new connection p50: TLS 1.3 handshake with the door vs a TCP connect to the router (${HANDSHAKES} each)`,
                unit: "ms",
                measured: p50(handshakes.tls),
                baseline: p50(handshakes.tcp),
                samples: { measured: handshakes.tls, baseline: handshakes.tcp },
            },
        ];
    } finally {
        stopPeers(...peers);
        rmSync(state, { recursive: true, force: true });
    }
}
