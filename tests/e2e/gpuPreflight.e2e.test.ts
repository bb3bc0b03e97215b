/**
 * The GPU preflight with the real Pulumi engine against this machine's Docker, which has no NVIDIA runtime:
 * `npm run up` of the dev stack fails within seconds with the preflight's line and pulls nothing; the CPU
 * stack has no preflight. Needs the Pulumi CLI on PATH (`npm run test:e2e`, see README).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { GPU_FIX } from "../../config/gpu";

const PROJECT = path.resolve(__dirname, "..", "..");
const DEV_IMAGES = [
    "ollama/ollama:0.17.4",
    "ghcr.io/berriai/litellm:1.87.0",
    "ghcr.io/open-webui/open-webui:v0.12.4",
    "qdrant/qdrant:v1.16.1",
];
const cli = spawnSync("pulumi", ["version"], { encoding: "utf8" });
const haveCli = cli.status === 0;
if (!haveCli)
    process.stderr.write(
        'SKIPPED tests/e2e/gpuPreflight: the pulumi CLI is not on PATH (export PATH="$(bash ../shared/engine/install.sh):$PATH")\n',
    );

(haveCli ? describe : describe.skip)("npm run up of a GPU stack on a host without the NVIDIA runtime", () => {
    const state = mkdtempSync(path.join(tmpdir(), "aigw-e2e-state-"));
    const env = {
        ...process.env,
        PULUMI_BACKEND_URL: `file://${state}`,
        PULUMI_CONFIG_PASSPHRASE: `e2e-${Math.random().toString(36).slice(2)}`,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
    // The CLI writes the stack's encryption salt into the stack file: put the files back as they were.
    const stackFiles = ["dev", "cpu"].map((stack) => path.join(PROJECT, `Pulumi.${stack}.yaml`));
    const originals = stackFiles.map((file) => readFileSync(file, "utf8"));

    const npm = (args: string[]) => {
        const started = Date.now();
        const run = spawnSync("npm", ["run", "--silent", ...args], {
            cwd: PROJECT,
            env,
            encoding: "utf8",
            timeout: 600_000,
        });
        return { ...run, seconds: (Date.now() - started) / 1000 };
    };
    const images = () =>
        execFileSync("docker", ["images", "--format", "{{.Repository}}:{{.Tag}}"], { encoding: "utf8" })
            .split("\n")
            .filter(Boolean);

    afterAll(() => {
        // Pass or fail, leave nothing behind.
        const destroy = npm(["destroy", "--", "--stack", "dev", "--yes"]);
        stackFiles.forEach((file, i) => writeFileSync(file, originals[i]));
        rmSync(state, { recursive: true, force: true });
        expect(destroy.stderr).toMatch(/destroy of stack dev succeeded/);
    });

    it("fails within seconds with the preflight's line, and pulls no image", () => {
        const runtimes = execFileSync("docker", ["info", "--format", "{{json .Runtimes}}"], { encoding: "utf8" });
        expect(runtimes).not.toContain('"nvidia"'); // the premise: this host has no NVIDIA runtime
        const before = images();
        const since = new Date().toISOString();

        const up = npm(["up", "--", "--stack", "dev", "--yes", "--json"]);
        const summary = JSON.parse(up.stdout);
        const line = `GPU preflight on host gpu (unix:///var/run/docker.sock): a GPU is requested but Docker has no nvidia runtime and no NVIDIA CDI spec. Fix: ${GPU_FIX}`;
        process.stderr.write(`e2e: up of dev failed after ${summary.durationSeconds}s (npm run up: ${up.seconds}s)\n`);

        expect(up.status).toBe(1);
        expect(summary).toMatchObject({ stack: "dev", operation: "up", succeeded: false, error: line });
        expect(up.stderr).toContain(`up: up of stack dev failed after ${summary.durationSeconds}s: ${line}`);
        expect(summary.durationSeconds).toBeLessThan(60);
        expect(up.stderr).not.toMatch(/RemoteImage|OllamaModel \S+ creating/);

        const pulls = execFileSync(
            "docker",
            [
                "events",
                "--since",
                since,
                "--until",
                new Date().toISOString(),
                "--filter",
                "type=image",
                "--filter",
                "event=pull",
                "--format",
                "{{.Actor.ID}}",
            ],
            { encoding: "utf8" },
        );
        expect(pulls.split("\n").filter((image) => DEV_IMAGES.includes(image))).toEqual([]);
        expect(images().filter((image) => !before.includes(image) && DEV_IMAGES.includes(image))).toEqual([]);

        // A failed check is not recorded, so the next up checks the host again.
        const recorded = execFileSync("pulumi", ["stack", "export", "--stack", "dev"], {
            cwd: PROJECT,
            env,
            encoding: "utf8",
        });
        const urns = (JSON.parse(recorded).deployment.resources ?? []).map((r: { urn: string }) => r.urn);
        expect(urns.length).toBeGreaterThan(0);
        expect(urns.filter((urn: string) => urn.includes("command:local:Command"))).toEqual([]);
    });

    it("gives the CPU stack no preflight: its preview plans the images and no command", () => {
        const preview = npm(["preview", "--", "--stack", "cpu", "--json"]);
        expect(preview.status).toBe(0);
        expect(preview.stderr).toMatch(/docker:index:RemoteImage/);
        expect(preview.stderr).not.toMatch(/command:local:Command/);
    });
});
