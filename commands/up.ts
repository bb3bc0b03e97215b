/**
 * `npm run up|preview|destroy|refresh -- --stack <name> [--yes] [--expect-no-changes] [--json]`
 *
 * Drives this project's program with the Pulumi Automation API: the stack's state in the embedded
 * backend (`.pulumi-state/`, or `PULUMI_BACKEND_URL`), its secrets under the passphrase from
 * `PULUMI_CONFIG_PASSPHRASE` or `.env` (generated on first use), the CLI installed on first use when
 * missing. The engine's output streams as it runs; the exit code says whether the operation succeeded.
 * `--expect-no-changes` turns it into a drift check; `--json` prints a summary on stdout for CI.
 */
import * as readline from "node:readline/promises";
import type { EngineEvent, OpMap, Stack } from "@pulumi/pulumi/automation";
import { prepareBackend, openStack, requirePulumiCli } from "./automation";
import { Command, CommandFailure, CommandIO, UsageError, loadStack, parseCommandArgs, runWhenMain } from "./cli";
import { DockerUnreachable, engineVersion } from "./docker";
import { judgeEngine } from "./dockerVersion";
import { clearStaleLocks, recoverInterruptedRun, restoreCutCheckpoint } from "./interrupted";
import { PROJECT_DIR } from "./stackFile";
import type { HostConfig } from "../config/stackKeys";

export const OPERATIONS = ["up", "preview", "destroy", "refresh"] as const;
export type Operation = (typeof OPERATIONS)[number];

const USAGE = `usage: npm run <${OPERATIONS.join("|")}> -- --stack <name> [--yes] [--expect-no-changes] [--json]`;

/** What `--json` prints when the operation ends. */
export interface OperationSummary {
    /** Stack name. */
    stack: string;
    /** The operation run. */
    operation: Operation;
    /** Whether it succeeded (for a drift check: whether nothing had changed). */
    succeeded: boolean;
    /** Resources by change kind (`create`, `update`, `delete`, `same`, ...). */
    changes: OpMap;
    /** Wall time in seconds. */
    durationSeconds: number;
    /** The first error line of a failure. */
    error?: string;
    /** Non-secret stack outputs after `up` (`urls`, `models`). */
    outputs?: Record<string, unknown>;
    /** Every resource step of an `up` that changed something, in the order they ended, with its times. */
    steps?: StepTiming[];
}

/** One resource step of a run: what was done to which resource, and how long the engine took over it. */
export interface StepTiming {
    /** The resource's name (the last part of its URN). */
    name: string;
    /** Its type token, e.g. `docker:index/remoteImage:RemoteImage`. */
    type: string;
    /** What was done: `create`, `update`, `replace`, `delete`, ... */
    op: string;
    /** Seconds from the step's start to its end (outputs or failure), as the events arrived. */
    seconds: number;
    /** When the step started, in seconds from the start of the run: with `endedAt`, the run's timeline. */
    startedAt: number;
    /** When it ended, in seconds from the start of the run. */
    endedAt: number;
}

/** Times the steps of a run from its engine events; steps that left a resource as it was are not kept. */
export function stepTimer(now: () => number = Date.now) {
    const runStartedAt = now();
    const started = new Map<string, number>();
    const steps: StepTiming[] = [];
    const tenths = (ms: number) => Math.round(ms / 100) / 10;
    const onEvent = (event: EngineEvent) => {
        const begun = event.resourcePreEvent?.metadata;
        if (begun) started.set(`${begun.op} ${begun.urn}`, now());
        const ended = event.resOutputsEvent?.metadata ?? event.resOpFailedEvent?.metadata;
        const at = ended && started.get(`${ended.op} ${ended.urn}`);
        if (!ended || at === undefined || ended.op === "same" || ended.op === "read") return;
        const endedAt = now();
        steps.push({
            name: ended.urn.split("::").pop()!,
            type: ended.type,
            op: ended.op,
            seconds: tenths(endedAt - at),
            startedAt: tenths(at - runStartedAt),
            endedAt: tenths(endedAt - runStartedAt),
        });
    };
    return { onEvent, steps };
}

