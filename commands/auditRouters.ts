/**
 * The audit's rules on what the services answer (commands/audit.ts): calls without a key refused (auth), the
 * local router serving only our Ollama instances (local-only-router), the pass-through routes refused (routes),
 * and no Ollama model that runs elsewhere (no-cloud-models).
 */
import { nonLocalReason } from "../model/litellm";
import { CLOUD_GROUP, RESERVED_GROUPS } from "../config/serviceKeys";
import { StackConfig } from "../config/stackKeys";
import { isOllamaCloudModel } from "../config/primitives";
import { GatewayService, authHeaders, refusesCall } from "../targets/docker/endpoints";
import { errorMessage, oneLine, request } from "./http";
import { Finding, findingFor } from "./findings";

/** Calls that must be refused (401/403): no key, a wrong key; for Open WebUI, no session. */
export async function authFindings(services: GatewayService[]): Promise<Finding[]> {
    const attempts = services.flatMap((service) => {
        if (service.auth)
            return [
                { service, path: service.auth.protectedPath, headers: {}, what: "without a key" },
                {
                    service,
                    path: service.auth.protectedPath,
                    headers: authHeaders(service.auth, "sk-aigw-audit-wrong-key"),
                    what: "with a wrong key",
                },
            ];
        if (service.sessionProtectedPath)
            return [{ service, path: service.sessionProtectedPath, headers: {}, what: "without a session" }];
        return [];
    });
    return Promise.all(
        attempts.map(async ({ service, path, headers, what }) => {
            const answer = await request(`${service.url}${path}`, { headers });
            const refused = answer.status !== undefined && refusesCall(service.kind, answer.status, answer.body);
            const seen =
                answer.status === undefined
                    ? `cannot check: ${answer.problem}`
                    : `GET ${path} ${what} answered ${answer.status}` +
                      (answer.status === 400 && refused ? ` (${errorMessage(answer.body)})` : "");
            return findingFor("auth", service.containerName)(refused ? "pass" : "fail", seen);
        }),
    );
}

/** A JSON body, or undefined when it is not JSON: a wrong answer fails its rule, it never stops the audit. */
function readJson<T>(body: string): T | undefined {
    try {
        return JSON.parse(body) as T;
    } catch {
        return undefined;
    }
}

/** What an answer that is not the JSON expected looked like, shortened. */
function unreadable(body: string): string {
    return `something that is not the JSON expected: ${oneLine(body, 80) || "(empty answer)"}`;
}

/**
 * The canary of the `routes` rule: provider pass-through routes of LiteLLM 1.87.0 that, on a router without
 * `allowed_routes`, forward a request with the router's key to api.anthropic.com, us-central1-aiplatform.googleapis.com,
 * api.cohere.com, api.mistral.ai, api.assemblyai.com and api.openai.com (tests/peers/routes.test.ts).
 */
export const CANARY_ROUTES: readonly string[] = [
    "/anthropic/v1/messages",
    "/vertex_ai/v1/projects/p/locations/us-central1/publishers/google/models/gemini-pro:generateContent",
    "/cohere/v2/chat",
    "/mistral/v1/chat/completions",
    "/assemblyai/v2/transcript",
    "/v1/vector_stores",
];

/**
 * The canary carries a key no router holds, so that even a router without the wall forwards nothing: Anthropic's
 * and Vertex's pass-through send the caller's key along, and the audit's would be the master key. LiteLLM checks
 * `allowed_routes` before it reads the key, so a router with the wall still answers 403 `Route ... not allowed`,
 * while one without it answers as its key check does (400 `No connected db.`).
 */
export const CANARY_KEY = "sk-aigw-audit-canary-not-a-key";
const CANARY_BODY = {
    model: "ai-gateway-audit-canary",
    max_tokens: 1,
    messages: [{ role: "user", content: "ai-gateway audit canary: the router must refuse this route" }],
};

/** Why one canary answer is not a refusal of its route, or undefined when it is one. */
function canaryProblem(answer: { status?: number; body: string; problem?: string }): string | undefined {
    if (answer.status === undefined) return `cannot check: ${answer.problem}`;
    if (answer.status === 404) return undefined;
    const message = errorMessage(answer.body);
    if (answer.status === 403 && / not allowed/.test(message)) return undefined;
    if (answer.status === 400 || answer.status === 401)
        return `answered ${answer.status} (${message}): the route is served, only the key was refused`;
    return `answered ${answer.status} (${message})`;
}

/**
 * A router refuses LiteLLM's provider pass-through routes: each canary answers 404 (no such route) or 403 `Route
 * ... not allowed` (the router's `allowed_routes`). Anything else fails: a 2xx, an auth refusal (the route is
 * served, and a client with the key reaches the provider), an answer that is not LiteLLM's, or none.
 */
