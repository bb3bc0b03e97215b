/**
 * The audit's HTTP and TCP rules against real local servers. Docker does not answer at these stacks'
 * endpoint, so the container rules fail with "cannot check"; containers.test.ts covers them on the real engine.
 */
import * as http from "node:http";
import { execFileSync } from "node:child_process";
import { CANARY_KEY, CANARY_ROUTES } from "../../commands/auditRouters";
import { EGRESS_PROBE } from "../../commands/auditNetwork";
import { auditCommand } from "../../commands/audit";
import { auditedContainers, cloudKeyFindings, secretProblem } from "../../commands/auditContainers";
import { ContainerFacts } from "../../commands/docker";
import { validateStackConfig } from "../../config/load";
import { ROUTER_ALLOWED_ROUTES } from "../../model/litellm";
import { FakeOllama } from "../support/fakeOllama";
import { FakeRouter, FakeRouterOptions, startFakeOpenWebUI, startFakeQdrant } from "../support/fakeServices";
import { LocalServer, freePort, startHttpServer } from "../support/httpServer";
import { StackFolder, runInProcess, testStackConfig } from "../support/operator";

const KEY = "sk-audit-test-key-0123456789abcdef";
const GROUPS = { fast: "http://ollama:11434/v1", code: "http://ollama:11434/v1" };

type Finding = { rule: string; subject: string; verdict: string; detail: string };

