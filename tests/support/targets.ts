import { FakeOllama } from "./fakeOllama";
import { FakeLiteLLM } from "./fakeLiteLLM";

/**
 * Where a provider suite sends its requests. By default a local wire-format fake; with the environment
 * variables below, a real service (then `fake` is undefined and fault-injection suites are skipped):
 * - AIGW_TEST_OLLAMA_URL: a real Ollama, e.g. http://127.0.0.1:11434
 * - AIGW_TEST_OLLAMA_MODELS: comma-separated tags it can pull (two or more), e.g. 127.0.0.1:5000/test/tiny:latest
 * - AIGW_TEST_OLLAMA_INSECURE=true: pull over plain HTTP (a local registry)
 * - AIGW_TEST_OLLAMA_MISSING_MODEL: a tag its registry does not have
 * - AIGW_TEST_LITELLM_URL: a real LiteLLM proxy, e.g. http://127.0.0.1:4000
 */
export interface OllamaTarget {
    url: string;
    models: string[];
    insecure: boolean;
    missingModel: string;
    fake?: FakeOllama;
    close(): Promise<void>;
}

export async function ollamaTarget(): Promise<OllamaTarget> {
    const realUrl = process.env.AIGW_TEST_OLLAMA_URL;
    if (!realUrl) {
        const fake = await FakeOllama.start();
        return {
            url: fake.url,
            models: ["tiny:latest", "small:latest"],
            insecure: false,
            missingModel: "no-such-model:latest",
            fake,
            close: () => fake.close(),
        };
    }
    const models = (process.env.AIGW_TEST_OLLAMA_MODELS ?? "").split(",").filter(Boolean);
    if (models.length < 2) {
        throw new Error("AIGW_TEST_OLLAMA_URL needs AIGW_TEST_OLLAMA_MODELS: two or more tags that server can pull");
    }
    const registryPrefix = models[0].includes("/") ? models[0].slice(0, models[0].lastIndexOf("/") + 1) : "";
    return {
        url: realUrl,
        models,
        insecure: process.env.AIGW_TEST_OLLAMA_INSECURE === "true",
        missingModel: process.env.AIGW_TEST_OLLAMA_MISSING_MODEL ?? `${registryPrefix}aigw-no-such-model:latest`,
        close: async () => undefined,
    };
}

export interface LiteLLMTarget {
    url: string;
    fake?: FakeLiteLLM;
    close(): Promise<void>;
}

export async function liteLLMTarget(): Promise<LiteLLMTarget> {
    const realUrl = process.env.AIGW_TEST_LITELLM_URL;
    if (realUrl) {
        return { url: realUrl, close: async () => undefined };
    }
    const fake = await FakeLiteLLM.start();
    return { url: fake.url, fake, close: () => fake.close() };
}

/** `describe` for suites whose faults only the local fake can cause: skipped against a real Ollama. */
export const describeWithFakeOllama: jest.Describe = process.env.AIGW_TEST_OLLAMA_URL ? describe.skip : describe;
