import { ConfigError, loadStackConfig, validateStackConfig } from "../../config/load";
import { DEFAULT_IMAGES } from "../../config/serviceKeys";
import { StackConfigInput } from "../../config/stackKeys";
import { isPinnedImage } from "../../config/primitives";
import { flatConfig, minimalConfig, problemsOf, stackFileConfig } from "../support/stack";

/** The problems loading a stack file's flat config reports (none when it loads). */
function loadProblems(flat: Record<string, string>): string[] {
    try {
        loadStackConfig(flat, []);
        return [];
    } catch (err) {
        return (err as ConfigError).problems;
    }
}

describe("the example stacks", () => {
    it.each(["dev", "cpu", "cluster"])("Pulumi.%s.yaml validates", (stack) => {
        expect(() => stackFileConfig(stack)).not.toThrow();
    });

    it("dev is the RTX 4090 host: all GPUs, ports 11434/4000/3000/6333, data under /data", () => {
        const config = stackFileConfig("dev");
        const [host] = config.hosts;
        expect(host.ollama.map((o) => [o.port, o.gpu])).toEqual([[11434, "all"]]);
        expect([config.router.port, config.openWebUI.port, config.qdrant.port]).toEqual([4000, 3000, 6333]);
        expect(config.qdrant.enabled).toBe(true);
        expect(host.dataDir).toBe("/data");
        expect(host.bindAddress).toBe("127.0.0.1");
    });

    it("cpu requests no GPU and runs two instances on 11434 and 11435", () => {
        const config = stackFileConfig("cpu");
        const instances = config.hosts.flatMap((h) => h.ollama);
        expect(instances.map((o) => [o.port, o.gpu])).toEqual([
            [11434, "none"],
            [11435, "none"],
        ]);
    });
});

describe("defaults", () => {
    const config = validateStackConfig({
        groups: { fast: ["m"] },
        hosts: [{ name: "h", ollama: [{ name: "ollama", port: 11434, models: ["m"] }] }],
    });

    it("are secure and local", () => {
        expect(config.hosts[0].bindAddress).toBe("127.0.0.1");
        expect(config.hosts[0].docker).toBe("unix:///var/run/docker.sock");
        expect(config.cloud.enabled).toBe(false);
        expect(config.cloud.model).toBe("openai/gpt-5");
        expect(config.openWebUI).toMatchObject({ enabled: true, port: 3000, enableSignup: false });
        expect(config.qdrant).toMatchObject({ enabled: false, port: 6333 });
        expect(config.router.port).toBe(4000);
    });

    it("pin every image", () => {
        expect(config.images).toEqual(DEFAULT_IMAGES);
        for (const ref of Object.values(config.images)) expect(isPinnedImage(ref)).toBe(true);
    });

    it("give one GPU-backed Ollama instance on 11434 pulling every group's model", () => {
        const smallest = validateStackConfig({
            groups: { fast: ["llama3.2:3b"], code: ["qwen2.5-coder:7b", "llama3.2:3b"] },
        });
        expect(smallest.hosts).toEqual([
            {
                name: "local",
                docker: "unix:///var/run/docker.sock",
                allowWildcardBind: false,
                bindAddress: "127.0.0.1",
                dataDir: "/data",
                ollama: [{ name: "ollama", port: 11434, gpu: "all", models: ["llama3.2:3b", "qwen2.5-coder:7b"] }],
            },
        ]);
    });
});

