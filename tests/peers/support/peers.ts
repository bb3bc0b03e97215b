/**
 * The one helper of the real-services suites (npm run test:peers) and the benchmark: starts and stops the
 * peers/ scripts' real Ollama, LiteLLM and registry processes on loopback, a counting cloud stand-in, and
 * sends chat completions through them. Every process is started in its own process group (setsid in the
 * scripts), so `stopPeers` ends a server and its children together.
 */
import { execFileSync } from "node:child_process";
import * as http from "node:http";
import { IncomingHttpHeaders } from "node:http";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import * as path from "node:path";
import { LITELLM_CONFIG_FILE, OLLAMA_OPENAI_PATH, renderRouterConfig } from "../../../model/litellm";
import { REQUEST_LOG_CALLBACK, requestLogFiles } from "../../../routing/requestLog";
import { ROUTING_HOOK_FILE } from "../../../routing/schema";
import { routerHookFiles } from "../../../routing/routerFiles";
import { StackConfig } from "../../../config/stackKeys";
import { LocalServer, readJsonBody, sendJson, startHttpServer } from "../../support/httpServer";
import { hookToLoopback, toLoopback } from "./loopback";
import { dockerVantage } from "../../../targets/docker/doorPlan";

/** The peers/ scripts. */
export const PEERS_DIR = path.join(__dirname, "..", "..", "..", "peers");
/** Where peers/install.sh keeps the built software (peers/common.sh). */
export const PEERS_CACHE = process.env.AIGW_PEERS_CACHE ?? path.join(homedir(), ".cache", "ai-gateway-peers");
/** The Ollama CLI the harness built, at the stack's pinned version. */
export const OLLAMA_BIN = path.join(PEERS_CACHE, "ollama-0.17.4", "bin", "ollama");
/** The Python of the harness's LiteLLM venv: the one the router's routing hook runs in. */
export const LITELLM_PYTHON = path.join(PEERS_CACHE, "litellm-1.87.0", "bin", "python");

/** `http://127.0.0.1:<port>`: every peer listens on loopback; 127.0.0.2, 127.0.0.3... stand for other hosts. */
export const loopback = (port: number, address = "127.0.0.1") => `http://${address}:${port}`;

/** A running peer process, known by the pid files its start script wrote. */
export interface Peer {
    /** Base URL it answers on. */
    url: string;
    /** Its state folder: logs, pid files, data. */
    dir: string;
    /** Pid files to hand to peers/stop.sh (the registry has two: itself and its blob server). */
    pidFiles: string[];
}

/** The pid of a peer's own process (its first pid file), which leads its process group. */
export function peerPid(peer: Peer): number {
    return Number(readFileSync(peer.pidFiles[0], "utf8").trim());
}

/** Runs a peers/ script and returns its stdout; its log lines go to the test's stderr. */
export function peerScript(script: string, args: string[], env: Record<string, string> = {}): string {
    return execFileSync(path.join(PEERS_DIR, script), args, {
        encoding: "utf8",
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "inherit"],
    });
}

/**
 * Runs the start script of `peer`; if it fails (a server that never got ready), stops whatever it left running,
 * by the pid files it wrote, before rethrowing.
 */
function started(peer: Peer, script: string, args: string[], env: Record<string, string> = {}): Peer {
    try {
        peerScript(script, args, env);
    } catch (err) {
        stopPeers(peer);
        throw err;
    }
    return peer;
}

/** Starts a real Ollama on `address`:`port` with its models under `dir`, and `env` (OLLAMA_* settings). */
export function startOllama(port: number, dir: string, address = "127.0.0.1", env: Record<string, string> = {}): Peer {
    const peer = { url: loopback(port, address), dir, pidFiles: [path.join(dir, "ollama.pid")] };
    return started(peer, "start_ollama.sh", [`${address}:${port}`, dir], env);
}

/**
 * The size options of peers/make_tiny_model.py for a model of about 590 MB: a download long enough to time, in
 * F32, which a CPU runs several times faster than F16 (a short answer in seconds).
 */
export const LARGE_MODEL_SIZE = ["--width", "1024", "--layers", "14", "--f32"];
/** The name the large model goes by (it seeds its weights). */
export const LARGE_MODEL = "large-f32";

