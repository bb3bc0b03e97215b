import * as http from "node:http";
import * as net from "node:net";
import { healthCheckProvider, waitUntilHealthy } from "../../providers/healthCheck";
import { FAKE_OLLAMA_VERSION } from "../support/fakeOllama";
import { freePort, LocalServer, sendJson, startHttpServer } from "../support/httpServer";
import { liteLLMTarget, LiteLLMTarget, ollamaTarget, OllamaTarget } from "../support/targets";

const create = (inputs: Record<string, unknown>) => healthCheckProvider.create(inputs);

/**
 * A clock that stands still while a probe runs and moves only when HealthCheck sleeps (or a server says its answer
 * took time): when each request came, in its time, is the schedule HealthCheck planned, whatever the machine's load.
 */
function virtualClock() {
    let now = 0;
    const events: { at: number; run: () => unknown }[] = [];
    const clock = {
        now: () => now,
        /** Every sleep HealthCheck asked for, in milliseconds. */
        sleeps: [] as number[],
        /** Runs `run` at `at`: during the sleep that passes it, so the probe after that sleep sees what it did. */
        at(at: number, run: () => unknown) {
            events.push({ at, run });
        },
        /** Moves the clock on, as an answer that takes `ms` to come. */
        advance(ms: number) {
            now += ms;
        },
        async sleep(ms: number) {
            clock.sleeps.push(ms);
            const until = now + ms;
            for (const event of events.filter((e) => e.at <= until).sort((a, b) => a.at - b.at)) {
                events.splice(events.indexOf(event), 1);
                now = event.at;
                await event.run();
            }
            now = until;
            await new Promise((resolve) => setImmediate(resolve));
        },
    };
    return clock;
}

/** A server that answers 503 until `isReady()`, then `readyAnswer`; `requestTimes` holds when each request came. */
async function startSlowStarter(
    readyAnswer: (res: http.ServerResponse) => void,
    isReady: () => boolean = () => false,
    now: () => number = Date.now,
) {
    const requestTimes: number[] = [];
    const server = await startHttpServer((_req, res) => {
        requestTimes.push(now());
        if (isReady()) readyAnswer(res);
        else sendJson(res, 503, { status: "starting" });
    });
    return { server, requestTimes };
}

describe("HealthCheck against the stack's probes", () => {
    let ollama: OllamaTarget;
    let liteLLM: LiteLLMTarget;
    beforeAll(async () => {
        [ollama, liteLLM] = await Promise.all([ollamaTarget(), liteLLMTarget()]);
    });
    afterAll(() => Promise.all([ollama.close(), liteLLM.close()]));

    it("reports Ollama's version from GET /api/version", async () => {
        const { outs } = await create({
            url: `${ollama.url}/api/version`,
            expectJsonField: "version",
            intervalSeconds: 0.1,
            timeoutSeconds: 5,
        });
        expect(outs.lastStatus).toBe(200);
        expect(outs.reported).toMatch(/^\d+\.\d+\.\d+/);
        if (ollama.fake) expect(outs.reported).toBe(FAKE_OLLAMA_VERSION);
    });

    it("accepts LiteLLM's GET /health/readiness", async () => {
        const { outs } = await create({
            url: `${liteLLM.url}/health/readiness`,
            expectJsonField: "status",
            intervalSeconds: 0.1,
            timeoutSeconds: 5,
        });
        expect(outs.reported).toBe("healthy");
    });
});

