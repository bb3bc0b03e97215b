import { validateStackConfig } from "../../../config/load";
import {
    containerHealthchecks,
    goDuration,
    gpuDeviceRequests,
    ollamaEnv,
    pullsOverHttp,
    serviceUrl,
} from "../../../targets/docker/containers";
import { minimalConfig } from "../../support/stack";

describe("GPU requests", () => {
    it.each([
        ["all", [{ driver: "nvidia", capabilities: ["gpu"], count: -1 }]],
        [2, [{ driver: "nvidia", capabilities: ["gpu"], count: 2 }]],
        [["0", "3"], [{ driver: "nvidia", capabilities: ["gpu"], deviceIds: ["0", "3"] }]],
        ["none", undefined],
    ] as const)("%j", (gpu, expected) => {
        expect(gpuDeviceRequests(gpu as never)).toEqual(expected);
    });
});

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

describe("healthcheck durations", () => {
    it("are spelled as Go prints them, the form the Docker provider reads back", () => {
        expect([5, 20, 60, 90, 120].map(goDuration)).toEqual(["5s", "20s", "1m0s", "1m30s", "2m0s"]);
        // Whole minutes, then seconds under 60: "60s" would read back as "1m0s", a diff on every up.
        for (const check of Object.values(containerHealthchecks))
            for (const duration of [check.interval, check.timeout, check.startPeriod])
                expect(duration).toMatch(/^(?:[1-9]\d*m)?[1-5]?\ds$/);
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

describe("service URLs used by pulumi up", () => {
    const host = (bindAddress: string) =>
        validateStackConfig(minimalConfig({ hosts: [{ name: "box", bindAddress, allowWildcardBind: true }] })).hosts[0];
    it.each([
        ["127.0.0.1", "http://127.0.0.1:4000/x"],
        ["0.0.0.0", "http://127.0.0.1:4000/x"],
        ["::", "http://[::1]:4000/x"],
        ["0:0:0:0:0:0:0:0", "http://[::1]:4000/x"],
        ["::ffff:127.0.0.1", "http://127.0.0.1:4000/x"],
        ["192.168.1.20", "http://192.168.1.20:4000/x"],
    ])("bind %s is probed at %s", (bind, url) => {
        expect(serviceUrl(host(bind), 4000, "/x")).toBe(url);
    });
});
