/**
 * What every operator command shares: argument parsing, choosing the stack and reading its validated
 * config, and turning mistakes into one readable line (never a stack trace) with the right exit code.
 * Commands receive their input and output through `CommandIO`, so tests run them in-process.
 */
import * as path from "node:path";
import { parseArgs, ParseArgsConfig } from "node:util";
import { ConfigError, loadStackConfig } from "../config/load";
import { PROJECT } from "../config/primitives";
import { StackConfig } from "../config/stackKeys";
import { PROJECT_DIR, listStacks, readStackFile } from "./stackFile";

/** Where a command reads and writes; the real process, or a test's capture. */
export interface CommandIO {
    /** Results: tables, JSON, streamed answers. */
    out(text: string): void;
    /** Progress, hints and problems. */
    err(text: string): void;
    /** Environment variables (keys, `AIGW_STACK`, `AIGW_STACK_DIR`, `FINAL_CHECK`, ...). */
    env: NodeJS.ProcessEnv;
    /** Standard input, for a prompt piped into `ask-code`. */
    stdin: NodeJS.ReadableStream & { isTTY?: boolean };
    /** Whether `out` goes to a terminal (not a pipe or a file): where `outputs` may show every secret. */
    outIsTTY?: boolean;
}

/** One operator command: its name as the user types it, its usage line, and what it does. */
export interface Command {
    /** Name shown before every message, e.g. `status`. */
    name: string;
    /** The usage line printed after an argument mistake. */
    usage: string;
    /** Runs the command; resolves to the process exit code. */
    run(argv: string[], io: CommandIO): Promise<number>;
}

/** A mistake in how the command was called: exit code 2, with the usage line. */
export class UsageError extends Error {}

/** The command ran and found a problem the user must fix: exit code 1, one message, no stack trace. */
export class CommandFailure extends Error {}

/** Options every command that reads a stack accepts. */
export const STACK_OPTIONS = {
    stack: { type: "string" },
    dir: { type: "string" },
} as const satisfies ParseArgsConfig["options"];

/** The stack options plus `--json`: a report for machines instead of the table. */
export const REPORT_OPTIONS = {
    ...STACK_OPTIONS,
    json: { type: "boolean", default: false },
} as const satisfies ParseArgsConfig["options"];

/** Parses `argv` against `options`; unknown options and missing values become a `UsageError`. */
export function parseCommandArgs<O extends NonNullable<ParseArgsConfig["options"]>>(
    argv: string[],
    options: O,
    allowPositionals = false,
) {
    try {
        return parseArgs({ args: argv, options, allowPositionals, strict: true });
    } catch (err) {
        throw new UsageError((err as Error).message);
    }
}

/** A `--<name> <seconds>` option: a positive number, or `fallback` when absent. */
export function secondsOption(value: string | undefined, fallback: number, name: string): number {
    if (value === undefined) return fallback;
    const seconds = Number(value);
    if (!Number.isFinite(seconds) || seconds <= 0)
        throw new UsageError(`--${name} ${value} is not a number of seconds`);
    return seconds;
}

/** The folder that holds the stack files: `--dir`, else `AIGW_STACK_DIR`, else this project. */
export function stackDirectory(dirOption: string | undefined, env: NodeJS.ProcessEnv): string {
    return path.resolve(dirOption ?? env.AIGW_STACK_DIR ?? PROJECT_DIR);
}

/** The stack to act on: `--stack`, else `AIGW_STACK`, else the only stack file in the folder. */
export function chooseStack(stackOption: string | undefined, dir: string, env: NodeJS.ProcessEnv): string {
    const chosen = stackOption ?? env.AIGW_STACK;
    if (chosen) return chosen;
    const stacks = listStacks(dir);
    if (stacks.length === 1) return stacks[0];
    throw new UsageError(`--stack is required (stacks here: ${stacks.join(", ") || "none"})`);
}

/** A stack's name, folder and validated config. */
export interface LoadedStack {
    /** Stack name (`Pulumi.<name>.yaml`). */
    name: string;
    /** Folder of its stack file. */
    dir: string;
    /** Its validated config, defaults applied. */
    config: StackConfig;
}

/** Reads and validates the chosen stack's config; every config problem is one line of the failure. */
export function loadStack(values: { stack?: string; dir?: string }, env: NodeJS.ProcessEnv): LoadedStack {
    const dir = stackDirectory(values.dir, env);
    const name = chooseStack(values.stack, dir, env);
    try {
        const { config, secretKeys } = readStackFile(name, dir);
        return { name, dir, config: loadStackConfig(config, secretKeys) };
    } catch (err) {
        if (err instanceof ConfigError)
            throw new CommandFailure(`Pulumi.${name}.yaml is invalid:\n${err.problems.join("\n")}`);
        throw new CommandFailure((err as Error).message);
    }
}

/**
 * A stack whose services this command reaches on its Docker hosts (their published ports, their Docker API): a
 * stack on Kubernetes is refused in one line that says where to look instead.
 */
export function loadDockerStack(values: { stack?: string; dir?: string }, env: NodeJS.ProcessEnv): LoadedStack {
    const stack = loadStack(values, env);
    if (stack.config.target !== "docker")
        throw new CommandFailure(
            `stack ${stack.name} runs on Kubernetes (${PROJECT}:target), and this command checks the services of Docker ` +
                `hosts: use kubectl -n ${stack.config.kubernetes.namespace} get pods,services (docs/kubernetes.md)`,
        );
    return stack;
}

/** Runs a command, printing any failure as `<command>: <message>` and returning the exit code. */
export async function execute(command: Command, argv: string[], io: CommandIO): Promise<number> {
    try {
        return await command.run(argv, io);
    } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (err instanceof UsageError) {
            io.err(`${command.name}: ${message}\n${command.usage}\n`);
            return 2;
        }
        io.err(`${command.name}: ${message}\n`);
        // A bug rather than a user mistake: the trace is there for whoever asks for it.
        if (!(err instanceof CommandFailure) && io.env.AIGW_DEBUG && err instanceof Error) io.err(`${err.stack}\n`);
        return 1;
    }
}

/** The real process's streams and environment. */
export function processIO(): CommandIO {
    return {
        out: (text) => process.stdout.write(text),
        err: (text) => process.stderr.write(text),
        env: process.env,
        stdin: process.stdin,
        outIsTTY: process.stdout.isTTY === true,
    };
}

/** Runs `command` with the process's arguments when its file is the entry point (`ts-node commands/x.ts`). */
export function runWhenMain(module: NodeJS.Module, command: Command, argv = process.argv.slice(2)): void {
    if (require.main !== module) return;
    execute(command, argv, processIO()).then((code) => {
        process.exitCode = code;
    });
}