describe("a wrong value fails with one line naming the key, the value and what is allowed", () => {
    it.each<[string, Record<string, unknown>, string[]]>([
        [
            "a port out of range",
            minimalConfig({ router: { port: 70000 } }),
            ["ai-gateway:router.port: 70000 is not a port (1-65535)"],
        ],
        [
            "a port that is not a number",
            minimalConfig({ openWebUI: { port: "3000" as never } }),
            ['ai-gateway:openWebUI.port: "3000" is not a port (1-65535)'],
        ],
        [
            "an unknown top-level key",
            { ...minimalConfig(), grups: {} },
            [
                "ai-gateway:grups: unknown key (allowed: target, hosts, ollama, images, groups, router, cloud, cloudApiKey, openWebUI, qdrant, routing, remoteAccess, kubernetes)",
            ],
        ],
        [
            "an unknown nested key",
            minimalConfig({ router: { prot: 4000 } as never }),
            [
                "ai-gateway:router.prot: unknown key (allowed: hosts, port, replicas, redisPort, strategy, numRetries, timeoutSeconds, allowedFails, cooldownSeconds, fallbacks)",
            ],
        ],
        [
            "an unknown key in a list item",
            minimalConfig({ hosts: [{ name: "box", ollama: [{ name: "ollama", port: 11434, gpus: 1 }] }] as never }),
            ["ai-gateway:hosts[0].ollama[0].gpus: unknown key (allowed: name, port, gpu, models)"],
        ],
        [
            "an unpinned image",
            minimalConfig({ images: { ollama: "ollama/ollama:latest" } }),
            [
                'ai-gateway:images.ollama: "ollama/ollama:latest" is not a pinned image (use "name:version" or "name@sha256:...", never "latest" or no tag)',
            ],
        ],
        [
            "an image without a tag",
            minimalConfig({ images: { qdrant: "qdrant/qdrant" } }),
            [
                'ai-gateway:images.qdrant: "qdrant/qdrant" is not a pinned image (use "name:version" or "name@sha256:...", never "latest" or no tag)',
            ],
        ],
        [
            "a bad GPU request",
            minimalConfig({
                hosts: [{ name: "box", ollama: [{ name: "ollama", port: 11434, gpu: "some" as never }] }],
            }),
            [
                'ai-gateway:hosts[0].ollama[0].gpu: "some" is not a GPU request ("all", "none", a GPU count, or a list of device ids like ["0","1"])',
            ],
        ],
        [
            "a bind address that is not an address",
            minimalConfig({ hosts: [{ name: "box", bindAddress: "localhost" }] }),
            ['ai-gateway:hosts[0].bindAddress: "localhost" is not an IP address (e.g. 127.0.0.1 or 192.168.1.20)'],
        ],
        [
            "a plain tcp Docker endpoint",
            minimalConfig({ hosts: [{ name: "box", docker: "tcp://10.0.0.5:2375" }] }),
            [
                'ai-gateway:hosts[0].docker: "tcp://10.0.0.5:2375" is not a Docker endpoint (unix:///var/run/docker.sock or ssh://user@host)',
            ],
        ],
        [
            "an unknown routing strategy",
            minimalConfig({ router: { strategy: "round-robin" as never } }),
            [
                'ai-gateway:router.strategy: "round-robin" is not a routing strategy (simple-shuffle | least-busy | usage-based-routing-v2 | latency-based-routing)',
            ],
        ],
        [
            "a quantized KV cache without flash attention",
            minimalConfig({ ollama: { flashAttention: false, kvCacheType: "q8_0" } }),
            [
                'ai-gateway:ollama.kvCacheType: "q8_0" needs flashAttention: true (Ollama ignores a quantized KV cache without it)',
            ],
        ],
        [
            "a keep-alive that is not a duration",
            minimalConfig({ ollama: { keepAlive: "forever" } }),
            ['ai-gateway:ollama.keepAlive: "forever" is not a duration (e.g. "5m", "1h", "-1" to keep loaded forever)'],
        ],
        [
            "a group whose model no instance pulls",
            minimalConfig({ groups: { fast: ["llama3.2:3b"], heavy: ["gpt-oss:20b"] } }),
            [
                'ai-gateway:groups.heavy[0]: "gpt-oss:20b" is not pulled by any Ollama instance (add it to an instance\'s models)',
            ],
        ],
        [
            "no group at all",
            minimalConfig({ groups: {} }),
            [
                "ai-gateway:groups: {} defines no model group (define at least one, e.g. fast: [llama3.2:3b], and list its model under an Ollama instance's models)",
            ],
        ],
        [
            "a reserved group name",
            minimalConfig({ groups: { fast: ["llama3.2:3b"], cloud: ["llama3.2:3b"] } }),
            ["ai-gateway:groups.cloud: is a name the router reserves for itself (cloud, auto)"],
        ],
        [
            "a fallback to a group that does not exist",
            minimalConfig({ router: { fallbacks: { fast: ["heavy"] } } }),
            ['ai-gateway:router.fallbacks.fast[0]: "heavy" is not a group (groups: fast)'],
        ],
        [
            "a group falling back to itself",
            minimalConfig({ router: { fallbacks: { fast: ["fast"] } } }),
            ['ai-gateway:router.fallbacks.fast[0]: "fast" is the group itself'],
        ],
        [
            "cloud fallback without its key",
            minimalConfig({ cloud: { enabled: true } }),
            [
                "ai-gateway:cloudApiKey: is required when cloud.enabled is true (pulumi config set --secret cloudApiKey <key>)",
            ],
        ],
        [
            "a cloud API base that is not a URL",
            minimalConfig({ cloud: { enabled: true, apiBase: "gateway.example/v1" }, cloudApiKey: "sk-x" }),
            ['ai-gateway:cloud.apiBase: "gateway.example/v1" is not an http(s) URL'],
        ],
        [
            "a cloud API base with a user name and password in it, shown masked",
            minimalConfig({
                cloud: { enabled: true, apiBase: "https://gw-user:hunter2@gateway.example/v1" },
                cloudApiKey: "sk-x",
            }),
            [
                'ai-gateway:cloud.apiBase: "https://***@gateway.example/v1" holds a user name or password, which would be written in plain text into the render and the routerConfigs output (give the URL without them; the provider\'s key is the secret ai-gateway:cloudApiKey)',
            ],
        ],
        [
            "a cloud API base with a user name alone in it",
            minimalConfig({ cloud: { enabled: true, apiBase: "http://token@10.0.0.5:8080/v1" }, cloudApiKey: "sk-x" }),
            [
                'ai-gateway:cloud.apiBase: "http://***@10.0.0.5:8080/v1" holds a user name or password, which would be written in plain text into the render and the routerConfigs output (give the URL without them; the provider\'s key is the secret ai-gateway:cloudApiKey)',
            ],
        ],
        [
            "two services on one port",
            minimalConfig({ openWebUI: { port: 4000 } }),
            ["ai-gateway:openWebUI.port: 4000 is already used by ai-gateway:router.port on host box"],
        ],
        [
            "two instances with one name",
            minimalConfig({
                hosts: [
                    {
                        name: "box",
                        ollama: [
                            { name: "ollama", port: 11434 },
                            { name: "ollama", port: 11435 },
                        ],
                    },
                ],
            }),
            [
                'ai-gateway:hosts[0].ollama[1].name: "ollama" is already the name of the Ollama instance hosts[0].ollama[0] (every container of the stack needs a name of its own: rename the instance)',
            ],
        ],
        [
            "an instance named like another service",
            minimalConfig({ hosts: [{ name: "box", ollama: [{ name: "litellm", port: 11434 }] }] }),
            [
                'ai-gateway:hosts[0].ollama[0].name: "litellm" is already the name of the router on host box (every container of the stack needs a name of its own: rename the instance)',
            ],
        ],
        [
            "a service placed on a host that does not exist",
            minimalConfig({ router: { hosts: ["gpu9"] } }),
            ['ai-gateway:router.hosts[0]: "gpu9" is not one of the hosts (box)'],
        ],
    ])("%s", (_, raw, expected) => {
        expect(problemsOf(raw)).toEqual(expected);
    });

    it("reports every problem at once", () => {
        const problems = problemsOf(
            minimalConfig({ router: { port: 0, strategy: "x" as never }, qdrant: { port: -1 } }),
        );
        expect(problems).toHaveLength(3);
    });

    it("never prints a secret value", () => {
        const problems = problemsOf({ ...minimalConfig(), cloudApiKey: 12345 as never });
        expect(problems).toEqual(["ai-gateway:cloudApiKey: [secret] is not a string"]);
    });

    it("reads Pulumi's flat config and ignores other namespaces", () => {
        const flat = {
            ...flatConfig(minimalConfig({ router: { port: 4100 } })),
            "docker:host": "x",
            "pulumi:tags": "{}",
        };
        expect(loadStackConfig(flat, []).router.port).toBe(4100);
    });

    it("keeps a secret config value as text, even one that looks like a number", () => {
        const flat = { ...flatConfig(minimalConfig({ cloud: { enabled: true } })), "ai-gateway:cloudApiKey": "12345" };
        expect(loadStackConfig(flat, ["ai-gateway:cloudApiKey"]).cloudApiKey).toBe("12345");
    });

    it("refuses a cloudApiKey stored in plain text, without showing it, next to the other problems", () => {
        const flat = {
            ...flatConfig(minimalConfig({ cloud: { enabled: true }, router: { port: 70000 } })),
            "ai-gateway:cloudApiKey": "sk-plaintext-cloud-key",
        };
        const problems = loadProblems(flat);
        expect(problems).toEqual([
            "ai-gateway:cloudApiKey: is stored in plain text in the stack file: remove it (pulumi config rm cloudApiKey) and set it as a secret with pulumi config set --secret cloudApiKey <value>",
            "ai-gateway:router.port: 70000 is not a port (1-65535)",
        ]);
    });
});

