/**
 * Runs the operator commands as an operator would, against stack files in a temporary folder: in this
 * process through `execute` (fast, output captured), or as a separate process (exit code and streams as
 * the shell sees them). The environment is isolated: a temporary HOME and a PATH without a Pulumi CLI (so no
 * CLI or passphrase of the machine leaks in) and only the variables a test gives.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { stringify } from "yaml";
import { Command, execute } from "../../commands/cli";
import { PROJECT_DIR } from "../../commands/stackFile";

/** What a command printed and returned. */
export interface CommandRun {
    /** Exit code. */
    code: number | null;
    /** Standard output. */
    out: string;
    /** Standard error. */
    err: string;
}

/** A temporary folder holding stack files, and a HOME for the commands. */
export class StackFolder {
    readonly dir = mkdtempSync(path.join(tmpdir(), "aigw-stacks-"));
    readonly home = mkdtempSync(path.join(tmpdir(), "aigw-home-"));

    /** Writes `Pulumi.<name>.yaml` with the `ai-gateway:` keys of `config`. */
    write(name: string, config: Record<string, unknown>): string {
        const namespaced = Object.fromEntries(
            Object.entries(config).map(([key, value]) => [`ai-gateway:${key}`, value]),
        );
        writeFileSync(path.join(this.dir, `Pulumi.${name}.yaml`), stringify({ config: namespaced }));
        return name;
    }

    /**
     * The environment commands get: PATH less any folder with a Pulumi CLI (a developer's, or the engine the
     * end-to-end suites add), the temporary HOME, the stack folder, and `extra`.
     */
    env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
        const searchPath = (process.env.PATH ?? "")
            .split(path.delimiter)
            .filter((dir) => !existsSync(path.join(dir, "pulumi")));
        return { PATH: searchPath.join(path.delimiter), HOME: this.home, AIGW_STACK_DIR: this.dir, ...extra };
    }

    remove(): void {
        rmSync(this.dir, { recursive: true, force: true });
        rmSync(this.home, { recursive: true, force: true });
    }
}

/** Runs a command in this process with captured output. */
export async function runInProcess(
    command: Command,
    argv: string[],
    env: NodeJS.ProcessEnv,
    stdin?: string,
): Promise<CommandRun> {
    let out = "";
    let err = "";
    const input = Object.assign(Readable.from(stdin === undefined ? [] : [stdin]), { isTTY: stdin === undefined });
    // Programs (the Pulumi CLI, docker) are found on this process's PATH: the command's stands in while it runs.
    const processPath = process.env.PATH;
    if (env.PATH !== undefined) process.env.PATH = env.PATH;
    try {
        const code = await execute(command, argv, {
            out: (text) => (out += text),
            err: (text) => (err += text),
            env,
            stdin: input,
        });
        return { code, out, err };
    } finally {
        process.env.PATH = processPath;
    }
}

/** Runs `node <args>` from the project folder, as `npm run` / `npx` would, feeding `stdin`. */
export function runNode(args: string[], env: NodeJS.ProcessEnv, stdin = ""): Promise<CommandRun> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, args, { cwd: PROJECT_DIR, env, stdio: ["pipe", "pipe", "pipe"] });
        let out = "";
        let err = "";
        child.stdout.on("data", (data) => (out += data));
        child.stderr.on("data", (data) => (err += data));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, out, err }));
        child.stdin.end(stdin);
    });
}

/** What the npm scripts run a command with, as node's arguments before the command's file: `ts-node --swc`. */
export const TS_NODE_SWC = [require.resolve("ts-node/dist/bin"), "--swc"];

/** `ts-node --swc commands/<file>.ts <args>`: what the npm scripts run. */
export function runScript(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<CommandRun> {
    return runNode([...TS_NODE_SWC, path.join(PROJECT_DIR, "commands", file), ...args], env);
}

/** Where the services of a test stack listen (ports on 127.0.0.1); absent ones are disabled. */
export interface ServicePorts {
    /** The one Ollama instance. */
    ollama: number;
    /** The local router. */
    router: number;
    /** The cloud-fallback router; absent: cloud fallback disabled. */
    cloudRouter?: number;
    /** Open WebUI; absent: disabled. */
    openWebUI?: number;
    /** Qdrant; absent: disabled. */
    qdrant?: number;
}

/** A Docker endpoint where no engine listens: commands then judge services by their HTTP answers alone. */
export const NO_DOCKER = "unix:///tmp/aigw-test-no-docker.sock";

/** A one-host stack whose services listen on `ports`, with groups `fast` and `code`. */
export function testStackConfig(
    ports: ServicePorts,
    options: { docker?: string; dataDir?: string; ollamaName?: string; image?: string } = {},
): Record<string, unknown> {
    const image = options.image;
    return {
        hosts: [
            {
                name: "box",
                docker: options.docker ?? NO_DOCKER,
                dataDir: options.dataDir ?? tmpdir(),
                ollama: [{ name: options.ollamaName ?? "ollama", port: ports.ollama, gpu: "none" }],
            },
        ],
        groups: { fast: ["llama3.2:1b"], code: ["qwen2.5-coder:1.5b"] },
        router: { port: ports.router },
        ...(ports.cloudRouter
            ? { cloud: { enabled: true, port: ports.cloudRouter }, cloudApiKey: { secure: "v1:c2VjcmV0" } }
            : {}),
        openWebUI: ports.openWebUI ? { port: ports.openWebUI } : { enabled: false },
        qdrant: ports.qdrant ? { enabled: true, port: ports.qdrant } : { enabled: false },
        ...(image ? { images: { ollama: image, litellm: image, openWebUI: image, qdrant: image, door: image } } : {}),
    };
}
