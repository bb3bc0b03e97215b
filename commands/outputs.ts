/**
 * `npm run outputs -- --stack <name> [output] [--show-secrets] [--json]`
 *
 * The deployed stack's outputs (URLs, keys, the Open WebUI login, the rendered router configs), read through the
 * same state backend and passphrase as `npm run up`: nothing to export, no CLI to find. Secret outputs print as
 * `[secret]` unless `--show-secrets` says otherwise, and then all of them only to a terminal, or as JSON
 * (`--json`); one named output prints bare, for scripts:
 * `key=$(npm run -s outputs -- --stack cpu masterKey --show-secrets)`.
 */
import { stringify } from "yaml";
import { StackOutput, readStackOutputs } from "./automation";
import {
    Command,
    CommandFailure,
    STACK_OPTIONS,
    UsageError,
    chooseStack,
    parseCommandArgs,
    runWhenMain,
    stackDirectory,
} from "./cli";
import { PROJECT_DIR } from "./stackFile";
import { formatTable } from "./table";

const USAGE = "usage: npm run outputs -- --stack <name> [output] [--show-secrets] [--json] [--dir <folder>]";

/** What a secret output shows without `--show-secrets`: what the Pulumi CLI shows. */
export const SECRET_MASK = "[secret]";

/** Why every secret is not printed to a pipe or file: one line, the ways that are allowed. */
export const SECRETS_NOT_TO_A_PIPE =
    "--show-secrets prints every secret only to a terminal: to a pipe or a file, add --json, or name the one " +
    "output a script needs (e.g. masterKey)";

/** An output's value as it may be shown. */
function shown(output: StackOutput, showSecrets: boolean): unknown {
    return output.secret && !showSecrets ? SECRET_MASK : output.value;
}

/** One line for a value in the listing: text as it is, a multi-line text as its line count, lists and maps inline. */
function cell(value: unknown): string {
    if (typeof value === "string")
        return value.includes("\n") ? `(${value.trimEnd().split("\n").length} lines)` : value;
    if (Array.isArray(value)) return value.map(cell).join(", ");
    if (value !== null && typeof value === "object")
        return Object.entries(value)
            .map(([key, inner]) => `${key}: ${cell(inner)}`)
            .join(", ");
    return String(value);
}

/** A named output alone: text bare, anything else as JSON (`--json`) or YAML. */
function single(value: unknown, json: boolean): string {
    if (json) return `${JSON.stringify(value, null, 2)}\n`;
    if (typeof value === "string") return value.endsWith("\n") ? value : `${value}\n`;
    return stringify(value, { lineWidth: 0 });
}

export const outputsCommand: Command = {
    name: "outputs",
    usage: USAGE,
    async run(argv, io) {
        const { values, positionals } = parseCommandArgs(
            argv,
            {
                ...STACK_OPTIONS,
                "show-secrets": { type: "boolean", default: false },
                json: { type: "boolean", default: false },
            },
            true,
        );
        if (positionals.length > 1) throw new UsageError(`name one output at most (got ${positionals.join(", ")})`);
        const name: string | undefined = positionals[0];
        const showSecrets = values["show-secrets"];
        // Refused before anything is read: all the secrets at once go to a terminal, or as JSON where asked for.
        if (showSecrets && name === undefined && !values.json && !io.outIsTTY)
            throw new CommandFailure(SECRETS_NOT_TO_A_PIPE);
        // The stack files' folder only says which stack is meant when --stack does not: the outputs are in the backend.
        const stack = chooseStack(values.stack, stackDirectory(values.dir, io.env), io.env);
        const outputs = await readStackOutputs(stack, PROJECT_DIR, io.env);

        if (name !== undefined) {
            const output = outputs[name];
            if (!output)
                throw new CommandFailure(
                    `stack ${stack} has no output ${name} (outputs: ${Object.keys(outputs).join(", ")})`,
                );
            if (output.secret && !showSecrets) io.err(`outputs: ${name} is a secret: add --show-secrets to see it\n`);
            io.out(single(shown(output, showSecrets), values.json));
            return 0;
        }
        if (values.json) {
            const all = Object.fromEntries(Object.entries(outputs).map(([key, o]) => [key, shown(o, showSecrets)]));
            io.out(`${JSON.stringify(all, null, 2)}\n`);
            return 0;
        }
        const rows = Object.entries(outputs).map(([key, output]) => [key, cell(shown(output, showSecrets))]);
        io.out(formatTable(["OUTPUT", "VALUE"], rows));
        if (rows.some(([, value]) => / lines\)/.test(value)))
            io.err(`outputs: to see one output whole: npm run outputs -- --stack ${stack} <output>\n`);
        return 0;
    },
};

runWhenMain(module, outputsCommand);
