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
        const versionRequestsBefore = ollama.versionRequests;
        try {
            const { code, out } = await runInProcess(
                waitCommand,
                ["--stack", "late", "--interval", "0.2", "--timeout", "20"],
                folder.env(),
            );
            const finishedAt = Date.now();
            expect(code).toBe(0);
            expect(out).toMatch(
                /^ollama healthy after \d+\.\ds.*\nlitellm healthy after \d+\.\ds.*\nall 2 services healthy\n$/,
            );
            // Ollama at once: its first probe was healthy, and it was not asked again while the router was down.
            expect(ollama.versionRequests - versionRequestsBefore).toBe(1);
            // It waited for the router to really answer (set before the router can answer any request), and saw it
            // at its first probe after it listened.
            expect(readyAt).toBeGreaterThan(0);
            expect(finishedAt).toBeGreaterThanOrEqual(readyAt);
            expect(router!.readinessProbes).toBe(1);
            // Not hung after it: 50 times the 0.2 s interval.
            expect(finishedAt - readyAt).toBeLessThan(10_000);
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
            // It stops only once its own clock reads the deadline (not a timer's doing): never sooner.
            expect(waitedMs).toBeGreaterThanOrEqual(1500);
            // Not hung past it: 10 times the timeout.
            expect(waitedMs).toBeLessThan(15_000);
            // One probe a round, on the 0.25 s cadence: 7 rounds in 1.5 s. Never near twice as many (a timer may fire
            // a little early, by what the event loop's clock lags), and more than the 2 s default would make (the
            // first round and the one at the deadline), which only rounds slower than 0.75 s each could prevent.
            expect(starting.readinessProbes).toBeLessThanOrEqual(2 * (1500 / 250));
            expect(starting.readinessProbes).toBeGreaterThanOrEqual(3);
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
