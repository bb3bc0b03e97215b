/**
 * Renders the LiteLLM proxy config of each router from the validated stack config. Pure: the same
 * config always gives the same text, so it is tested without Pulumi or Docker and shown by `render`.
 */
import { stringify } from "yaml";
import { FAILOVER_HOOK_CALLBACK, needsFailoverHook } from "../routing/failoverHook";
import { CONTAINER_NAMES, needsRedis, placements } from "./plan";
import { REQUEST_LOG_CALLBACK } from "../routing/requestLog";
import { AUTO_MODEL, ROUTING_HOOK_CALLBACK } from "../routing/schema";
import { HostConfig, OllamaInstanceConfig, StackConfig } from "../config/stackKeys";
import { isOllamaCloudModel } from "../config/primitives";
import { CLOUD_GROUP } from "../config/serviceKeys";
import { Vantage, baseUrl } from "./addressing";
import { ollamaReachable } from "./ollama";

/** The port LiteLLM listens on inside its container. */
export const LITELLM_CONTAINER_PORT = 4000;
/** Where the rendered config and its hooks are uploaded inside the router container. */
export const LITELLM_CONFIG_DIR = "/app";
export const LITELLM_CONFIG_FILE = "config.yaml";
export const LITELLM_CONFIG_PATH = `${LITELLM_CONFIG_DIR}/${LITELLM_CONFIG_FILE}`;
/** Environment variables the rendered config refers to; the keys never appear in the file itself. */
export const MASTER_KEY_ENV = "LITELLM_MASTER_KEY";
export const CLOUD_API_KEY_ENV = "CLOUD_API_KEY";

/**
 * `local` is the router on 4000: Ollama only, whatever the config says.
 * `cloud` is the router on 4001, deployed only when cloud fallback is enabled: the same groups, each
 * falling back to the cloud model after its local fallbacks.
 */
export type RouterVariant = "local" | "cloud";

/** One Ollama instance as seen from a router: who it is and the URL the router uses for it. */
export interface OllamaEndpoint {
    /** The host that runs the instance. */
    host: HostConfig;
    /** The instance itself. */
    instance: OllamaInstanceConfig;
    /** Base URL the router uses, as its target reaches the instance from where the router runs (model/addressing.ts). */
    apiBase: string;
}

/** Every Ollama instance of the stack, as a service at `from` reaches it. */
export function ollamaEndpoints(config: StackConfig, from: Vantage): OllamaEndpoint[] {
    return config.hosts.flatMap((host) =>
        host.ollama.map((instance) => ({ host, instance, apiBase: ollamaApiBase(from, host, instance) })),
    );
}

/** The base URL by which a service at `from` reaches one Ollama instance. */
export function ollamaApiBase(from: Vantage, host: HostConfig, instance: OllamaInstanceConfig): string {
    return baseUrl(from, ollamaReachable(host, instance));
}

interface Deployment {
    model_name: string;
    litellm_params: Record<string, string | number>;
    model_info: { id: string };
}

/**
 * How LiteLLM talks to our Ollama instances: through Ollama's OpenAI-compatible API. Not `ollama_chat/`:
 * LiteLLM 1.87.0 turns every error of an `ollama_chat/` deployment (a crashed runner's 500, a timeout) into an
 * APIConnectionError, which it never cools down, so a failing or hung instance kept getting requests (each
 * waiting out the timeout) and router replicas had no cooldown to share.
 */
export const OLLAMA_PROVIDER = "hosted_vllm";
/** Where Ollama serves its OpenAI-compatible API, below its base URL. */
export const OLLAMA_OPENAI_PATH = "/v1";

/** The deployments of every group: one per (model, instance that pulls it), so a group balances over them. */
export function groupDeployments(config: StackConfig, from: Vantage): Deployment[] {
    const endpoints = ollamaEndpoints(config, from);
    return Object.entries(config.groups).flatMap(([group, models]) =>
        models.flatMap((model) =>
            endpoints
                .filter((e) => e.instance.models.includes(model))
                .map((e) => ({
                    model_name: group,
                    litellm_params: {
                        model: `${OLLAMA_PROVIDER}/${model}`,
                        api_base: `${e.apiBase}${OLLAMA_OPENAI_PATH}`,
                    },
                    model_info: { id: `${group}/${e.host.name}/${e.instance.name}/${model}` },
                })),
        ),
    );
}