describe("npm run audit", () => {
    const folder = new StackFolder();
    const closers: (() => Promise<void>)[] = [];
    let ollama: FakeOllama;
    let openWebUI: LocalServer;
    let qdrant: LocalServer;

    beforeAll(async () => {
        [ollama, openWebUI, qdrant] = await Promise.all([
            FakeOllama.start(),
            startFakeOpenWebUI(),
            startFakeQdrant({ apiKey: "qdrant-key-0123456789abc" }),
        ]);
    });
    afterAll(async () => {
        await Promise.all([ollama.close(), openWebUI.close(), qdrant.close(), ...closers.map((close) => close())]);
        folder.remove();
    });

    /**
     * Audits a stack of the shared servers and a router started with `router`, by default as the stack renders it
     * (the allowed routes only); `overrides.router` puts something else on the router's port.
     */
    async function audit(
        router: Partial<FakeRouterOptions>,
        overrides: { openWebUI?: number; key?: string; router?: number } = {},
    ) {
        const fake = await FakeRouter.start({
            key: KEY,
            groups: GROUPS,
            allowedRoutes: ROUTER_ALLOWED_ROUTES,
            ...router,
        });
        closers.push(() => fake.close());
        const ports = {
            ollama: Number(new URL(ollama.url).port),
            router: overrides.router ?? fake.server.port,
            openWebUI: overrides.openWebUI ?? openWebUI.port,
            qdrant: qdrant.port,
        };
        const stack = folder.write(`s${closers.length}`, testStackConfig(ports));
        const run = await runInProcess(
            auditCommand,
            ["--stack", stack, "--json", "--probe-addresses", "127.0.0.2"],
            folder.env({ AIGW_MASTER_KEY: overrides.key ?? KEY }),
        );
        const findings: Finding[] = JSON.parse(run.out).findings;
        return { ...run, ports, fake, findings, rule: (name: string) => findings.filter((f) => f.rule === name) };
    }

    it("passes the HTTP rules on a well-kept stack: keys required, Ollama on loopback only, no cloud model", async () => {
        const { code, err, ports, rule } = await audit({});
        expect(rule("auth").map((f) => [f.subject, f.verdict, f.detail])).toEqual([
            ["litellm", "pass", "GET /v1/models without a key answered 401"],
            ["litellm", "pass", "GET /v1/models with a wrong key answered 400 (No connected db.)"],
            ["qdrant", "pass", "GET /collections without a key answered 401"],
            ["qdrant", "pass", "GET /collections with a wrong key answered 401"],
            ["open-webui", "pass", "GET /api/models without a session answered 401"],
        ]);
        expect(rule("ollama-not-beyond")).toEqual([
            {
                rule: "ollama-not-beyond",
                subject: "ollama",
                verdict: "pass",
                detail: `port ${ports.ollama} not reachable on 127.0.0.2`,
            },
        ]);
        expect(rule("local-only-router")[0]).toMatchObject({
            verdict: "pass",
            detail: "serves fast, code, all local groups on the stack's Ollama instances",
        });
        expect(rule("secrets")).toEqual([
            { rule: "secrets", subject: "masterKey", verdict: "pass", detail: "set, not a default" },
        ]);
        // What only Docker can tell fails rather than passing unseen.
        expect(rule("bind-address")[0]).toMatchObject({
            verdict: "fail",
            detail: expect.stringMatching(/^cannot check: cannot reach Docker at unix:\/\/\/tmp\//),
        });
        expect(rule("images-pinned")[0]).toMatchObject({ verdict: "fail" });
        // The services without a route out, each: Docker alone can show their networks.
        expect(rule("no-egress").map((f) => [f.subject, f.verdict])).toEqual([
            ["litellm", "fail"],
            ["qdrant", "fail"],
            ["open-webui", "fail"],
        ]);
        expect(rule("no-egress")[0].detail).toMatch(/^cannot check: cannot reach Docker/);
        expect(rule("routes")).toEqual([
            {
                rule: "routes",
                subject: "litellm",
                verdict: "pass",
                detail: "refuses every canary: /anthropic/..., /vertex_ai/..., /cohere/..., /mistral/..., /assemblyai/..., /v1/vector_stores",
            },
        ]);
        expect(code).toBe(1);
        expect(err).toBe("audit: stack s1 fails 13 of 23 checks: bind-address, images-pinned, no-egress\n");
    });

    it("fails a router that serves LiteLLM's provider pass-through routes, without handing it a key", async () => {
        // LiteLLM without allowed_routes: the canary gets as far as the key check, which refuses it.
        const { rule, fake } = await audit({ allowedRoutes: undefined });
        const [finding] = rule("routes");
        expect(finding.verdict).toBe("fail");
        for (const route of CANARY_ROUTES)
            expect(finding.detail).toContain(
                `POST ${route} answered 400 (No connected db.): the route is served, only the key was refused`,
            );
        expect(finding.detail).toMatch(/^provider pass-through routes not refused: POST \/anthropic\/v1\/messages /);
        // The canary never carries the master key, which a pass-through would forward to the provider.
        expect(CANARY_KEY).not.toBe(KEY);
        expect(fake.chats).toEqual([]);
    });

    it("fails only its own rules when the router's port answers 200 with a page that is not LiteLLM's", async () => {
        const page = await startHttpServer((_req, res) =>
            res.writeHead(200, { "content-type": "text/html" }).end("<html>Welcome to nginx!</html>"),
        );
        closers.push(() => page.close());
        const { code, rule, findings } = await audit({}, { router: page.port });
        expect(code).toBe(1);
        expect(rule("routes")[0]).toMatchObject({
            verdict: "fail",
            detail: expect.stringContaining(
                "POST /anthropic/v1/messages answered 200 (<html>Welcome to nginx!</html>)",
            ),
        });
        expect(rule("local-only-router")[0]).toMatchObject({
            verdict: "fail",
            detail: "cannot read its model list: GET /v1/models answered something that is not the JSON expected: <html>Welcome to nginx!</html>",
        });
        // The audit went on: every other rule still has its verdict.
        expect(rule("no-cloud-models")[0]).toMatchObject({ verdict: "pass" });
        expect(rule("auth").find((f) => f.subject === "qdrant")).toMatchObject({ verdict: "pass" });
        expect(findings).toHaveLength(23);
    });

    it("fails the routes rule of a router that does not answer", async () => {
        const { rule } = await audit({}, { router: await freePort() });
        expect(rule("routes")[0]).toMatchObject({
            verdict: "fail",
            detail: expect.stringContaining("POST /cohere/v2/chat cannot check: connection refused"),
        });
    });

    it("fails no-cloud-models for an Ollama whose model list is not JSON, and goes on", async () => {
        const notOllama = await startHttpServer((req, res) =>
            req.url === "/api/tags"
                ? res.writeHead(200, { "content-type": "text/plain" }).end("Ollama is running")
                : res.writeHead(404).end(),
        );
        closers.push(() => notOllama.close());
        const stack = folder.write(
            "tags",
            testStackConfig({
                ollama: notOllama.port,
                router: await freePort(),
                openWebUI: openWebUI.port,
                qdrant: qdrant.port,
            }),
        );
        const run = await runInProcess(
            auditCommand,
            ["--stack", stack, "--json", "--probe-addresses", "127.0.0.2"],
            folder.env({ AIGW_MASTER_KEY: KEY }),
        );
        const findings: Finding[] = JSON.parse(run.out).findings;
        expect(findings.find((f) => f.rule === "no-cloud-models")).toMatchObject({
            verdict: "fail",
            detail: "cannot read its models: GET /api/tags answered something that is not the JSON expected: Ollama is running",
        });
    });

    it("fails a local router whose model list holds a cloud model, or a group backed by one", async () => {
        const listed = await audit({ foreignModels: { cloud: "openai/gpt-5" } });
        expect(listed.rule("local-only-router")[0]).toMatchObject({
            verdict: "fail",
            detail: "serves models that are not local groups: cloud",
        });
        // A group of ours whose deployment is an Ollama cloud tag: Ollama would send its prompts to ollama.com.
        const cloudTag = await audit({ foreignModels: { fast: "hosted_vllm/gpt-oss:120b-cloud" } });
        expect(cloudTag.rule("local-only-router")[0]).toMatchObject({
            verdict: "fail",
            detail: "deployments that may leave the host: fast: hosted_vllm/gpt-oss:120b-cloud is an Ollama cloud model (Ollama runs it on ollama.com)",
        });
        const hidden = await audit({ foreignModels: { fast: "openai/gpt-5" } });
        expect(hidden.rule("local-only-router")[0]).toMatchObject({
            verdict: "fail",
            detail: "deployments that may leave the host: fast: openai/gpt-5 is not served by Ollama",
        });
    });

    it("fails an Open WebUI that answers without a session, and a default router key", async () => {
        const open = await startFakeOpenWebUI({ authDisabled: true });
        closers.push(() => open.close());
        const { code, rule } = await audit({ key: "sk-1234" }, { openWebUI: open.port, key: "sk-1234" });
        expect(code).toBe(1);
        expect(rule("auth").find((f) => f.subject === "open-webui")).toMatchObject({
            verdict: "fail",
            detail: "GET /api/models without a session answered 200",
        });
        expect(rule("secrets")[0]).toMatchObject({ verdict: "fail", detail: "the router key is a well-known default" });
    });

    it("fails an Ollama that also answers on another address of this machine", async () => {
        const port = Number(new URL(ollama.url).port);
        const beyond = http.createServer((_req, res) => res.end("Ollama is running"));
        await new Promise<void>((resolve) => beyond.listen(port, "127.0.0.2", resolve));
        try {
            const { rule } = await audit({});
            expect(rule("ollama-not-beyond")[0]).toMatchObject({
                verdict: "fail",
                detail: `port ${port} answers on 127.0.0.2`,
            });
        } finally {
            await new Promise((resolve) => beyond.close(resolve));
        }
    });

    it("runs an egress probe that says whether one connection got through, in the Python the images have", async () => {
        const listener = http.createServer((_req, res) => res.end());
        await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
        const port = (listener.address() as { port: number }).port;
        const probe = (target: number) =>
            execFileSync("python3", ["-c", EGRESS_PROBE, "127.0.0.1", String(target)], { encoding: "utf8" }).trim();
        try {
            expect(probe(port)).toBe("connected");
        } finally {
            await new Promise((resolve) => listener.close(resolve));
        }
        expect(probe(port)).toMatch(/^blocked: \[Errno 111\] Connection refused$/);
    });

    it("judges secrets: empty, well-known and short ones fail", () => {
        expect(secretProblem("")).toBe("is empty");
        expect(secretProblem(undefined)).toBe("is empty");
        expect(secretProblem("t0p-s3cr3t")).toBe("is a well-known default");
        expect(secretProblem("sk-abc")).toBe("is only 6 characters long");
        expect(secretProblem(KEY)).toBeUndefined();
    });

    it("needs the router key, and refuses probe addresses that are not IPs", async () => {
        const stack = folder.write("nokey", testStackConfig({ ollama: 1, router: 2 }));
        const noKey = await runInProcess(auditCommand, ["--stack", stack], folder.env());
        expect(noKey.code).toBe(1);
        expect(noKey.err).toMatch(/^audit: no masterKey for stack nokey: set AIGW_MASTER_KEY .*\n$/);
        const bad = await runInProcess(
            auditCommand,
            ["--stack", stack, "--probe-addresses", "localhost"],
            folder.env({ AIGW_MASTER_KEY: KEY }),
        );
        expect(bad.code).toBe(2);
        expect(bad.err).toContain("audit: --probe-addresses: localhost is not an IP address");
    });
});

describe("the cloud-key rule", () => {
    const CLOUD_KEY = "sk-cloud-0123456789abcdef";
    const config = validateStackConfig({
        ...testStackConfig({ ollama: 11434, router: 4000, openWebUI: 3000 }),
        router: { port: 4000, replicas: 2 },
        cloud: { enabled: true, port: 4010 },
        cloudApiKey: CLOUD_KEY,
    });
    const audited = auditedContainers(config);
    /** The containers as docker inspect shows them, each with its environment. */
    const deployed = (env: Record<string, string[]>) => ({
        found: new Map(
            audited.map((c) => [
                c.containerName,
                { name: c.containerName, env: env[c.containerName] ?? [] } as ContainerFacts,
            ]),
        ),
        unreachable: new Map(),
    });

    it("passes when only the cloud router holds the key", () => {
        const findings = cloudKeyFindings(
            config,
            audited,
            deployed({ "litellm-cloud": [`CLOUD_API_KEY=${CLOUD_KEY}`] }),
        );
        expect(findings.map((f) => [f.subject, f.verdict])).toEqual(audited.map((c) => [c.containerName, "pass"]));
        expect(findings.find((f) => f.subject === "litellm-cloud")!.detail).toBe(
            "holds the cloud key (CLOUD_API_KEY): the only container that may",
        );
    });

    it("fails another container holding the key's value under another name, and a cloud router without it", () => {
        const leaked = cloudKeyFindings(
            config,
            audited,
            deployed({ "litellm-cloud": [`CLOUD_API_KEY=${CLOUD_KEY}`], "litellm-2": [`OPENAI_API_KEY=${CLOUD_KEY}`] }),
        );
        expect(leaked.filter((f) => f.verdict === "fail")).toEqual([
            {
                rule: "cloud-key",
                subject: "litellm-2",
                verdict: "fail",
                detail: "holds the cloud key in OPENAI_API_KEY: only litellm-cloud may",
            },
        ]);
        expect(JSON.stringify(leaked)).not.toContain(CLOUD_KEY);

        const missing = cloudKeyFindings(config, audited, deployed({ "litellm-cloud": ["CLOUD_API_KEY="] }));
        expect(missing.find((f) => f.subject === "litellm-cloud")).toMatchObject({
            verdict: "fail",
            detail: "cloud is enabled, but CLOUD_API_KEY is empty or missing",
        });
    });
});
