/**
 * `npx ask-code [--stack <name>] [--dir <folder>] "prompt"` (or the prompt on stdin)
 *
 * Sends a coding request to the model group `code` and streams the answer to stdout. By default it goes
 * to the local router (port 4000), which serves only the host's Ollama models: nothing leaves the host.
 * With `FINAL_CHECK=1` it goes to the cloud-fallback router (port 4001), which may fall back to the
 * cloud model; that router must be deployed (`cloud.enabled: true`).
 */
import { GatewayService, listServices, refusesCall, serviceOfKind } from "../targets/docker/endpoints";
import {
    Command,
    CommandFailure,
    CommandIO,
    STACK_OPTIONS,
    UsageError,
    loadDockerStack,
    parseCommandArgs,
    runWhenMain,
} from "./cli";
import { ChatError, streamChat } from "./chat";
import { KEY_VARIABLES, StackKeys } from "./keys";
import { formatDuration } from "./table";

const USAGE = 'usage: npx ask-code [--stack <name>] [--dir <folder>] "prompt"   (or: echo "prompt" | npx ask-code)';

/** The group every coding request goes to. */
export const CODE_GROUP = "code";

/** Whether the operator allowed the cloud path for this one request. */
export function finalCheck(env: NodeJS.ProcessEnv): boolean {
    return env.FINAL_CHECK === "1";
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
    let text = "";
    for await (const chunk of stream) text += chunk;
    return text;
}

/** The prompt: the arguments, else standard input when it is piped. */
async function readPrompt(positionals: string[], io: CommandIO): Promise<string> {
    const prompt = positionals.length > 0 ? positionals.join(" ") : io.stdin.isTTY ? "" : await readAll(io.stdin);
    if (!prompt.trim()) throw new UsageError("no prompt given");
    return prompt;
}

/** The router to use: the local one, or with FINAL_CHECK=1 the cloud-fallback one, which must be deployed. */
export function chooseRouter(services: GatewayService[], stack: string, env: NodeJS.ProcessEnv): GatewayService {
    if (!finalCheck(env)) return serviceOfKind(services, "router")!;
    const cloud = serviceOfKind(services, "cloudRouter");
    if (!cloud)
        throw new CommandFailure(
            `FINAL_CHECK=1 uses the cloud-fallback router (port 4001), which stack ${stack} does not deploy: ` +
                "set ai-gateway:cloud.enabled: true and the secret cloudApiKey, then npm run up, or unset FINAL_CHECK",
        );
    return cloud;
}

export const askCodeCommand: Command = {
    name: "ask-code",
    usage: USAGE,
    async run(argv: string[], io: CommandIO): Promise<number> {
        const { values, positionals } = parseCommandArgs(argv, STACK_OPTIONS, true);
        const stack = loadDockerStack(values, io.env);
        if (!Object.hasOwn(stack.config.groups, CODE_GROUP))
            throw new CommandFailure(
                `stack ${stack.name} has no model group "${CODE_GROUP}" (groups: ${Object.keys(stack.config.groups).join(", ")})`,
            );
        const router = chooseRouter(listServices(stack.config), stack.name, io.env);
        const prompt = await readPrompt(positionals, io);
        const key = await new StackKeys(stack.name, io.env).require(router.auth!.keyOutput);
        try {
            const answer = await streamChat({
                routerUrl: router.url,
                key,
                model: CODE_GROUP,
                prompt,
                timeoutMs: stack.config.router.timeoutSeconds * 1000,
                onText: (text) => io.out(text),
            });
            io.out("\n");
            io.err(
                `ask-code: ${CODE_GROUP} via ${router.containerName} (${answer.apiBase ?? "backend not reported"}), ` +
                    `first token ${formatDuration(answer.firstTokenMs ?? answer.totalMs)}, total ${formatDuration(answer.totalMs)}\n`,
            );
            return 0;
        } catch (err) {
            if (!(err instanceof ChatError)) throw err;
            throw new CommandFailure(describeFailure(err, router, stack.name));
        }
    },
};

/** Turns the router's refusal or absence into what the operator should do. */
function describeFailure(err: ChatError, router: GatewayService, stack: string): string {
    const which = `${router.containerName} at ${router.url}`;
    if (err.connectionProblem)
        return `router ${which} is not running (${err.connectionProblem}): deploy it with npm run up -- --stack ${stack}, or see npm run status -- --stack ${stack}`;
    if (err.status !== undefined && refusesCall(router.kind, err.status, err.body ?? ""))
        return `router ${which} refused the key (${err.message}): check ${KEY_VARIABLES[router.auth!.keyOutput]}`;
    return `router ${which} failed: ${err.message}`;
}

runWhenMain(module, askCodeCommand);
