/**
 * The one change the peers suite makes to a rendered LiteLLM config: the Docker network's addresses become
 * loopback ports, the stack's model tags become the tiny models the peers serve, and the cloud deployment
 * gets the address of the cloud stand-in, and the routers' shared Redis (with replicas) gets its loopback port.
 * Every other key, and the header comment, stays as rendered.
 * The rendered routing hook's embedding URL is mapped by the same `apiBases`.
 */
import { parseDocument } from "yaml";
import { OLLAMA_OPENAI_PATH, OLLAMA_PROVIDER } from "../../../model/litellm";

/** How the deployments of a rendered config are pointed at the peers on loopback. */
export interface LoopbackMapping {
    /** Each rendered `api_base` (e.g. `http://ollama:11434`) to the peer's URL (`http://127.0.0.1:11460`). */
    apiBases: Record<string, string>;
    /** Model tags of the stack (`llama3.2:3b`) to tiny models the peers have (`tiny-a`); unlisted tags stay. */
    models?: Record<string, string>;
    /** Base URL of the OpenAI-compatible cloud stand-in (ending in `/v1`), given to the cloud deployment. */
    cloudApiBase?: string;
    /** Where the Redis that replicas share listens on loopback, given to `router_settings.redis_host`/`redis_port`. */
    redis?: { host: string; port: number };
}

const OLLAMA_PREFIX = `${OLLAMA_PROVIDER}/`;

/** The rendered config text with its deployments pointed at the peers; throws on an address it cannot map. */
export function toLoopback(renderedConfig: string, mapping: LoopbackMapping): string {
    const doc = parseDocument(renderedConfig);
    const deployments = (doc.toJS().model_list ?? []) as { litellm_params: Record<string, unknown> }[];
    deployments.forEach(({ litellm_params: params }, i) => {
        const at = (key: string) => ["model_list", i, "litellm_params", key];
        const model = String(params.model);
        if (model.startsWith(OLLAMA_PREFIX)) {
            // Deployments reach Ollama's OpenAI-compatible API below its base URL, which is what apiBases maps.
            const apiBase = String(params.api_base);
            const base = apiBase.endsWith(OLLAMA_OPENAI_PATH) ? apiBase.slice(0, -OLLAMA_OPENAI_PATH.length) : apiBase;
            const mapped = mapping.apiBases[base];
            if (!mapped) throw new Error(`no loopback address for api_base ${apiBase} (${model})`);
            doc.setIn(at("api_base"), `${mapped}${OLLAMA_OPENAI_PATH}`);
            const tag = model.slice(OLLAMA_PREFIX.length);
            doc.setIn(at("model"), OLLAMA_PREFIX + (mapping.models?.[tag] ?? tag));
        } else {
            if (!mapping.cloudApiBase) throw new Error(`no cloud stand-in for the cloud deployment ${model}`);
            // The stand-in speaks OpenAI's wire format, whatever provider the stack names.
            doc.setIn(at("model"), `openai/${model.slice(model.indexOf("/") + 1)}`);
            doc.setIn(at("api_base"), mapping.cloudApiBase);
        }
    });
    const redisHost = doc.getIn(["router_settings", "redis_host"]);
    if (redisHost !== undefined) {
        if (!mapping.redis)
            throw new Error(
                `no loopback address for redis ${redisHost}:${doc.getIn(["router_settings", "redis_port"])}`,
            );
        doc.setIn(["router_settings", "redis_host"], mapping.redis.host);
        doc.setIn(["router_settings", "redis_port"], mapping.redis.port);
    }
    return doc.toString({ lineWidth: 0 });
}

/** The `"url": "…"` entries of the routing hook's ROUTING literal (the embedding backend's base URL). */
const HOOK_URL = /^(\s*"url": )"([^"]*)"/gm;

/** The rendered routing hook with its embedding URL pointed at the peer; throws on a URL it cannot map. */
export function hookToLoopback(renderedHook: string, mapping: Pick<LoopbackMapping, "apiBases">): string {
    return renderedHook.replace(HOOK_URL, (_, key: string, url: string) => {
        const mapped = mapping.apiBases[url];
        if (!mapped) throw new Error(`no loopback address for the routing hook's url ${url}`);
        return `${key}${JSON.stringify(mapped)}`;
    });
}
