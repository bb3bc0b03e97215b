import { validateStackConfig } from "../../config/load";
import { ollamaEnv, pullsOverHttp } from "../../model/ollama";
import { minimalConfig } from "../support/stack";

describe("Ollama's environment", () => {
    it("binds inside the container, never forwards to Ollama's cloud, and sets only the tuning given", () => {
        const { ollama } = validateStackConfig(minimalConfig({ ollama: { keepAlive: "30m", kvCacheType: "q8_0" } }));
        expect(ollamaEnv(ollama)).toEqual([
            "OLLAMA_HOST=0.0.0.0:11434",
            "OLLAMA_NO_CLOUD=1",
            "OLLAMA_KEEP_ALIVE=30m",
            "OLLAMA_FLASH_ATTENTION=1",
            "OLLAMA_KV_CACHE_TYPE=q8_0",
        ]);
    });

    it("passes every knob", () => {
        const { ollama } = validateStackConfig(
            minimalConfig({
                ollama: {
                    keepAlive: "-1",
                    numParallel: 4,
                    maxLoadedModels: 2,
                    maxQueue: 64,
                    flashAttention: false,
                    contextLength: 8192,
                },
            }),
        );
        expect(ollamaEnv(ollama)).toEqual([
            "OLLAMA_HOST=0.0.0.0:11434",
            "OLLAMA_NO_CLOUD=1",
            "OLLAMA_KEEP_ALIVE=-1",
            "OLLAMA_NUM_PARALLEL=4",
            "OLLAMA_MAX_LOADED_MODELS=2",
            "OLLAMA_MAX_QUEUE=64",
            "OLLAMA_FLASH_ATTENTION=0",
            "OLLAMA_CONTEXT_LENGTH=8192",
        ]);
    });
});

describe("model pulls over plain HTTP", () => {
    const registries = ["registry.lan:5000", "10.1.2.3"];

    it("only for a model whose reference names a registry the operator listed", () => {
        expect(pullsOverHttp("registry.lan:5000/library/llama3.2:3b", registries)).toBe(true);
        expect(pullsOverHttp("10.1.2.3/team/coder:7b", registries)).toBe(true);
        expect(pullsOverHttp("registry.lan:5001/library/llama3.2:3b", registries)).toBe(false);
        expect(pullsOverHttp("other.lan/library/llama3.2:3b", registries)).toBe(false);
    });

    it("never for a model of the default registry, with or without a namespace", () => {
        expect(pullsOverHttp("llama3.2:3b", registries)).toBe(false);
        expect(pullsOverHttp("registry.lan:5000", registries)).toBe(false);
        expect(pullsOverHttp("registry.lan:5000/llama3.2:3b", registries)).toBe(false);
    });
});
