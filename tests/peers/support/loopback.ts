/**
 * The one change the peers suite makes to a rendered LiteLLM config: the Docker network's addresses become
 * loopback ports, the stack's model tags become the tiny models the peers serve, and the cloud deployment
 * gets the address of the cloud stand-in. Every other key, and the header comment, stays as rendered.
 */
import { parseDocument } from "yaml";

/** How the deployments of a rendered config are pointed at the peers on loopback. */
export interface LoopbackMapping {
    /** Each rendered `api_base` (e.g. `http://ollama:11434`) to the peer's URL (`http://127.0.0.1:11460`). */
    apiBases: Record<string, string>;
    /** Model tags of the stack (`llama3.2:3b`) to tiny models the peers have (`tiny-a`); unlisted tags stay. */
    models?: Record<string, string>;
    /** Base URL of the OpenAI-compatible cloud stand-in (ending in `/v1`), given to the cloud deployment. */
    cloudApiBase?: string;
}

const OLLAMA_PREFIX = "ollama_chat/";

/** The rendered config text with its deployments pointed at the peers; throws on an address it cannot map. */
export function toLoopback(renderedConfig: string, mapping: LoopbackMapping): string {
    const doc = parseDocument(renderedConfig);
    const deployments = (doc.toJS().model_list ?? []) as { litellm_params: Record<string, unknown> }[];
    deployments.forEach(({ litellm_params: params }, i) => {
        const at = (key: string) => ["model_list", i, "litellm_params", key];
        const model = String(params.model);
        if (model.startsWith(OLLAMA_PREFIX)) {
            const apiBase = String(params.api_base);
            const mapped = mapping.apiBases[apiBase];
            if (!mapped) throw new Error(`no loopback address for api_base ${apiBase} (${model})`);
            doc.setIn(at("api_base"), mapped);
            const tag = model.slice(OLLAMA_PREFIX.length);
            doc.setIn(at("model"), OLLAMA_PREFIX + (mapping.models?.[tag] ?? tag));
        } else {
            if (!mapping.cloudApiBase) throw new Error(`no cloud stand-in for the cloud deployment ${model}`);
            // The stand-in speaks OpenAI's wire format, whatever provider the stack names.
            doc.setIn(at("model"), `openai/${model.slice(model.indexOf("/") + 1)}`);
            doc.setIn(at("api_base"), mapping.cloudApiBase);
        }
    });
    return doc.toString({ lineWidth: 0 });
}
