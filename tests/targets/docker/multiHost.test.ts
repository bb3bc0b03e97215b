import { parse } from "yaml";
import { evaluate, evaluateStackFile, minimalConfig, Program } from "../../support/stack";

type Port = { internal: number; external: number; ip: string };
const HOST_OF_CONTAINER: Record<string, string> = {
    ollama: "gpu1",
    litellm: "gpu1",
    door: "gpu1",
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
            "gpu1-door-image",
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
        // The router has no route out: the other hosts' instances are ports of gpu1's door, each forwarded to
        // one instance's address and nowhere else.
        expect(basesOf("fast")).toEqual(["http://ollama:11434/v1", "http://door:20002/v1"]);
        expect(basesOf("code")).toEqual(["http://ollama:11434/v1", "http://door:20000/v1"]);
        expect(basesOf("light")).toEqual(["http://door:20001/v1"]);
        expect(basesOf("heavy")).toEqual(["http://door:20002/v1"]);
        expect(doc.router_settings.fallbacks).toContainEqual({ heavy: ["light", "fast"] });
        const forwards = [...p.upload("door").matchAll(/^\s+bind (\S+)\n\s+server \S+ (\S+)/gm)].map((m) => [
            m[1],
            m[2],
        ]);
        expect(forwards).toEqual([
            [":4000", "litellm:4000"],
            [":3000", "open-webui:8080"],
            [":20000", "10.8.0.12:11434"],
            [":20001", "10.8.0.12:11435"],
            [":20002", "10.8.0.13:11434"],
        ]);
        // Only the router's and Open WebUI's ports are published; the forwards are for gpu1's containers.
        expect((p.container("door").inputs.ports as Port[]).map((port) => port.external)).toEqual([4000, 3000]);
    });

    it("gives a host that runs only Ollama neither a door nor an internal network: Ollama pulls and publishes itself", () => {
        expect(p.ofType(":Network").map((n) => [n.name, n.inputs.internal])).toEqual(
            expect.arrayContaining([
                ["gpu1-internal-network", true],
                ["gpu2-network", undefined],
                ["gpu3-network", undefined],
            ]),
        );
        expect(p.ofType(":Network")).toHaveLength(4);
        expect(p.containers().filter((c) => String(c.inputs.name).startsWith("door"))).toHaveLength(1);
        expect(p.container("gpu2-ollama").inputs.networksAdvanced).toEqual([
            { name: "ai-gateway", aliases: ["gpu2-ollama"] },
        ]);
        expect(p.container("ollama").inputs.networksAdvanced).toEqual([
            { name: "ai-gateway", aliases: ["ollama"] },
            { name: "ai-gateway-internal", aliases: ["ollama"] },
        ]);
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

    it("runs the replicas on each router host, on consecutive ports of that host's door, through its provider", () => {
        const routers = p.containers().filter((c) => String(c.inputs.name).startsWith("litellm"));
        expect(routers.map((c) => [c.inputs.name, c.provider, c.inputs.ports])).toEqual([
            ["litellm", "gpu1", []],
            ["litellm-2", "gpu1", []],
            ["litellm-gpu2", "gpu2", []],
            ["litellm-gpu2-2", "gpu2", []],
        ]);
        // One door per host, each with its own container name; `door` on its networks on both.
        const doors = p.containers().filter((c) => String(c.inputs.name).startsWith("door"));
        expect(doors.map((c) => [c.inputs.name, c.provider, c.inputs.ports])).toEqual([
            [
                "door",
                "gpu1",
                [
                    { internal: 4000, external: 4000, ip: "10.8.0.11", protocol: "tcp" },
                    { internal: 4001, external: 4001, ip: "10.8.0.11", protocol: "tcp" },
                    { internal: 6380, external: 6380, ip: "10.8.0.11", protocol: "tcp" },
                    { internal: 3000, external: 3000, ip: "10.8.0.11", protocol: "tcp" },
                ],
            ],
            [
                "door-gpu2",
                "gpu2",
                [
                    { internal: 4000, external: 4000, ip: "10.8.0.12", protocol: "tcp" },
                    { internal: 4001, external: 4001, ip: "10.8.0.12", protocol: "tcp" },
                ],
            ],
        ]);
        for (const door of doors)
            expect((door.inputs.networksAdvanced as { aliases: string[] }[]).map((n) => n.aliases)).toEqual([
                ["door"],
                ["door"],
            ]);
        expect(p.upload("door-gpu2")).toContain(
            "listen published:litellm-gpu2-2\n    bind :4001\n    server litellm-gpu2-2 litellm-gpu2-2:4000",
        );
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

    it("runs one Redis on the first router host, published by its door on its address for the other host's routers", () => {
        const redis = p.container("redis");
        expect(redis.provider).toBe("gpu1");
        expect(redis.inputs.ports).toEqual([]);
        expect(redis.inputs.networksAdvanced).toEqual([{ name: "ai-gateway-internal", aliases: ["redis"] }]);
        expect(p.upload("door")).toContain("listen published:redis\n    bind :6380\n    server redis redis:6379");
        expect(p.byName("door").dependsOn).toContain("redis");
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
            "http://door:20000/v1",
        ]);
        expect(settings("litellm-gpu2").model_list.map((d) => d.litellm_params.api_base)).toEqual([
            "http://door:20000/v1",
            "http://gpu2-ollama:11434/v1",
        ]);
        expect(settings("litellm").router_settings).toMatchObject({
            redis_host: "redis",
            redis_port: 6379,
            redis_password: "os.environ/REDIS_PASSWORD",
        });
        // gpu2's routers reach gpu1's instance and Redis through gpu2's door, which forwards to their addresses.
        expect(settings("litellm-gpu2").router_settings).toMatchObject({
            redis_host: "door",
            redis_port: 20001,
            redis_password: "os.environ/REDIS_PASSWORD",
        });
        const forwards = [
            ...p.upload("door-gpu2").matchAll(/^listen other-host:(\S+)\n\s+bind (\S+)\n\s+server \S+ (\S+)/gm),
        ];
        expect(forwards.map((m) => [m[1], m[2], m[3]])).toEqual([
            ["ollama", ":20000", "10.8.0.11:11434"],
            ["redis", ":20001", "10.8.0.11:6380"],
        ]);
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
