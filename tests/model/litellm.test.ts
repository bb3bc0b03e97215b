import { parse } from "yaml";
import { validateStackConfig } from "../../config/load";
import { renderDoorConfig } from "../../targets/docker/doorConfig";
import {
    assertLocalOnly,
    nonLocalReason,
    ollamaEndpoints,
    ROUTER_ALLOWED_ROUTES,
    renderRouterConfig,
    routerConfig,
} from "../../model/litellm";
import { FAILOVER_HOOK_CALLBACK, FAILOVER_HOOK_FILE } from "../../routing/failoverHook";
import { REQUEST_LOG_CALLBACK, REQUEST_LOG_FILE } from "../../routing/requestLog";
import { routerHookFiles } from "../../routing/routerFiles";
import { ROUTING_HOOK_CALLBACK, ROUTING_HOOK_FILE } from "../../routing/schema";
import { StackConfig, StackConfigInput } from "../../config/stackKeys";
import { routedConfig } from "../support/routing";
import { minimalConfig } from "../support/stack";
import { dockerVantage } from "../../targets/docker/doorPlan";

const twoInstances = (extra: Partial<StackConfigInput> = {}) =>
    validateStackConfig(
        minimalConfig({
            hosts: [
                {
                    name: "box",
                    ollama: [
                        { name: "ollama", port: 11434, models: ["llama3.2:3b", "qwen2.5-coder:7b"] },
                        { name: "ollama-2", port: 11435, models: ["llama3.2:3b"] },
                    ],
                },
            ],
            groups: { fast: ["llama3.2:3b"], code: ["qwen2.5-coder:7b"] },
            router: { fallbacks: { code: ["fast"] } },
            ...extra,
        }),
    );

type Doc = {
    model_list: { model_name: string; litellm_params: Record<string, string> }[];
    router_settings: Record<string, unknown>;
    litellm_settings: Record<string, unknown>;
    general_settings: Record<string, unknown>;
};
/** The router config as the Docker target renders it for the first router host. */
const configText = (config: StackConfig, variant: "local" | "cloud" = "local") =>
    renderRouterConfig(config, variant, dockerVantage(config));
const rendered = (config = twoInstances(), variant: "local" | "cloud" = "local") =>
    parse(configText(config, variant)) as Doc;

