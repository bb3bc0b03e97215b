/**
 * `npm run ca -- --stack <name> [--dir <folder>] > ai-gateway-ca.crt`
 *
 * Prints the certificate of the CA that other devices install to trust the door's HTTPS front
 * (`ai-gateway:remoteAccess`): with `tls.mode: internal`, the stack output `remoteAccessCaCertificate`, read with
 * the same state backend and passphrase as `npm run up`; with `files`, the operator's `tls.caFile`. Only the
 * certificate: the CA's key never leaves the stack's state.
 */
import { readFileSync } from "node:fs";
import { deployedOutputs } from "./automation";
import { Command, CommandFailure, STACK_OPTIONS, loadStack, parseCommandArgs, runWhenMain } from "./cli";
import { PROJECT_DIR } from "./stackFile";

const USAGE = "usage: npm run ca -- --stack <name> [--dir <folder>] > ai-gateway-ca.crt";
/** The stack output that holds the internal CA's certificate (index.ts). */
export const CA_OUTPUT = "remoteAccessCaCertificate";

export const caCommand: Command = {
    name: "ca",
    usage: USAGE,
    async run(argv, io) {
        const { values } = parseCommandArgs(argv, STACK_OPTIONS);
        const stack = loadStack(values, io.env);
        const remote = stack.config.remoteAccess;
        if (!remote)
            throw new CommandFailure(
                `stack ${stack.name} has no ai-gateway:remoteAccess, so no CA: see docs/remote-access.md to turn it on`,
            );
        if (remote.tls.mode === "files") {
            if (remote.tls.caFile === undefined)
                throw new CommandFailure(
                    `stack ${stack.name} serves your own certificate (ai-gateway:remoteAccess.tls.mode files) and names ` +
                        "no tls.caFile: its CA is whoever issued that certificate",
                );
            io.out(readFileSync(remote.tls.caFile, "utf8"));
            return 0;
        }
        const outputs = await deployedOutputs(stack.name, PROJECT_DIR, io.env);
        const certificate = outputs?.[CA_OUTPUT];
        if (typeof certificate !== "string")
            throw new CommandFailure(
                outputs === undefined
                    ? `cannot read the outputs of stack ${stack.name}: is it deployed from this folder (npm run up -- --stack ${stack.name}), and is the Pulumi CLI installed?`
                    : `stack ${stack.name} has no CA yet: run npm run up -- --stack ${stack.name} first`,
            );
        io.out(certificate.endsWith("\n") ? certificate : `${certificate}\n`);
        io.err(`ca: the CA of stack ${stack.name}: install it on each device (docs/remote-access.md)\n`);
        return 0;
    },
};

runWhenMain(module, caCommand);
