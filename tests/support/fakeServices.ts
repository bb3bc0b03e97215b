/**
 * Real HTTP servers speaking the wire format of the stack's services, as far as the operator commands use
 * it (shared/reference/services.md): LiteLLM's proxy (health, `/v1/models`, `/model/info`, streamed
 * `/v1/chat/completions` with `x-litellm-model-api-base`, its 401s, its 403 for a route outside
 * `allowed_routes`), Open WebUI (health, version, 401
 * without a session) and Qdrant (readiness, version, 401 without `api-key`). Each can be made to misbehave
 * the way a broken deployment does. They also run inside test containers (see testImage.ts).
 */
import * as http from "node:http";
import { LocalServer, readJsonBody, sendJson, startHttpServer } from "./httpServer";

/** How a fake LiteLLM proxy is set up. */
export interface FakeRouterOptions {
    /** The master key it accepts. */
    key: string;
    /** Group → the backend it reports in `x-litellm-model-api-base` and `/model/info`. */
    groups: Record<string, string>;
    /** Extra deployments (group → LiteLLM model) that are not Ollama, like a cloud model. */
    foreignModels?: Record<string, string>;
    /** Groups whose backend fails in mid-stream, as LiteLLM reports a dead Ollama. */
    failingGroups?: string[];
    /** Milliseconds before each streamed token. */
    tokenDelayMs?: number;
    /**
     * Awaited before each streamed token (its index), ahead of `tokenDelayMs`: lets a test hold a token until
     * the client has shown the one before, so the order of events does not depend on the machine's speed.
     */
    beforeToken?: (index: number) => Promise<void>;
    /** Called right after each token was written to the response (its index). */
    sentToken?: (index: number) => void;
    /** Status of `/health/readiness` (a router still starting answers 503). */
    readinessStatus?: number;
    /** The tokens of every answer. */
    answer?: string[];
    /**
     * `general_settings.allowed_routes`: every other route that checks a key is refused with 403 before the key is
     * read. Unset: every route is served, as LiteLLM without the setting serves its provider pass-through routes.
     */
    allowedRoutes?: readonly string[];
}

export const FAKE_OPEN_WEBUI_VERSION = "0.12.4";
export const FAKE_QDRANT_VERSION = "1.16.1";

/** One chat completion the router received. */
export interface ReceivedChat {
    /** Requested group. */
    model: string;
    /** Whether streaming was asked for. */
    stream: boolean;
    /** The user's message. */
    prompt: string;
}

function authError(res: http.ServerResponse, message: string): void {
    sendJson(res, 401, { error: { message, type: "auth_error", param: "None", code: "401" } });
}

/** A LiteLLM proxy in front of fake backends. */
export class FakeRouter {
    /** Every chat completion received, in order. */
    readonly chats: ReceivedChat[] = [];
    /** How many `/health/readiness` requests it answered. */
    readinessProbes = 0;

    private constructor(
        readonly server: LocalServer,
        private readonly options: FakeRouterOptions,
    ) {}

    static async start(options: FakeRouterOptions, port = 0): Promise<FakeRouter> {
        let router: FakeRouter | undefined;
        const server = await startHttpServer((req, res) => {
            router!.route(req, res).catch((err) => res.destroy(err));
        }, port);
        router = new FakeRouter(server, options);
        return router;
    }

    get url(): string {
        return this.server.url;
    }

    private deployments(): { model_name: string; litellm_params: { model: string; api_base?: string } }[] {
        return [
            ...Object.entries(this.options.groups).map(([group, apiBase]) => ({
                model_name: group,
                litellm_params: { model: `hosted_vllm/${group}-model`, api_base: apiBase },
            })),
            ...Object.entries(this.options.foreignModels ?? {}).map(([group, model]) => ({
                model_name: group,
                litellm_params: { model },
            })),
        ];
    }

