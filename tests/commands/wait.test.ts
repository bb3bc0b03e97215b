import { waitCommand } from "../../commands/wait";
import { FakeOllama } from "../support/fakeOllama";
import { FakeRouter } from "../support/fakeServices";
import { freePort } from "../support/httpServer";
import { StackFolder, runInProcess, testStackConfig } from "../support/operator";

describe("npm run wait", () => {
    const folder = new StackFolder();
    let ollama: FakeOllama;
    beforeAll(async () => {
        ollama = await FakeOllama.start();
    });
    afterAll(async () => {
        await ollama.close();
        folder.remove();
    });

    it("blocks until a router that starts late is healthy, then exits 0", async () => {
        const routerPort = await freePort();
        folder.write("late", testStackConfig({ ollama: Number(new URL(ollama.url).port), router: routerPort }));
        let router: FakeRouter | undefined;
        let readyAt = 0;
        const starting = setTimeout(async () => {
            router = await FakeRouter.start({ key: "sk-x", groups: {} }, routerPort);
            readyAt = Date.now();
        }, 1200);
        try {
            const startedAt = Date.now();
            const { code, out } = await runInProcess(
                waitCommand,
                ["--stack", "late", "--interval", "0.2", "--timeout", "20"],
                folder.env(),
            );
            const finishedAt = Date.now();
            expect(code).toBe(0);
            expect(out).toMatch(/^ollama healthy after [01]\.\ds/m); // at once: only the process start and first probe
            expect(out).toMatch(/^litellm healthy after \d+\.\ds/m);
            expect(out).toContain("all 2 services healthy");
            expect(finishedAt - startedAt).toBeGreaterThanOrEqual(1200);
            // Measured from the moment the router really answers, so a loaded machine's slow timers do not count:
            // the wait notices it within one 0.2 s interval plus the time of one probe.
            expect(readyAt).toBeGreaterThan(0);
            expect(finishedAt - readyAt).toBeLessThan(1000);
        } finally {
            clearTimeout(starting);
            await router?.close();
        }
    });

    it("gives up at the timeout, naming what is not healthy and its last answer", async () => {
        const deadPort = await freePort();
        const starting = await FakeRouter.start({ key: "sk-x", groups: {}, readinessStatus: 503 });
        try {
            folder.write("stuck", { ...testStackConfig({ ollama: deadPort, router: starting.server.port }) });
            const startedAt = Date.now();
            const { code, out, err } = await runInProcess(
                waitCommand,
                ["--stack", "stuck", "--interval", "0.25", "--timeout", "1.5"],
                folder.env(),
            );
            const waitedMs = Date.now() - startedAt;
            expect(code).toBe(1);
            expect(waitedMs).toBeGreaterThanOrEqual(1500);
            expect(waitedMs).toBeLessThan(3000);
            expect(out).toContain(`ollama NOT healthy: http://127.0.0.1:${deadPort}/api/version: connection refused`);
            expect(out).toContain(`litellm NOT healthy: ${starting.url}/health/readiness: HTTP 503`);
            expect(err).toContain(
                "wait: timed out after 1.5s; not healthy: ollama, litellm (next: docker logs ollama)",
            );
        } finally {
            await starting.close();
        }
    });

    it("refuses a timeout that is not a number of seconds", async () => {
        folder.write("any", testStackConfig({ ollama: 1, router: 2 }));
        const { code, err } = await runInProcess(waitCommand, ["--stack", "any", "--timeout", "soon"], folder.env());
        expect(code).toBe(2);
        expect(err).toContain("wait: --timeout soon is not a number of seconds");
    });
});
