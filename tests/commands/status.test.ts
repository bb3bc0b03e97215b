import { statusCommand } from "../../commands/status";
import { FAKE_OLLAMA_VERSION, FakeOllama } from "../support/fakeOllama";
import {
    FAKE_OPEN_WEBUI_VERSION,
    FAKE_QDRANT_VERSION,
    FakeRouter,
    startFakeOpenWebUI,
    startFakeQdrant,
} from "../support/fakeServices";
import { LocalServer, freePort } from "../support/httpServer";
import { StackFolder, runInProcess, runScript, testStackConfig } from "../support/operator";

describe("npm run status", () => {
    const folder = new StackFolder();
    let ollama: FakeOllama;
    let router: FakeRouter;
    let openWebUI: LocalServer;
    let qdrant: LocalServer;
    let ports: { ollama: number; router: number; openWebUI: number; qdrant: number };

    beforeAll(async () => {
        [ollama, router, openWebUI, qdrant] = await Promise.all([
            FakeOllama.start(),
            FakeRouter.start({ key: "sk-test-master-key-0123456789", groups: { fast: "http://ollama:11434" } }),
            startFakeOpenWebUI(),
            startFakeQdrant({ apiKey: "qdrant-test-key-0123456789" }),
        ]);
        ports = {
            ollama: Number(new URL(ollama.url).port),
            router: router.server.port,
            openWebUI: openWebUI.port,
            qdrant: qdrant.port,
        };
        folder.write("up", testStackConfig(ports));
    });
    afterAll(async () => {
        await Promise.all([ollama.close(), router.close(), openWebUI.close(), qdrant.close()]);
        folder.remove();
    });

    it("shows every service healthy with its latency and version, and exits 0", async () => {
        const { code, out, err } = await runInProcess(statusCommand, ["--stack", "up"], folder.env());
        expect(code).toBe(0);
        const lines = out.trim().split("\n");
        expect(lines[0]).toMatch(/^SERVICE\s+HOST\s+CONTAINER\s+HEALTH\s+LATENCY\s+VERSION\s+URL$/);
        const row = (service: string) => lines.find((line) => line.startsWith(`${service} `))!;
        expect(row("ollama")).toContain(FAKE_OLLAMA_VERSION);
        // LiteLLM 1.87.0 tells its version to no one without a key: its public readiness is {status, db}.
        expect(row("litellm")).toMatch(/ok \(200\)\s+(\d+ ms|\d+\.\d s)\s+-\s+http/);
        expect(row("open-webui")).toContain(FAKE_OPEN_WEBUI_VERSION);
        expect(row("qdrant")).toContain(FAKE_QDRANT_VERSION);
        // Latency reads "12 ms", or "1.2 s" on a machine loaded enough to get there.
        for (const line of lines.slice(1)) expect(line).toMatch(/ok \(200\)\s+(\d+ ms|\d+\.\d s)/);
        // Docker does not answer at the test's endpoint: container state is unknown, not a failure.
        expect(row("litellm")).toMatch(/box\s+\?\s+ok/);
        expect(err).toContain("container states unknown: cannot reach Docker at unix:///tmp/aigw-test-no-docker.sock");
        expect(err).toContain("all 4 services of stack up are up");
    });

    it("prints JSON for machines with --json", async () => {
        const { code, out } = await runInProcess(statusCommand, ["--stack", "up", "--json"], folder.env());
        expect(code).toBe(0);
        const report = JSON.parse(out);
        expect(report.up).toBe(true);
        expect(report.services.map((s: { service: string }) => s.service)).toEqual([
            "ollama",
            "litellm",
            "qdrant",
            "open-webui",
        ]);
        expect(report.services[1]).toMatchObject({
            kind: "router",
            url: router.url,
            up: true,
            health: { healthy: true, status: 200 },
        });
        expect(report.services[1].container).toBeUndefined();
    });

    it("exits 1 and names the service that is down, and why", async () => {
        const deadPort = await freePort();
        folder.write("qdrant-down", testStackConfig({ ...ports, qdrant: deadPort }));
        const { code, out, err } = await runInProcess(statusCommand, ["--stack", "qdrant-down"], folder.env());
        expect(code).toBe(1);
        expect(out).toMatch(
            new RegExp(`qdrant\\s+box\\s+\\?\\s+DOWN: connection refused\\s+-\\s+-\\s+http://127.0.0.1:${deadPort}`),
        );
        expect(err).toContain("status: down: qdrant");
    });

    it("counts a router that answers 503 on /health/readiness as down", async () => {
        const starting = await FakeRouter.start({ key: "sk-x", groups: {}, readinessStatus: 503 });
        try {
            folder.write("starting", testStackConfig({ ...ports, router: starting.server.port }));
            const { code, out } = await runInProcess(statusCommand, ["--stack", "starting", "--json"], folder.env());
            expect(code).toBe(1);
            const litellm = JSON.parse(out).services.find((s: { service: string }) => s.service === "litellm");
            expect(litellm).toMatchObject({ up: false, health: { healthy: false, status: 503, problem: "HTTP 503" } });
        } finally {
            await starting.close();
        }
    });

    it("reports config mistakes and missing stacks in one line each, without a stack trace", async () => {
        folder.write("bad", { ...testStackConfig(ports), router: { port: 70000 } });
        const bad = await runInProcess(statusCommand, ["--stack", "bad"], folder.env());
        expect(bad.code).toBe(1);
        expect(bad.err).toBe(
            "status: Pulumi.bad.yaml is invalid:\nai-gateway:router.port: 70000 is not a port (1-65535)\n",
        );

        const missing = await runInProcess(statusCommand, ["--stack", "nope"], folder.env());
        expect(missing.code).toBe(1);
        expect(missing.err).toMatch(/^status: no stack config Pulumi.nope.yaml \(stacks here: bad, .*up\)\n$/);
    });

    it("needs --stack when the folder has several stacks, and explains its usage", async () => {
        const { code, err } = await runInProcess(statusCommand, [], folder.env());
        expect(code).toBe(2);
        expect(err).toContain("status: --stack is required (stacks here:");
        expect(err).toContain("usage: npm run status -- --stack <name>");
        const unknown = await runInProcess(statusCommand, ["--stack", "up", "--colour"], folder.env());
        expect(unknown.code).toBe(2);
        expect(unknown.err).toContain("Unknown option '--colour'");
    });

    it("runs as npm run status does, with the exit code of the verdict", async () => {
        const { code, out } = await runScript("status.ts", ["--stack", "up"], folder.env());
        expect(code).toBe(0);
        expect(out).toContain(`litellm`);
        const down = await runScript("status.ts", ["--stack", "qdrant-down"], folder.env());
        expect(down.code).toBe(1);
        expect(down.err).toContain("status: down: qdrant");
        expect(down.err).not.toMatch(/\n\s+at /);
    });
});
