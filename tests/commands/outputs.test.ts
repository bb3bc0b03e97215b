/**
 * `npm run outputs`: its failures (nothing deployed, no CLI, every secret asked for on a pipe) in one line each, and
 * what it prints, read through the Automation API from a stand-in for the Pulumi CLI where `npm run up` installs the
 * CLI (`~/.pulumi/versions/<version>/bin/pulumi`), answering as the CLI answers `stack select` and
 * `stack output --json [--show-secrets]`. The real CLI on a live stack: the e2e suite.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { INSTALL_HINT, PULUMI_CLI_VERSION } from "../../commands/automation";
import { SECRETS_NOT_TO_A_PIPE, outputsCommand } from "../../commands/outputs";
import { PROJECT_DIR } from "../../commands/stackFile";
import { TS_NODE_SWC, runInProcess, runScript } from "../support/operator";

const MASTER_KEY = "sk-outputs-test-0123456789abcdef";
const PASSWORD = "Adm1n-outputs-test-pw";
const ROUTER_CONFIG = "model_list:\n  - model_name: fast\nrouter_settings:\n  routing_strategy: simple-shuffle\n";
/** The outputs of the deployed stack `cpu`, as `pulumi stack output --json --show-secrets` gives them. */
const OUTPUTS = {
    masterKey: MASTER_KEY,
    models: ["code", "fast"],
    openWebUIAdminEmail: "admin@ai-gateway.local",
    openWebUIAdminPassword: PASSWORD,
    routerConfigs: { litellm: ROUTER_CONFIG },
    urls: { openWebUI: "http://127.0.0.1:3000", router: "http://127.0.0.1:4000" },
};
const SECRETS = ["masterKey", "openWebUIAdminPassword"];

/** A node script that answers as the Pulumi CLI does for the stacks in `stacks` (name to outputs). */
function fakeCli(stacks: Record<string, Record<string, unknown>>): string {
    return `#!${process.execPath}
const args = process.argv.slice(2);
const stacks = ${JSON.stringify(stacks)};
const secrets = ${JSON.stringify(SECRETS)};
if (args[0] === "version") { console.log("v${PULUMI_CLI_VERSION}"); process.exit(0); }
const name = args[args.indexOf("--stack") + 1];
if (!(name in stacks)) { console.error("error: no stack named '" + name + "' found"); process.exit(255); }
if (args[0] === "stack" && args[1] === "output") {
    const shown = Object.fromEntries(Object.entries(stacks[name]).map(([k, v]) =>
        [k, secrets.includes(k) && !args.includes("--show-secrets") ? "[secret]" : v]));
    console.log(JSON.stringify(shown, null, 4));
}
`;
}

