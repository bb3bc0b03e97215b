/**
 * `npm run smoke -- --stack <name> [--json] [--timeout <seconds>] [--dir <folder>]`
 *
 * One short streamed chat completion through the local router (port 4000) for each model group: which
 * backend answered (`x-litellm-model-api-base`), the time to the first token and the total time.
 * Exit 1 when any group fails. The router's key comes from `AIGW_MASTER_KEY` or the stack's outputs.
 */
import { listServices, refusesCall, serviceOfKind } from "../targets/docker/endpoints";
import {
    Command,
    CommandIO,
    REPORT_OPTIONS,
    loadDockerStack,
    parseCommandArgs,
    runWhenMain,
    secondsOption,
} from "./cli";
import { ChatError, streamChat } from "./chat";
import { oneLine } from "./http";
import { KEY_VARIABLES, StackKeys } from "./keys";
import { formatDuration, formatTable } from "./table";

const USAGE = "usage: npm run smoke -- --stack <name> [--json] [--timeout <seconds>] [--dir <folder>]";

/** Short and deterministic enough for a tiny model; the answer's content is not judged. */
export const SMOKE_PROMPT = "Reply with the single word: ok";

/** The outcome for one group. */
export interface SmokeResult {
    /** Model group. */
    group: string;
    /** Whether a streamed answer arrived. */
    ok: boolean;
    /** Backend that answered (`x-litellm-model-api-base`). */
    apiBase?: string;
    /** Milliseconds to the first token. */
    firstTokenMs?: number;
    /** Milliseconds for the whole answer. */
    totalMs?: number;
    /** The answer, shortened. */
    answer?: string;
    /** Why it failed. */
    error?: string;
}

export const smokeCommand: Command = {
    name: "smoke",
    usage: USAGE,
    async run(argv: string[], io: CommandIO): Promise<number> {
        const { values } = parseCommandArgs(argv, { ...REPORT_OPTIONS, timeout: { type: "string" } });
        const stack = loadDockerStack(values, io.env);
        const router = serviceOfKind(listServices(stack.config), "router")!;
        const key = await new StackKeys(stack.name, io.env).require("masterKey");
        const timeoutMs = secondsOption(values.timeout, 300, "timeout") * 1000;

        const results: SmokeResult[] = [];
        // One group after the other: parallel requests would measure the queue, not the model.
        for (const group of Object.keys(stack.config.groups)) {
            try {
                const chat = {
                    routerUrl: router.url,
                    key,
                    model: group,
                    prompt: SMOKE_PROMPT,
                    maxTokens: 16,
                    timeoutMs,
                };
                const { apiBase, firstTokenMs, totalMs, text } = await streamChat(chat);
                results.push({ group, ok: true, apiBase, firstTokenMs, totalMs, answer: oneLine(text, 40) });
            } catch (err) {
                if (!(err instanceof ChatError)) throw err;
                const refused = err.status !== undefined && refusesCall(router.kind, err.status, err.body ?? "");
                results.push({
                    group,
                    ok: false,
                    error: refused
                        ? `the router refused the key (${err.message}): check ${KEY_VARIABLES.masterKey}`
                        : err.message,
                });
                // Nothing answers at all, or the key is refused: every other group would only repeat it.
                if (err.connectionProblem || refused) break;
            }
        }
        const failed = results.filter((r) => !r.ok);
        if (values.json) {
            io.out(
                `${JSON.stringify({ stack: stack.name, router: router.url, ok: failed.length === 0, groups: results }, null, 2)}\n`,
            );
        } else {
            io.out(
                formatTable(
                    ["GROUP", "RESULT", "BACKEND", "FIRST TOKEN", "TOTAL", "ANSWER"],
                    results.map((r) => [
                        r.group,
                        r.ok ? "ok" : `FAILED: ${r.error}`,
                        r.apiBase ?? "-",
                        r.firstTokenMs === undefined ? "-" : formatDuration(r.firstTokenMs),
                        r.totalMs === undefined ? "-" : formatDuration(r.totalMs),
                        r.answer ?? "",
                    ]),
                ),
            );
        }
        const skipped = Object.keys(stack.config.groups).length - results.length;
        if (failed.length === 0) io.err(`smoke: all ${results.length} groups answered through ${router.url}\n`);
        else
            io.err(
                `smoke: ${failed.length} of ${results.length} groups failed through ${router.url}` +
                    (skipped > 0 ? ` (${skipped} more not tried: the router does not answer)` : "") +
                    "\n",
            );
        return failed.length === 0 ? 0 : 1;
    },
};

runWhenMain(module, smokeCommand);
