/**
 * `npm run logs` against real containers on the local Docker engine (the fake services' image, its node running a
 * script that writes what an Ollama instance and a router write), and its refusals. The request lines the routers
 * really print are proven by tests/peers/requestLog.test.ts and, on a live stack, by the e2e suite.
 */
import { Readable } from "node:stream";
import { execute } from "../../commands/cli";
import { logsCommand, parseRequestLine, requestRow } from "../../commands/logs";
import { REQUEST_LOG_MARKER, RequestRecord } from "../../routing/requestLog";
import { freePort } from "../support/httpServer";
import { NO_DOCKER, StackFolder, runInProcess, testStackConfig } from "../support/operator";
import { buildFakeServicesImage, docker } from "../support/testImage";

const IMAGE = "aigw-test/fake-services-logs:1";
const LABEL = "aigw-test=logs";
/** The stack's containers: an Ollama instance of its own name, and the cloud router (no other test makes one). */
const OLLAMA = "aigwt-logs-ollama";
const ROUTER = "litellm-cloud";

/** A request line as the router's request log prints it (routing/requestLog.ts). */
const requestLine = (record: RequestRecord) => `${REQUEST_LOG_MARKER}${JSON.stringify(record)}`;
const AUTO: RequestRecord = {
    time: "2026-12-05T10:00:01.250Z",
    path: "/v1/chat/completions",
    model: "auto",
    group: "code",
    route: { route: "code", group: "code", reason: 'matched keyword "python"' },
    deployment: "code/box/aigwt-logs-ollama/qwen2.5-coder:1.5b",
    backendModel: "hosted_vllm/qwen2.5-coder:1.5b",
    apiBase: `http://${OLLAMA}:11434/v1`,
    status: 200,
    ms: 412.5,
    stream: true,
    firstTokenMs: 80,
};
const FAILED: RequestRecord = {
    time: "2026-12-05T10:00:02.000Z",
    path: "/v1/chat/completions",
    model: "nope",
    status: 400,
    ms: 12,
    stream: false,
    error: "ProxyModelNotFoundError: 400: Invalid model name passed in model=nope",
};

/** A node script for a container: writes `lines` (to stdout, or stderr when they start with `!`), `gap` ms apart. */
function script(lines: string[], gap: number, then: "stay" | "exit"): string {
    return `const lines = ${JSON.stringify(lines)};
let i = 0;
const next = () => {
    if (i === lines.length) { if (${JSON.stringify(then)} === "exit") process.exit(0); return; }
    const line = lines[i++];
    if (line.startsWith("!")) console.error(line.slice(1)); else console.log(line);
    setTimeout(next, ${gap});
};
next();
setInterval(() => undefined, 1 << 30);`;
}

/** Runs container `name` of the test image with node on `code`. */
function run(name: string, code: string): void {
    docker("rm", "-f", name);
    docker("run", "-d", "--name", name, "--label", LABEL, "--entrypoint", process.execPath, IMAGE, "-e", code);
}

function removeTestContainers(): void {
    const ours = docker("ps", "-aq", "--filter", `label=${LABEL}`).split("\n").filter(Boolean);
    if (ours.length > 0) docker("rm", "-f", ...ours);
    for (const name of [OLLAMA, ROUTER])
        if (docker("ps", "-aq", "--filter", `name=^/${name}$`).trim())
            throw new Error(
                `a container named ${name} exists that this test did not create: remove it to run this test`,
            );
}

