import * as http from "node:http";
import * as net from "node:net";
import { healthCheckProvider } from "../../providers/healthCheck";
import { FAKE_OLLAMA_VERSION } from "../support/fakeOllama";
import { freePort, LocalServer, sendJson, startHttpServer } from "../support/httpServer";
import { liteLLMTarget, LiteLLMTarget, ollamaTarget, OllamaTarget } from "../support/targets";

const create = (inputs: Record<string, unknown>) => healthCheckProvider.create(inputs);

/** A server that answers 503 until `ready()` is called, then `readyAnswer`; `requestTimes` holds when each request came. */
async function startSlowStarter(readyAnswer: (res: http.ServerResponse) => void) {
    let readyAt: number | undefined;
    const requestTimes: number[] = [];
    const server = await startHttpServer((_req, res) => {
        requestTimes.push(Date.now());
        if (readyAt === undefined) sendJson(res, 503, { status: "starting" });
        else readyAnswer(res);
    });
    return { server, requestTimes, ready: () => (readyAt = Date.now()), readyAt: () => readyAt! };
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

    it("waits through connection refused and sees readiness within one interval", async () => {
        const port = await freePort();
        const intervalSeconds = 0.25;
        const check = create({ url: `http://127.0.0.1:${port}/readyz`, intervalSeconds, timeoutSeconds: 10 });
        await new Promise((resolve) => setTimeout(resolve, 600));
        servers.push(await startHttpServer((_req, res) => res.end("all shards are ready"), port));
        const listeningAt = Date.now();

        const { outs } = await check;
        const detectionLatencySeconds = (Date.now() - listeningAt) / 1000;
        expect(detectionLatencySeconds).toBeLessThanOrEqual(intervalSeconds + 0.1);
        expect(outs.secondsToHealthy).toBeGreaterThanOrEqual(0.6);
        expect(outs.reported).toBe("all shards are ready");
    });

    it("waits through a slow start (503) and sees readiness within one interval", async () => {
        const slow = await startSlowStarter((res) => sendJson(res, 200, { status: true }));
        servers.push(slow.server);
        const intervalSeconds = 0.25;
        const check = create({
            url: `${slow.server.url}/health`,
            expectJsonField: "status",
            intervalSeconds,
            timeoutSeconds: 10,
        });
        setTimeout(slow.ready, 700);

        const { outs } = await check;
        const detectionLatencySeconds = (Date.now() - slow.readyAt()) / 1000;
        expect(detectionLatencySeconds).toBeLessThanOrEqual(intervalSeconds + 0.1);
        expect(outs.reported).toBe("true");
        expect(outs.lastStatus).toBe(200);
    });

    it("sees a service that starts listening late within 150 ms, at the default interval, before sending it anything", async () => {
        const port = await freePort();
        const check = create({ url: `http://127.0.0.1:${port}/api/version`, expectJsonField: "version" });
        await new Promise((resolve) => setTimeout(resolve, 1000));
        let requests = 0;
        servers.push(await startHttpServer((_req, res) => sendJson(res, 200, { version: `${++requests}` }), port));
        const listeningAt = Date.now();

        const { outs } = await check;
        expect(Date.now() - listeningAt).toBeLessThanOrEqual(150);
        // The refused connections before it listened never reached it: its first request is the healthy one.
        expect(outs.reported).toBe("1");
    });

    it("sees a service behind a proxy that accepts and drops connections until the service listens (Docker's proxy)", async () => {
        let backendUp = false;
        const backend = http.createServer((_req, res) => sendJson(res, 200, { status: "ok" }));
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
        const check = create({ url: `http://127.0.0.1:${port}/health`, expectJsonField: "status" });
        await new Promise((resolve) => setTimeout(resolve, 800));
        backendUp = true;
        const upAt = Date.now();

        await check;
        expect(Date.now() - upAt).toBeLessThanOrEqual(150);
    });

    it("asks a service that answers but is not ready yet 50 ms, then 100, 200, ... apart, up to the interval", async () => {
        const slow = await startSlowStarter((res) => sendJson(res, 200, { status: "ready" }));
        servers.push(slow.server);
        const check = create({ url: `${slow.server.url}/health`, expectJsonField: "status", intervalSeconds: 0.8 });
        setTimeout(slow.ready, 4000);
        await check;

        const gaps = slow.requestTimes.slice(1).map((at, i) => at - slow.requestTimes[i]);
        const planned = gaps.map((_, i) => Math.min(50 * 2 ** i, 800));
        // Never sooner than the ladder since the first request (a late arrival makes the next gap look short, so
        // the bound is on the sum), never much later than each step.
        let scheduled = 0;
        gaps.forEach((gap, i) => {
            scheduled += planned[i];
            expect(slow.requestTimes[i + 1] - slow.requestTimes[0]).toBeGreaterThanOrEqual(scheduled - 30);
            expect(gap).toBeLessThanOrEqual(planned[i] + 150);
        });
        // 4 s of 503s: the fixed 0.8 s interval's 6 requests, plus the 4 of the ladder's first 0.75 s, plus the healthy one.
        expect(slow.requestTimes.length).toBeLessThanOrEqual(11);
        expect(Date.now() - slow.readyAt()).toBeLessThanOrEqual(800 + 150);
    });

    it("times out naming the URL, the elapsed time, the connection error and `docker logs`", async () => {
        const port = await freePort();
        const url = `http://127.0.0.1:${port}/health/readiness`;
        const startedAt = Date.now();
        await expect(
            create({ url, intervalSeconds: 0.1, timeoutSeconds: 0.5, containerName: "litellm" }),
        ).rejects.toThrow(
            new RegExp(
                `^HealthCheck: ${url} not healthy after 0\\.[5-7]s \\(last: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\)\\. Next: docker logs litellm$`,
            ),
        );
        expect(Date.now() - startedAt).toBeLessThan(1000);
    });

    it("times out naming the last status and body when the service stays unready", async () => {
        const slow = await startSlowStarter((res) => res.end());
        servers.push(slow.server);
        await expect(
            create({ url: `${slow.server.url}/readyz`, intervalSeconds: 0.1, timeoutSeconds: 0.3 }),
        ).rejects.toThrow(
            /not healthy after 0\.\d+s \(last: HTTP 503 \(expected 200\) "\{\\"status\\":\\"starting\\"\}"\)\. Next: check that the service behind .*\/readyz is running/,
        );
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
