/**
 * An Ollama instance, whatever runs it: its port, its environment and how its models are pulled. Pure.
 */
import { HostConfig, OllamaInstanceConfig, OllamaTuning } from "../config/stackKeys";
import { Reachable } from "./addressing";

/** The port Ollama listens on inside its container, whatever port the stack gives it. */
export const OLLAMA_CONTAINER_PORT = 11434;

/** One instance, as the services that use it connect to it. */
export function ollamaReachable(host: HostConfig, instance: OllamaInstanceConfig): Reachable {
    return { name: instance.name, host: host.name, containerPort: OLLAMA_CONTAINER_PORT, servicePort: instance.port };
}

/** Ollama's environment: listen on all container interfaces (the target decides what is published), plus tuning. */
export function ollamaEnv(tuning: OllamaTuning): string[] {
    const env: [string, string | number | boolean | undefined][] = [
        ["OLLAMA_HOST", `0.0.0.0:${OLLAMA_CONTAINER_PORT}`],
        // Ollama forwards models with a remote host (the *-cloud tags) to ollama.com: never from this stack.
        ["OLLAMA_NO_CLOUD", "1"],
        ["OLLAMA_KEEP_ALIVE", tuning.keepAlive],
        ["OLLAMA_NUM_PARALLEL", tuning.numParallel],
        ["OLLAMA_MAX_LOADED_MODELS", tuning.maxLoadedModels],
        ["OLLAMA_MAX_QUEUE", tuning.maxQueue],
        ["OLLAMA_FLASH_ATTENTION", tuning.flashAttention ? "1" : "0"],
        ["OLLAMA_KV_CACHE_TYPE", tuning.kvCacheType],
        ["OLLAMA_CONTEXT_LENGTH", tuning.contextLength],
    ];
    return env.filter(([, value]) => value !== undefined).map(([key, value]) => `${key}=${value}`);
}

/**
 * Whether Ollama must pull `model` over plain HTTP: its reference names a registry (`host:port/namespace/model:tag`)
 * that the operator listed as reached without TLS.
 */
export function pullsOverHttp(model: string, insecureRegistries: string[]): boolean {
    const parts = model.split("/");
    return parts.length === 3 && insecureRegistries.includes(parts[0]);
}
