/**
 * A fresh copy of this project, deployed from the way a new user would: `npm run <command> -- --stack <name>`
 * in its own folder, so its `.pulumi-state/`, generated `.env` and stack file are its own. node_modules is
 * linked, not copied. A test can kill a whole run (npm, the CLI, the language host and the providers) at a
 * moment it chooses, as a crash would.
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import {
    existsSync,
    mkdirSync,
    mkdtempSync,
    readFileSync,
    readdirSync,
    rmSync,
    symlinkSync,
    writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { ENV_FILE, PASSPHRASE_VAR, STATE_DIR, parseEnvFile } from "../../../commands/automation";
import { readProcessStat } from "../../../commands/processStat";
import { PROJECT_DIR } from "../../../commands/stackFile";

/** What one command printed and returned, and how long it took. */
export interface Run {
    /** Exit code (null when killed). */
    code: number | null;
    /** Standard output and standard error, interleaved as they came. */
    output: string;
    /** Standard output alone (where `--json` puts its summary). */
    stdout: string;
    /** Wall time in seconds. */
    seconds: number;
}

/** A command still running. */
export interface RunningCommand {
    /** Everything it printed so far. */
    readonly output: () => string;
    /** Resolves when it ends. */
    readonly done: Promise<Run>;
    /** Kills its whole process group at once (SIGKILL: nothing gets to clean up). */
    kill(): void;
}

/**
 * Every process below `root`, from /proc. The Automation API starts the Pulumi CLI in a process group of its
 * own, so killing the command's group alone would leave the CLI running and holding the stack's lock.
 */
function descendants(root: number): number[] {
    const children = new Map<number, number[]>();
    for (const entry of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
        const ppid = readProcessStat(entry)?.ppid; // undefined: it ended while being read
        if (ppid !== undefined) children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    }
    const found: number[] = [];
    for (let queue = [root]; queue.length > 0;) {
        const next = children.get(queue.shift()!) ?? [];
        found.push(...next);
        queue.push(...next);
    }
    return found;
}

/** Resolves once `check` holds, polling every 100 ms; rejects after `seconds` with `what`. */
export async function until(check: () => boolean | Promise<boolean>, seconds: number, what: string): Promise<void> {
    const deadline = Date.now() + seconds * 1000;
    while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`timed out after ${seconds}s waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

export class DeployFolder {
    /** The project copy. */
    readonly dir: string;
    /** Commands started and not yet ended, killed by `remove` so a failed suite leaves none running. */
    private readonly running = new Set<RunningCommand>();

    constructor(readonly stack: string) {
        this.dir = mkdtempSync(path.join(tmpdir(), "aigw-e2e-project-"));
        // The files of the working tree that git does not ignore: what a clone plus local changes holds.
        const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
            cwd: PROJECT_DIR,
            encoding: "utf8",
        })
            .split("\0")
            .filter((file) => file && existsSync(path.join(PROJECT_DIR, file)));
        for (const file of files) {
            mkdirSync(path.dirname(path.join(this.dir, file)), { recursive: true });
            writeFileSync(path.join(this.dir, file), readFileSync(path.join(PROJECT_DIR, file)));
        }
        symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(this.dir, "node_modules"));
    }

    /** The stack file's path. */
    get stackFile(): string {
        return path.join(this.dir, `Pulumi.${this.stack}.yaml`);
    }

    /**
     * Writes the `ai-gateway:` keys of `config` into the stack file. What the CLI put there is kept: the
     * secrets set by `npm run secret` and the passphrase's salt (`encryptionsalt`).
     */
    writeConfig(config: Record<string, unknown>): void {
        const existing = existsSync(this.stackFile)
            ? ((parse(readFileSync(this.stackFile, "utf8")) ?? {}) as { config?: Record<string, unknown> })
            : {};
        const secrets = Object.fromEntries(
            Object.entries(existing.config ?? {}).filter(
                ([, value]) => typeof value === "object" && value && "secure" in value,
            ),
        );
        const namespaced = Object.fromEntries(
            Object.entries(config).map(([key, value]) => [`ai-gateway:${key}`, value]),
        );
        writeFileSync(this.stackFile, stringify({ ...existing, config: { ...namespaced, ...secrets } }));
    }

    /** The environment of every command: the machine's, less any Pulumi state or passphrase of the caller's. */
    env(): NodeJS.ProcessEnv {
        const env: NodeJS.ProcessEnv = {
            ...process.env,
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        };
        for (const inherited of ["PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"])
            delete env[inherited];
        return env;
    }

    /** Starts `npm run <script> -- --stack <stack> <args>` in the copy, feeding `stdin`. */
    start(script: string, args: string[] = [], stdin = ""): RunningCommand {
        const started = Date.now();
        let output = "";
        let stdout = "";
        const child: ChildProcess = spawn("npm", ["run", "--silent", script, "--", "--stack", this.stack, ...args], {
            cwd: this.dir,
            env: this.env(),
            detached: true,
            stdio: ["pipe", "pipe", "pipe"],
        });
        const collect = (chunk: Buffer) => {
            output += chunk.toString();
            if (process.env.AIGW_E2E_VERBOSE) process.stderr.write(chunk);
        };
        child.stdout!.on("data", (chunk: Buffer) => {
            stdout += chunk.toString();
            collect(chunk);
        });
        child.stderr!.on("data", collect);
        child.stdin!.end(stdin);
        const done = new Promise<Run>((resolve, reject) => {
            child.on("error", reject);
            child.on("close", (code) => resolve({ code, output, stdout, seconds: (Date.now() - started) / 1000 }));
        });
        const command: RunningCommand = {
            output: () => output,
            done,
            kill: () => {
                // The whole tree at once, as a crash takes it: npm, the command, the CLI, its plugins.
                for (const pid of [child.pid!, ...descendants(child.pid!)]) {
                    try {
                        process.kill(pid, "SIGKILL");
                    } catch {
                        // already ended
                    }
                }
            },
        };
        this.running.add(command);
        void done.finally(() => this.running.delete(command));
        return command;
    }

    /** Runs `npm run <script>` to its end. */
    run(script: string, args: string[] = [], stdin = ""): Promise<Run> {
        return this.start(script, args, stdin).done;
    }

    /** Runs the Pulumi CLI on the copy's stack with its own backend and passphrase; resolves to its stdout. */
    pulumi(args: string[]): string {
        const passphrase = parseEnvFile(readFileSync(path.join(this.dir, ENV_FILE), "utf8"))[PASSPHRASE_VAR];
        return execFileSync("pulumi", [...args, "--stack", this.stack], {
            cwd: this.dir,
            env: {
                ...this.env(),
                PULUMI_BACKEND_URL: `file://${path.join(this.dir, STATE_DIR)}`,
                PULUMI_CONFIG_PASSPHRASE: passphrase,
            },
            encoding: "utf8",
        });
    }

    /** The stack's outputs, secrets in plain text. */
    outputs(): Record<string, unknown> {
        return JSON.parse(this.pulumi(["stack", "output", "--show-secrets", "--json"])) as Record<string, unknown>;
    }

    remove(): void {
        for (const command of this.running) command.kill();
        rmSync(this.dir, { recursive: true, force: true });
    }
}