/** The arguments of one run, checked before anything is touched. */
export interface OperationRequest {
    /** The operation. */
    operation: Operation;
    /** Stack name. */
    stack: string;
    /** Apply without asking. */
    yes: boolean;
    /** Fail when the operation would change anything (drift check). */
    expectNoChanges: boolean;
    /** Print the JSON summary on stdout (engine output goes to stderr). */
    json: boolean;
}

/** Parses and checks the arguments; `up`, `destroy` and `refresh` need `--yes` when no terminal can confirm. */
export function parseOperation(operation: Operation, argv: string[], interactive: boolean): OperationRequest {
    const { values } = parseCommandArgs(argv, {
        stack: { type: "string" },
        yes: { type: "boolean", short: "y", default: false },
        "expect-no-changes": { type: "boolean", default: false },
        json: { type: "boolean", default: false },
    });
    if (!values.stack) throw new UsageError("--stack is required");
    if (operation !== "preview" && !values.yes && (!interactive || values.json))
        throw new UsageError(`${operation} changes the deployment: pass --yes (there is no terminal to confirm on)`);
    return {
        operation,
        stack: values.stack,
        yes: values.yes,
        expectNoChanges: values["expect-no-changes"],
        json: values.json,
    };
}

/** The first `error:` line of a failed CLI run (the CLI's own stderr, or the Automation API's transcript of it). */
export function firstErrorLine(message: string): string {
    // A failed command resource's error says what it ran; its own one-line message follows in the diagnostics.
    const commandFailure = /^[ \t]*error: exit status \d+: running ".*":\n[ \t]*(\S[^\n]*)/m.exec(message);
    if (commandFailure) return commandFailure[1].trim();
    for (const line of message.split("\n")) {
        const cause = /(?:^|\s)error: (.+)$/.exec(line.trim());
        if (cause) return cause[1];
    }
    return (
        message
            .split("\n")
            .find((line) => line.trim())
            ?.trim() ?? message
    );
}

async function confirm(io: CommandIO, question: string): Promise<boolean> {
    const prompt = readline.createInterface({ input: io.stdin, output: process.stderr });
    try {
        return /^y(es)?$/i.test((await prompt.question(`${question} [y/N] `)).trim());
    } finally {
        prompt.close();
    }
}

/** Runs the operation on the opened stack, streaming the engine's output to `write`. */
async function perform(stack: Stack, request: OperationRequest, write: (text: string) => void) {
    const common = { onOutput: write, expectNoChanges: request.expectNoChanges || undefined, color: "auto" as const };
    switch (request.operation) {
        case "preview":
            return { changes: (await stack.preview(common)).changeSummary };
        case "up": {
            const timer = stepTimer();
            const result = await stack.up({ ...common, onEvent: timer.onEvent });
            const outputs = Object.fromEntries(
                Object.entries(result.outputs)
                    .filter(([, output]) => !output.secret)
                    .map(([key, output]) => [key, output.value as unknown]),
            );
            return { changes: result.summary.resourceChanges ?? {}, outputs, steps: timer.steps };
        }
        case "refresh":
            return { changes: (await stack.refresh(common)).summary.resourceChanges ?? {} };
        case "destroy":
            // Data directories outlive a destroy, and so do the protected secrets that open them.
            return {
                changes:
                    (await stack.destroy({ onOutput: write, color: "auto", excludeProtected: true })).summary
                        .resourceChanges ?? {},
            };
    }
}

/**
 * Before an up or preview: each host's Docker Engine, judged as doctor judges it. Too old fails before anything is
 * touched; a version with known holes is named with the fix, and the run goes on (Debian 12's engine is one).
 * A host whose Docker does not answer is left to the run, whose Docker provider says so for that host.
 */