describe("the local router config", () => {
    it("balances a group over every instance that pulls its model, over the Docker network", () => {
        const fast = rendered().model_list.filter((d) => d.model_name === "fast");
        expect(fast.map((d) => d.litellm_params)).toEqual([
            { model: "hosted_vllm/llama3.2:3b", api_base: "http://ollama:11434/v1" },
            { model: "hosted_vllm/llama3.2:3b", api_base: "http://ollama-2:11434/v1" },
        ]);
    });

    it("serves a group only from the instances that have its model", () => {
        const code = rendered().model_list.filter((d) => d.model_name === "code");
        expect(code.map((d) => d.litellm_params.api_base)).toEqual(["http://ollama:11434/v1"]);
    });

    it("takes strategy, retries, timeouts, cooldown and fallbacks from the config", () => {
        const config = twoInstances({
            router: {
                strategy: "least-busy",
                numRetries: 4,
                timeoutSeconds: 120,
                allowedFails: 2,
                cooldownSeconds: 15,
                fallbacks: { code: ["fast"] },
            },
        });
        expect(rendered(config).router_settings).toEqual({
            routing_strategy: "least-busy",
            num_retries: 4,
            timeout: 120,
            allowed_fails: 2,
            cooldown_time: 15,
            fallbacks: [{ code: ["fast"] }],
        });
    });

    it("fails over to another instance of the group with simple-shuffle, the only strategy LiteLLM does it for", () => {
        expect(rendered().router_settings).toMatchObject({
            routing_strategy: "simple-shuffle",
            enable_weighted_failover: true,
        });
        expect(rendered().litellm_settings.callbacks).toEqual([REQUEST_LOG_CALLBACK]);
        const leastBusy = twoInstances({ router: { strategy: "least-busy" } });
        expect(rendered(leastBusy).router_settings).not.toHaveProperty("enable_weighted_failover");
    });

    it.each(["least-busy", "usage-based-routing-v2", "latency-based-routing"] as const)(
        "fails over with %s through the failover hook, shipped beside the config on both routers",
        (strategy) => {
            const config = twoInstances({ router: { strategy }, cloud: { enabled: true }, cloudApiKey: "sk-x" });
            for (const variant of ["local", "cloud"] as const)
                expect(rendered(config, variant).litellm_settings.callbacks).toEqual([
                    FAILOVER_HOOK_CALLBACK,
                    REQUEST_LOG_CALLBACK,
                ]);
            expect(Object.keys(routerHookFiles(config, dockerVantage(config, "box")))).toEqual([
                FAILOVER_HOOK_FILE,
                REQUEST_LOG_FILE,
            ]);
        },
    );

    it("names both hooks and the request log when routing by content is on too, and ships them all", () => {
        const config = validateStackConfig(routedConfig({ router: { strategy: "latency-based-routing" } }));
        expect(rendered(config).litellm_settings.callbacks).toEqual([
            ROUTING_HOOK_CALLBACK,
            FAILOVER_HOOK_CALLBACK,
            REQUEST_LOG_CALLBACK,
        ]);
        expect(Object.keys(routerHookFiles(config, dockerVantage(config, "box")))).toEqual([
            ROUTING_HOOK_FILE,
            FAILOVER_HOOK_FILE,
            REQUEST_LOG_FILE,
        ]);
    });

    it("refers to the master key by environment variable, never by value", () => {
        const text = configText(twoInstances());
        expect(rendered().general_settings.master_key).toBe("os.environ/LITELLM_MASTER_KEY");
        expect(text).not.toMatch(/sk-[A-Za-z0-9]/);
    });

    it("serves only the allowed routes on both routers: chat, the model list, /model/info and the health probes", () => {
        const config = twoInstances({ cloud: { enabled: true }, cloudApiKey: "sk-x" });
        for (const variant of ["local", "cloud"] as const)
            expect(rendered(config, variant).general_settings).toEqual({
                master_key: "os.environ/LITELLM_MASTER_KEY",
                allowed_routes: [...ROUTER_ALLOWED_ROUTES],
            });
        // Whole paths, as LiteLLM 1.87.0 compares them: no wildcard, no path parameter.
        for (const route of ROUTER_ALLOWED_ROUTES) expect(route).toMatch(/^(\/[a-z0-9_.]+)+$/);
        // Never a provider pass-through, nor /health, which sends a request to every model.
        expect(ROUTER_ALLOWED_ROUTES).not.toContain("/health");
        expect(
            ROUTER_ALLOWED_ROUTES.filter((r) => /anthropic|vertex|gemini|cohere|mistral|openai|realtime/.test(r)),
        ).toEqual([]);
    });

    it("is the same text for the same config", () => {
        expect(configText(twoInstances())).toBe(configText(twoInstances()));
    });

    it("reaches instances of other hosts through its host's door, which forwards to their address and published port", () => {
        const config = validateStackConfig({
            hosts: [
                { name: "gpu1", bindAddress: "10.0.0.1", ollama: [{ name: "ollama", port: 11434 }] },
                { name: "gpu2", bindAddress: "10.0.0.2", ollama: [{ name: "ollama-2", port: 11500 }] },
            ],
            groups: { fast: ["llama3.2:3b"] },
        });
        expect(ollamaEndpoints(config, dockerVantage(config, "gpu1")).map((e) => e.apiBase)).toEqual([
            "http://ollama:11434",
            "http://door:20000",
        ]);
        // The router has no route out: the door's port 20000 is the one way to 10.0.0.2:11500.
        expect(renderDoorConfig(config, "gpu1")).toContain(
            "listen other-host:ollama-2\n    bind :20000\n    server ollama-2 10.0.0.2:11500\n",
        );
    });
});

