import { parse } from "yaml";
import { SECRET_PLACEHOLDER } from "../../../commands/evaluate";
import { validateStackConfig } from "../../../config/load";
import { renderRouterConfig } from "../../../model/litellm";
import { ollamaContainers, serviceContainers } from "../../../model/plan";
import { StackConfig } from "../../../config/stackKeys";
import { minimalConfig, evaluate, evaluateStackFile, Program, stackFileConfig } from "../../support/stack";
import { dockerVantage } from "../../../targets/docker/doorPlan";

type Port = { internal: number; external: number; ip: string };
const portsOf = (p: Program, name: string) => p.container(name).inputs.ports as Port[];

describe("the dev stack (RTX 4090 host)", () => {
    let p: Program;
    beforeAll(async () => {
        p = await evaluateStackFile("dev");
    });

    it("runs Ollama, the router, Open WebUI, Qdrant and the door, and no cloud router", () => {
        expect(
            p
                .containers()
                .map((c) => c.inputs.name)
                .sort(),
        ).toEqual(["door", "litellm", "ollama", "open-webui", "qdrant"]);
    });

    it("publishes every port on 127.0.0.1 only: Ollama its own, the door those of the router, Open WebUI and Qdrant's HTTP port", () => {
        expect(portsOf(p, "ollama")).toEqual([{ internal: 11434, external: 11434, ip: "127.0.0.1", protocol: "tcp" }]);
        expect(portsOf(p, "door")).toEqual([
            { internal: 4000, external: 4000, ip: "127.0.0.1", protocol: "tcp" },
            { internal: 3000, external: 3000, ip: "127.0.0.1", protocol: "tcp" },
            { internal: 6333, external: 6333, ip: "127.0.0.1", protocol: "tcp" },
        ]);
        // Docker publishes no port of a container that is only on an internal network: nothing else asks for one.
        for (const name of ["litellm", "open-webui", "qdrant"]) expect(portsOf(p, name)).toEqual([]);
    });

    it("keeps the router, Open WebUI and Qdrant on a network with no route out; Ollama and the door on both", () => {
        const networks = p.ofType(":Network").map((n) => [n.name, n.inputs.name, n.inputs.internal]);
        expect(networks.sort()).toEqual([
            ["gpu-internal-network", "ai-gateway-internal", true],
            ["gpu-network", "ai-gateway", undefined],
        ]);
        // Not even this host's own address on it: what the host serves on every address does not answer there.
        expect(p.byName("gpu-internal-network").inputs.options).toEqual({
            "com.docker.network.bridge.inhibit_ipv4": "true",
        });
        const on = (name: string) =>
            (p.container(name).inputs.networksAdvanced as { name: string }[]).map((n) => n.name);
        for (const name of ["litellm", "open-webui", "qdrant"]) {
            expect(on(name)).toEqual(["ai-gateway-internal"]);
            expect(p.container(name).inputs.networkMode).toBe("ai-gateway-internal");
        }
        // Ollama pulls models over the ordinary network (created on it) and serves the routers on the internal one.
        expect(on("ollama")).toEqual(["ai-gateway", "ai-gateway-internal"]);
        expect(p.container("ollama").inputs.networkMode).toBe("ai-gateway");
        expect(on("door")).toEqual(["ai-gateway", "ai-gateway-internal"]);
        expect(p.container("door").inputs.networkMode).toBe("ai-gateway");
        expect(p.container("door").inputs.networksAdvanced).toEqual([
            { name: "ai-gateway", aliases: ["door"] },
            { name: "ai-gateway-internal", aliases: ["door"] },
        ]);
    });

    it("runs the door as HAProxy forwarding each published port to its service by name, and nowhere else", () => {
        const door = p.container("door");
        expect(door.inputs.image).toBe("haproxy:2.6.12");
        expect(door.inputs.entrypoints).toEqual(["haproxy"]);
        expect(door.inputs.command).toEqual(["-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]);
        expect(door.inputs.envs).toBeUndefined();
        const config = p.upload("door");
        expect((door.inputs.uploads as { file: string }[]).map((u) => u.file)).toEqual([
            "/usr/local/etc/haproxy/haproxy.cfg",
        ]);
        const servers = [...config.matchAll(/^\s+bind (\S+)\n\s+server \S+ (\S+)/gm)].map((m) => [m[1], m[2]]);
        expect(servers).toEqual([
            [":4000", "litellm:4000"],
            [":3000", "open-webui:8080"],
            [":6333", "qdrant:6333"],
        ]);
        expect(config).toMatch(/^\s+mode tcp$/m);
    });

    it("labels every container and network with the stack and its state's id, a random id kept in the state", () => {
        const labelled = [...p.containers(), ...p.ofType(":Network")];
        // door, litellm, ollama, open-webui, qdrant; the ordinary network and the internal one.
        expect(labelled).toHaveLength(7);
        for (const object of labelled) {
            expect(object.inputs.labels).toEqual([
                { label: "ai-gateway.stack", value: "dev" },
                { label: "ai-gateway.state", value: "[state id]" },
            ]);
            expect(object.dependsOn).toContain("state-id");
        }
        expect(p.byName("state-id")).toMatchObject({
            type: "random:index/randomId:RandomId",
            inputs: { byteLength: 8 },
        });
    });

    it("gives Ollama every GPU and nothing else a GPU", () => {
        expect(p.container("ollama").inputs.deviceRequests).toEqual([
            { driver: "nvidia", capabilities: ["gpu"], count: -1 },
        ]);
        for (const name of ["litellm", "open-webui", "qdrant"])
            expect(p.container(name).inputs.deviceRequests).toBeUndefined();
    });

    it("keeps data under /data", () => {
        const volumes = (name: string) => p.container(name).inputs.volumes;
        expect(volumes("ollama")).toEqual([{ hostPath: "/data/ollama", containerPath: "/root/.ollama" }]);
        expect(volumes("open-webui")).toEqual([{ hostPath: "/data/openwebui", containerPath: "/app/backend/data" }]);
        expect(volumes("qdrant")).toEqual([{ hostPath: "/data/qdrant/data", containerPath: "/qdrant/storage" }]);
    });

    it("puts every container on its networks under its own name, restarting, with bounded logs", () => {
        for (const c of p.containers()) {
            for (const network of c.inputs.networksAdvanced as { aliases: string[] }[])
                expect(network.aliases).toEqual([c.inputs.name]);
            expect(c.inputs).toMatchObject({
                restart: "unless-stopped",
                logDriver: "json-file",
                logOpts: { "max-size": "10m", "max-file": "3" },
            });
            expect(c.deleteBeforeReplace).toBe(true);
            expect((c.inputs.healthcheck as { tests: string[] }).tests.length).toBeGreaterThan(0);
        }
    });

    it("runs each container from the pinned image of its host", () => {
        expect(p.container("ollama").inputs.image).toBe("ollama/ollama:0.17.4");
        expect(p.container("litellm").inputs.image).toBe("ghcr.io/berriai/litellm:1.87.0");
        expect(p.ofType(":RemoteImage").every((i) => i.inputs.keepLocally === true)).toBe(true);
    });

    it("tunes Ollama as the stack config says and binds it inside the container", () => {
        expect(p.env("ollama")).toEqual({
            OLLAMA_HOST: "0.0.0.0:11434",
            OLLAMA_NO_CLOUD: "1",
            OLLAMA_KEEP_ALIVE: "30m",
            OLLAMA_NUM_PARALLEL: "2",
            OLLAMA_MAX_LOADED_MODELS: "2",
            OLLAMA_FLASH_ATTENTION: "1",
            OLLAMA_KV_CACHE_TYPE: "q8_0",
            OLLAMA_CONTEXT_LENGTH: "16384",
        });
    });

    it("ships the rendered router config into the router and keeps the key in the environment", () => {
        expect(p.container("litellm").inputs.uploads).toEqual([
            { file: "/app/config.yaml", content: expect.stringContaining("model_list:") },
            { file: "/app/routing_hook.py", content: expect.stringContaining("class RouteByContent(CustomLogger)") },
            { file: "/app/request_log.py", content: expect.stringContaining("class RequestLog(CustomLogger)") },
        ]);
        expect(p.container("litellm").inputs.command).toEqual(["--config", "/app/config.yaml", "--port", "4000"]);
        expect(p.env("litellm").LITELLM_MASTER_KEY).toBe(`sk-${SECRET_PLACEHOLDER}`);
        expect(p.upload("litellm")).not.toContain(SECRET_PLACEHOLDER);
    });

    it("wires Open WebUI to the router by container name with the router's key, Ollama API off, auth on", () => {
        const env = p.env("open-webui");
        expect(env).toMatchObject({
            OPENAI_API_BASE_URL: "http://litellm:4000/v1",
            OPENAI_API_KEY: p.env("litellm").LITELLM_MASTER_KEY,
            ENABLE_OLLAMA_API: "False",
            WEBUI_AUTH: "True",
            ENABLE_SIGNUP: "False",
            ENABLE_PERSISTENT_CONFIG: "False",
            WEBUI_ADMIN_EMAIL: "admin@ai-gateway.local",
            VECTOR_DB: "qdrant",
            QDRANT_URI: "http://qdrant:6333",
            OFFLINE_MODE: "True",
            RAG_EMBEDDING_ENGINE: "ollama",
            RAG_EMBEDDING_MODEL: "nomic-embed-text:v1.5",
            RAG_OLLAMA_BASE_URL: "http://ollama:11434",
        });
        expect(env.BYPASS_EMBEDDING_AND_RETRIEVAL).toBeUndefined();
        expect(env.WEBUI_SECRET_KEY).toBe(SECRET_PLACEHOLDER);
        expect(env.WEBUI_ADMIN_PASSWORD).toBe(SECRET_PLACEHOLDER);
        expect(p.env("qdrant").QDRANT__SERVICE__API_KEY).toBe(SECRET_PLACEHOLDER);
        expect(env.QDRANT_API_KEY).toBe(SECRET_PLACEHOLDER);
    });

    it("generates every key and password with @pulumi/random: no default credential", () => {
        expect(
            p
                .ofType(":RandomPassword")
                .map((r) => r.name)
                .sort(),
        ).toEqual(["open-webui-admin-password", "open-webui-secret-key", "qdrant-api-key", "router-master-key"]);
        expect(p.byName("litellm").dependsOn).toContain("router-master-key");
        expect(p.byName("open-webui").dependsOn).toEqual(
            expect.arrayContaining(["open-webui-admin-password", "open-webui-secret-key", "router-master-key"]),
        );
        expect(p.byName("qdrant").dependsOn).toContain("qdrant-api-key");
    });

    it("pulls every model of the host once Ollama is healthy", () => {
        const pulls = p.ofType(":OllamaModel");
        expect(pulls.map((m) => m.inputs.model).sort()).toEqual([
            "gpt-oss:20b",
            "llama3.2:3b",
            "nomic-embed-text:v1.5",
            "qwen2.5-coder:14b",
            "qwen3:8b",
        ]);
        for (const pull of pulls) {
            expect(pull.inputs.ollamaUrl).toBe("http://127.0.0.1:11434");
            expect(pull.dependsOn).toContain("ollama-healthy");
            // Tied to the container and the folder that hold it: a new one of either pulls it again.
            expect(pull.inputs.holder).toBe(`${p.container("ollama").name}-id:/data/ollama`);
        }
    });

    it("orders start-up: Ollama healthy, then its models; the router and Open WebUI start while they download", () => {
        expect(p.byName("ollama-healthy").dependsOn).toContain("ollama");
        expect(p.byName("ollama-healthy").inputs).toMatchObject({
            url: "http://127.0.0.1:11434/api/version",
            expectJsonField: "version",
        });
        const pulls = p.ofType(":OllamaModel").map((m) => m.name);
        expect(p.byName("litellm").dependsOn.filter((d) => pulls.includes(d))).toEqual([]);
        expect(p.byName("router-healthy").dependsOn).toContain("litellm");
        expect(p.byName("router-healthy").inputs.url).toBe("http://127.0.0.1:4000/health/readiness");
        // Qdrant by its container's own healthcheck: its /readyz is probed through the door, which waits for
        // Open WebUI's container.
        expect(p.byName("open-webui").dependsOn).toContain("qdrant");
        expect(p.byName("qdrant").inputs).toMatchObject({ wait: true });
        expect(p.byName("open-webui").dependsOn).not.toContain("router-healthy");
        // The door once the containers whose ports it takes exist; their checks from outside once the door does.
        expect(p.byName("door").dependsOn).toEqual(expect.arrayContaining(["litellm", "open-webui", "qdrant"]));
        for (const check of ["router-healthy", "open-webui-healthy", "qdrant-healthy"])
            expect(p.byName(check).dependsOn).toContain("door");
        expect(p.byName("ollama-healthy").dependsOn).not.toContain("door");
        expect(p.byName("open-webui-healthy").dependsOn).toContain("open-webui");
        expect(p.byName("open-webui-healthy").inputs.url).toBe("http://127.0.0.1:3000/health");
        expect(p.byName("qdrant-healthy").inputs.url).toBe("http://127.0.0.1:6333/readyz");
    });

    it("checks every published port before its container is created", () => {
        const guards = p.ofType(":PortGuard");
        expect(guards.map((g) => [g.inputs.port, g.inputs.configKey]).sort()).toEqual([
            [11434, "ai-gateway:hosts[0].ollama[0].port"],
            [3000, "ai-gateway:openWebUI.port"],
            [4000, "ai-gateway:router.port"],
            [6333, "ai-gateway:qdrant.port"],
        ]);
        for (const c of p.containers().filter((c) => c.name !== "door"))
            expect(c.dependsOn.some((d) => d.endsWith("-port"))).toBe(true);
        // The door publishes the ports of containers that each waited for their port's check.
        expect(p.byName("door").dependsOn.filter((d) => d.endsWith("-port"))).toEqual([]);
    });

    it("creates every Docker resource through the host's provider and every resource under a parent", () => {
        for (const r of p.resources.filter((r) => r.type.startsWith("docker:"))) expect(r.provider).toBe("gpu");
        const roots = p.resources.filter((r) => !r.parent || r.parent.endsWith("pulumi:pulumi:Stack"));
        expect(roots.map((r) => r.type)).toEqual(["aigateway:index:AiGateway"]);
    });

    it("exports the URLs, the model list and the rendered router config", () => {
        const outputs = p.evaluated.outputs;
        expect(outputs.urls).toEqual({
            router: "http://127.0.0.1:4000",
            openWebUI: "http://127.0.0.1:3000",
            qdrant: "http://127.0.0.1:6333",
        });
        expect(outputs.models).toEqual(["fast", "light", "heavy", "code", "docs", "search"]);
        expect((outputs.routerConfigs as Record<string, string>).litellm).toBe(p.upload("litellm"));
        expect(outputs.masterKey).toBe(`sk-${SECRET_PLACEHOLDER}`);
    });
});

describe("the CPU stack", () => {
    let p: Program;
    beforeAll(async () => {
        p = await evaluateStackFile("cpu");
    });

    it("requests no GPU and runs two Ollama instances on 11434 and 11435 with their own model directories", () => {
        for (const name of ["ollama", "ollama-2"]) expect(p.container(name).inputs.deviceRequests).toBeUndefined();
        expect(portsOf(p, "ollama-2")).toEqual([
            { internal: 11434, external: 11435, ip: "127.0.0.1", protocol: "tcp" },
        ]);
        expect(p.container("ollama-2").inputs.volumes).toEqual([
            { hostPath: "/var/lib/ai-gateway/ollama-2", containerPath: "/root/.ollama" },
        ]);
    });

    it("load-balances the fast group over both instances", () => {
        const doc = parse(p.upload("litellm")) as {
            model_list: { model_name: string; litellm_params: { api_base: string } }[];
        };
        expect(doc.model_list.filter((d) => d.model_name === "fast").map((d) => d.litellm_params.api_base)).toEqual([
            "http://ollama:11434/v1",
            "http://ollama-2:11434/v1",
        ]);
    });

    it("deploys no Qdrant by default", () => {
        expect(p.containers().map((c) => c.inputs.name)).not.toContain("qdrant");
        expect(p.env("open-webui").VECTOR_DB).toBeUndefined();
    });
});

describe("models from the operator's own registry", () => {
    it("pulls over plain HTTP only the models of a registry listed in ollama.insecureRegistries", async () => {
        const p = await evaluate(
            minimalConfig({
                hosts: [{ name: "box", ollama: [{ name: "ollama", port: 11434, gpu: "all" }] }],
                ollama: { insecureRegistries: ["registry.lan:5000"] },
                groups: { fast: ["registry.lan:5000/library/llama3.2:3b"], code: ["qwen2.5-coder:7b"] },
            }),
        );
        const insecureByModel = Object.fromEntries(
            p.ofType(":OllamaModel").map((m) => [m.inputs.model, m.inputs.insecure]),
        );
        expect(insecureByModel).toEqual({
            "registry.lan:5000/library/llama3.2:3b": true,
            "qwen2.5-coder:7b": false,
        });
    });
});

describe("cloud fallback", () => {
    const cloudConfig = { ...minimalConfig({ cloud: { enabled: true, port: 4001 } }), cloudApiKey: SECRET_PLACEHOLDER };

    it("deploys a second router on 4001, the only container that holds the cloud key", async () => {
        const p = await evaluate(cloudConfig);
        expect(portsOf(p, "litellm-cloud")).toEqual([
            { internal: 4000, external: 4001, ip: "127.0.0.1", protocol: "tcp" },
        ]);
        expect(p.env("litellm-cloud").CLOUD_API_KEY).toBe(SECRET_PLACEHOLDER);
        // The one router with a route out, for the cloud API: the ordinary network only, its own port.
        expect(p.container("litellm-cloud").inputs.networksAdvanced).toEqual([
            { name: "ai-gateway", aliases: ["litellm-cloud"] },
        ]);
        expect(portsOf(p, "door").map((port) => port.external)).toEqual([4000, 3000]);
        for (const c of p.containers().filter((c) => c.inputs.name !== "litellm-cloud"))
            expect(Object.keys(p.env(c.inputs.name as string))).not.toContain("CLOUD_API_KEY");
        expect(p.byName("litellm-cloud").dependsOn).toContain("cloud-router-master-key");
        expect(p.evaluated.outputs.urls).toMatchObject({ cloudRouter: "http://127.0.0.1:4001" });
    });

    it("never puts a cloud deployment on the 4000 router, for any config", async () => {
        const configs = [
            cloudConfig,
            { ...cloudConfig, cloud: { enabled: true, model: "anthropic/claude-sonnet-4" } },
            { ...cloudConfig, router: { port: 4100, fallbacks: {} } },
            minimalConfig(),
        ];
        for (const config of configs) {
            const p = await evaluate(config);
            const doc = parse(p.upload("litellm")) as { model_list: { litellm_params: Record<string, string> }[] };
            for (const d of doc.model_list) {
                expect(d.litellm_params.model).toMatch(/^hosted_vllm\//);
                expect(d.litellm_params.api_base).toMatch(/^http:\/\/ollama/);
                expect(d.litellm_params.api_key).toBeUndefined();
            }
            expect(p.env("litellm").CLOUD_API_KEY).toBeUndefined();
            const validated = validateStackConfig(config);
            expect(p.upload("litellm")).toBe(renderRouterConfig(validated, "local", dockerVantage(validated)));
        }
    });

    it("deploys no cloud router while cloud fallback is off, even with a key set", async () => {
        const p = await evaluate({ ...minimalConfig(), cloudApiKey: SECRET_PLACEHOLDER });
        expect(p.containers().map((c) => c.inputs.name)).not.toContain("litellm-cloud");
    });
});

describe("a bad config", () => {
    it("stops the program before any resource is declared, listing every problem", async () => {
        await expect(evaluate(minimalConfig({ router: { port: 70000 }, qdrant: { port: 0 } }))).rejects.toThrow(
            "invalid stack config:\nai-gateway:router.port: 70000 is not a port (1-65535)\nai-gateway:qdrant.port: 0 is not a port (1-65535)",
        );
    });
});

describe("names that collide, or that every object has", () => {
    const resourcesNamed = (p: Program, name: string) => p.resources.filter((r) => r.name === name);

    it("checks the names and folders of exactly the containers the program creates (model/plan.ts)", async () => {
        const everything = {
            hosts: [
                { name: "box", bindAddress: "10.0.0.1", ollama: [{ name: "ollama", port: 11434, models: ["m:1"] }] },
                {
                    name: "other",
                    docker: "ssh://ops@other",
                    bindAddress: "10.0.0.2",
                    dataDir: "/srv/ai",
                    ollama: [{ name: "ollama-b", port: 11434, gpu: "none", models: ["m:1"] }],
                },
            ],
            groups: { fast: ["m:1"] },
            router: { replicas: 2, hosts: ["box", "other"] },
            cloud: { enabled: true, port: 4010 },
            cloudApiKey: SECRET_PLACEHOLDER,
            qdrant: { enabled: true, host: "other" },
            openWebUI: { host: "other" },
        };
        // One at a time: each evaluation starts the Pulumi runtime afresh.
        const programs: [Program, StackConfig][] = [[await evaluate(everything), validateStackConfig(everything)]];
        for (const stack of ["dev", "cluster"]) programs.push([await evaluateStackFile(stack), stackFileConfig(stack)]);
        for (const [p, config] of programs) {
            const created = p
                .containers()
                .map((c) => [
                    c.inputs.name,
                    c.provider,
                    ((c.inputs.volumes ?? []) as { hostPath: string }[]).map((v) => v.hostPath),
                ])
                .sort();
            const planned = [...ollamaContainers(config), ...serviceContainers(config)]
                .map((c) => [c.name, config.hosts[c.hostIndex].name, c.dataDirs])
                .sort();
            expect(created).toEqual(planned);
        }
    });

    it("declares every resource of an instance named router: its port check and health check beside the router's", async () => {
        const p = await evaluate(
            minimalConfig({
                hosts: [{ name: "box", ollama: [{ name: "router", port: 11434, models: ["llama3.2:3b"] }] }],
            }),
        );
        expect(
            p
                .ofType(":PortGuard")
                .map((g) => [g.inputs.port, g.inputs.configKey])
                .sort(),
        ).toEqual([
            [11434, "ai-gateway:hosts[0].ollama[0].port"],
            [3000, "ai-gateway:openWebUI.port"],
            [4000, "ai-gateway:router.port"],
        ]);
        expect(
            resourcesNamed(p, "router-healthy")
                .map((h) => h.inputs.url)
                .sort(),
        ).toEqual(["http://127.0.0.1:11434/api/version", "http://127.0.0.1:4000/health/readiness"]);
        expect(resourcesNamed(p, "router-port").map((r) => r.parent)).toEqual(["router", "router"]);
        expect(new Set(p.resources.map((r) => r.urn)).size).toBe(p.resources.length);
    });

    it("deploys whole a stack whose host, instance and group are named constructor, with the cloud router", async () => {
        const p = await evaluate({
            hosts: [
                { name: "constructor", ollama: [{ name: "constructor", port: 11434, models: ["toString", "m:1"] }] },
            ],
            groups: { constructor: ["toString"], fast: ["m:1"] },
            router: { fallbacks: { fast: ["constructor"] } },
            cloud: { enabled: true },
            cloudApiKey: SECRET_PLACEHOLDER,
        });
        expect(
            p
                .containers()
                .map((c) => c.inputs.name)
                .sort(),
        ).toEqual(["constructor", "door", "litellm", "litellm-cloud", "open-webui"]);
        expect(p.ofType(":OllamaModel").map((m) => m.name)).toEqual(["constructor-m:1", "constructor-toString"]);
        const cloud = parse(p.upload("litellm-cloud")) as { router_settings: { fallbacks: unknown } };
        expect(cloud.router_settings.fallbacks).toEqual([
            { constructor: ["cloud"] },
            { fast: ["constructor", "cloud"] },
        ] as Record<string, string[]>[]);
        expect(Object.keys(p.evaluated.outputs.routerConfigs as object)).toEqual(["litellm", "litellm-cloud"]);
    });
});