describe("several hosts", () => {
    const threeHosts = (bind2: string) => ({
        hosts: [
            { name: "gpu1", bindAddress: "10.0.0.1", ollama: [{ name: "ollama", port: 11434 }] },
            { name: "gpu2", bindAddress: bind2, ollama: [{ name: "ollama-2", port: 11434 }] },
        ],
        groups: { fast: ["llama3.2:3b"] },
    });

    it("accept the same port on different hosts", () => {
        expect(() => validateStackConfig(threeHosts("10.0.0.2"))).not.toThrow();
    });

    it.each(["127.0.0.1", "0.0.0.0"])("refuse %s for a host whose instances serve a router elsewhere", (address) => {
        expect(problemsOf(threeHosts(address))).toEqual([
            `ai-gateway:hosts[1].bindAddress: "${address}" cannot be reached from other machines (the router on host gpu1 uses its Ollama instances): set this host's LAN or VPN address`,
        ]);
    });

    it.each(["0:0:0:0:0:0:0:0", "::0", "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1", "::ffff:0.0.0.0", "127.0.0.2"])(
        "refuse %s, another spelling of a wildcard or loopback address, the same way",
        (address) => {
            expect(problemsOf(threeHosts(address))).toEqual([
                `ai-gateway:hosts[1].bindAddress: "${address}" cannot be reached from other machines (the router on host gpu1 uses its Ollama instances): set this host's LAN or VPN address`,
            ]);
        },
    );

    it("refuse a loopback bind address on a host reached over SSH", () => {
        const raw = minimalConfig({ hosts: [{ name: "box", docker: "ssh://me@box" }] });
        expect(problemsOf(raw)).toEqual([
            'ai-gateway:hosts[0].bindAddress: "127.0.0.1" cannot be reached from other machines (health checks and model pulls run on the machine that runs pulumi up): set this host\'s LAN or VPN address',
        ]);
    });
});