async function checkEngines(hosts: HostConfig[], say: (line: string) => void): Promise<void> {
    const verdicts = await Promise.all(
        hosts.map(async (host) => {
            try {
                return judgeEngine(await engineVersion(host.docker), host.name);
            } catch (err) {
                if (err instanceof DockerUnreachable) return undefined;
                throw err;
            }
        }),
    );
    const failed = verdicts.filter((v) => v?.verdict === "fail").map((v) => v!.detail);
    if (failed.length > 0) throw new CommandFailure(failed.join("\n"));
    for (const v of verdicts) if (v?.verdict === "warn") say(`warning: ${v.detail}`);
}

/** The command of one operation; `npm run <operation>` runs it. */
export function operationCommand(name: Operation): Command {
    return {
        name,
        usage: USAGE,
        run: (argv, io) => runOperation(parseOperation(name, argv, Boolean(io.stdin.isTTY)), io),
    };
}

async function runOperation(request: OperationRequest, io: CommandIO): Promise<number> {
    const name = request.operation;
    // A config mistake is reported before the CLI is looked for or anything is created.
    const { config } = loadStack({ stack: request.stack, dir: PROJECT_DIR }, io.env);
    const say = (line: string) => io.err(`${name}: ${line}\n`);
    // The Docker hosts' engines; a cluster is checked by the run itself, before anything is created.
    const dockerHosts = config.target === "docker" ? config.hosts : [];
    if (name === "up" || name === "preview") await checkEngines(dockerHosts, say);
    const cli = await requirePulumiCli(io.env, say);
    const { backend, passphrase } = prepareBackend(PROJECT_DIR, io.env, true);
    say(`stack ${request.stack}, state in ${backend.url}${passphrase ? `, passphrase from ${passphrase.source}` : ""}`);
    clearStaleLocks(backend.url, request.stack, say);
    const checkpointRestored = restoreCutCheckpoint(backend.url, request.stack, say);
    let stack: Stack;
    try {
        stack = await openStack(
            request.stack,
            PROJECT_DIR,
            { cli, backend, passphrase },
            name === "up" || name === "preview",
        );
    } catch (err) {
        throw new CommandFailure(
            `cannot open stack ${request.stack} in ${backend.url}: ${firstErrorLine((err as Error).message)}`,
        );
    }
    const write = (text: string) => (request.json ? io.err(text) : io.out(text));

    if (name !== "preview" && !request.yes) {
        if (name === "up") await stack.preview({ onOutput: write, color: "auto" });
        const verb = {
            up: "Apply these changes to",
            destroy: "Destroy every resource of",
            refresh: "Refresh the state of",
        }[name];
        if (!(await confirm(io, `${verb} stack ${request.stack}?`))) {
            say("cancelled, nothing changed");
            return 1;
        }
    }

    const startedAt = Date.now();
    if (name === "up" || name === "destroy")
        await recoverInterruptedRun(stack, dockerHosts, say, write, checkpointRestored);
    const summary: OperationSummary = {
        stack: request.stack,
        operation: name,
        succeeded: false,
        changes: {},
        durationSeconds: 0,
    };
    try {
        Object.assign(summary, await perform(stack, request, write), { succeeded: true });
    } catch (err) {
        summary.error = firstErrorLine((err as Error).message);
    }
    summary.durationSeconds = Math.round((Date.now() - startedAt) / 100) / 10;
    const changes =
        Object.entries(summary.changes)
            .map(([kind, count]) => `${kind} ${count}`)
            .join(", ") || "no changes";
    if (request.json) io.out(`${JSON.stringify(summary, null, 2)}\n`);
    say(
        summary.succeeded
            ? `${name} of stack ${request.stack} succeeded in ${summary.durationSeconds}s (${changes})`
            : `${name} of stack ${request.stack} failed after ${summary.durationSeconds}s: ${summary.error}`,
    );
    return summary.succeeded ? 0 : 1;
}

/** The scripts pass the operation first: `ts-node commands/up.ts preview --stack dev`. */
const [operationArg, ...operationArgv] = process.argv.slice(2);
if (require.main === module && !OPERATIONS.includes(operationArg as Operation)) {
    process.stderr.write(`up: the operation must be one of ${OPERATIONS.join(", ")}\n${USAGE}\n`);
    process.exitCode = 2;
} else runWhenMain(module, operationCommand(operationArg as Operation), operationArgv);
