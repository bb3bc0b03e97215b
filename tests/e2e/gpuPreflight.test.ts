/**
 * The GPU preflight with the real Pulumi engine against this machine's Docker, which has no NVIDIA runtime:
 * `npm run up` of the dev stack fails within seconds with the preflight's line and pulls nothing, and records
 * no check (so the next up checks again); the CPU stack has no preflight at all.
 */
import { execFileSync } from "node:child_process";
import { GPU_FIX } from "../../targets/docker/gpu";
import { DeployFolder } from "./support/deployFolder";
import { phase, requirePrerequisites, summaryOf } from "./support/stackHarness";

const DEV_IMAGES = [
    "ollama/ollama:0.17.4",
    "ghcr.io/berriai/litellm:1.87.0",
    "ghcr.io/open-webui/open-webui:v0.12.4",
    "qdrant/qdrant:v1.16.1",
];
const images = () =>
    execFileSync("docker", ["images", "--format", "{{.Repository}}:{{.Tag}}"], { encoding: "utf8" })
        .split("\n")
        .filter(Boolean);

describe("npm run up of a GPU stack on a host without the NVIDIA runtime", () => {
    let dev: DeployFolder;
    let cpu: DeployFolder;
    beforeAll(() => {
        requirePrerequisites(false);
        dev = new DeployFolder("dev");
        cpu = new DeployFolder("cpu");
    });

    afterAll(async () => {
        // Pass or fail, leave nothing behind.
        const destroy = await dev?.run("destroy", ["--yes"]);
        dev?.remove();
        cpu?.remove();
        expect(destroy?.output).toMatch(/destroy of stack dev succeeded/);
    });

    it("fails within seconds with the preflight's line, pulls no image and records no check", async () => {
        const runtimes = execFileSync("docker", ["info", "--format", "{{json .Runtimes}}"], { encoding: "utf8" });
        expect(runtimes).not.toContain('"nvidia"'); // the premise: this host has no NVIDIA runtime
        const before = images();
        const since = new Date().toISOString();

        const up = await dev.run("up", ["--yes", "--json"]);
        const summary = summaryOf(up) as ReturnType<typeof summaryOf> & { error?: string };
        const line = `GPU preflight on host gpu (unix:///var/run/docker.sock): a GPU is requested but Docker has no nvidia runtime and no NVIDIA CDI spec. Fix: ${GPU_FIX}`;
        phase("up of the dev stack on a host without the NVIDIA runtime", summary.durationSeconds, "failed, as due");

        expect(up.code).toBe(1);
        expect(summary).toMatchObject({ succeeded: false, error: line });
        expect(up.output).toContain(`up: up of stack dev failed after ${summary.durationSeconds}s: ${line}`);
        expect(summary.durationSeconds).toBeLessThan(60);
        expect(up.output).not.toMatch(/RemoteImage|OllamaModel \S+ creating/);

        const pulls = execFileSync(
            "docker",
            ["events", "--since", since, "--until", new Date().toISOString(), "--filter", "type=image"],
            { encoding: "utf8" },
        );
        expect(pulls.split("\n").filter((event) => / pull /.test(event))).toEqual([]);
        expect(images().filter((image) => !before.includes(image) && DEV_IMAGES.includes(image))).toEqual([]);

        // A failed check is not recorded, so the next up checks the host again.
        const urns = (JSON.parse(dev.pulumi(["stack", "export"])).deployment.resources ?? []).map(
            (r: { urn: string }) => r.urn,
        );
        expect(urns.length).toBeGreaterThan(0);
        expect(urns.filter((urn: string) => urn.includes("command:local:Command"))).toEqual([]);
    });

    it("gives the CPU stack no preflight: its preview plans the images and no command", async () => {
        const preview = await cpu.run("preview", ["--json"]);
        expect(preview.code).toBe(0);
        expect(preview.output).toMatch(/docker:index:RemoteImage/);
        expect(preview.output).not.toMatch(/command:local:Command/);
    });
});