export async function routesFinding(router: GatewayService): Promise<Finding> {
    const finding = findingFor("routes", router.containerName);
    const answers = await Promise.all(
        CANARY_ROUTES.map(async (route) => {
            const answer = await request(`${router.url}${route}`, {
                method: "POST",
                headers: authHeaders(router.auth!, CANARY_KEY),
                json: CANARY_BODY,
            });
            return { route, problem: canaryProblem(answer) };
        }),
    );
    const open = answers.filter((a) => a.problem !== undefined);
    if (open.length > 0)
        return finding(
            "fail",
            `provider pass-through routes not refused: ${open.map((a) => `POST ${a.route} ${a.problem}`).join("; ")}`,
        );
    return finding("pass", `refuses every canary: ${CANARY_ROUTES.map(family).join(", ")}`);
}

/** The pass-through family a canary route belongs to: its first segment, or the OpenAI-style route itself. */
function family(route: string): string {
    return route.startsWith("/v1/") ? route : `/${route.split("/")[1]}/...`;
}

/**
 * A local router's live model list and deployments hold only the config's groups, each served by one of the
 * stack's Ollama instances (`apiBases`), never by an Ollama cloud tag.
 */
export async function localOnlyFinding(
    config: StackConfig,
    router: GatewayService,
    masterKey: string,
    apiBases: string[],
): Promise<Finding> {
    const finding = findingFor("local-only-router", router.containerName);
    const headers = authHeaders(router.auth!, masterKey);
    const models = await request(`${router.url}/v1/models`, { headers });
    if (models.status !== 200)
        return finding(
            "fail",
            `cannot list models: ${models.problem ?? `HTTP ${models.status}: ${errorMessage(models.body)}`}`,
        );
    const listed = readJson<{ data?: { id: string }[] }>(models.body);
    if (!Array.isArray(listed?.data))
        return finding("fail", `cannot read its model list: GET /v1/models answered ${unreadable(models.body)}`);
    const ids = listed.data.map((m) => m.id);
    const groups = Object.keys(config.groups);
    // `auto` (routing by content) is the router's own name for its local groups; `cloud` never belongs here.
    const allowed = [...groups, ...RESERVED_GROUPS.filter((name) => name !== CLOUD_GROUP)];
    const foreign = ids.filter((id) => !allowed.includes(id));
    if (foreign.length > 0) return finding("fail", `serves models that are not local groups: ${foreign.join(", ")}`);
    // The deployments behind the names: each must be one of our Ollama instances, as the rendered config promises.
    const info = await request(`${router.url}/model/info`, { headers });
    if (info.status !== 200)
        return finding(
            "fail",
            `cannot read its deployments: ${info.problem ?? `GET /model/info: HTTP ${info.status}: ${errorMessage(info.body)}`}`,
        );
    type Deployment = { model_name: string; litellm_params?: { model?: string; api_base?: string } };
    const deployments = readJson<{ data?: Deployment[] }>(info.body)?.data;
    if (!Array.isArray(deployments))
        return finding("fail", `cannot read its deployments: GET /model/info answered ${unreadable(info.body)}`);
    const remote = deployments.flatMap((d) => {
        const reason = nonLocalReason(d.litellm_params ?? {}, apiBases);
        return reason ? [`${d.model_name}: ${reason}`] : [];
    });
    if (remote.length > 0) return finding("fail", `deployments that may leave the host: ${remote.join("; ")}`);
    return finding("pass", `serves ${ids.join(", ") || "nothing"}, all local groups on the stack's Ollama instances`);
}

/** No Ollama instance holds a model that runs elsewhere (a remote host, e.g. the :cloud / -cloud tags). */
export async function ollamaCloudFindings(services: GatewayService[]): Promise<Finding[]> {
    return Promise.all(
        services
            .filter((s) => s.kind === "ollama")
            .map(async (service) => {
                const finding = findingFor("no-cloud-models", service.containerName);
                const tags = await request(`${service.url}/api/tags`);
                if (tags.status !== 200)
                    return finding("fail", `cannot list its models: ${tags.problem ?? `HTTP ${tags.status}`}`);
                type Model = { name: string; remote_host?: string };
                const models = readJson<{ models?: Model[] }>(tags.body)?.models;
                if (!Array.isArray(models))
                    return finding("fail", `cannot read its models: GET /api/tags answered ${unreadable(tags.body)}`);
                const remote = models.filter((m) => m.remote_host || isOllamaCloudModel(m.name));
                if (remote.length > 0)
                    return finding(
                        "fail",
                        `holds models that run elsewhere: ${remote.map((m) => `${m.name} → ${m.remote_host ?? "ollama.com"}`).join(", ")}`,
                    );
                return finding("pass", `${models.length} models, all on the instance itself`);
            }),
    );
}