describe("values that reach Docker, Ollama or the router", () => {
    it.each(["gpt-oss:120b-cloud", "glm-4.6:cloud", "qwen3-coder:480b-CLOUD"])(
        "refuse the Ollama cloud model %s anywhere a model is named",
        (tag) => {
            const raw = minimalConfig({
                hosts: [{ name: "box", ollama: [{ name: "ollama", port: 11434, models: ["llama3.2:3b", tag] }] }],
                groups: { fast: ["llama3.2:3b"], heavy: [tag] },
            });
            const why =
                "is an Ollama cloud model: Ollama forwards it to ollama.com, so prompts would leave the host (use a local model; the only cloud path is ai-gateway:cloud)";
            expect(problemsOf(raw)).toEqual([
                `ai-gateway:hosts[0].ollama[0].models[1]: "${tag}" ${why}`,
                `ai-gateway:groups.heavy[0]: "${tag}" ${why}`,
            ]);
        },
    );

    it("refuse router replicas whose ports pass 65535", () => {
        expect(problemsOf(minimalConfig({ router: { port: 65535, replicas: 2 } }))).toEqual([
            "ai-gateway:router.port: 65535 gives router replica 2 port 65536, which is not a port (with 2 replicas, at most 65534)",
        ]);
        expect(() => validateStackConfig(minimalConfig({ router: { port: 65534, replicas: 2 } }))).not.toThrow();
    });

    it("refuse a model listed twice in one instance", () => {
        const raw = minimalConfig({
            hosts: [{ name: "box", ollama: [{ name: "ollama", port: 11434, models: ["llama3.2:3b", "llama3.2:3b"] }] }],
        });
        expect(problemsOf(raw)).toEqual(['ai-gateway:hosts[0].ollama[0].models[1]: "llama3.2:3b" is listed twice']);
    });

    it.each(["/data:/etc:rw", "/data/../etc", "/srv/a,b", "/.."])("refuse the data folder %s", (dataDir) => {
        expect(problemsOf(minimalConfig({ hosts: [{ name: "box", dataDir }] }))).toEqual([
            `ai-gateway:hosts[0].dataDir: "${dataDir}" is not allowed: Docker reads ":" and "," in a bind as separators, and ".." leaves the folder (give a plain absolute path)`,
        ]);
    });
});

