/**
 * `npm run secret -- --stack <name> <key>` with the value on standard input, e.g.
 * `printf %s "$OPENAI_API_KEY" | npm run secret -- --stack dev cloudApiKey`.
 *
 * Stores a secret key of the stack encrypted in `Pulumi.<name>.yaml`, the way `pulumi config set --secret`
 * does, with the same state backend and passphrase as `npm run up` (creating the stack and the passphrase on
 * first use). The value is read from standard input and handed to the CLI on its standard input, so it never
 * shows in the shell history or `ps`.
 */
import { openStack, prepareBackend, requirePulumiCli, setSecretConfig } from "./automation";
import { Command, CommandFailure, CommandIO, UsageError, parseCommandArgs, runWhenMain } from "./cli";
import { PROJECT_DIR } from "./stackFile";
import { PROJECT } from "../config/primitives";
import { SECRET_KEYS } from "../config/stackKeys";

const USAGE = `usage: printf %s "<value>" | npm run secret -- --stack <name> <${SECRET_KEYS.join("|")}>`;

/** Reads all of standard input; a single trailing newline (from `echo` or a prompt) is not part of the value. */
async function readValue(stdin: CommandIO["stdin"]): Promise<string> {
    let text = "";
    for await (const chunk of stdin) text += chunk;
    return text.replace(/\r?\n$/, "");
}

export const secretCommand: Command = {
    name: "secret",
    usage: USAGE,
    async run(argv, io) {
        const { values, positionals } = parseCommandArgs(argv, { stack: { type: "string" } }, true);
        if (!values.stack) throw new UsageError("--stack is required");
        if (positionals.length !== 1) throw new UsageError("name exactly one key");
        const key = positionals[0].replace(new RegExp(`^${PROJECT}:`), "");
        if (!SECRET_KEYS.includes(key))
            throw new UsageError(`${key} is not a secret key of the stack (secret keys: ${SECRET_KEYS.join(", ")})`);
        if (io.stdin.isTTY) io.err(`secret: type the value of ${key}, then Enter and Ctrl-D\n`);
        const value = await readValue(io.stdin);
        if (!value.trim()) throw new CommandFailure(`no value for ${PROJECT}:${key} on standard input`);

        const cli = await requirePulumiCli(io.env, (line) => io.err(`secret: ${line}\n`));
        const { backend, passphrase } = prepareBackend(PROJECT_DIR, io.env, true);
        const stack = await openStack(values.stack, PROJECT_DIR, { cli, backend, passphrase }, true);
        await setSecretConfig(stack, `${PROJECT}:${key}`, value);
        io.err(`secret: ${PROJECT}:${key} stored encrypted in Pulumi.${values.stack}.yaml\n`);
        return 0;
    },
};

runWhenMain(module, secretCommand);
