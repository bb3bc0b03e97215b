/** The GPU checks in the program, under mocks: where they are, and what waits for them. */
import { GPU_PROBE_SCRIPT } from "../../../targets/docker/gpu";
import { Program, evaluateStackFile } from "../../support/stack";

const commands = (p: Program) => p.ofType("command:local:Command");

describe("the GPU checks of up", () => {
    let dev: Program;
    beforeAll(async () => {
        dev = await evaluateStackFile("dev");
    });

    it("runs the host preflight on a GPU host before any image is pulled there", () => {
        const preflight = dev.byName("gpu-gpu-preflight");
        expect(preflight.inputs).toMatchObject({
            create: "sh -s 2>&1 | node -r ts-node/register/transpile-only commands/gpuCheck.ts",
            stdin: GPU_PROBE_SCRIPT,
            environment: { DOCKER_HOST: "unix:///var/run/docker.sock" },
        });
        const images = dev.ofType("docker:index/remoteImage:RemoteImage");
        expect(images.map((i) => i.inputs.name).sort()).toEqual([
            "ghcr.io/berriai/litellm:1.87.0",
            "ghcr.io/open-webui/open-webui:v0.12.4",
            "haproxy:2.6.12",
            "ollama/ollama:0.17.4",
            "qdrant/qdrant:v1.16.1",
        ]);
        for (const image of images) expect(image.dependsOn).toContain("gpu-gpu-preflight");
    });

    it("checks that Ollama found the GPU before any model is pulled into it, again for a new container", () => {
        const inUse = dev.byName("ollama-gpu-in-use");
        expect(JSON.parse((inUse.inputs.environment as Record<string, string>).AIGW_GPU_CHECK)).toEqual({
            check: "ollama",
            host: { name: "gpu", docker: "unix:///var/run/docker.sock" },
            instance: "ollama",
        });
        expect(inUse.inputs.stdin).toContain("docker logs ollama");
        expect(inUse.inputs.triggers).toHaveLength(1);
        const pulls = dev.ofType("OllamaModel");
        expect(pulls.length).toBeGreaterThan(0);
        for (const pull of pulls) expect(pull.dependsOn).toContain("ollama-gpu-in-use");
    });

    it("gives a CPU-only stack no GPU check at all", async () => {
        const cpu = await evaluateStackFile("cpu");
        expect(commands(cpu)).toEqual([]);
        for (const image of cpu.ofType("RemoteImage")) expect(image.dependsOn).toEqual([]);
    });
});