describe("a wildcard bind address on a single host", () => {
    it.each(["0.0.0.0", "::", "0:0:0:0:0:0:0:0", "::0"])(
        "is refused for %s: it publishes Ollama everywhere",
        (address) => {
            expect(problemsOf(minimalConfig({ hosts: [{ name: "box", bindAddress: address }] }))).toEqual([
                `ai-gateway:hosts[0].bindAddress: "${address}" publishes every port, Ollama's unauthenticated API included, on every interface of host box: give one address of the host, or set ai-gateway:hosts[0].allowWildcardBind: true to accept that`,
            ]);
        },
    );

    it("is accepted when the operator says so with allowWildcardBind", () => {
        const raw = minimalConfig({ hosts: [{ name: "box", bindAddress: "0.0.0.0", allowWildcardBind: true }] });
        expect(validateStackConfig(raw).hosts[0].bindAddress).toBe("0.0.0.0");
    });
});

describe("a bind address with a zone suffix", () => {
    it.each(["::%lo", "::1%lo", "fe80::1%eth0", "0:0:0:0:0:0:0:0%1"])(
        "is refused for %s, wildcard or not, allowWildcardBind or not",
        (address) => {
            for (const allowWildcardBind of [false, true])
                expect(
                    problemsOf(minimalConfig({ hosts: [{ name: "box", bindAddress: address, allowWildcardBind }] })),
                ).toEqual([
                    `ai-gateway:hosts[0].bindAddress: ${JSON.stringify(address)} has a zone suffix (${address.slice(address.indexOf("%"))}), which names an interface, not an address: the wildcard and loopback checks and Docker's port publishing need the address alone (e.g. "192.168.1.20" or "fd00::20"; a link-local fe80:: address, which needs a zone, cannot be used)`,
                ]);
        },
    );
});

