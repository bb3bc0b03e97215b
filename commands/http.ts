/**
 * Small network probes the operator commands share: one HTTP request with its latency and a readable
 * reason when it fails, a bare TCP connection attempt, and a listen where a service will publish.
 */
import * as net from "node:net";

/** The answer to one HTTP request, or why there was none. */
export interface HttpAnswer {
    /** HTTP status; absent when nothing answered. */
    status?: number;
    /** Milliseconds from sending the request to the complete answer (or to the failure). */
    latencyMs: number;
    /** Response body as text. */
    body: string;
    /** Response headers (lower-case names). */
    headers: Headers;
    /** Why nothing answered: `connection refused`, `no answer within 5s`, ... */
    problem?: string;
}

/** Options of `request`. */
export interface RequestOptions {
    /** HTTP method (default GET). */
    method?: string;
    /** Request headers. */
    headers?: Record<string, string>;
    /** JSON body. */
    json?: unknown;
    /** Milliseconds to wait for the whole answer (default 5000). */
    timeoutMs?: number;
}

/** Sends one request; never throws: a refused or silent server is an answer without a status. */
export async function request(url: string, options: RequestOptions = {}): Promise<HttpAnswer> {
    const timeoutMs = options.timeoutMs ?? 5000;
    const startedAt = performance.now();
    try {
        const response = await fetch(url, {
            method: options.method ?? "GET",
            headers: {
                ...(options.json !== undefined ? { "content-type": "application/json" } : {}),
                ...options.headers,
            },
            body: options.json !== undefined ? JSON.stringify(options.json) : undefined,
            signal: AbortSignal.timeout(timeoutMs),
        });
        const body = await response.text();
        return { status: response.status, latencyMs: performance.now() - startedAt, body, headers: response.headers };
    } catch (err) {
        return {
            latencyMs: performance.now() - startedAt,
            body: "",
            headers: new Headers(),
            problem: describeFetchError(err, timeoutMs),
        };
    }
}

/** `fetch` hides the socket error in `cause`; operators want the short reason. */
export function describeFetchError(err: unknown, timeoutMs: number): string {
    const error = err as Error & { cause?: { code?: string; message?: string } };
    if (error.name === "TimeoutError" || error.name === "AbortError") return `no answer within ${timeoutMs / 1000}s`;
    const code = error.cause?.code;
    if (code === "ECONNREFUSED") return "connection refused";
    if (code === "ECONNRESET" || code === "UND_ERR_SOCKET") return "connection reset";
    if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "host not found";
    if (code === "EHOSTUNREACH" || code === "ENETUNREACH") return "host unreachable";
    return error.cause?.message ?? error.message;
}

/** The top-level field of a JSON body, as text; undefined when the body is not JSON or lacks it. */
export function jsonField(body: string, field: string): string | undefined {
    try {
        const value = (JSON.parse(body) as Record<string, unknown>)?.[field];
        return value === undefined || value === null ? undefined : String(value);
    } catch {
        return undefined;
    }
}

/** The message of an OpenAI-style error body (`{"error":{"message":...}}`), LiteLLM's and FastAPI's `detail`. */
export function errorMessage(body: string): string {
    try {
        const parsed = JSON.parse(body) as { error?: { message?: string } | string; detail?: unknown };
        const error = parsed.error;
        const message = typeof error === "string" ? error : (error?.message ?? parsed.detail);
        if (message !== undefined) return oneLine(typeof message === "string" ? message : JSON.stringify(message));
    } catch {
        // not JSON: the text itself is the message
    }
    return oneLine(body) || "(empty answer)";
}

/** Long server messages (LiteLLM's carry tracebacks) shortened to a line. */
export function oneLine(text: string, max = 200): string {
    const line = text.replace(/\s+/g, " ").trim();
    return line.length > max ? `${line.slice(0, max - 3)}...` : line;
}

/** Whether something accepts a TCP connection at `address:port` within `timeoutMs`. */
export function acceptsConnections(address: string, port: number, timeoutMs = 1000): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = net.createConnection({ host: address, port, timeout: timeoutMs });
        const done = (accepted: boolean) => {
            socket.destroy();
            resolve(accepted);
        };
        socket
            .on("connect", () => done(true))
            .on("timeout", () => done(false))
            .on("error", () => done(false));
    });
}

/** Tries to listen at `address:port`: the plainest proof that the port is free there. Resolves the error code, if any. */
export function tryListen(address: string, port: number): Promise<string | undefined> {
    return new Promise((resolve) => {
        const server = net.createServer();
        server.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
        server.listen({ host: address, port, exclusive: true }, () => server.close(() => resolve(undefined)));
    });
}
