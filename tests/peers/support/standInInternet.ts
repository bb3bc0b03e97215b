/**
 * The internet as the real LiteLLM sees it in the routes suite: an HTTP proxy on loopback that every outbound
 * request of a LiteLLM process is sent through (`standInEnv`), which records each request whole (host, path,
 * headers, body) and answers it with a small JSON body. HTTPS requests arrive as `CONNECT host:443`; the stand-in
 * accepts the tunnel and ends TLS itself with a certificate made for the run (LiteLLM is told not to verify it), so
 * the prompt and the headers a forwarded request carries are seen, not only the host it was meant for. Nothing here
 * reaches beyond loopback.
 */
import { execFileSync } from "node:child_process";
import * as http from "node:http";
import { IncomingHttpHeaders } from "node:http";
import { readFileSync } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import * as tls from "node:tls";

/** One request that reached the stand-in. */
export interface ReachedInternet {
    /** `https` for a request through a CONNECT tunnel, `http` for one sent to the proxy as it is. */
    scheme: "https" | "http";
    /** The host it was meant for, with its port (`api.anthropic.com:443`). */
    host: string;
    method: string;
    /** Path and query. */
    path: string;
    headers: IncomingHttpHeaders;
    body: string;
}

/** The running stand-in. */
export interface StandInInternet {
    /** What a client's HTTP(S)_PROXY is set to. */
    proxyUrl: string;
    /** Every request received, in order. */
    received: ReachedInternet[];
    /** Every CONNECT target asked for, also those that never sent a request through the tunnel. */
    tunnels: string[];
    close(): Promise<void>;
}

/** The body every request gets: what a provider's API might answer, enough for LiteLLM to pass it on. */
export const STAND_IN_ANSWER = { id: "stand-in-internet", note: "answered by the stand-in internet" };

/** A self-signed certificate for the tunnels, made with openssl in `dir`. */
function certificate(dir: string): { key: Buffer; cert: Buffer } {
    const key = path.join(dir, "stand-in.key");
    const cert = path.join(dir, "stand-in.crt");
    execFileSync(
        "openssl",
        [
            ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=stand-in-internet"],
            ...["-keyout", key, "-out", cert],
        ],
        { stdio: "ignore" },
    );
    return { key: readFileSync(key), cert: readFileSync(cert) };
}

/** Starts the stand-in on 127.0.0.1:`port`; its certificate is written to `dir`. */
export async function startStandInInternet(port: number, dir: string): Promise<StandInInternet> {
    const received: ReachedInternet[] = [];
    const tunnels: string[] = [];
    const sockets = new Set<net.Socket>();
    const record =
        (scheme: ReachedInternet["scheme"], tunnelHost?: string): http.RequestListener =>
        (req, res) => {
            let body = "";
            req.setEncoding("utf8");
            req.on("data", (chunk: string) => (body += chunk));
            req.on("end", () => {
                // A proxied plain-HTTP request names its target in full (`GET http://host/path`).
                const url = new URL(req.url ?? "/", `${scheme}://${tunnelHost ?? req.headers.host ?? "unknown"}`);
                received.push({
                    scheme,
                    host: tunnelHost ?? url.host,
                    method: req.method ?? "",
                    path: `${url.pathname}${url.search}`,
                    headers: req.headers,
                    body,
                });
                const answer = JSON.stringify(STAND_IN_ANSWER);
                res.writeHead(200, {
                    "content-type": "application/json",
                    "content-length": Buffer.byteLength(answer),
                }).end(answer);
            });
        };
    const { key, cert } = certificate(dir);
    const proxy = http.createServer(record("http"));
    proxy.on("connection", (socket) => {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
    });
    proxy.on("connect", (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
        const target = req.url ?? "";
        tunnels.push(target);
        socket.on("error", () => socket.destroy());
        socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        if (head.length > 0) socket.unshift(head);
        const secure = new tls.TLSSocket(socket, { isServer: true, key, cert });
        secure.on("error", () => secure.destroy());
        // One HTTP server per tunnel, so each request knows the host it was meant for.
        http.createServer(record("https", target)).emit("connection", secure);
    });
    await new Promise<void>((resolve, reject) => {
        proxy.once("error", reject);
        proxy.listen(port, "127.0.0.1", resolve);
    });
    return {
        proxyUrl: `http://127.0.0.1:${port}`,
        received,
        tunnels,
        close: () =>
            new Promise<void>((resolve) => {
                for (const socket of sockets) socket.destroy();
                proxy.close(() => resolve());
            }),
    };
}

/**
 * The environment that sends every outbound request of a LiteLLM process through the stand-in, and nothing else
 * changed: its aiohttp client (LiteLLM's default) reads the proxy variables only with AIOHTTP_TRUST_ENV, httpx
 * always; SSL_VERIFY=False accepts the stand-in's certificate. Loopback (the peers) is reached directly.
 */
export function standInEnv(internet: StandInInternet): Record<string, string> {
    return {
        HTTPS_PROXY: internet.proxyUrl,
        HTTP_PROXY: internet.proxyUrl,
        https_proxy: internet.proxyUrl,
        http_proxy: internet.proxyUrl,
        NO_PROXY: "127.0.0.1,localhost",
        no_proxy: "127.0.0.1,localhost",
        AIOHTTP_TRUST_ENV: "True",
        SSL_VERIFY: "False",
    };
}
