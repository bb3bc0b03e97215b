import { parse } from "yaml";
import { evaluate, evaluateStackFile, minimalConfig, Program } from "../support/stack";

type Port = { internal: number; external: number; ip: string };
const HOST_OF_CONTAINER: Record<string, string> = {
    ollama: "gpu1",
    litellm: "gpu1",
    "open-webui": "gpu1",
    "gpu2-ollama": "gpu2",
    "gpu2-ollama-2": "gpu2",
    "gpu3-ollama": "gpu3",
};

describe("the three-host example stack", () => {
    let p: Program;
    beforeAll(async () => {
        p = await evaluateStackFile("cluster");
    });

    it("has one Docker provider per host, each with its own endpoint", () => {
        const providers = p.ofType("pulumi:providers:docker");
        expect(providers.map((r) => [r.name, r.inputs.host])).toEqual([
            ["gpu1", "unix:///var/run/docker.sock"],
            ["gpu2", "ssh://ops@gpu2"],
            ["gpu3", "ssh://ops@gpu3"],
        ]);
    });

    it("creates every container, network and image through the provider of its host", () => {
        for (const c of p.containers())
            expect([c.inputs.name, c.provider]).toEqual([c.inputs.name, HOST_OF_CONTAINER[c.inputs.name as string]]);
        for (const r of p.resources.filter((r) => r.type.startsWith("docker:") && !r.type.endsWith(":Container")))
            expect(r.name.startsWith(`${r.provider}-`)).toBe(true);
    });

    it("pulls only the images each host runs", () => {
        const images = p.ofType(":RemoteImage").map((r) => r.name);
        expect(images).toEqual([
            "gpu1-litellm-image",
            "gpu1-ollama-image",
            "gpu1-openWebUI-image",
            "gpu2-ollama-image",
            "gpu3-ollama-image",
        ]);
    });

    it("publishes no instance beyond the address its host declares", () => {
        for (const c of p.containers()) {
            const host = HOST_OF_CONTAINER[c.inputs.name as string];
            const expected = { gpu1: "127.0.0.1", gpu2: "10.8.0.12", gpu3: "10.8.0.13" }[host];
            for (const port of c.inputs.ports as Port[]) expect(port.ip).toBe(expected);
        }
    });

    it("balances groups over instances on every host and falls back across hosts", () => {
        const doc = parse(p.upload("litellm")) as {
            model_list: { model_name: string; litellm_params: { api_base: string } }[];
            router_settings: { fallbacks: Record<string, string[]>[] };
        };
        const basesOf = (group: string) =>
            doc.model_list.filter((d) => d.model_name === group).map((d) => d.litellm_params.api_base);
        expect(basesOf("fast")).toEqual(["http://ollama:11434/v1", "http://10.8.0.13:11434/v1"]);
        expect(basesOf("code")).toEqual(["http://ollama:11434/v1", "http://10.8.0.12:11434/v1"]);
        expect(basesOf("light")).toEqual(["http://10.8.0.12:11435/v1"]);
        expect(basesOf("heavy")).toEqual(["http://10.8.0.13:11434/v1"]);
        expect(doc.router_settings.fallbacks).toContainEqual({ heavy: ["light", "fast"] });
    });

    it("pulls each model on the hosts whose instances serve it, from where pulumi up runs", () => {
        const pulls = p.ofType(":OllamaModel").map((m) => [m.inputs.ollamaUrl, m.inputs.model]);
        expect(pulls).toEqual(
            expect.arrayContaining([
                ["http://127.0.0.1:11434", "qwen2.5-coder:14b"],
                ["http://10.8.0.12:11434", "qwen2.5-coder:14b"],
                ["http://10.8.0.12:11435", "qwen3:8b"],
                ["http://10.8.0.13:11434", "gpt-oss:20b"],
            ]),
        );
        expect(pulls).toHaveLength(6);
    });

    it("gives each remote instance its GPU request", () => {
        expect(p.container("gpu2-ollama").inputs.deviceRequests).toEqual([
            { driver: "nvidia", capabilities: ["gpu"], deviceIds: ["0"] },
        ]);
        expect(p.container("gpu2-ollama-2").inputs.deviceRequests).toEqual([
            { driver: "nvidia", capabilities: ["gpu"], deviceIds: ["1"] },
        ]);
    });
});