/** Until `name`'s log has `lines` lines. */
async function logged(name: string, lines: number): Promise<void> {
    const deadline = Date.now() + 15_000;
    const count = () => {
        const both = require("node:child_process").spawnSync("docker", ["logs", name], { encoding: "utf8" });
        return `${both.stdout}${both.stderr}`.split("\n").filter(Boolean).length;
    };
    while (count() < lines) {
        if (Date.now() > deadline) throw new Error(`${name} never wrote ${lines} lines`);
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

describe("npm run logs on real containers", () => {
    const folder = new StackFolder();
    const env = () => folder.env();

    beforeAll(async () => {
        removeTestContainers();
        buildFakeServicesImage(IMAGE);
        const ports = { ollama: await freePort(), router: await freePort(), cloudRouter: await freePort() };
        folder.write("box", testStackConfig(ports, { docker: "unix:///var/run/docker.sock", ollamaName: OLLAMA }));
        folder.write(
            "none",
            testStackConfig(ports, { docker: "unix:///var/run/docker.sock", ollamaName: "aigwt-logs-none" }),
        );
        folder.write("nodocker", testStackConfig(ports, { docker: NO_DOCKER }));
        run(
            OLLAMA,
            script(["ollama: listening on [::]:11434", "!ollama: a warning", "ollama: model loaded"], 50, "stay"),
        );
        run(
            ROUTER,
            script(
                [
                    "INFO:     Uvicorn running on http://0.0.0.0:4000",
                    `!${requestLine(AUTO)}`,
                    `!${requestLine(FAILED)}`,
                ],
                50,
                "stay",
            ),
        );
        await Promise.all([logged(OLLAMA, 3), logged(ROUTER, 3)]);
    }, 120_000);

    afterAll(() => {
        removeTestContainers();
        docker("rmi", IMAGE);
        folder.remove();
    });

    it("prints the named containers' lines, stdout and stderr alike, each behind its name, in time order", async () => {
        const { code, out } = await runInProcess(logsCommand, ["--stack", "box", OLLAMA, ROUTER], env());
        expect(code).toBe(0);
        const lines = out.trim().split("\n");
        expect(lines.filter((l) => l.startsWith(`${OLLAMA} | `))).toEqual([
            `${OLLAMA} | ollama: listening on [::]:11434`,
            `${OLLAMA} | ollama: a warning`,
            `${OLLAMA} | ollama: model loaded`,
        ]);
        // The shorter name is padded to the longer, so the lines start in one column.
        expect(lines).toContain(`${ROUTER.padEnd(OLLAMA.length)} | INFO:     Uvicorn running on http://0.0.0.0:4000`);
        expect(lines).toHaveLength(6);
    });

    it("takes --tail, --since and --timestamps as docker logs does", async () => {
        const tail = await runInProcess(logsCommand, ["--stack", "box", OLLAMA, "--tail", "1"], env());
        expect(tail.out).toBe(`${OLLAMA} | ollama: model loaded\n`);
        const since = await runInProcess(logsCommand, ["--stack", "box", OLLAMA, "--since", "10m", "-t"], env());
        expect(since.out.trim().split("\n")).toHaveLength(3);
        expect(since.out).toMatch(new RegExp(`^${OLLAMA} \\| \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z ollama: listening`));
        const future = await runInProcess(logsCommand, ["--stack", "box", OLLAMA, "--since", "2099-01-01"], env());
        expect(future).toMatchObject({ code: 0, out: "" });
        const none = await runInProcess(
            logsCommand,
            ["--stack", "box", "--requests", ROUTER, "--since", "2099-01-01"],
            env(),
        );
        expect(none).toMatchObject({
            code: 0,
            out: "",
            err: "logs: no request in the routers' logs (none came, or none in the time asked for)\n",
        });
    });

    it("with --requests, shows one row per request: the group, why, the instance that answered, status, latency", async () => {
        const { code, out } = await runInProcess(logsCommand, ["--stack", "box", "--requests", ROUTER], env());
        expect(code).toBe(0);
        const [header, auto, failed] = out.trimEnd().split("\n");
        expect(header).toMatch(/^TIME \(UTC\)\s+ROUTER\s+MODEL\s+GROUP\s+INSTANCE\s+STATUS\s+LATENCY\s+WHY$/);
        expect(auto.split(/\s{2,}/)).toEqual([
            "2026-12-05 10:00:01",
            ROUTER,
            "auto",
            "code",
            `${OLLAMA} (qwen2.5-coder:1.5b)`,
            "200",
            "413 ms",
            'route code: matched keyword "python"',
        ]);
        expect(failed.split(/\s{2,}/)).toEqual([
            "2026-12-05 10:00:02",
            ROUTER,
            "nope",
            "-",
            "-",
            "400",
            "12 ms",
            FAILED.error,
        ]);
    });

    it("with --requests --json, prints each request's record with its router and instance, one JSON per line", async () => {
        const { code, out } = await runInProcess(
            logsCommand,
            ["--stack", "box", "--requests", "--json", ROUTER],
            env(),
        );
        expect(code).toBe(0);
        expect(
            out
                .trim()
                .split("\n")
                .map((line) => JSON.parse(line)),
        ).toEqual([
            { router: ROUTER, ...AUTO, instance: OLLAMA, host: "box" },
            { router: ROUTER, ...FAILED },
        ]);
    });

    it("with --follow, prints lines as they come and ends when the container stops", async () => {
        run(ROUTER, script([`!${requestLine(AUTO)}`, `!${requestLine(FAILED)}`], 2000, "exit"));
        const printed: { at: number; text: string }[] = [];
        const code = await execute(logsCommand, ["--stack", "box", "--requests", "--json", "--follow", ROUTER], {
            out: (text) => printed.push({ at: Date.now(), text }),
            err: () => undefined,
            env: env(),
            stdin: Readable.from([]),
        });
        const ended = Date.now();
        expect(code).toBe(0);
        expect(printed.map((p) => JSON.parse(p.text).model)).toEqual(["auto", "nope"]);
        // Printed as it came, not held back to the end: the first line 2 s before the container stopped.
        expect(ended - printed[0].at).toBeGreaterThan(1000);
    });

    it("refuses a service the stack does not have, and --requests on one that is no router, naming the choices", async () => {
        const unknown = await runInProcess(logsCommand, ["--stack", "box", "qdrant"], env());
        expect(unknown.code).toBe(2);
        expect(unknown.err).toMatch(
            /^logs: qdrant is not a service of the stack: aigwt-logs-ollama, litellm, litellm-cloud, /,
        );
        const notRouter = await runInProcess(logsCommand, ["--stack", "box", "--requests", OLLAMA], env());
        expect(notRouter.code).toBe(2);
        expect(notRouter.err).toMatch(
            /^logs: aigwt-logs-ollama is not a router \(--requests reads the routers\): litellm, litellm-cloud\n/,
        );
        for (const [args, message] of [
            [["--since", "yesterday"], "--since yesterday is neither a duration"],
            [["--tail", "all"], "--tail all is not a number of lines"],
            [["--json"], "--json goes with --requests"],
        ]) {
            const bad = await runInProcess(logsCommand, ["--stack", "box", ...args], env());
            expect(bad.code).toBe(2);
            expect(bad.err).toContain(`logs: ${message}`);
        }
    });

    it("says in one line that nothing is deployed when no container of the stack exists", async () => {
        const { code, out, err } = await runInProcess(logsCommand, ["--stack", "none", "aigwt-logs-none"], env());
        expect(code).toBe(1);
        expect(out).toBe("");
        expect(err).toBe(
            "logs: no container of stack none exists (aigwt-logs-none): nothing is deployed; " +
                "run npm run up -- --stack none\n",
        );
    });

    it("says in one line that Docker does not answer at the host's endpoint", async () => {
        const { code, err } = await runInProcess(logsCommand, ["--stack", "nodocker"], env());
        expect(code).toBe(1);
        expect(err).toMatch(/^logs: cannot reach Docker at unix:\/\/\/tmp\/aigw-test-no-docker\.sock: .+\n$/);
    });
});

describe("a request's row", () => {
    const row = (record: Partial<RequestRecord> & { instance?: string; host?: string }, multiHost = false) =>
        requestRow({ router: "litellm", ...AUTO, ...record }, multiHost);

    it("shows a fallback as the group asked for and the group that answered", () => {
        const cells = row({ model: "code", route: undefined, group: "fast", instance: "ollama-2" });
        expect(cells.slice(2, 5)).toEqual(["code", "code → fast", "ollama-2 (qwen2.5-coder:1.5b)"]);
        expect(cells[7]).toBe("fallback from code");
        const auto = row({ group: "fast", instance: "ollama" });
        expect(auto[3]).toBe("code → fast");
        expect(auto[7]).toBe('route code: matched keyword "python"; fallback from code');
    });

    it("names the default route, the host of the instance in a stack of several, and a path other than chat", () => {
        const cells = row(
            { route: { route: null, group: "code", reason: "no rule matched" }, instance: "ollama", host: "gpu2" },
            true,
        );
        expect(cells[4]).toBe("ollama@gpu2 (qwen2.5-coder:1.5b)");
        expect(cells[7]).toBe("default: no rule matched");
        const canary = row({
            model: "ai-gateway-audit-canary",
            route: undefined,
            group: undefined,
            deployment: undefined,
            backendModel: undefined,
            apiBase: undefined,
            path: "/anthropic/v1/messages",
            status: 403,
            ms: undefined,
            error: "ProxyException: Route not allowed",
        });
        expect(cells.length).toBe(8);
        expect(canary.slice(2)).toEqual([
            "ai-gateway-audit-canary",
            "-",
            "-",
            "403",
            "-",
            "/anthropic/v1/messages; ProxyException: Route not allowed",
        ]);
    });

    it("reads only the request log's own lines", () => {
        expect(parseRequestLine(`2026-12-05 INFO ${requestLine(AUTO)}`)).toEqual(AUTO);
        expect(parseRequestLine("ai_gateway.routing routing: auto -> code")).toBeUndefined();
        expect(parseRequestLine(`${REQUEST_LOG_MARKER}{not json`)).toBeUndefined();
        expect(parseRequestLine(`${REQUEST_LOG_MARKER}{"time":"x"}`)).toBeUndefined();
    });
});