describe("router replicas", () => {
    const twoRouterHosts = (bind1: string) => ({
        hosts: [
            { name: "gpu1", bindAddress: bind1, ollama: [{ name: "ollama", port: 11434 }] },
            { name: "gpu2", bindAddress: "10.0.0.2", ollama: [{ name: "ollama-2", port: 11434 }] },
        ],
        groups: { fast: ["llama3.2:3b"] },
        router: { hosts: ["gpu1", "gpu2"] },
    });

    it("refuse a replica port that another service uses", () => {
        expect(problemsOf(minimalConfig({ router: { replicas: 3 }, openWebUI: { port: 4002 } }))).toEqual([
            "ai-gateway:openWebUI.port: 4002 is already used by ai-gateway:router.port (replica 3: 4002) on host box",
        ]);
        expect(problemsOf(minimalConfig({ router: { port: 11433, replicas: 2 } }))).toEqual([
            "ai-gateway:router.port: 11433 gives router replica 2 port 11434, already used by ai-gateway:hosts[0].ollama[0].port on host box",
        ]);
    });

    it("refuse two models of one instance that Ollama takes for one: case ignored, :latest filled in", () => {
        const raw = minimalConfig({
            hosts: [
                {
                    name: "box",
                    ollama: [
                        {
                            name: "ollama",
                            port: 11434,
                            models: [
                                "llama3.2:3b",
                                "qwen2.5:Q4_K_M",
                                "LLAMA3.2:3B",
                                "qwen2.5:q4_k_m",
                                "tiny",
                                "tiny:latest",
                            ],
                        },
                    ],
                },
            ],
        });
        expect(problemsOf(raw)).toEqual([
            'ai-gateway:hosts[0].ollama[0].models[2]: "LLAMA3.2:3B" is the model of models[0] ("llama3.2:3b") to Ollama, which ignores case in names and reads a name without a tag as :latest (list each model once, in one spelling)',
            'ai-gateway:hosts[0].ollama[0].models[3]: "qwen2.5:q4_k_m" is the model of models[1] ("qwen2.5:Q4_K_M") to Ollama, which ignores case in names and reads a name without a tag as :latest (list each model once, in one spelling)',
            'ai-gateway:hosts[0].ollama[0].models[5]: "tiny:latest" is the model of models[4] ("tiny") to Ollama, which ignores case in names and reads a name without a tag as :latest (list each model once, in one spelling)',
        ]);
    });

    it("refuse groups that spell one model two ways, which an instance without models would pull twice", () => {
        const raw = minimalConfig({
            hosts: [{ name: "box", ollama: [{ name: "ollama", port: 11434 }] }],
            groups: { fast: ["llama3.2:1b", "qwen2.5:1B"], code: ["Qwen2.5:1b"] },
        });
        expect(problemsOf(raw)).toEqual([
            'ai-gateway:groups.code[0]: "Qwen2.5:1b" is the model of groups.fast[1] ("qwen2.5:1B") to Ollama, which ignores case in names and reads a name without a tag as :latest (spell each model one way)',
        ]);
        // Different models whose names differ only in the case of a part are two models: accepted.
        expect(() =>
            validateStackConfig(
                minimalConfig({
                    hosts: [{ name: "box", ollama: [{ name: "ollama", port: 11434 }] }],
                    groups: { fast: ["llama3.2:1b", "qwen2.5:1B"] },
                }),
            ),
        ).not.toThrow();
    });

    it("refuse a router host listed twice", () => {
        expect(problemsOf(minimalConfig({ router: { hosts: ["box", "box"] } }))).toEqual([
            'ai-gateway:router.hosts[1]: "box" is listed twice',
        ]);
    });

    it("need the first router host reachable when routers on other hosts share its Redis", () => {
        expect(problemsOf(twoRouterHosts("127.0.0.1"))).toEqual([
            `ai-gateway:hosts[0].bindAddress: "127.0.0.1" cannot be reached from other machines (the router on host gpu2 uses its Ollama instances): set this host's LAN or VPN address`,
        ]);
        expect(() => validateStackConfig(twoRouterHosts("10.0.0.1"))).not.toThrow();
    });

    it("refuse a Redis port that another service of the first router host uses", () => {
        const raw = { ...twoRouterHosts("10.0.0.1"), router: { hosts: ["gpu1", "gpu2"], redisPort: 11434 } };
        expect(problemsOf(raw)).toEqual([
            "ai-gateway:router.redisPort: 11434 is already used by ai-gateway:hosts[0].ollama[0].port on host gpu1",
        ]);
    });
});

