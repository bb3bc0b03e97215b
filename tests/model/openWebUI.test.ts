import { validateStackConfig } from "../../config/load";
import { StackConfig } from "../../config/stackKeys";
import { placements } from "../../model/plan";
import { openWebUIEnv, openWebUIEmbeddingUrl } from "../../model/openWebUI";
import { doorForwardPort, dockerVantage } from "../../targets/docker/doorPlan";
import { routingFilterInstall, routingFilterValves } from "../../routing/filter";
import { minimalConfig, problemsOf } from "../support/stack";
import { routedConfig } from "../support/routing";

/** Open WebUI's view of the others, on its own host. */
const fromOpenWebUI = (config: StackConfig) => dockerVantage(config, placements(config).openWebUI);
const uiEnv = (config: StackConfig) => openWebUIEnv(config, fromOpenWebUI(config));
const envOf = (raw: Record<string, unknown>) =>
    Object.fromEntries(
        uiEnv(validateStackConfig(raw)).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
    );

/** Two hosts: Open WebUI on `ui`, an embedding model only on `gpu`. */
const twoHosts = (gpuBind: string) => ({
    hosts: [
        { name: "ui", bindAddress: "10.0.0.1", ollama: [{ name: "ollama", port: 11434, models: ["llama3.2:3b"] }] },
        {
            name: "gpu",
            bindAddress: gpuBind,
            ollama: [{ name: "ollama-gpu", port: 11500, models: ["llama3.2:3b", "nomic-embed-text:v1.5"] }],
        },
    ],
    groups: { fast: ["llama3.2:3b"] },
    openWebUI: { embeddingModel: "nomic-embed-text:v1.5" },
});

describe("Open WebUI's environment", () => {
    it("without an embedding model: offline, no local embedding engine, documents given whole, no speech-to-text", () => {
        expect(uiEnv(validateStackConfig(minimalConfig()))).toEqual([
            "ENABLE_OLLAMA_API=False",
            "WEBUI_AUTH=True",
            "ENABLE_SIGNUP=False",
            "WEBUI_ADMIN_EMAIL=admin@ai-gateway.local",
            "ENABLE_PERSISTENT_CONFIG=False",
            "OFFLINE_MODE=True",
            "RAG_EMBEDDING_ENGINE=ollama",
            "BYPASS_EMBEDDING_AND_RETRIEVAL=True",
            "USER_PERMISSIONS_CHAT_STT=False",
            "USER_PERMISSIONS_CHAT_CALL=False",
        ]);
    });

    it("with an embedding model: Ollama's engine on the instance that pulls it, by container name on the same host", () => {
        const env = envOf(
            minimalConfig({
                hosts: [
                    {
                        name: "box",
                        ollama: [
                            { name: "ollama", port: 11434, models: ["llama3.2:3b"] },
                            { name: "ollama-embed", port: 11435, models: ["nomic-embed-text:v1.5"] },
                        ],
                    },
                ],
                openWebUI: { embeddingModel: "nomic-embed-text:v1.5", enableSignup: true },
            }),
        );
        expect(env).toMatchObject({
            OFFLINE_MODE: "True",
            RAG_EMBEDDING_ENGINE: "ollama",
            RAG_EMBEDDING_MODEL: "nomic-embed-text:v1.5",
            RAG_OLLAMA_BASE_URL: "http://ollama-embed:11434",
            ENABLE_SIGNUP: "True",
        });
        expect(env.BYPASS_EMBEDDING_AND_RETRIEVAL).toBeUndefined();
    });

    it("reaches an embedding model on another host through its host's door, and prefers its own host's instance", () => {
        const remote = validateStackConfig(twoHosts("10.0.0.2"));
        expect(openWebUIEmbeddingUrl(remote, fromOpenWebUI(remote))).toBe(
            `http://door:${doorForwardPort(remote, "ui", remote.hosts[1], 11500)}`,
        );
        const both = twoHosts("10.0.0.2");
        both.hosts[0].ollama[0].models.push("nomic-embed-text:v1.5");
        const near = validateStackConfig(both);
        expect(openWebUIEmbeddingUrl(near, fromOpenWebUI(near))).toBe("http://ollama:11434");
    });
});

describe("Open WebUI's config keys", () => {
    it.each([
        [
            "an embedding model no instance pulls",
            minimalConfig({ openWebUI: { embeddingModel: "nomic-embed-text:v1.5" } }),
            'ai-gateway:openWebUI.embeddingModel: "nomic-embed-text:v1.5" is not pulled by any Ollama instance (add it to an instance\'s models)',
        ],
        [
            "a filter priority out of range",
            minimalConfig({ openWebUI: { routingFilter: { priority: 5000 } } }),
            "ai-gateway:openWebUI.routingFilter.priority: 5000 is not a filter priority (a whole number from -1000 to 1000)",
        ],
        [
            "the filter's embeddings without routing.embedding",
            routedConfig({
                routing: { default: "general", routes: [{ name: "code", group: "code", keywords: ["python"] }] },
                openWebUI: { routingFilter: { useEmbeddings: true } },
            }),
            "ai-gateway:openWebUI.routingFilter.useEmbeddings: true is true, but routing.embedding is not set, so the filter has nothing to compare prompts with (set routing.embedding, or remove this key)",
        ],
        [
            "a misspelt filter key",
            minimalConfig({ openWebUI: { routingFilter: { instal: false } } } as never),
            "ai-gateway:openWebUI.routingFilter.instal: unknown key (allowed: install, global, priority, showStatus, useEmbeddings)",
        ],
    ])("refuses %s, naming the key", (_what, raw, message) => {
        expect(problemsOf(raw as Record<string, unknown>)).toEqual([message]);
    });
});

describe("the routing filter as pulumi up installs it", () => {
    it("is attached to auto with valves from the config, global on request, and absent without routing", () => {
        const config = validateStackConfig(routedConfig());
        expect(routingFilterValves(config)).toEqual({ priority: 0, show_status: true, use_embeddings: true });
        expect(routingFilterInstall(config, dockerVantage(config, "box"))).toMatchObject({
            functionId: "route_by_content",
            global: false,
            models: ["auto"],
        });
        const global = validateStackConfig(routedConfig({ openWebUI: { routingFilter: { global: true } } }));
        expect(routingFilterInstall(global, dockerVantage(global, "box"))).toMatchObject({ global: true, models: [] });
        const unrouted = validateStackConfig(routedConfig({ routing: undefined }));
        expect(routingFilterInstall(unrouted, dockerVantage(unrouted, "box"))).toBeUndefined();
        const rulesOnly = validateStackConfig(
            routedConfig({
                routing: { default: "general", routes: [{ name: "code", group: "code", keywords: ["python"] }] },
            }),
        );
        expect(routingFilterValves(rulesOnly).use_embeddings).toBe(false);
    });
});
