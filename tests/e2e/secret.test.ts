/**
 * `npm run secret` with the real Pulumi CLI: the value reaches the CLI on its standard input, so no process's
 * command line ever holds it. While the command runs, every process's `/proc/<pid>/cmdline` is read again and
 * again, as anyone on the machine can with `ps`; the CLI's own `config set` is among those seen, so the sweep
 * did look while the value was on its way.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { DeployFolder } from "./support/deployFolder";

/** The command line of every process now, arguments joined by spaces; processes that end meanwhile are skipped. */
function commandLines(): string[] {
    const lines: string[] = [];
    for (const entry of readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            lines.push(readFileSync(`/proc/${entry}/cmdline`, "latin1").split("\0").join(" ").trim());
        } catch {
            // it ended while being read
        }
    }
    return lines;
}

let folder: DeployFolder;

beforeAll(() => {
    try {
        execFileSync("pulumi", ["version"], { stdio: "ignore" });
    } catch {
        throw new Error(
            'e2e prerequisites missing: the Pulumi CLI is not on PATH (on this machine: export PATH="$(bash ../shared/engine/install.sh):$PATH")',
        );
    }
    folder = new DeployFolder("secret");
});

afterAll(() => folder?.remove());

test("npm run secret hands the value to the CLI on standard input: it is in no process's command line", async () => {
    const value = `sk-proc-${randomBytes(12).toString("hex")}`;
    const running = folder.start("secret", ["cloudApiKey"], `${value}\n`);
    let ended = false;
    void running.done.finally(() => (ended = true));

    const leaks = new Set<string>();
    const configSets = new Set<string>();
    let sweeps = 0;
    while (!ended) {
        for (const line of commandLines()) {
            if (line.includes(value)) leaks.add(line);
            if (/\bpulumi\b.*\bconfig set\b.*cloudApiKey/.test(line)) configSets.add(line);
        }
        sweeps++;
        await new Promise((resolve) => setImmediate(resolve));
    }
    const run = await running.done;

    expect({ code: run.code, output: run.output }).toEqual({
        code: 0,
        output: expect.stringContaining("ai-gateway:cloudApiKey stored encrypted in Pulumi.secret.yaml"),
    });
    // The sweep saw the CLI storing the key (so it looked at the right moment), and the value in no command line.
    expect(sweeps).toBeGreaterThan(1);
    expect(configSets.size).toBeGreaterThan(0);
    expect([...leaks]).toEqual([]);
    // Stored as given (less the one trailing newline), encrypted: not in the stack file in clear.
    expect(folder.pulumi(["config", "get", "ai-gateway:cloudApiKey"])).toBe(`${value}\n`);
    expect(readFileSync(folder.stackFile, "utf8")).not.toContain(value);
});