/**
 * With routing by content on, the virtual model `auto` is listed as the default group's deployments under its
 * own name: so `/v1/models` (and Open WebUI) shows it. The routing hook rewrites every request for it to a
 * real group before the router picks a deployment, so these are used as they are only if the hook never ran.
 */
export function withAutoModel(config: StackConfig, deployments: Deployment[]): Deployment[] {
    if (!config.routing) return deployments;
    const auto = deployments
        .filter((d) => d.model_name === config.routing!.default)
        .map((d) => ({
            model_name: AUTO_MODEL,
            // A copy, so the YAML shows the parameters rather than an alias of the default group's.
            litellm_params: { ...d.litellm_params },
            model_info: { id: `${AUTO_MODEL}/${d.model_info.id}` },
        }));
    return [...deployments, ...auto];
}

/** Redis's name on its host's network, and its Service's on Kubernetes. */
export const REDIS_CONTAINER = CONTAINER_NAMES.redis;
/** The port Redis listens on inside its container. */
export const REDIS_CONTAINER_PORT = 6379;
export const REDIS_PASSWORD_ENV = "REDIS_PASSWORD";

/** Redis, which the local routers share once there is more than one: on the first router host. */
export function redisReachable(config: StackConfig) {
    return {
        name: REDIS_CONTAINER,
        host: placements(config).router,
        containerPort: REDIS_CONTAINER_PORT,
        servicePort: config.router.redisPort,
    };
}

/** Where the local routers at `from` find the shared Redis, when there is more than one router. */
export function redisSettings(config: StackConfig, from: Vantage): Record<string, string | number> {
    if (!needsRedis(config)) return {};
    const { host, port } = from.reach(redisReachable(config));
    return { redis_host: host, redis_port: port, redis_password: `os.environ/${REDIS_PASSWORD_ENV}` };
}

/**
 * The only routes either router serves (`general_settings.allowed_routes`); LiteLLM refuses every other one with
 * 403 `Access forbidden: Route ... not allowed`. Without it, LiteLLM 1.87.0 serves provider pass-through routes
 * (`/anthropic/...`, `/vertex_ai/...`, `/cohere/...`, `/mistral/...`, `/assemblyai/...`, `/v1/vector_stores`, ...)
 * that forward a client's request, prompt and headers (the master key among them) to the provider on the internet,
 * whatever the model list says. LiteLLM checks the list in `pre_db_read_auth_checks` (proxy/auth/auth_utils.py),
 * the first step of its key check and before the key is read, on every route that checks a key; without an
 * enterprise licence it logs an error and enforces it all the same. Matching is exact: no prefixes, no wildcards.
 */
export const ROUTER_ALLOWED_ROUTES: readonly string[] = [
    // Chat: Open WebUI (OPENAI_API_BASE_URL is the router's /v1), `smoke`, `ask-code`, README's curl example.
    "/v1/chat/completions",
    // The same handler without the prefix: what an OpenAI client given the router's bare URL calls.
    "/chat/completions",
    // The model list: Open WebUI's, and the audit's `auth` and `local-only-router` rules.
    "/v1/models",
    // The same without the prefix, for the same clients as /chat/completions.
    "/models",
    // The deployments behind the groups, which the audit's `local-only-router` rule compares with the stack's Ollama.
    "/model/info",
    // Docker's healthcheck of the container. LiteLLM serves both health routes without a key check, so the list
    // does not gate them today; they are listed so the probes keep working if a version starts checking them.
    "/health/liveliness",
    // The HealthCheck provider, `status`, `wait` and the audit. Never `/health`, which calls every model.
    "/health/readiness",
];

