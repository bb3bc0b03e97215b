/** doctor against this machine: the real Docker engine, real ports, the real disk, no Pulumi CLI. */
import { execFileSync } from "node:child_process";
import { doctorCommand } from "../../commands/doctor";
import { judgeEngine } from "../../commands/dockerVersion";
import { GPU_FIX } from "../../targets/docker/gpu";
import { LocalServer, freePort, startHttpServer } from "../support/httpServer";
import { NO_DOCKER, StackFolder, runInProcess, testStackConfig } from "../support/operator";

type Finding = { rule: string; subject: string; verdict: string; detail: string };

describe("npm run doctor", () => {
    const folder = new StackFolder();
    let busy: LocalServer;
    beforeAll(async () => {
        busy = await startHttpServer((_req, res) => res.end("someone else"));
    });
    afterAll(async () => {
        await busy.close();
        folder.remove();
    });

    async function doctor(config: Record<string, unknown>) {
        const stack = folder.write(`d${Math.random().toString(36).slice(2, 8)}`, config);
        const run = await runInProcess(doctorCommand, ["--stack", stack, "--json"], folder.env());
        const findings: Finding[] = JSON.parse(run.out).findings;
        return { ...run, rule: (name: string) => findings.filter((f) => f.rule === name) };
    }
    const cpuStack = async (overrides: Record<string, unknown> = {}) => ({
        ...testStackConfig(
            { ollama: await freePort(), router: await freePort(), openWebUI: await freePort() },
            { docker: "unix:///var/run/docker.sock", dataDir: folder.dir },
        ),
        ...overrides,
    });

    it("passes a CPU stack on this machine: Docker answers, ports free, disk enough; warns that Pulumi is missing", async () => {
        const { code, err, rule } = await doctor(await cpuStack());
        expect(rule("docker")[0]).toMatchObject({
            verdict: "pass",
            detail: expect.stringMatching(/^Docker \d+\.\d+\.\S+ answers at unix:\/\/\/var\/run\/docker.sock$/),
        });
        const version = execFileSync("docker", ["version", "--format", "{{.Server.Version}}"], { encoding: "utf8" });
        expect(rule("docker-version")[0]).toMatchObject(judgeEngine(version.trim(), "box"));
        expect(rule("gpu")[0]).toMatchObject({
            verdict: "pass",
            detail: 'not needed: every Ollama instance has gpu: "none"',
        });
        expect(rule("port").map((f) => f.verdict)).toEqual(["pass", "pass", "pass"]);
        expect(rule("disk")[0]).toMatchObject({
            verdict: "pass",
            detail: expect.stringMatching(/^2 model copies need about 1\.6 GB; [\d.]+ GB free$/),
        });
        expect(rule("pulumi")[0]).toMatchObject({
            verdict: "warn",
            detail: expect.stringContaining(`into ${folder.home}/.pulumi/versions/`),
        });
        expect(code).toBe(0);
        expect(err).toMatch(/^doctor: stack d\w+ passes all 8 checks\n$/);
    });

    it("checks the GPU runtime when an instance asks for a GPU, with the preflight of up, and gives the exact fix", async () => {
        const config = await cpuStack();
        (config.hosts as { ollama: { gpu: unknown }[] }[])[0].ollama[0].gpu = "all";
        const { code, rule } = await doctor(config);
        const runtimes = execFileSync("docker", ["info", "--format", "{{json .Runtimes}}"], { encoding: "utf8" });
        if (runtimes.includes('"nvidia"')) {
            expect(rule("gpu")[0]).toMatchObject({
                verdict: "pass",
                detail: expect.stringMatching(
                    /^GPU preflight on host box \(unix:\/\/\/var\/run\/docker.sock\): the nvidia runtime, /,
                ),
            });
        } else {
            expect(rule("gpu")[0]).toEqual({
                rule: "gpu",
                subject: "box",
                verdict: "fail",
                detail: `GPU preflight on host box (unix:///var/run/docker.sock): a GPU is requested but Docker has no nvidia runtime and no NVIDIA CDI spec. Fix: ${GPU_FIX}`,
            });
            expect(code).toBe(1);
        }
    });

    it("fails a port another program holds, naming the config key to change", async () => {
        const config = await cpuStack({ router: { port: busy.port } });
        const { code, rule } = await doctor(config);
        expect(code).toBe(1);
        expect(rule("port").find((f) => f.subject === `litellm ${busy.port}`)).toMatchObject({
            verdict: "fail",
            detail: `127.0.0.1:${busy.port} is in use: change ai-gateway:router.port or stop what listens there (ss -ltnp | grep :${busy.port})`,
        });
    });

    it("fails when the models will not fit under the data directory", async () => {
        const config = await cpuStack({ groups: { fast: ["huge:100000b"], code: ["qwen2.5-coder:1.5b"] } });
        const { code, rule } = await doctor(config);
        expect(code).toBe(1);
        expect(rule("disk")[0]).toMatchObject({
            verdict: "fail",
            detail: expect.stringMatching(
                new RegExp(
                    `^2 model copies need about 6500\\d\\.\\d GB, but only [\\d.]+ GB is free under ${folder.dir}: free space or move dataDir$`,
                ),
            ),
        });
    });

    it("fails when Docker does not answer, with what to do", async () => {
        const config = await cpuStack();
        (config.hosts as { docker: string; ollama: { gpu: unknown }[] }[])[0].docker = NO_DOCKER;
        (config.hosts as { ollama: { gpu: unknown }[] }[])[0].ollama[0].gpu = 1;
        const { code, rule } = await doctor(config);
        expect(code).toBe(1);
        expect(rule("docker")[0]).toMatchObject({
            verdict: "fail",
            detail: expect.stringMatching(
                /^cannot reach Docker at unix:\/\/\/tmp\/aigw-test-no-docker.sock: .*: start Docker \(sudo systemctl start docker\)$/,
            ),
        });
        expect(rule("gpu")[0]).toMatchObject({ verdict: "fail", detail: "cannot check: Docker does not answer" });
    });
});
