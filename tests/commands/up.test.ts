import {
    chmodSync,
    closeSync,
    existsSync,
    mkdtempSync,
    openSync,
    readFileSync,
    readSync,
    readdirSync,
    rmSync,
    statSync,
    writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import {
    ENV_FILE,
    INSTALL_HINT,
    PULUMI_CLI_VERSION,
    chooseBackend,
    needsPassphrase,
    parseEnvFile,
    prepareBackend,
    stackPassphrase,
    workspaceEnv,
} from "../../commands/automation";
import { UsageError } from "../../commands/cli";
import { engineVersion } from "../../commands/docker";
import { judgeEngine } from "../../commands/dockerVersion";
import { PROJECT_DIR } from "../../commands/stackFile";
import { firstErrorLine, operationCommand, parseOperation, stepTimer } from "../../commands/up";
import { StackFolder, runInProcess, runScript } from "../support/operator";

describe("up / preview / destroy / refresh: arguments", () => {
    it("takes the stack, --yes, --expect-no-changes and --json", () => {
        expect(parseOperation("up", ["--stack", "dev", "--yes", "--expect-no-changes", "--json"], false)).toEqual({
            operation: "up",
            stack: "dev",
            yes: true,
            expectNoChanges: true,
            json: true,
        });
        expect(parseOperation("preview", ["--stack", "cpu"], false)).toMatchObject({
            operation: "preview",
            yes: false,
        });
    });

    it("needs --yes to change anything when no terminal can confirm, or when printing JSON", () => {
        for (const operation of ["up", "destroy", "refresh"] as const)
            expect(() => parseOperation(operation, ["--stack", "dev"], false)).toThrow(
                new UsageError(`${operation} changes the deployment: pass --yes (there is no terminal to confirm on)`),
            );
        expect(() => parseOperation("up", ["--stack", "dev", "--json"], true)).toThrow(UsageError);
        expect(parseOperation("up", ["--stack", "dev"], true).yes).toBe(false);
    });

    it("refuses a missing stack and unknown options with the usage line", async () => {
        const missing = await runInProcess(operationCommand("preview"), [], { PATH: process.env.PATH });
        expect(missing.code).toBe(2);
        expect(missing.err).toBe(
            "preview: --stack is required\nusage: npm run <up|preview|destroy|refresh> -- --stack <name> [--yes] [--expect-no-changes] [--json]\n",
        );
        const unknown = await runInProcess(operationCommand("up"), ["--stack", "dev", "--force"], {
            PATH: process.env.PATH,
        });
        expect(unknown.code).toBe(2);
        expect(unknown.err).toContain("up: Unknown option '--force'");
    });

    it("reports a stack file that does not exist before looking for the CLI", async () => {
        const { code, err } = await runInProcess(operationCommand("up"), ["--stack", "nope", "--yes"], {
            PATH: process.env.PATH,
        });
        expect(code).toBe(1);
        expect(err).toMatch(/^up: no stack config Pulumi\.nope\.yaml \(stacks here: .*cpu, dev.*\)\n$/);
    });

    it("keeps the cause of a failed CLI run and drops its transcript", () => {
        const message =
            "code: 255\n stdout: Previewing update (dev):\n\n stderr: error: the stack 'dev' has changes; " +
            "no changes were expected\n\n err?: Error: Command failed";
        expect(firstErrorLine(message)).toBe("the stack 'dev' has changes; no changes were expected");
    });

    it("takes a failed command's own message, not the command line it ran", () => {
        // As the engine prints a failed @pulumi/command resource: progress lines, then the diagnostics.
        const message = [
            " +  command:local:Command gpu-gpu-preflight creating (2s) GPU preflight on host gpu: no runtime. Fix: x",
            ' +  command:local:Command gpu-gpu-preflight creating (2s) error: exit status 1: running "sh -s 2>&1 | judge":',
            ' +  command:local:Command gpu-gpu-preflight **creating failed** error: exit status 1: running "sh -s 2>&1 | judge":',
            "Diagnostics:",
            "  command:local:Command (gpu-gpu-preflight):",
            '    error: exit status 1: running "sh -s 2>&1 | judge":',
            "    GPU preflight on host gpu: no runtime. Fix: x",
            "",
        ].join("\n");
        expect(firstErrorLine(message)).toBe("GPU preflight on host gpu: no runtime. Fix: x");
    });
});

describe("the embedded backend and the passphrase", () => {
    let project: string;
    beforeEach(() => {
        project = mkdtempSync(path.join(tmpdir(), "aigw-project-"));
    });
    afterEach(() => rmSync(project, { recursive: true, force: true }));

    it("keeps state in the project's .pulumi-state/ unless PULUMI_BACKEND_URL says otherwise", () => {
        expect(chooseBackend(project, {})).toEqual({ url: `file://${project}/.pulumi-state`, embedded: true });
        expect(chooseBackend(project, { PULUMI_BACKEND_URL: "s3://bucket/state" })).toEqual({
            url: "s3://bucket/state",
            embedded: false,
        });
        const { backend } = prepareBackend(project, {}, true);
        expect(statSync(path.join(project, ".pulumi-state")).isDirectory()).toBe(true);
        expect(needsPassphrase(backend)).toBe(true);
        expect(needsPassphrase({ url: "https://api.pulumi.com", embedded: false })).toBe(false);
    });

    it("takes the passphrase from PULUMI_CONFIG_PASSPHRASE first, and writes nothing then", () => {
        expect(stackPassphrase(project, { PULUMI_CONFIG_PASSPHRASE: "from-env" }, true)).toEqual({
            value: "from-env",
            source: "environment",
        });
        expect(stackPassphrase(project, { PULUMI_CONFIG_PASSPHRASE_FILE: "/run/secrets/p" }, true)).toEqual({
            source: "passphrase file",
        });
        expect(existsSync(path.join(project, ENV_FILE))).toBe(false);
    });

    it("generates one into a 0600 .env on first use and reads the same one afterwards", () => {
        expect(stackPassphrase(project, {}, false)).toBeUndefined();
        const first = stackPassphrase(project, {}, true)!;
        expect(first.source).toBe("generated into .env");
        expect(first.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
        const file = path.join(project, ENV_FILE);
        expect(statSync(file).mode & 0o777).toBe(0o600);
        expect(parseEnvFile(readFileSync(file, "utf8"))).toEqual({ PULUMI_CONFIG_PASSPHRASE: first.value });
        expect(stackPassphrase(project, {}, true)).toEqual({ value: first.value, source: ".env" });
    });

    it("never writes the passphrase into a .env that others can read, even one they hold open", () => {
        const file = path.join(project, ENV_FILE);
        writeFileSync(file, "AIGW_MASTER_KEY=sk-abc\n", { mode: 0o644 });
        chmodSync(file, 0o644);
        // Another user opens the readable file before the passphrase is added; chmod does not close that.
        const reader = openSync(file, "r");
        try {
            const generated = stackPassphrase(project, {}, true)!;
            const seen = Buffer.alloc(4096);
            const length = readSync(reader, seen, 0, seen.length, 0);
            expect(seen.subarray(0, length).toString("utf8")).not.toContain(generated.value);
            expect(readFileSync(file, "utf8")).toContain(generated.value);
            expect(statSync(file).mode & 0o777).toBe(0o600);
            expect(readdirSync(project).filter((name) => name.startsWith(`${ENV_FILE}.`))).toEqual([]);
        } finally {
            closeSync(reader);
        }
    });

    it("adds the passphrase to an existing .env without losing its lines, and tightens a readable one", () => {
        const file = path.join(project, ENV_FILE);
        writeFileSync(file, "AIGW_MASTER_KEY=sk-abc", { mode: 0o644 });
        const generated = stackPassphrase(project, {}, true)!;
        const values = parseEnvFile(readFileSync(file, "utf8"));
        expect(values).toEqual({ AIGW_MASTER_KEY: "sk-abc", PULUMI_CONFIG_PASSPHRASE: generated.value });
        expect(statSync(file).mode & 0o777).toBe(0o600);

        writeFileSync(file, "export PULUMI_CONFIG_PASSPHRASE='kept secret'\n", { mode: 0o644 });
        require("node:fs").chmodSync(file, 0o644);
        expect(stackPassphrase(project, {}, true)).toEqual({ value: "kept secret", source: ".env" });
        expect(statSync(file).mode & 0o777).toBe(0o600);
    });
});

describe("the CLI's environment", () => {
    const backend = { url: "file:///srv/state", embedded: false };

    it("names the backend and the passphrase, and leaves the program's type check to npm test", () => {
        expect(workspaceEnv({ backend, passphrase: { value: "p", source: ".env" } }, {})).toEqual({
            PULUMI_BACKEND_URL: "file:///srv/state",
            PULUMI_CONFIG_PASSPHRASE: "p",
            PULUMI_NODEJS_TRANSPILE_ONLY: "true",
        });
    });

    it("keeps the operator's own PULUMI_NODEJS_TRANSPILE_ONLY", () => {
        expect(workspaceEnv({ backend }, { PULUMI_NODEJS_TRANSPILE_ONLY: "false" })).toEqual({
            PULUMI_BACKEND_URL: "file:///srv/state",
        });
    });
});

describe("the Pulumi CLI", () => {
    it("is pinned to the version of the Pulumi SDK the project uses", () => {
        expect(PULUMI_CLI_VERSION).toBe(require("@pulumi/pulumi/package.json").version);
    });

    it("when missing and not downloadable, fails with the one line that says how to install it", async () => {
        const folder = new StackFolder();
        const envFileExisted = existsSync(path.join(PROJECT_DIR, ENV_FILE));
        try {
            // No pulumi on PATH (this machine has none) and an empty Pulumi home: up must try to install.
            const { code, err } = await runScript("up.ts", ["preview", "--stack", "cpu"], folder.env());
            expect(code).toBe(1);
            const lines = err.trim().split("\n");
            // The cpu stack's host (laptop) is this machine's engine, judged first, as doctor judges it.
            const engine = judgeEngine(await engineVersion("unix:///var/run/docker.sock"), "laptop");
            expect(lines).toEqual([
                ...(engine.verdict === "warn" ? [`preview: warning: ${engine.detail}`] : []),
                `preview: the Pulumi CLI is missing: installing ${PULUMI_CLI_VERSION} into ${folder.home}/.pulumi/versions/${PULUMI_CLI_VERSION}`,
                expect.stringMatching(/^preview: the Pulumi CLI is not installed and could not be downloaded \(.+\): /),
            ]);
            expect(lines.at(-1)!.endsWith(INSTALL_HINT)).toBe(true);
            // Nothing was set up for a deployment that could not start.
            expect(existsSync(path.join(PROJECT_DIR, ENV_FILE))).toBe(envFileExisted);
        } finally {
            folder.remove();
        }
    });

    it("names the operation when the script is called without one", async () => {
        const { code, err } = await runScript("up.ts", ["--stack", "cpu"], { PATH: process.env.PATH });
        expect(code).toBe(2);
        expect(err).toContain("up: the operation must be one of up, preview, destroy, refresh");
    });
});

describe("up: step timings", () => {
    const urn = (type: string, name: string) =>
        `urn:pulumi:e2e::ai-gateway::aigateway:host:GatewayHost$${type}::${name}`;
    const step = (op: string, type: string, name: string) => ({ op, type, urn: urn(type, name) }) as never;

    it("times each step from its start to its outputs or failure, leaving out the unchanged ones", () => {
        let clock = 1000;
        const timer = stepTimer(() => clock);
        clock = 2000;
        const image = step("create", "docker:index/remoteImage:RemoteImage", "e2e-litellm-image");
        const pull = step("create", "pulumi-nodejs:dynamic:Resource", "ollama-tiny-a");
        const network = step("same", "docker:index/network:Network", "e2e-network");
        timer.onEvent({ sequence: 1, timestamp: 0, resourcePreEvent: { metadata: image } });
        timer.onEvent({ sequence: 2, timestamp: 0, resourcePreEvent: { metadata: pull } });
        timer.onEvent({ sequence: 3, timestamp: 0, resourcePreEvent: { metadata: network } });
        clock = 3500;
        timer.onEvent({ sequence: 4, timestamp: 1, resOutputsEvent: { metadata: network } });
        timer.onEvent({ sequence: 5, timestamp: 1, resOpFailedEvent: { metadata: pull, status: 0, steps: 0 } });
        clock = 14_340;
        timer.onEvent({ sequence: 6, timestamp: 12, resOutputsEvent: { metadata: image } });
        expect(timer.steps).toEqual([
            {
                name: "ollama-tiny-a",
                type: "pulumi-nodejs:dynamic:Resource",
                op: "create",
                seconds: 1.5,
                startedAt: 1,
                endedAt: 2.5,
            },
            {
                name: "e2e-litellm-image",
                type: "docker:index/remoteImage:RemoteImage",
                op: "create",
                seconds: 12.3,
                startedAt: 1,
                endedAt: 13.3,
            },
        ]);
    });
});