describe("HealthCheck waiting and failing", () => {
    const servers: LocalServer[] = [];
    afterEach(async () => {
        await Promise.all(servers.splice(0).map((server) => server.close()));
    });

    it("waits through connection refused, trying every 50 ms whatever the interval, and sees readiness at once", async () => {
        const clock = virtualClock();
        const port = await freePort();
        const requestTimes: number[] = [];
        clock.at(620, async () => {
            servers.push(
                await startHttpServer((_req, res) => {
                    requestTimes.push(clock.now());
                    res.end("all shards are ready");
                }, port),
            );
        });
        const outs = await waitUntilHealthy(
            { url: `http://127.0.0.1:${port}/readyz`, intervalSeconds: 0.25, timeoutSeconds: 10 },
            clock,
        );
        // Refused at 0, 50, ..., 600; listening from 620; its first request, the healthy one, at 650.
        expect(clock.sleeps).toEqual(Array(13).fill(50));
        expect(requestTimes).toEqual([650]);
        expect(outs.secondsToHealthy).toBe(0.7);
        expect(outs.reported).toBe("all shards are ready");
    });

    it("waits through a slow start (503) and sees readiness within one interval", async () => {
        const clock = virtualClock();
        const slow = await startSlowStarter(
            (res) => sendJson(res, 200, { status: true }),
            () => clock.now() >= 700,
            clock.now,
        );
        servers.push(slow.server);
        const outs = await waitUntilHealthy(
            { url: `${slow.server.url}/health`, expectJsonField: "status", intervalSeconds: 0.25, timeoutSeconds: 10 },
            clock,
        );
        // 50, 100, 200, then the 0.25 s interval: ready at 700, seen at 850.
        expect(slow.requestTimes).toEqual([0, 50, 150, 350, 600, 850]);
        expect(outs.reported).toBe("true");
        expect(outs.lastStatus).toBe(200);
    });

    it("sees a service that starts listening late within 50 ms, at the default interval, before sending it anything", async () => {
        const clock = virtualClock();
        const port = await freePort();
        const requestTimes: number[] = [];
        clock.at(1010, async () => {
            servers.push(
                await startHttpServer((_req, res) => {
                    requestTimes.push(clock.now());
                    sendJson(res, 200, { version: `${requestTimes.length}` });
                }, port),
            );
        });
        const outs = await waitUntilHealthy(
            { url: `http://127.0.0.1:${port}/api/version`, expectJsonField: "version" },
            clock,
        );
        // The refused connections before it listened never reached it: its first request is the healthy one.
        expect(requestTimes).toEqual([1050]);
        expect(outs.reported).toBe("1");
    });

    it("sees a service behind a proxy that accepts and drops connections until the service listens (Docker's proxy)", async () => {
        const clock = virtualClock();
        let backendUp = false;
        const backendRequests: number[] = [];
        const backend = http.createServer((_req, res) => {
            backendRequests.push(clock.now());
            sendJson(res, 200, { status: "ok" });
        });
        const proxy = net.createServer((socket) => (backendUp ? backend.emit("connection", socket) : socket.destroy()));
        await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
        servers.push({
            url: "",
            port: 0,
            close: () =>
                new Promise<void>((resolve) => {
                    backend.closeAllConnections();
                    proxy.close(() => resolve());
                }),
        });
        const { port } = proxy.address() as net.AddressInfo;
        clock.at(820, () => (backendUp = true));

        await waitUntilHealthy({ url: `http://127.0.0.1:${port}/health`, expectJsonField: "status" }, clock);
        // A cut connection counts as not listening: tried again 50 ms later, not at the 2 s interval.
        expect(new Set(clock.sleeps)).toEqual(new Set([50]));
        expect(backendRequests).toEqual([850]);
    });

    it("asks a service that answers but is not ready yet 50 ms, then 100, 200, ... apart, up to the interval", async () => {
        const clock = virtualClock();
        const requestTimes: number[] = [];
        const server = await startHttpServer((_req, res) => {
            requestTimes.push(clock.now());
            const ready = clock.now() >= 4000;
            // Each answer takes 20 ms: the waits count from the start of the probe before them, not from its answer.
            clock.advance(20);
            sendJson(res, ready ? 200 : 503, { status: ready ? "ready" : "starting" });
        });
        servers.push(server);
        const outs = await waitUntilHealthy(
            { url: `${server.url}/health`, expectJsonField: "status", intervalSeconds: 0.8 },
            clock,
        );
        // Ready at 4 s: 4 requests in the ladder's first 0.75 s, then one each 0.8 s; the healthy one at 4.75 s.
        expect(requestTimes.slice(1).map((at, i) => at - requestTimes[i])).toEqual([
            50, 100, 200, 400, 800, 800, 800, 800, 800,
        ]);
        expect(requestTimes).toEqual([0, 50, 150, 350, 750, 1550, 2350, 3150, 3950, 4750]);
        expect(outs.reported).toBe("ready");
        expect(outs.secondsToHealthy).toBe(4.8);
    });

    it("times out naming the URL, the elapsed time, the connection error and `docker logs`", async () => {
        const port = await freePort();
        const url = `http://127.0.0.1:${port}/health/readiness`;
        const inputs = { url, intervalSeconds: 0.1, timeoutSeconds: 0.5, containerName: "litellm" };
        const message = (elapsed: string) =>
            new RegExp(
                `^HealthCheck: ${url} not healthy after ${elapsed}s \\(last: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\)\\. Next: docker logs litellm$`,
            );
        // In the time HealthCheck planned: the last try at the deadline, then the error.
        await expect(waitUntilHealthy(inputs, virtualClock())).rejects.toThrow(message("0\\.5"));
        // On the system clock, through create: never sooner than the timeout, and not hung (20 times it).
        const startedAt = Date.now();
        const failure = await create(inputs).then(
            () => new Error("healthy"),
            (err: Error) => err,
        );
        expect(Date.now() - startedAt).toBeLessThan(10_000);
        expect(failure.message).toMatch(message("(\\d+\\.\\d)"));
        expect(Number(failure.message.match(message("(\\d+\\.\\d)"))![1])).toBeGreaterThanOrEqual(0.5);
    });

    it("times out naming the last status and body when the service stays unready", async () => {
        const slow = await startSlowStarter((res) => res.end());
        servers.push(slow.server);
        await expect(
            create({ url: `${slow.server.url}/readyz`, intervalSeconds: 0.1, timeoutSeconds: 0.3 }),
        ).rejects.toThrow(
            /not healthy after \d+\.\ds \(last: HTTP 503 \(expected 200\) "\{\\"status\\":\\"starting\\"\}"\)\. Next: check that the service behind .*\/readyz is running/,
        );
        // Asked at 0, 50, 150, 250 and at the deadline, 300 ms: the system clock's sleeps do wait (a timer may end
        // a little early, by what the event loop's clock lags; far from a probe after every answer).
        expect(slow.requestTimes.length).toBeLessThanOrEqual(10);
    });

    it("gives up on a probe that never answers after probeTimeoutSeconds", async () => {
        const silent = await startHttpServer(() => undefined);
        servers.push(silent);
        await expect(
            create({ url: silent.url, intervalSeconds: 0.1, timeoutSeconds: 0.4, probeTimeoutSeconds: 0.2 }),
        ).rejects.toThrow(/\(last: no answer within 0\.2s\)/);
    });

    it("requires the body substring and the JSON field when asked", async () => {
        const server = await startHttpServer((_req, res) => sendJson(res, 200, { state: "warming up" }));
        servers.push(server);
        const quick = { url: server.url, intervalSeconds: 0.1, timeoutSeconds: 0.2 };
        await expect(create({ ...quick, expectBodyContains: "all shards are ready" })).rejects.toThrow(
            /HTTP 200 but body lacks "all shards are ready"/,
        );
        await expect(create({ ...quick, expectJsonField: "version" })).rejects.toThrow(
            /HTTP 200 but JSON has no field "version"/,
        );
    });

    it("sends headers (an API key) and never prints them", async () => {
        const apiKey = "sk-very-secret-key";
        const server = await startHttpServer((req, res) =>
            req.headers["api-key"] === apiKey
                ? res.end("all shards are ready")
                : sendJson(res, 401, { status: "unauthorized" }),
        );
        servers.push(server);
        const quick = { url: `${server.url}/readyz`, intervalSeconds: 0.1, timeoutSeconds: 0.2 };
        await expect(create({ ...quick, headers: { "api-key": apiKey } })).resolves.toMatchObject({
            outs: { lastStatus: 200 },
        });

        const failure = await create({ ...quick, headers: { "api-key": "sk-wrong-key" } }).catch((err: Error) => err);
        expect(String(failure)).toMatch(/HTTP 401/);
        expect(String(failure)).not.toMatch(/sk-/);
    });

    it("probes again on update", async () => {
        let probes = 0;
        const server = await startHttpServer((_req, res) => res.end(`probe ${++probes}`));
        servers.push(server);
        const inputs = { url: server.url, intervalSeconds: 0.1, timeoutSeconds: 1, triggers: ["container-a"] };
        const { id, outs } = await create(inputs);
        const updated = await healthCheckProvider.update!(id, outs, { ...inputs, triggers: ["container-b"] });
        expect(updated.outs.reported).toBe("probe 2");
    });
});

