/**
 * The door's HTTPS front as the program renders it for remoteAccess, run by Debian's HAProxy 2.6.12 (the version
 * images/haproxy builds) on loopback in front of the real LiteLLM 1.87.0 and Ollama 0.17.4: the router's API at /v1
 * only with its key, a streamed answer in pieces, the headers a browser gets, the redirect on port 80, and the
 * audit's tls rule and status judging it. Ports: Ollama 11484, LiteLLM 4084, the door's HTTPS 8484 and redirect
 * 8485 (its other listeners 14084, 13084, 18484).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { tlsFindings } from "../../commands/auditRemote";
import { remoteAccessStatus } from "../../commands/servedCertificate";
import { OLLAMA_CONTAINER_PORT } from "../../model/ollama";
import { validateStackConfig } from "../../config/load";
import { issueCertificate } from "../support/certificates";
import { startRenderedDoor } from "./support/door";
import { Peer, loadTinyModel, loopback, startOllama, startRoutedLiteLLM, stopPeers } from "./support/peers";

const PORTS = {
    ollama: 11484,
    router: 4084,
    https: 8484,
    redirect: 8485,
    doorRouter: 14084,
    doorOpenWebUI: 13084,
    doorHealth: 18484,
};
const MASTER_KEY = "sk-ai-gateway-peers-door";

const config = validateStackConfig({
    hosts: [{ name: "box", ollama: [{ name: "ollama", port: PORTS.ollama, gpu: "none", models: ["tiny-a"] }] }],
    groups: { fast: ["tiny-a"] },
    router: { port: PORTS.router },
    // The address is only a label here: the door listens on loopback.
    remoteAccess: { address: "192.0.2.10", hostnames: ["ai.lan"], httpRedirect: true, expose: ["openWebUI", "router"] },
});

let state: string;
let ca: string;
const peers: Peer[] = [];

/** An HTTPS request to the door as `host`, trusting the test's CA; resolves the status, headers and the body's pieces. */
function viaDoor(
    pathname: string,
    options: { host?: string; key?: string; body?: object } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; pieces: string[] }> {
    const host = options.host ?? "ai.lan";
    return new Promise((resolve, reject) => {
        const req = https.request(
            {
                host: "127.0.0.1",
                port: PORTS.https,
                path: pathname,
                method: options.body ? "POST" : "GET",
                ca,
                servername: host === "ai.lan" ? host : undefined,
                agent: false,
                headers: {
                    host,
                    "content-type": "application/json",
                    ...(options.key ? { authorization: `Bearer ${options.key}` } : {}),
                },
            },
            (res) => {
                const pieces: string[] = [];
                res.setEncoding("utf8");
                res.on("data", (chunk: string) => pieces.push(chunk));
                res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, pieces }));
            },
        );
        req.on("error", reject);
        req.end(options.body ? JSON.stringify(options.body) : undefined);
    });
}

beforeAll(async () => {
    state = mkdtempSync(path.join(tmpdir(), "aigw-peers-door-"));
    const ollama = startOllama(PORTS.ollama, path.join(state, "ollama"));
    peers.push(ollama);
    loadTinyModel(PORTS.ollama, "tiny-a");
    const apiBases = { [`http://ollama:${OLLAMA_CONTAINER_PORT}`]: loopback(PORTS.ollama) };
    peers.push(startRoutedLiteLLM(config, apiBases, PORTS.router, path.join(state, "litellm"), MASTER_KEY));
    const issued = issueCertificate(path.join(state, "tls"), "DNS:ai.lan,IP:127.0.0.1");
    ca = readFileSync(issued.caFile, "utf8");
    // No Open WebUI here: its backend is a port nothing listens on.
    peers.push(
        startRenderedDoor(config, "box", path.join(state, "door"), {
            ports: {
                [PORTS.router]: PORTS.doorRouter,
                3000: PORTS.doorOpenWebUI,
                443: PORTS.https,
                80: PORTS.redirect,
            },
            servers: { "litellm:4000": `127.0.0.1:${PORTS.router}`, "open-webui:8080": "127.0.0.1:9" },
            pemFile: issued.pemFile,
            healthPort: PORTS.doorHealth,
        }),
    );
}, 300_000);

afterAll(() => {
    stopPeers(...peers);
    rmSync(state, { recursive: true, force: true });
});

test("the router's API at /v1 answers only with its key, and a streamed answer comes through in pieces", async () => {
    expect((await viaDoor("/v1/models")).status).toBe(401);
    const models = await viaDoor("/v1/models", { key: MASTER_KEY });
    expect(models.status).toBe(200);
    expect(JSON.parse(models.pieces.join("")).data.map((m: { id: string }) => m.id)).toEqual(["fast"]);
    const streamed = await viaDoor("/v1/chat/completions", {
        key: MASTER_KEY,
        body: { model: "fast", stream: true, max_tokens: 32, messages: [{ role: "user", content: "hi" }] },
    });
    expect(streamed.status).toBe(200);
    const events = streamed.pieces
        .join("")
        .split("\n")
        .filter((line) => line.startsWith("data: "));
    expect(events[events.length - 1]).toBe("data: [DONE]");
    expect(streamed.pieces.length).toBeGreaterThan(1);
});

test("HSTS for the hostname only, no server banner, Open WebUI's path elsewhere, and port 80 only redirects", async () => {
    const direct = await new Promise<http.IncomingMessage>((resolve) =>
        http.get(`${loopback(PORTS.router)}/health/liveliness`, resolve),
    );
    direct.resume();
    // The router names its server; the door does not pass that on.
    expect(direct.headers.server).toBe("uvicorn");
    const byName = await viaDoor("/v1/models", { key: MASTER_KEY });
    expect(byName.headers["strict-transport-security"]).toBe("max-age=31536000");
    expect(byName.headers.server).toBeUndefined();
    const byAddress = await viaDoor("/v1/models", { host: "127.0.0.1", key: MASTER_KEY });
    expect(byAddress.status).toBe(200);
    expect(byAddress.headers["strict-transport-security"]).toBeUndefined();
    // Anything but /v1 goes to Open WebUI, which is not running here.
    expect((await viaDoor("/v1x")).status).toBe(503);

    const redirect = await new Promise<http.IncomingMessage>((resolve) =>
        http.get({ host: "127.0.0.1", port: PORTS.redirect, path: "/c/x?y=1", headers: { host: "ai.lan" } }, resolve),
    );
    redirect.resume();
    expect(redirect.statusCode).toBe(301);
    expect(redirect.headers.location).toBe("https://ai.lan/c/x?y=1");
});

test("the audit's tls rule passes the door, which refuses TLS 1.0 and 1.1, and status reads its certificate", async () => {
    const remote = { ...config.remoteAccess!, address: "127.0.0.1", port: PORTS.https };
    const findings = await tlsFindings(remote, ca);
    expect(findings.map((f) => [f.subject, f.verdict])).toEqual([
        ["ai.lan", "pass"],
        ["127.0.0.1", "pass"],
        ["TLS 1.0 and 1.1", "pass"],
    ]);
    expect(findings[0].detail).toMatch(/^verifies against the stack's CA over TLSv1\.3, valid until \S+ \(29 days\)/);
    expect(findings[2].detail).toBe("refused (ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION)");
    expect(await remoteAccessStatus(remote, 5000)).toMatchObject({
        up: true,
        certificate: { subject: "ai.lan", issuer: "test CA", daysLeft: 29 },
    });
});
