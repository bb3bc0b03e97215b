import { validateStackConfig } from "../../../config/load";
import { UNKNOWN_MODEL_BYTES, estimateModelSize, hostModelEstimates } from "../../../model/modelSize";
import { authHeaders, listServices, serviceOfKind } from "../../../targets/docker/endpoints";
import { minimalConfig, stackFileConfig } from "../../support/stack";

describe("listServices", () => {
    it("lists every service of the dev stack with its URL, port key, probes and key", () => {
        const services = listServices(stackFileConfig("dev"));
        expect(
            services.map((s) => [s.kind, s.containerName, s.host.name, s.url, s.portConfigKey, s.healthPath, s.image]),
        ).toEqual([
            [
                "ollama",
                "ollama",
                "gpu",
                "http://127.0.0.1:11434",
                "ai-gateway:hosts[0].ollama[0].port",
                "/api/version",
                "ollama/ollama:0.17.4",
            ],
            [
                "router",
                "litellm",
                "gpu",
                "http://127.0.0.1:4000",
                "ai-gateway:router.port",
                "/health/readiness",
                "ghcr.io/berriai/litellm:1.87.0",
            ],
            [
                "qdrant",
                "qdrant",
                "gpu",
                "http://127.0.0.1:6333",
                "ai-gateway:qdrant.port",
                "/readyz",
                "qdrant/qdrant:v1.16.1",
            ],
            [
                "openWebUI",
                "open-webui",
                "gpu",
                "http://127.0.0.1:3000",
                "ai-gateway:openWebUI.port",
                "/health",
                "ghcr.io/open-webui/open-webui:v0.12.4",
            ],
        ]);
        expect(serviceOfKind(services, "router")!.auth).toEqual({
            keyOutput: "masterKey",
            header: "bearer",
            protectedPath: "/v1/models",
        });
        expect(serviceOfKind(services, "qdrant")!.auth).toEqual({
            keyOutput: "qdrantApiKey",
            header: "api-key",
            protectedPath: "/collections",
        });
        expect(serviceOfKind(services, "openWebUI")!.sessionProtectedPath).toBe("/api/models");
        expect(serviceOfKind(services, "openWebUI")!.auth).toBeUndefined();
        expect(services[0].auth).toBeUndefined();
        expect(serviceOfKind(services, "cloudRouter")).toBeUndefined();
    });

    it("adds the cloud-fallback router, with its own key, only when cloud fallback is enabled", () => {
        const config = validateStackConfig({
            ...minimalConfig(),
            cloud: { enabled: true, port: 4101 },
            cloudApiKey: "sk-cloud",
        });
        const cloud = serviceOfKind(listServices(config), "cloudRouter")!;
        expect(cloud).toMatchObject({
            containerName: "litellm-cloud",
            url: "http://127.0.0.1:4101",
            portConfigKey: "ai-gateway:cloud.port",
            auth: { keyOutput: "cloudMasterKey" },
            secretEnv: ["LITELLM_MASTER_KEY", "CLOUD_API_KEY"],
        });
    });

    it("places shared services on their host and reaches a wildcard bind address on loopback", () => {
        const config = validateStackConfig({
            hosts: [
                { name: "gpu", bindAddress: "10.0.0.5", ollama: [{ name: "ollama", port: 11434 }] },
                {
                    name: "edge",
                    bindAddress: "0.0.0.0",
                    allowWildcardBind: true,
                    ollama: [{ name: "ollama-edge", port: 11435, gpu: "none" }],
                },
            ],
            groups: { fast: ["llama3.2:3b"] },
            router: { hosts: ["edge"] },
            openWebUI: { host: "edge" },
        });
        const services = listServices(config);
        expect(services.map((s) => [s.containerName, s.host.name, s.url])).toEqual([
            ["ollama", "gpu", "http://10.0.0.5:11434"],
            ["ollama-edge", "edge", "http://127.0.0.1:11435"],
            ["litellm", "edge", "http://127.0.0.1:4000"],
            ["open-webui", "edge", "http://127.0.0.1:3000"],
        ]);
        expect(services[1].portConfigKey).toBe("ai-gateway:hosts[1].ollama[0].port");
    });

    it("builds the header each service expects its key in", () => {
        expect(authHeaders({ header: "bearer" }, "sk-1")).toEqual({ authorization: "Bearer sk-1" });
        expect(authHeaders({ header: "api-key" }, "k")).toEqual({ "api-key": "k" });
    });
});

describe("model size estimates", () => {
    it("reads the parameter count from the tag", () => {
        expect(estimateModelSize("qwen2.5-coder:14b")).toEqual({
            model: "qwen2.5-coder:14b",
            bytes: 9.1e9,
            fromTag: true,
        });
        expect(estimateModelSize("llama3.2:3b-instruct-q4_K_M").bytes).toBe(1.95e9);
        expect(estimateModelSize("smollm:135m").bytes).toBe(87_750_000);
        expect(estimateModelSize("127.0.0.1:5000/test/tiny:1.5b").bytes).toBe(975_000_000);
    });

    it("assumes a size for tags that name none, and says so", () => {
        expect(estimateModelSize("nomic-embed-text:v1.5")).toEqual({
            model: "nomic-embed-text:v1.5",
            bytes: UNKNOWN_MODEL_BYTES,
            fromTag: false,
        });
        expect(estimateModelSize("llama3.2").fromTag).toBe(false);
    });

    it("counts a model once per instance that keeps a copy", () => {
        const config = validateStackConfig({
            hosts: [
                {
                    name: "box",
                    ollama: [
                        { name: "a", port: 1, models: ["m:1b"] },
                        { name: "b", port: 2, models: ["m:1b"] },
                    ],
                },
            ],
            groups: { fast: ["m:1b"] },
        });
        expect(hostModelEstimates(config.hosts[0]).map((e) => e.bytes)).toEqual([0.65e9, 0.65e9]);
    });
});