describe("router replicas on two hosts sharing Redis", () => {
    let p: Program;
    beforeAll(async () => {
        p = await evaluate({
            hosts: [
                { name: "gpu1", bindAddress: "10.8.0.11", ollama: [{ name: "ollama", port: 11434 }] },
                { name: "gpu2", bindAddress: "10.8.0.12", ollama: [{ name: "gpu2-ollama", port: 11434 }] },
            ],
            groups: { fast: ["llama3.2:3b"] },
            router: { hosts: ["gpu1", "gpu2"], replicas: 2, redisPort: 6380 },
        });
    });

    it("runs the replicas on each router host, on consecutive ports, through that host's provider", () => {
        const routers = p.containers().filter((c) => String(c.inputs.name).startsWith("litellm"));
        expect(routers.map((c) => [c.inputs.name, c.provider, (c.inputs.ports as Port[])[0]])).toEqual([
            ["litellm", "gpu1", { internal: 4000, external: 4000, ip: "10.8.0.11", protocol: "tcp" }],
            ["litellm-2", "gpu1", { internal: 4000, external: 4001, ip: "10.8.0.11", protocol: "tcp" }],
            ["litellm-gpu2", "gpu2", { internal: 4000, external: 4000, ip: "10.8.0.12", protocol: "tcp" }],
            ["litellm-gpu2-2", "gpu2", { internal: 4000, external: 4001, ip: "10.8.0.12", protocol: "tcp" }],
        ]);
    });

    it("gives every replica the same master key and the Redis password, and starts them after Redis", () => {
        for (const name of ["litellm", "litellm-2", "litellm-gpu2", "litellm-gpu2-2"]) {
            expect(p.env(name).LITELLM_MASTER_KEY).toBe(p.env("litellm").LITELLM_MASTER_KEY);
            expect(p.env(name).REDIS_PASSWORD).toBe(p.env("redis").REDIS_PASSWORD);
            expect(p.byName(name).dependsOn).toEqual(expect.arrayContaining(["router-master-key", "redis"]));
        }
        expect(p.ofType(":RandomPassword").map((r) => r.name)).toEqual(
            expect.arrayContaining(["redis-password", "router-master-key"]),
        );
    });

    it("runs one Redis on the first router host, published on its address for the other host's routers", () => {
        const redis = p.container("redis");
        expect(redis.provider).toBe("gpu1");
        expect(redis.inputs.ports).toEqual([{ internal: 6379, external: 6380, ip: "10.8.0.11", protocol: "tcp" }]);
        expect(redis.inputs.command).toEqual([
            "sh",
            "-c",
            'exec redis-server - --save "" --appendonly no <<EOF\nrequirepass $REDIS_PASSWORD\nEOF\n',
        ]);
        expect(redis.inputs.wait).toBe(true);
        expect(p.byName("redis").dependsOn).toContain("redis-port");
    });

    it("renders each host's router config with its own view of the instances and of Redis", () => {
        const settings = (name: string) =>
            parse(p.upload(name)) as {
                model_list: { litellm_params: { api_base: string } }[];
                router_settings: Record<string, unknown>;
            };
        expect(settings("litellm").model_list.map((d) => d.litellm_params.api_base)).toEqual([
            "http://ollama:11434/v1",
            "http://10.8.0.12:11434/v1",
        ]);
        expect(settings("litellm-gpu2").model_list.map((d) => d.litellm_params.api_base)).toEqual([
            "http://10.8.0.11:11434/v1",
            "http://gpu2-ollama:11434/v1",
        ]);
        expect(settings("litellm").router_settings).toMatchObject({
            redis_host: "redis",
            redis_port: 6379,
            redis_password: "os.environ/REDIS_PASSWORD",
        });
        expect(settings("litellm-gpu2").router_settings).toMatchObject({
            redis_host: "10.8.0.11",
            redis_port: 6380,
            redis_password: "os.environ/REDIS_PASSWORD",
        });
        expect(p.upload("litellm-2")).toBe(p.upload("litellm"));
    });

    it("exports every router's URL", () => {
        expect(p.evaluated.outputs.urls).toMatchObject({
            router: "http://10.8.0.11:4000",
            "litellm-2": "http://10.8.0.11:4001",
            "litellm-gpu2": "http://10.8.0.12:4000",
            "litellm-gpu2-2": "http://10.8.0.12:4001",
        });
    });
});

describe("one router", () => {
    it("needs no Redis", async () => {
        const p = await evaluate(minimalConfig());
        expect(p.containers().map((c) => c.inputs.name)).not.toContain("redis");
        expect(parse(p.upload("litellm")).router_settings).not.toHaveProperty("redis_host");
        expect(p.env("litellm").REDIS_PASSWORD).toBeUndefined();
    });

    it("keeps Redis on the Docker network when the replicas share one host", async () => {
        const p = await evaluate(minimalConfig({ router: { replicas: 2 } }));
        expect(p.container("redis").inputs.ports).toEqual([]);
        expect(parse(p.upload("litellm-2")).router_settings).toMatchObject({ redis_host: "redis", redis_port: 6379 });
    });
});