describe("HealthCheck check and diff", () => {
    const known = { url: "http://127.0.0.1:6333/readyz", intervalSeconds: 2, timeoutSeconds: 300, triggers: ["c1"] };

    it("rejects a non-HTTP URL and non-positive durations with the property named", async () => {
        const { failures } = await healthCheckProvider.check!(
            {},
            { url: "127.0.0.1:6333", intervalSeconds: 0, expectStatus: 42 },
        );
        expect(failures!.map((failure) => failure.property).sort()).toEqual(["expectStatus", "intervalSeconds", "url"]);
        expect(failures!.find((failure) => failure.property === "url")!.reason).toContain('"127.0.0.1:6333"');
    });

    it("lets values unknown during preview through", async () => {
        const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
        expect((await healthCheckProvider.check!({}, { url: unknown, timeoutSeconds: unknown })).failures).toEqual([]);
    });

    it("checks again when a trigger (the container id) changes, and only then", async () => {
        const olds = { ...known, secondsToHealthy: 3, lastStatus: 200, reported: "ok" };
        expect(await healthCheckProvider.diff!("id", olds, { ...known })).toEqual({ changes: false });
        expect(await healthCheckProvider.diff!("id", olds, { ...known, triggers: ["c2"] })).toEqual({ changes: true });
    });
});