/**
 * Creates the model seeded by `weights` (tiny-a, tiny-b) as `model` in the Ollama on `address`:`port`: a tiny one,
 * or with `size` (`LARGE_MODEL_SIZE`) a larger one.
 */
export function loadTinyModel(
    port: number,
    weights: string,
    model = weights,
    address = "127.0.0.1",
    size: string[] = [],
): void {
    peerScript("load_tiny_model.sh", [`${address}:${port}`, weights, model, ...size]);
}

/** Starts docker-registry on 127.0.0.1:`port`, its blobs served from 127.0.0.2:`port` (see start_registry.sh). */
export function startRegistry(port: number, dir: string): Peer {
    const peer = { url: loopback(port), dir, pidFiles: ["registry.pid", "blobs.pid"].map((f) => path.join(dir, f)) };
    return started(peer, "start_registry.sh", [`127.0.0.1:${port}`, dir]);
}

/** Pushes `model` of the Ollama on `ollamaPort` to `target` (`127.0.0.1:PORT/ns/name:tag`) with the real CLI. */
export function pushModel(ollamaPort: number, model: string, target: string): void {
    peerScript("push_model.sh", [`127.0.0.1:${ollamaPort}`, model, target]);
}

/**
 * Writes `configText` to `dir`/config.yaml, and each of `files` (name to text, e.g. the routing hook) beside it,
 * then starts the real LiteLLM proxy on it; waits until it is ready. A config that names the request log gets its
 * file too, as every router of the program does.
 */
export function startLiteLLM(
    configText: string,
    port: number,
    dir: string,
    env: Record<string, string>,
    files: Record<string, string> = {},
): Peer {
    mkdirSync(dir, { recursive: true });
    const shipped = configText.includes(REQUEST_LOG_CALLBACK) ? { ...requestLogFiles(), ...files } : files;
    for (const [name, text] of Object.entries(shipped)) writeFileSync(path.join(dir, name), text);
    const configFile = path.join(dir, LITELLM_CONFIG_FILE);
    writeFileSync(configFile, configText);
    const peer = { url: loopback(port), dir, pidFiles: [path.join(dir, "litellm.pid")] };
    return started(peer, "start_litellm.sh", [configFile, `127.0.0.1:${port}`, dir], env);
}

/**
 * Starts the real LiteLLM on the local router config and hooks the program renders for `config` on host
 * `host`, their container addresses mapped to loopback by `apiBases`.
 */
export function startRoutedLiteLLM(
    config: StackConfig,
    apiBases: Record<string, string>,
    port: number,
    dir: string,
    masterKey: string,
    host = "box",
): Peer {
    const hooks = routerHookFiles(config, dockerVantage(config, host));
    if (hooks[ROUTING_HOOK_FILE]) hooks[ROUTING_HOOK_FILE] = hookToLoopback(hooks[ROUTING_HOOK_FILE], { apiBases });
    return startLiteLLM(
        toLoopback(renderRouterConfig(config, "local", dockerVantage(config)), { apiBases }),
        port,
        dir,
        { LITELLM_MASTER_KEY: masterKey },
        hooks,
    );
}

/**
 * Ends each peer's process group (TERM, then KILL); a peer already stopped is skipped, and so is one that never
 * started (undefined), so that cleanup after a failed start stops everything that did start.
 */
export function stopPeers(...peers: (Peer | undefined)[]): void {
    const pidFiles = peers.flatMap((p) => p?.pidFiles ?? []);
    if (pidFiles.length > 0) execFileSync(path.join(PEERS_DIR, "stop.sh"), pidFiles, { stdio: "inherit" });
}

/** One HTTP answer, read whole. */
export interface Answer {
    /** HTTP status. */
    status: number;
    /** Response headers (LiteLLM's x-litellm-* among them). */
    headers: IncomingHttpHeaders;
    /** The body as text. */
    body: string;
    /** Milliseconds from sending the request to the end of the body. */
    ms: number;
}

/**
 * The Ollama instance that answered, as its base URL: LiteLLM names the deployment's api_base, which is
 * Ollama's OpenAI-compatible path below that base.
 */
