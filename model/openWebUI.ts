/**
 * Open WebUI's environment from the validated stack config: its wiring, its accounts, and what keeps it
 * offline. Pure, so the whole environment is tested without Pulumi or Docker; the component adds only the
 * values that exist at deploy time (the router's URL and key, generated secrets, Qdrant's address).
 * Every variable was checked against Open WebUI 0.12.4's own source (open_webui/config.py, env.py, main.py).
 */
import { StackConfig } from "../config/stackKeys";
import { Vantage } from "./addressing";
import { ollamaApiBase } from "./litellm";
import { openWebUIEmbeddingHost } from "./plan";

/** The port Open WebUI listens on inside its container. */
export const OPEN_WEBUI_CONTAINER_PORT = 8080;

/** Where Open WebUI keeps its database, uploads and caches inside its container; `dataDir` is mounted there. */
export const OPEN_WEBUI_DATA_PATH = "/app/backend/data";

/** The Ollama URL Open WebUI's embeddings go to, as Open WebUI at `from` reaches it; undefined without an embedding model. */
export function openWebUIEmbeddingUrl(config: StackConfig, from: Vantage): string | undefined {
    const model = config.openWebUI.embeddingModel;
    const host = openWebUIEmbeddingHost(config);
    if (model === undefined || host === undefined) return undefined;
    const embeddingHost = config.hosts.find((h) => h.name === host)!;
    const instance = embeddingHost.ollama.find((o) => o.models.includes(model))!;
    return ollamaApiBase(from, embeddingHost, instance);
}

/**
 * The settings part of Open WebUI's environment, `KEY=value`. With ENABLE_PERSISTENT_CONFIG=False each start
 * takes these values, so a `pulumi up` that changes one (it replaces the container) really applies it.
 */
export function openWebUIEnv(config: StackConfig, from: Vantage): string[] {
    const settings = config.openWebUI;
    const embeddingUrl = openWebUIEmbeddingUrl(config, from);
    const env: [string, string][] = [
        // Every chat goes through the router, so the router's log says which model answered.
        ["ENABLE_OLLAMA_API", "False"],
        ["WEBUI_AUTH", "True"],
        ["ENABLE_SIGNUP", settings.enableSignup ? "True" : "False"],
        ["WEBUI_ADMIN_EMAIL", settings.adminEmail],
        // The stack config is the source of truth: without this, Open WebUI keeps the values of its first start
        // in its database and ignores what a later `pulumi up` sets.
        ["ENABLE_PERSISTENT_CONFIG", "False"],
        // No download from the internet, at start or later: HF_HUB_OFFLINE=1 for every model-hub library, no pip
        // install of a function's requirements, no version check against GitHub.
        ["OFFLINE_MODE", "True"],
        // Never the default engine (""), which loads a SentenceTransformers model from the model hub at start.
        ["RAG_EMBEDDING_ENGINE", "ollama"],
        ...((embeddingUrl
            ? [
                  ["RAG_EMBEDDING_MODEL", settings.embeddingModel!],
                  ["RAG_OLLAMA_BASE_URL", embeddingUrl],
              ]
            : // Without an embedding model, documents and web pages go to the model whole instead of being embedded.
              [["BYPASS_EMBEDDING_AND_RETRIEVAL", "True"]]) as [string, string][]),
        // Local speech-to-text runs Whisper, whose model comes from the model hub on first use and fails offline.
        ["USER_PERMISSIONS_CHAT_STT", "False"],
        ["USER_PERMISSIONS_CHAT_CALL", "False"],
    ];
    return env.map(([key, value]) => `${key}=${value}`);
}
