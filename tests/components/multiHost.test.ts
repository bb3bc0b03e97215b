import { parse } from "yaml";
import { evaluateStackFile, Program } from "../support/stack";

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
        expect(basesOf("fast")).toEqual(["http://ollama:11434", "http://10.8.0.13:11434"]);
        expect(basesOf("code")).toEqual(["http://ollama:11434", "http://10.8.0.12:11434"]);
        expect(basesOf("light")).toEqual(["http://10.8.0.12:11435"]);
        expect(basesOf("heavy")).toEqual(["http://10.8.0.13:11434"]);
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
