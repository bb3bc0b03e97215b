/**
 * The generated request log, run by python3 on the generated file itself (tests/support/request_log_driver.py),
 * with events shaped as LiteLLM 1.87.0 hands them to it; its lines read back by `npm run logs -- --requests`'s
 * parser. The hook inside the real LiteLLM is proven by tests/peers/requestLog.test.ts.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { parse } from "yaml";
import { validateStackConfig } from "../../config/load";
import { renderRouterConfig } from "../../model/litellm";
import { REQUEST_LOG_CALLBACK, REQUEST_LOG_FILE, RequestRecord, renderRequestLog } from "../../routing/requestLog";
import { routerHookFiles } from "../../routing/routerFiles";
import { renderRoutingHook } from "../../routing/hook";
import { dockerVantage } from "../../targets/docker/doorPlan";
import { parseRequestLine } from "../../commands/logs";
import { minimalConfig } from "../support/stack";

/** What the driver gives the routing hook's stand-in as its decision key. */
const DECISION_KEY = "ai_gateway_route_driver";
const ARRIVAL = Date.UTC(2026, 11, 5, 10, 0, 0, 250) / 1000;
const PROMPT = "the prompt, which no line may hold";

type Event = Record<string, unknown>;

/** Runs the driver on the generated hook; resolves to the records it printed and what raised. */
async function run(events: Event[]): Promise<{ records: RequestRecord[]; lines: string[]; raised: string[] }> {
    const dir = mkdtempSync(path.join(tmpdir(), "request-log-"));
    try {
        const file = path.join(dir, REQUEST_LOG_FILE);
        writeFileSync(file, renderRequestLog());
        const child = promisify(execFile)(
            "python3",
            [path.join(__dirname, "..", "support", "request_log_driver.py"), file],
            {
                timeout: 60_000,
            },
        );
        child.child.stdin!.end(JSON.stringify(events));
        const { stdout, stderr } = await child;
        const lines = stderr.split("\n").filter(Boolean);
        return {
            lines,
            records: lines.map(parseRequestLine).filter((r): r is RequestRecord => r !== undefined),
            raised: JSON.parse(stdout),
        };
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

/** The proxy's record of a request, as LiteLLM keeps it (proxy_server_request). */
const request = (body: Record<string, unknown>) => ({
    url: "http://127.0.0.1:4000/v1/chat/completions",
    method: "POST",
    arrival_time: ARRIVAL,
    body: { messages: [{ role: "user", content: PROMPT }], ...body },
});

/** LiteLLM's metadata after the router picked `deployment` (what `_update_kwargs_with_deployment` notes). */
const picked = (group: string, id: string, apiBase: string, extra: Record<string, unknown> = {}) => ({
    model_group: group,
    deployment: `hosted_vllm/${id.split("/").pop()}`,
    model_info: { id },
    api_base: apiBase,
    ...extra,
});

/** A success as `async_log_success_event` gets it: LiteLLM's call details and its standard logging payload. */
const success = (body: Record<string, unknown>, metadata: Record<string, unknown>, payload = {}, ms = 412): Event => ({
    kind: "success",
    kwargs: {
        litellm_params: { proxy_server_request: request(body), metadata },
        standard_logging_object: { model_group: metadata.model_group, ...payload },
        messages: [{ role: "user", content: PROMPT }],
    },
    end: ARRIVAL + ms / 1000,
});

describe("the request log in every router", () => {
    it("is named last in litellm_settings.callbacks of both routers, and shipped beside their config", () => {
        const config = validateStackConfig(minimalConfig({ cloud: { enabled: true }, cloudApiKey: "sk-x" }));
        for (const variant of ["local", "cloud"] as const)
            expect(
                parse(renderRouterConfig(config, variant, dockerVantage(config))).litellm_settings.callbacks.at(-1),
            ).toBe(REQUEST_LOG_CALLBACK);
        expect(routerHookFiles(config, dockerVantage(config, "box"))[REQUEST_LOG_FILE]).toBe(renderRequestLog());
        expect(renderRequestLog()).toContain(`\n${REQUEST_LOG_CALLBACK.split(".")[1]} = RequestLog()\n`);
    });

    it("finds the routing hook's decision under the key the routing hook exposes", () => {
        const config = validateStackConfig(
            minimalConfig({ routing: { default: "fast", routes: [{ name: "c", group: "fast", keywords: ["x"] }] } }),
        );
        const hook = renderRoutingHook(config, dockerVantage(config));
        expect(hook).toContain("\n    decision_key = DECISION_KEY\n");
    });
});

describe("one line per request", () => {
    it("says when the request came, what the client asked for, what answered, the status and the latency", async () => {
        const { records, raised } = await run([
            success({ model: "fast" }, picked("fast", "fast/box/ollama-2/llama3.2:3b", "http://ollama-2:11434/v1")),
        ]);
        expect(raised).toEqual([]);
        expect(records).toEqual([
            {
                time: "2026-12-05T10:00:00.250Z",
                path: "/v1/chat/completions",
                model: "fast",
                group: "fast",
                deployment: "fast/box/ollama-2/llama3.2:3b",
                backendModel: "hosted_vllm/llama3.2:3b",
                apiBase: "http://ollama-2:11434/v1",
                status: 200,
                ms: 412,
                stream: false,
            },
        ]);
    });

    it("gives auto's decision from the routing hook's own key, never one a client put into the metadata", async () => {
        const decision = { route: "code", group: "code", reason: 'matched keyword "python"' };
        const forged = { route: "forged", group: "heavy", reason: "the client said so" };
        const metadata = picked("code", "code/box/ollama/qwen2.5-coder:7b", "http://ollama:11434/v1", {
            [DECISION_KEY]: decision,
            ai_gateway_route: forged,
        });
        const { records } = await run([
            success({ model: "auto" }, metadata),
            success({ model: "auto" }, { ...metadata, [DECISION_KEY]: undefined }),
        ]);
        expect(records[0]).toMatchObject({ model: "auto", group: "code", route: decision });
        expect(records[1].route).toBeUndefined();
    });

    it("keeps the group that answered after a fallback, and the first token of a streamed answer", async () => {
        const { records } = await run([
            success(
                { model: "code", stream: true },
                picked("fast", "fast/box/ollama/llama3.2:3b", "http://ollama:11434/v1"),
                { completionStartTime: ARRIVAL + 0.12 },
                900,
            ),
        ]);
        expect(records[0]).toMatchObject({ model: "code", group: "fast", stream: true, firstTokenMs: 120, ms: 900 });
    });

    it("logs a failure once, with the status the client got, the last deployment tried and the error", async () => {
        const { records } = await run([
            {
                kind: "failure",
                request_data: {
                    model: "fast",
                    proxy_server_request: request({ model: "fast" }),
                    metadata: picked("fast", "fast/box/ollama/llama3.2:3b", "http://ollama:11434/v1"),
                },
                error: {
                    class: "InternalServerError",
                    message: "Cannot connect to host ollama:11434",
                    status_code: 500,
                },
            },
            {
                kind: "failure",
                request_data: { model: "nope", proxy_server_request: request({ model: "nope" }), metadata: {} },
                error: { class: "ProxyModelNotFoundError", message: "400: Invalid model name", code: "400" },
            },
        ]);
        expect(records).toEqual([
            expect.objectContaining({
                model: "fast",
                deployment: "fast/box/ollama/llama3.2:3b",
                status: 500,
                error: "InternalServerError: Cannot connect to host ollama:11434",
            }),
            expect.objectContaining({
                model: "nope",
                status: 400,
                error: "ProxyModelNotFoundError: 400: Invalid model name",
            }),
        ]);
        expect(records[1].group).toBeUndefined();
    });

    it("logs a request the key check refused as the proxy answers it, 401 unless the error says otherwise", async () => {
        const { records } = await run([
            {
                kind: "failure",
                request_data: { model: "fast", messages: [{ role: "user", content: PROMPT }] },
                route: "/v1/chat/completions",
                error: { class: "Exception", message: "No api key passed in." },
            },
            {
                kind: "failure",
                request_data: { model: "fast" },
                route: "/chat/completions",
                error: { class: "ProxyException", message: "No connected db.", code: "400" },
            },
        ]);
        expect(records.map((r) => [r.path, r.status, r.error])).toEqual([
            ["/v1/chat/completions", 401, "Exception: No api key passed in."],
            ["/chat/completions", 400, "ProxyException: No connected db."],
        ]);
    });

    it("prints nothing for what is not a client's model request, and never fails a request", async () => {
        const { lines, raised } = await run([
            // LiteLLM's own call (no proxy record), a model list refused without a key, and nonsense.
            { kind: "success", kwargs: { litellm_params: { metadata: {} } } },
            { kind: "failure", request_data: {}, route: "/v1/models", error: { class: "Exception" } },
            { kind: "success", kwargs: { litellm_params: [] } },
            { kind: "success", kwargs: { litellm_params: { proxy_server_request: { arrival_time: "x" } } } },
        ]);
        expect(raised).toEqual([]);
        // The nonsense still gets its line (time: when it was logged), with the status it had: nothing else is known.
        expect(lines.map(parseRequestLine)).toEqual([expect.objectContaining({ status: 200 })]);
    });

    it("holds no prompt, answer or key", async () => {
        const { lines } = await run([
            success({ model: "fast" }, picked("fast", "fast/box/ollama/m", "http://ollama:11434/v1"), {
                messages: PROMPT,
                response: "the answer",
            }),
        ]);
        expect(lines).toHaveLength(1);
        expect(lines[0]).not.toContain(PROMPT);
        expect(lines[0]).not.toContain("the answer");
    });
});
