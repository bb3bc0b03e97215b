import { parse } from "yaml";
import { validateStackConfig } from "../../../config/load";
import { stackFileConfig } from "../../support/stack";
import { renderRouterConfig } from "../../../model/litellm";
import { renderRoutingHook } from "../../../routing/hook";
import { hookToLoopback, toLoopback } from "./loopback";
import { dockerVantage } from "../../../targets/docker/doorPlan";

/** The cpu example stack, with the cloud router it gets once cloud fallback is enabled. */
const cpu = stackFileConfig("cpu");
const config = { ...cpu, cloud: { ...cpu.cloud, enabled: true, model: "anthropic/claude-sonnet-4" } };
const mapping = {
    apiBases: { "http://ollama:11434": "http://127.0.0.1:11460", "http://ollama-2:11434": "http://127.0.0.1:11461" },
    models: { "llama3.2:1b": "tiny-a", "qwen2.5-coder:1.5b": "tiny-b" },
    cloudApiBase: "http://127.0.0.1:4069/v1",
};
type Doc = { model_list: { litellm_params: Record<string, string> }[] };

describe("toLoopback: a rendered router config pointed at the peers", () => {
    const rendered = renderRouterConfig(config, "cloud", dockerVantage(config));
    const mapped = toLoopback(rendered, mapping);

    it("points each Ollama deployment at its loopback port and tiny model", () => {
        expect((parse(mapped) as Doc).model_list.map((d) => d.litellm_params)).toEqual([
            { model: "hosted_vllm/tiny-a", api_base: "http://127.0.0.1:11460/v1" },
            { model: "hosted_vllm/tiny-a", api_base: "http://127.0.0.1:11461/v1" },
            { model: "hosted_vllm/tiny-b", api_base: "http://127.0.0.1:11460/v1" },
            {
                model: "openai/claude-sonnet-4",
                api_key: "os.environ/CLOUD_API_KEY",
                api_base: "http://127.0.0.1:4069/v1",
            },
        ]);
    });

    it("changes nothing else: the other keys, the ids and the header comment stay as rendered", () => {
        const withoutParams = (text: string) => {
            const doc = parse(text) as Doc;
            for (const d of doc.model_list) d.litellm_params = {};
            return doc;
        };
        expect(withoutParams(mapped)).toEqual(withoutParams(rendered));
        expect(mapped.split("\n").slice(0, 2)).toEqual(rendered.split("\n").slice(0, 2));
    });

    it("refuses an address it has no loopback port for, and a cloud deployment without a stand-in", () => {
        expect(() => toLoopback(rendered, { ...mapping, apiBases: {} })).toThrow(
            "no loopback address for api_base http://ollama:11434/v1 (hosted_vllm/llama3.2:1b)",
        );
        expect(() => toLoopback(rendered, { ...mapping, cloudApiBase: undefined })).toThrow(
            "no cloud stand-in for the cloud deployment anthropic/claude-sonnet-4",
        );
    });
});

describe("toLoopback: the Redis that router replicas share", () => {
    const replicated = renderRouterConfig(
        { ...cpu, router: { ...cpu.router, replicas: 2 } },
        "local",
        dockerVantage({ ...cpu, router: { ...cpu.router, replicas: 2 } }),
    );
    const redis = { host: "127.0.0.1", port: 6370 };
    type Settings = { router_settings: Record<string, unknown> };

    it("points redis_host and redis_port at the loopback Redis and keeps the password's os.environ reference", () => {
        const settings = (parse(toLoopback(replicated, { ...mapping, redis })) as Settings).router_settings;
        expect(settings).toEqual({
            ...(parse(replicated) as Settings).router_settings,
            redis_host: "127.0.0.1",
            redis_port: 6370,
            redis_password: "os.environ/REDIS_PASSWORD",
        });
    });

    it("refuses a Redis it has no loopback address for; a config without Redis needs none", () => {
        expect(() => toLoopback(replicated, mapping)).toThrow("no loopback address for redis redis:6379");
        expect(toLoopback(renderRouterConfig(cpu, "local", dockerVantage(cpu)), { ...mapping, redis })).not.toContain(
            "redis",
        );
    });
});

describe("hookToLoopback: a rendered routing hook pointed at the peers", () => {
    const routed = validateStackConfig({
        hosts: [
            {
                name: "box",
                ollama: [
                    { name: "ollama", port: 11451, gpu: "none", models: ["tiny-a"] },
                    { name: "ollama-embed", port: 11453, gpu: "none", models: ["tiny-embed"] },
                ],
            },
        ],
        groups: { general: ["tiny-a"] },
        routing: {
            default: "general",
            routes: [{ name: "summary", group: "general", examples: ["condense this"] }],
            embedding: { model: "tiny-embed" },
        },
    });
    const rendered = renderRoutingHook(routed, dockerVantage(routed, "box"));
    const apiBases = { "http://ollama-embed:11434": "http://127.0.0.1:11453" };

    it("points the embedding URL at its loopback port and changes nothing else", () => {
        const mapped = hookToLoopback(rendered, { apiBases });
        expect(rendered).toContain('"url": "http://ollama-embed:11434",');
        expect(mapped).toBe(
            rendered.replace('"url": "http://ollama-embed:11434",', '"url": "http://127.0.0.1:11453",'),
        );
    });

    it("refuses a URL it has no loopback port for", () => {
        expect(() => hookToLoopback(rendered, { apiBases: {} })).toThrow(
            "no loopback address for the routing hook's url http://ollama-embed:11434",
        );
    });
});