/** The LiteLLM config document of one router, as a plain object; `from` is where it runs. */
export function routerConfig(config: StackConfig, variant: RouterVariant, from: Vantage): Record<string, unknown> {
    const local = withAutoModel(config, groupDeployments(config, from));
    const groups = Object.keys(config.groups);
    // A Map, not the config's object: a group may be named like a property of every object ("constructor").
    const localFallbacks = new Map(Object.entries(config.router.fallbacks));
    const fallbacks =
        variant === "cloud"
            ? groups.map((group) => ({ [group]: [...(localFallbacks.get(group) ?? []), CLOUD_GROUP] }))
            : [...localFallbacks].map(([group, targets]) => ({ [group]: targets }));
    const cloud: Deployment[] =
        variant === "cloud"
            ? [
                  {
                      model_name: CLOUD_GROUP,
                      litellm_params: {
                          model: config.cloud.model,
                          api_key: `os.environ/${CLOUD_API_KEY_ENV}`,
                          ...(config.cloud.apiBase ? { api_base: config.cloud.apiBase } : {}),
                      },
                      model_info: { id: `${CLOUD_GROUP}/${config.cloud.model}` },
                  },
              ]
            : [];
    const callbacks = [
        ...(config.routing ? [ROUTING_HOOK_CALLBACK] : []),
        ...(needsFailoverHook(config) ? [FAILOVER_HOOK_CALLBACK] : []),
        REQUEST_LOG_CALLBACK,
    ];
    const doc = {
        model_list: [...local, ...cloud],
        router_settings: {
            routing_strategy: config.router.strategy,
            num_retries: config.router.numRetries,
            timeout: config.router.timeoutSeconds,
            allowed_fails: config.router.allowedFails,
            cooldown_time: config.router.cooldownSeconds,
            // A dead instance fails at once and LiteLLM's cooldown comes late (over half of its requests in the
            // minute failed, at least 5), while simple-shuffle's retries pick at random again and may all land on it.
            // Weighted failover then re-picks among the group's other instances; LiteLLM has it for simple-shuffle
            // only, the other strategies get the failover hook (routing/failoverHook.ts).
            ...(needsFailoverHook(config) ? {} : { enable_weighted_failover: true }),
            ...(fallbacks.length > 0 ? { fallbacks } : {}),
            // Only the local routers are replicated; the cloud router is a single container.
            ...(variant === "local" ? redisSettings(config, from) : {}),
        },
        litellm_settings: {
            // Clients such as Open WebUI send OpenAI parameters Ollama does not know; drop them instead of failing.
            drop_params: true,
            request_timeout: config.router.timeoutSeconds,
            callbacks,
        },
        general_settings: { master_key: `os.environ/${MASTER_KEY_ENV}`, allowed_routes: [...ROUTER_ALLOWED_ROUTES] },
    };
    if (variant === "local") assertLocalOnly(doc.model_list, ollamaApiBases(config, from));
    return doc;
}

/**
 * The rule behind `FINAL_CHECK=1`: the local router never holds a deployment that could leave the host.
 * Checked on the rendered document itself, so no future change to the renderer can slip one in.
 */
export function assertLocalOnly(modelList: Deployment[], ollamaApiBases: string[]): void {
    for (const d of modelList) {
        const params = d.litellm_params;
        if (nonLocalReason(params, ollamaApiBases) !== undefined || params.api_key !== undefined)
            throw new Error(`the local router may only serve our Ollama instances, got ${JSON.stringify(d)}`);
    }
}

/**
 * Why a deployment's `litellm_params` could send a prompt off the host, or undefined: it must be an Ollama model
 * (not an Ollama cloud tag, which Ollama forwards to ollama.com) at one of the stack's Ollama instances. The
 * audit applies the same rule to a live router's `/model/info`.
 */
export function nonLocalReason(
    params: { model?: unknown; api_base?: unknown },
    ollamaApiBases: string[],
): string | undefined {
    const model = String(params.model);
    if (!model.startsWith(`${OLLAMA_PROVIDER}/`)) return `${model} is not served by Ollama`;
    if (isOllamaCloudModel(model)) return `${model} is an Ollama cloud model (Ollama runs it on ollama.com)`;
    if (!ollamaApiBases.includes(String(params.api_base)))
        return `${model} is reached at ${params.api_base}, not at one of the stack's Ollama instances`;
    return undefined;
}

/** The api_base of every Ollama deployment a router at `from` may have. */
export function ollamaApiBases(config: StackConfig, from: Vantage): string[] {
    return ollamaEndpoints(config, from).map((e) => `${e.apiBase}${OLLAMA_OPENAI_PATH}`);
}

const HEADER =
    "# LiteLLM proxy config generated by ai-gateway from the stack config.\n" +
    "# Do not edit: change Pulumi.<stack>.yaml and run pulumi up. Keys come from the environment.\n";

/** The config file text of one router. */
export function renderRouterConfig(config: StackConfig, variant: RouterVariant, from: Vantage): string {
    return HEADER + stringify(routerConfig(config, variant, from), { lineWidth: 0 });
}