    private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
        const url = req.url ?? "/";
        if (url === "/health/liveliness") return sendJson(res, 200, "I'm alive!");
        if (url === "/health/readiness") {
            this.readinessProbes++;
            const status = this.options.readinessStatus ?? 200;
            return sendJson(res, status, {
                status: status === 200 ? "healthy" : "unhealthy",
                db: "Not connected",
            });
        }
        // LiteLLM 1.87.0 checks allowed_routes first in its key check (proxy/auth/auth_utils.py,
        // pre_db_read_auth_checks), so a refused route answers 403 whatever key comes with it.
        const route = new URL(url, "http://router").pathname;
        if (this.options.allowedRoutes && !this.options.allowedRoutes.includes(route))
            return sendJson(res, 403, {
                error: {
                    message: `Access forbidden: Route ${route} not allowed`,
                    type: "auth_error",
                    param: "None",
                    code: "403",
                },
            });
        const authorization = req.headers.authorization;
        if (!authorization) return authError(res, "Authentication Error, No api key passed in.");
        // LiteLLM without a key database checks any other key there, and has none (LiteLLM 1.87.0,
        // proxy/auth/user_api_key_auth.py): 400 "No connected db.", as the real router answers.
        if (authorization !== `Bearer ${this.options.key}`)
            return sendJson(res, 400, {
                error: { message: "No connected db.", type: "no_db_connection", param: "None", code: "400" },
            });
        if (url === "/v1/models" || url === "/models") {
            const names = [...new Set(this.deployments().map((d) => d.model_name))];
            return sendJson(res, 200, {
                data: names.map((id) => ({ id, object: "model", created: 1677610602, owned_by: "openai" })),
                object: "list",
            });
        }
        if (url === "/model/info" || url === "/v1/model/info") return sendJson(res, 200, { data: this.deployments() });
        if (url === "/v1/chat/completions" && req.method === "POST") return this.chat(req, res);
        sendJson(res, 404, { detail: "Not Found" });
    }

    private async chat(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
        const body = await readJsonBody<{ model: string; stream?: boolean; messages: { content: string }[] }>(req);
        this.chats.push({
            model: body.model,
            stream: body.stream === true,
            prompt: body.messages.at(-1)?.content ?? "",
        });
        const apiBase = this.options.groups[body.model];
        if (!apiBase)
            return sendJson(res, 400, {
                error: {
                    message: `Invalid model name passed in model=${body.model}. Call \`/v1/models\` to view available models for your key.`,
                    type: "invalid_request_error",
                    param: "None",
                    code: "400",
                },
            });
        res.writeHead(200, {
            "content-type": "text/event-stream",
            "x-litellm-model-api-base": apiBase,
            "x-litellm-model-group": body.model,
        });
        const send = (event: unknown) => res.write(`data: ${JSON.stringify(event)}\n\n`);
        const chunk = (delta: object, finish: string | null = null) => ({
            id: "chatcmpl-fake",
            created: 1735689600,
            model: `hosted_vllm/${body.model}-model`,
            object: "chat.completion.chunk",
            choices: [{ index: 0, delta, finish_reason: finish }],
        });
        send(chunk({ role: "assistant", content: "" }));
        if (this.options.failingGroups?.includes(body.model)) {
            send({
                error: {
                    message: `litellm.APIConnectionError: Ollama_chatException - Cannot connect to host ${apiBase}`,
                    type: null,
                    param: null,
                    code: "500",
                },
            });
            return void res.end();
        }
        for (const [index, token] of (this.options.answer ?? ["o", "k"]).entries()) {
            await this.options.beforeToken?.(index);
            await new Promise((resolve) => setTimeout(resolve, this.options.tokenDelayMs ?? 5));
            send(chunk({ content: token }));
            this.options.sentToken?.(index);
        }
        send(chunk({}, "stop"));
        res.end("data: [DONE]\n\n");
    }

    close(): Promise<void> {
        return this.server.close();
    }
}

/** Open WebUI with authentication on (or, to show the failure, off). */
export async function startFakeOpenWebUI(options: { authDisabled?: boolean } = {}, port = 0): Promise<LocalServer> {
    return startHttpServer((req, res) => {
        if (req.url === "/health") return sendJson(res, 200, { status: true });
        if (req.url === "/api/version") return sendJson(res, 200, { version: FAKE_OPEN_WEBUI_VERSION });
        if (req.url === "/api/models") {
            if (options.authDisabled || req.headers.authorization) return sendJson(res, 200, { data: [] });
            return sendJson(res, 401, { detail: "Not authenticated" });
        }
        sendJson(res, 404, { detail: "Not Found" });
    }, port);
}

/** Qdrant with an API key (or, to show the failure, without one: it is open by default). */
export async function startFakeQdrant(options: { apiKey?: string }, port = 0): Promise<LocalServer> {
    return startHttpServer((req, res) => {
        if (req.url === "/readyz")
            return void res.writeHead(200, { "content-type": "text/plain" }).end("all shards are ready");
        if (req.url === "/")
            return sendJson(res, 200, {
                title: "qdrant - vector search engine",
                version: FAKE_QDRANT_VERSION,
                commit: "0".repeat(40),
            });
        if (options.apiKey && req.headers["api-key"] !== options.apiKey)
            return void res
                .writeHead(401, { "content-type": "text/plain" })
                .end("Must provide an API key or an Authorization bearer token");
        if (req.url === "/collections")
            return sendJson(res, 200, { result: { collections: [] }, status: "ok", time: 0.00001 });
        sendJson(res, 404, { status: { error: "Not found" }, time: 0 });
    }, port);
}