describe("names that collide", () => {
    /** Hosts on their own LAN addresses, each with one instance, every one of them a router host. */
    const routerHosts = (names: string[], extra: Partial<StackConfigInput> = {}) =>
        minimalConfig({
            hosts: names.map((name, i) => ({
                name,
                bindAddress: `10.0.0.${i + 1}`,
                ollama: [{ name: `ollama-${i + 1}`, port: 11434, models: ["llama3.2:3b"] }],
            })),
            router: { hosts: names },
            ...extra,
        });
    const SAME_NAME = "every container of the stack needs a name of its own";

    it("refuse a second router host named cloud next to the cloud router", () => {
        expect(problemsOf(routerHosts(["gpu1", "cloud"], { cloud: { enabled: true }, cloudApiKey: "sk-x" }))).toEqual([
            `ai-gateway:hosts[1].name: "cloud" gives the router on host cloud the container name litellm-cloud, already the name of the cloud router on host gpu1 (${SAME_NAME}: rename the host)`,
        ]);
        expect(() => validateStackConfig(routerHosts(["gpu1", "cloud"]))).not.toThrow();
    });

    it("refuse hosts a and a-2 whose replicas would share a name", () => {
        expect(
            problemsOf(routerHosts(["x", "a", "a-2"], { router: { hosts: ["x", "a", "a-2"], replicas: 2 } })),
        ).toEqual([
            `ai-gateway:hosts[2].name: "a-2" gives the router on host a-2 the container name litellm-a-2, already the name of router replica 2 on host a (${SAME_NAME}: rename the host)`,
        ]);
        expect(() =>
            validateStackConfig(routerHosts(["x", "a", "b"], { router: { hosts: ["x", "a", "b"], replicas: 2 } })),
        ).not.toThrow();
    });

    it.each<[string, Partial<StackConfigInput>, string]>([
        ["litellm", {}, "the router on host box"],
        ["litellm-2", { router: { replicas: 2 } }, "router replica 2 on host box"],
        ["litellm-cloud", { cloud: { enabled: true }, cloudApiKey: "sk-x" }, "the cloud router on host box"],
        ["open-webui", {}, "Open WebUI on host box"],
        ["qdrant", { qdrant: { enabled: true } }, "Qdrant on host box"],
        ["redis", { router: { replicas: 2 } }, "Redis on host box"],
    ])("refuse an instance named %s, the name of another container", (instance, extra, owner) => {
        const raw = minimalConfig({ hosts: [{ name: "box", ollama: [{ name: instance, port: 11434 }] }], ...extra });
        expect(problemsOf(raw)).toEqual([
            `ai-gateway:hosts[0].ollama[0].name: "${instance}" is already the name of ${owner} (${SAME_NAME}: rename the instance)`,
        ]);
    });

    it("accept an instance named like a container the stack does not create, or like a resource of another kind", () => {
        for (const instance of ["router", "litellm-2", "litellm-cloud", "qdrant", "redis", "cloud-router"])
            expect(() =>
                validateStackConfig(
                    minimalConfig({ hosts: [{ name: "box", ollama: [{ name: instance, port: 11434 }] }] }),
                ),
            ).not.toThrow();
    });

    it("refuse an instance named openwebui: it would keep its models in Open WebUI's data folder", () => {
        const raw = minimalConfig({ hosts: [{ name: "box", ollama: [{ name: "openwebui", port: 11434 }] }] });
        expect(problemsOf(raw)).toEqual([
            'ai-gateway:hosts[0].ollama[0].name: "openwebui" keeps the data of the Ollama instance hosts[0].ollama[0] in /data/openwebui, the data folder of Open WebUI on host box (deleting one deletes the other\'s data: rename the instance)',
        ]);
        expect(() => validateStackConfig({ ...raw, openWebUI: { enabled: false } })).not.toThrow();
    });

    it("refuse two hosts on one Docker engine whose data folders nest, and accept them on two engines", () => {
        const raw = (docker: string) =>
            minimalConfig({
                hosts: [
                    { name: "gpu1", bindAddress: "10.0.0.1", ollama: [{ name: "ollama", port: 11434 }] },
                    {
                        name: "gpu2",
                        docker,
                        bindAddress: "10.0.0.2",
                        dataDir: "/data/ollama/",
                        ollama: [{ name: "ollama-2", port: 11435 }],
                    },
                ],
                openWebUI: { enabled: false },
            });
        expect(problemsOf(raw("unix:///var/run/docker.sock"))).toEqual([
            'ai-gateway:hosts[1].dataDir: "/data/ollama/" keeps the data of the Ollama instance hosts[1].ollama[0] in /data/ollama/ollama-2, inside /data/ollama, the data folder of the Ollama instance hosts[0].ollama[0] on the same Docker engine (deleting one deletes the other\'s data: give the host another dataDir)',
        ]);
        expect(() => validateStackConfig(raw("ssh://ops@gpu2"))).not.toThrow();
    });

    it("refuse two instances whose model pulls would share a resource name", () => {
        const raw = minimalConfig({
            hosts: [
                {
                    name: "box",
                    ollama: [
                        { name: "a", port: 11434, models: ["b-c:1"] },
                        { name: "a-b", port: 11435, models: ["c:1"] },
                    ],
                },
            ],
            groups: { fast: ["b-c:1", "c:1"] },
        });
        expect(problemsOf(raw)).toEqual([
            'ai-gateway:hosts[0].ollama[1].name: "a-b" pulls "c:1" as the resource a-b-c:1, already the name of the pull of "b-c:1" on the Ollama instance hosts[0].ollama[0] (every resource of the stack needs a name of its own: rename the instance)',
        ]);
    });
});