describe("the cloud rule", () => {
    const withCloud = () => twoInstances({ cloud: { enabled: true, model: "openai/gpt-5" }, cloudApiKey: "sk-cloud" });

    it("keeps every cloud deployment and key out of the local router, whatever the config says", () => {
        const local = rendered(withCloud(), "local");
        for (const d of local.model_list) {
            expect(d.litellm_params.model).toMatch(/^hosted_vllm\//);
            expect(d.litellm_params.api_key).toBeUndefined();
        }
        expect(configText(withCloud())).not.toMatch(/gpt-5|CLOUD_API_KEY|sk-cloud/);
    });

    it("lets every group of the cloud router fall back to the cloud model after its local fallbacks", () => {
        const cloud = rendered(withCloud(), "cloud");
        expect(cloud.model_list.filter((d) => d.model_name === "cloud").map((d) => d.litellm_params)).toEqual([
            { model: "openai/gpt-5", api_key: "os.environ/CLOUD_API_KEY" },
        ]);
        expect(cloud.router_settings.fallbacks).toEqual([{ fast: ["cloud"] }, { code: ["fast", "cloud"] }]);
    });

    it("falls back to the cloud model from a group named like a property of every object (constructor)", () => {
        const config = twoInstances({
            groups: { constructor: ["llama3.2:3b"], code: ["qwen2.5-coder:7b"] },
            router: { fallbacks: { code: ["constructor"] } },
            cloud: { enabled: true },
            cloudApiKey: "sk-cloud",
        });
        expect(rendered(config, "cloud").router_settings.fallbacks).toEqual([
            { constructor: ["cloud"] },
            { code: ["constructor", "cloud"] },
        ] as Record<string, string[]>[]);
    });

    it("sends the cloud model to the provider's gateway when cloud.apiBase names one, and only from the cloud router", () => {
        const viaGateway = twoInstances({
            cloud: { enabled: true, model: "openai/gpt-5", apiBase: "https://gateway.example/v1" },
            cloudApiKey: "sk-cloud",
        });
        expect(rendered(viaGateway, "cloud").model_list.find((d) => d.model_name === "cloud")?.litellm_params).toEqual({
            model: "openai/gpt-5",
            api_key: "os.environ/CLOUD_API_KEY",
            api_base: "https://gateway.example/v1",
        });
        expect(renderRouterConfig(viaGateway, "local", dockerVantage(viaGateway))).not.toContain("gateway.example");
    });

    it("never writes the cloud key itself into any file", () => {
        expect(configText(withCloud(), "cloud")).not.toContain("sk-cloud");
    });

    it("rejects a rendered local config that holds a non-Ollama deployment", () => {
        const list = routerConfig(withCloud(), "cloud", dockerVantage(withCloud())).model_list as Parameters<
            typeof assertLocalOnly
        >[0];
        expect(() => assertLocalOnly(list, ["http://ollama:11434/v1", "http://ollama-2:11434/v1"])).toThrow(
            /the local router may only serve our Ollama instances/,
        );
    });

    it("rejects an Ollama cloud tag, which Ollama forwards to ollama.com, even on our own instance", () => {
        const bases = ["http://ollama:11434/v1"];
        const cloudTag = { model: "hosted_vllm/gpt-oss:120b-cloud", api_base: "http://ollama:11434/v1" };
        expect(nonLocalReason(cloudTag, bases)).toBe(
            "hosted_vllm/gpt-oss:120b-cloud is an Ollama cloud model (Ollama runs it on ollama.com)",
        );
        const list = [{ model_name: "heavy", litellm_params: cloudTag, model_info: { id: "x" } }];
        expect(() => assertLocalOnly(list, bases)).toThrow(/the local router may only serve our Ollama instances/);
        expect(nonLocalReason({ model: "hosted_vllm/tiny", api_base: "http://10.0.0.9:11434/v1" }, bases)).toBe(
            "hosted_vllm/tiny is reached at http://10.0.0.9:11434/v1, not at one of the stack's Ollama instances",
        );
        expect(
            nonLocalReason({ model: "hosted_vllm/tiny", api_base: "http://ollama:11434/v1" }, bases),
        ).toBeUndefined();
    });
});

describe("shared router state", () => {
    const replicated = () =>
        twoInstances({ router: { replicas: 2 }, cloud: { enabled: true, port: 4100 }, cloudApiKey: "sk-cloud" });

    it("points every local router at Redis, by environment variable for the password", () => {
        expect(rendered(replicated()).router_settings).toMatchObject({
            redis_host: "redis",
            redis_port: 6379,
            redis_password: "os.environ/REDIS_PASSWORD",
        });
    });

    it("leaves the single cloud router out of it", () => {
        expect(rendered(replicated(), "cloud").router_settings).not.toHaveProperty("redis_host");
    });
});
