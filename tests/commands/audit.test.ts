/**
 * The audit's HTTP and TCP rules against real local servers. Docker does not answer at these stacks'
 * endpoint, so the container rules fail with "cannot check"; containers.test.ts covers them on the real engine.
 */
import * as http from "node:http";
import { execFileSync } from "node:child_process";
import { EGRESS_PROBE, auditCommand, secretProblem } from "../../commands/audit";
import { FakeOllama } from "../support/fakeOllama";
import { FakeRouter, FakeRouterOptions, startFakeOpenWebUI, startFakeQdrant } from "../support/fakeServices";
import { LocalServer } from "../support/httpServer";
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

    /** Audits a stack of the shared servers and a router started with `router`. */
    async function audit(router: Partial<FakeRouterOptions>, overrides: { openWebUI?: number; key?: string } = {}) {
        const fake = await FakeRouter.start({ key: KEY, groups: GROUPS, ...router });
        closers.push(() => fake.close());
        const ports = {
            ollama: Number(new URL(ollama.url).port),
            router: fake.server.port,
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
        return { ...run, ports, rule: (name: string) => findings.filter((f) => f.rule === name) };
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
        expect(code).toBe(1);
        expect(err).toBe("audit: stack s1 fails 13 of 22 checks: bind-address, images-pinned, no-egress\n");
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