describe("npm run outputs", () => {
    const work = mkdtempSync(path.join(tmpdir(), "aigw-outputs-"));
    const home = path.join(work, "home");
    const state = path.join(work, "state");
    /** No pulumi on PATH (none is found before the Pulumi home's), the file backend in `state`, a passphrase. */
    const env = (extra: Record<string, string> = {}) => ({
        PATH: "/nonexistent",
        HOME: home,
        PULUMI_BACKEND_URL: `file://${state}`,
        PULUMI_CONFIG_PASSPHRASE: "outputs-test-passphrase",
        ...extra,
    });
    const cliFile = path.join(home, ".pulumi", "versions", PULUMI_CLI_VERSION, "bin", "pulumi");
    const installCli = () => {
        mkdirSync(path.dirname(cliFile), { recursive: true });
        writeFileSync(cliFile, fakeCli({ cpu: OUTPUTS, empty: {} }), { mode: 0o755 });
    };

    beforeAll(() => {
        // The state files the CLI keeps for deployed stacks: what tells a deployed stack from none without the CLI.
        mkdirSync(path.join(state, ".pulumi", "stacks", "ai-gateway"), { recursive: true });
        for (const stack of ["cpu", "empty"])
            writeFileSync(path.join(state, ".pulumi", "stacks", "ai-gateway", `${stack}.json`), "{}");
    });
    afterAll(() => rmSync(work, { recursive: true, force: true }));

    describe("without a CLI", () => {
        it("says in one line that nothing is deployed when the backend has no such stack", async () => {
            const { code, out, err } = await runInProcess(outputsCommand, ["--stack", "gpu"], env());
            expect(code).toBe(1);
            expect(out).toBe("");
            expect(err).toBe(
                `outputs: stack gpu is not deployed (no stack gpu at file://${state}): ` +
                    "deploy it with npm run up -- --stack gpu\n",
            );
            const embedded = await runInProcess(outputsCommand, ["--stack", "aigwt-never-deployed"], {
                ...env(),
                PULUMI_BACKEND_URL: undefined,
            });
            expect(embedded.err).toBe(
                "outputs: stack aigwt-never-deployed is not deployed (no stack aigwt-never-deployed in .pulumi-state/): " +
                    "deploy it with npm run up -- --stack aigwt-never-deployed\n",
            );
        });

        it("says in one line that no Pulumi CLI is there, where it looked, and how to get one", async () => {
            rmSync(cliFile, { force: true });
            const { code, out, err } = await runScript("outputs.ts", ["--stack", "cpu"], env());
            expect(code).toBe(1);
            expect(out).toBe("");
            expect(err).toBe(
                `outputs: no Pulumi CLI to read stack cpu with (none on PATH, none in ${home}/.pulumi/versions/` +
                    `${PULUMI_CLI_VERSION}, where npm run up installs it): ${INSTALL_HINT}\n`,
            );
        });

        it("refuses to print every secret to a pipe, before it reads anything", async () => {
            const { code, out, err } = await runScript("outputs.ts", ["--stack", "cpu", "--show-secrets"], env());
            expect(code).toBe(1);
            expect(out).toBe("");
            expect(err).toBe(`outputs: ${SECRETS_NOT_TO_A_PIPE}\n`);
        });

        it("takes one output at most", async () => {
            const { code, err } = await runInProcess(outputsCommand, ["--stack", "cpu", "urls", "models"], env());
            expect(code).toBe(2);
            expect(err).toMatch(/^outputs: name one output at most \(got urls, models\)\nusage: npm run outputs/);
        });
    });

    describe("with the CLI npm run up installed", () => {
        // The commands run in this process look for a CLI on this process's PATH first: none may be found there.
        const searchPath = process.env.PATH;
        beforeAll(() => {
            installCli();
            process.env.PATH = "/nonexistent";
        });
        afterAll(() => {
            process.env.PATH = searchPath;
        });

        it("lists every output on one line each, secrets as [secret], a long text as its line count", async () => {
            const { code, out, err } = await runInProcess(outputsCommand, ["--stack", "cpu"], env());
            expect(code).toBe(0);
            expect(out.trimEnd().split("\n")).toEqual([
                "OUTPUT                  VALUE",
                "masterKey               [secret]",
                "models                  code, fast",
                "openWebUIAdminEmail     admin@ai-gateway.local",
                "openWebUIAdminPassword  [secret]",
                "routerConfigs           litellm: (4 lines)",
                "urls                    openWebUI: http://127.0.0.1:3000, router: http://127.0.0.1:4000",
            ]);
            expect(err).toBe("outputs: to see one output whole: npm run outputs -- --stack cpu <output>\n");
        });

        it("shows the secrets with --show-secrets on a terminal, and as JSON to a pipe", async () => {
            const terminal = { ...env() };
            const listed = await runInProcess(
                { ...outputsCommand, run: (argv, io) => outputsCommand.run(argv, { ...io, outIsTTY: true }) },
                ["--stack", "cpu", "--show-secrets"],
                terminal,
            );
            expect(listed.code).toBe(0);
            expect(listed.out).toContain(`masterKey               ${MASTER_KEY}\n`);
            expect(listed.out).toContain(`openWebUIAdminPassword  ${PASSWORD}\n`);

            const masked = await runScript("outputs.ts", ["--stack", "cpu", "--json"], env());
            expect(JSON.parse(masked.out)).toEqual({
                ...OUTPUTS,
                masterKey: "[secret]",
                openWebUIAdminPassword: "[secret]",
            });
            const shown = await runScript("outputs.ts", ["--stack", "cpu", "--json", "--show-secrets"], env());
            expect(shown.code).toBe(0);
            expect(JSON.parse(shown.out)).toEqual(OUTPUTS);
        });

        it("prints one named output bare, so a script can take the router key from it", async () => {
            const command = [process.execPath, ...TS_NODE_SWC, path.join(PROJECT_DIR, "commands", "outputs.ts")];
            const quoted = command.map((word) => `'${word}'`).join(" ");
            const said = execFileSync(
                "/bin/bash",
                ["-c", `key=$(${quoted} --stack cpu masterKey --show-secrets) && printf '<%s>' "$key"`],
                { env: env(), encoding: "utf8" },
            );
            expect(said).toBe(`<${MASTER_KEY}>`);

            const masked = await runScript("outputs.ts", ["--stack", "cpu", "masterKey"], env());
            expect(masked).toMatchObject({ code: 0, out: "[secret]\n" });
            expect(masked.err).toBe("outputs: masterKey is a secret: add --show-secrets to see it\n");
            const config = await runInProcess(outputsCommand, ["--stack", "cpu", "routerConfigs"], env());
            expect(config.out).toBe(`litellm: |\n${ROUTER_CONFIG.replace(/^/gm, "  ").trimEnd()}\n`);
            const urls = await runInProcess(outputsCommand, ["--stack", "cpu", "urls", "--json"], env());
            expect(JSON.parse(urls.out)).toEqual(OUTPUTS.urls);
        });

        it("names the outputs there are when asked for one there is not", async () => {
            const { code, err } = await runInProcess(outputsCommand, ["--stack", "cpu", "masterkey"], env());
            expect(code).toBe(1);
            expect(err).toBe(
                "outputs: stack cpu has no output masterkey (outputs: masterKey, models, openWebUIAdminEmail, " +
                    "openWebUIAdminPassword, routerConfigs, urls)\n",
            );
        });

        it("says in one line that nothing is deployed for a stack without outputs (made by npm run secret, never deployed)", async () => {
            const { code, err } = await runInProcess(outputsCommand, ["--stack", "empty"], env());
            expect(code).toBe(1);
            expect(err).toBe(
                "outputs: stack empty is not deployed (stack empty has no outputs): " +
                    "deploy it with npm run up -- --stack empty\n",
            );
        });
    });
});