describe("names that every object has", () => {
    it.each(["__proto__", "constructor", "toString", "hasOwnProperty"])(
        "take %s as a group name at its word, in groups and fallbacks: valid or refused, never lost",
        (word) => {
            const raw = JSON.parse(
                JSON.stringify(
                    minimalConfig({
                        hosts: [{ name: "box", ollama: [{ name: "ollama", port: 11434 }] }],
                        groups: { fast: ["llama3.2:3b"], WORD: ["llama3.2:3b"] },
                        router: { fallbacks: { WORD: ["fast"] } },
                        cloud: { enabled: true },
                        cloudApiKey: "sk-x",
                    }),
                ).replaceAll("WORD", word),
            );
            if (/^[a-z][a-z0-9-]*$/.test(word)) {
                const config = validateStackConfig(raw);
                expect(Object.keys(config.groups)).toEqual(["fast", word]);
                expect(Object.keys(config.router.fallbacks)).toEqual([word]);
            } else {
                const why = `${JSON.stringify(word)} is not a valid group name (lower-case letters, digits and "-", starting with a letter)`;
                expect(problemsOf(raw)).toEqual([
                    `ai-gateway:groups.${word}: ${why}`,
                    `ai-gateway:router.fallbacks.${word}: ${why}`,
                ]);
            }
        },
    );

    it("refuse a top-level key __proto__ as unknown, as any other", () => {
        const flat = { ...flatConfig(minimalConfig()), "ai-gateway:__proto__": '{"router":{"port":1}}' };
        const problems = loadProblems(flat);
        expect(problems).toEqual([
            "ai-gateway:__proto__: unknown key (allowed: target, hosts, ollama, images, groups, router, cloud, cloudApiKey, openWebUI, qdrant, routing, remoteAccess, kubernetes)",
        ]);
    });
});