export function answeredBy(answer: Answer): string | undefined {
    const apiBase = answer.headers["x-litellm-model-api-base"];
    return typeof apiBase === "string" ? apiBase.replace(new RegExp(`${OLLAMA_OPENAI_PATH}$`), "") : undefined;
}

/** A chat completion request. */
export interface ChatRequest {
    /** Base URL of the router or Ollama (`/v1/chat/completions` is appended). */
    url: string;
    /** The model or group asked for. */
    model: string;
    /** Bearer key; none sends no Authorization header. */
    key?: string;
    /** The user message. */
    content?: string;
    /** More body fields (`stream`, `max_tokens`…). */
    extra?: Record<string, unknown>;
}

/**
 * One chat completion on a fresh connection: a pooled keep-alive connection that the server closed while idle
 * would fail a request for a reason that has nothing to do with what is being tested.
 */
export function chat({ url, model, key, content = "hello", extra = {} }: ChatRequest): Promise<Answer> {
    const payload = JSON.stringify({ model, messages: [{ role: "user", content }], ...extra });
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (key) headers.authorization = `Bearer ${key}`;
    const started = performance.now();
    return new Promise((resolve, reject) => {
        const request = http.request(`${url}/v1/chat/completions`, { method: "POST", agent: false, headers }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (chunk: string) => (body += chunk));
            res.on("end", () =>
                resolve({ status: res.statusCode!, headers: res.headers, body, ms: performance.now() - started }),
            );
        });
        request.on("error", reject);
        request.end(payload);
    });
}

/** The `p`th percentile of `samples` (nearest rank, the upper median at 50); NaN when there are none. */
export function percentile(samples: number[], p: number): number {
    const sorted = [...samples].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
}

/** The median of `samples` as `percentile` takes it. */
export const p50 = (samples: number[]) => percentile(samples, 50);

/** The model ids a router lists on `/v1/models`, sorted. */
export async function listedModels(url: string, key: string): Promise<string[]> {
    const response = await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    if (response.status !== 200) throw new Error(`GET ${url}/v1/models: HTTP ${response.status}`);
    return ((await response.json()) as { data: { id: string }[] }).data.map((m) => m.id).sort();
}

/** The OpenAI-compatible server that stands in for the cloud provider, which cannot be reached from here. */
export interface CloudStandIn {
    /** Base URL for an OpenAI client: `http://127.0.0.1:PORT/v1`. */
    apiBase: string;
    /** Every request received so far, whatever its path. */
    requests: number;
    /** The text each completion answers with. */
    answer: string;
    close(): Promise<void>;
}

/** Starts the cloud stand-in on `address`: `POST /v1/chat/completions`, streamed or not, counting every request. */
export async function startCloudStandIn(port: number, address = "127.0.0.1"): Promise<CloudStandIn> {
    const standIn = { requests: 0, answer: "answer from the cloud stand-in" } as CloudStandIn;
    const server: LocalServer = await startHttpServer(
        async (req, res) => {
            standIn.requests++;
            if (req.method !== "POST" || req.url !== "/v1/chat/completions") return sendJson(res, 404, {});
            const body = await readJsonBody<{ model: string; stream?: boolean }>(req);
            const base = { id: `chatcmpl-standin-${standIn.requests}`, created: 0, model: body.model };
            if (!body.stream) {
                return sendJson(res, 200, {
                    ...base,
                    object: "chat.completion",
                    choices: [
                        { index: 0, message: { role: "assistant", content: standIn.answer }, finish_reason: "stop" },
                    ],
                    usage: { prompt_tokens: 1, completion_tokens: 5, total_tokens: 6 },
                });
            }
            res.writeHead(200, { "content-type": "text/event-stream" });
            const chunk = (delta: object, finish: string | null) =>
                `data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
            res.end(
                chunk({ role: "assistant", content: standIn.answer }, null) + chunk({}, "stop") + "data: [DONE]\n\n",
            );
        },
        port,
        address,
    );
    standIn.apiBase = `${server.url}/v1`;
    standIn.close = () => server.close();
    return standIn;
}
