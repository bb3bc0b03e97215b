import * as pulumi from "@pulumi/pulumi";
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as readline from "node:readline";

const pulumiPackageDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));

/** Resolves a dependency of @pulumi/pulumi, as the engine's dynamic-provider host does. */
export function resolveFromPulumi(request: string): string {
    return require.resolve(request, { paths: [pulumiPackageDir] });
}

/** Awaits an Output's value (mocks run outside preview, so apply runs). */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply(resolve));
}

/**
 * Installs Pulumi mocks that record every registered resource's inputs (the dynamic ones carry their
 * serialized provider as `__provider`) and answer with those inputs plus `outputsFor(type)`.
 */
export function recordRegistrations(outputsFor: (type: string) => Record<string, unknown> = () => ({})) {
    const inputsByName = new Map<string, Record<string, any>>();
    const typeByName = new Map<string, string>();
    pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                inputsByName.set(args.name, args.inputs);
                typeByName.set(args.name, args.type);
                return { id: `${args.name}-id`, state: { ...args.inputs, ...outputsFor(args.type) } };
            },
            call: (args) => args.inputs,
        },
        "ai-gateway",
        "test",
        false,
    );
    return {
        /** The registered inputs and type of a resource, once its registration went through the mocks. */
        async registered(resource: pulumi.CustomResource): Promise<{ type: string; inputs: Record<string, any> }> {
            const urn = await valueOf(resource.urn);
            const name = urn.split("::").at(-1)!;
            return { type: typeByName.get(name)!, inputs: inputsByName.get(name)! };
        },
    };
}

const SECRET_SIGNATURE_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270";

/**
 * Splits registered inputs into what the engine hands a dynamic provider (plaintext: it does not accept
 * secrets) and the names of the top-level inputs that were registered as secrets.
 */
export function asEngineSendsThem(inputs: Record<string, any>): { plain: Record<string, any>; secretKeys: string[] } {
    const secretKeys = Object.keys(inputs).filter((key) => inputs[key]?.[SECRET_SIGNATURE_KEY] === SECRET_SIGNATURE);
    const unwrap = (value: any): any => {
        if (value?.[SECRET_SIGNATURE_KEY] === SECRET_SIGNATURE) return unwrap(value.value);
        if (Array.isArray(value)) return value.map(unwrap);
        if (value && typeof value === "object")
            return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrap(v)]));
        return value;
    };
    return { plain: unwrap(inputs), secretKeys };
}

/** The host program: loads the provider text exactly as @pulumi/pulumi/cmd/dynamic-provider does. */
const HOST_PROGRAM = `
const requireFromString = require(process.env.REQUIRE_FROM_STRING);
const replies = require("node:fs").createWriteStream(null, { fd: 3 });
let provider;
require("node:readline").createInterface({ input: process.stdin }).on("line", async (line) => {
  const request = JSON.parse(line);
  try {
    const result = request.method === "load"
      ? Object.keys((provider = requireFromString(request.providerText).handler()))
      : await provider[request.method](...request.args);
    replies.write(JSON.stringify({ id: request.id, result }) + "\\n");
  } catch (err) {
    replies.write(JSON.stringify({ id: request.id, error: String((err && err.message) || err) }) + "\\n");
  }
});
`;

/**
 * A serialized dynamic provider running in a fresh `node` process, in an empty folder, so that anything the
 * closure needs but did not carry (a module from node_modules, a live object) fails here as it would in
 * the engine. Its console output is kept: it is what reaches the operator.
 */
export class SerializedProvider {
    /** Everything the provider printed to stdout. */
    stdout = "";
    /** Each line it printed, with when it arrived here (`performance.now()`). */
    readonly lines: { at: number; text: string }[] = [];
    private nextRequestId = 0;
    private readonly pending = new Map<number, { resolve: (value: any) => void; reject: (err: Error) => void }>();

    private constructor(
        private readonly child: ChildProcess,
        private readonly folder: string,
    ) {
        child.stdout!.on("data", (data) => (this.stdout += data));
        readline
            .createInterface({ input: child.stdout! })
            .on("line", (text) => this.lines.push({ at: performance.now(), text }));
        readline.createInterface({ input: child.stdio[3] as NodeJS.ReadableStream }).on("line", (line) => {
            const reply = JSON.parse(line);
            const waiter = this.pending.get(reply.id)!;
            this.pending.delete(reply.id);
            if ("error" in reply) waiter.reject(new Error(reply.error));
            else waiter.resolve(reply.result);
        });
    }

    static async load(providerText: string): Promise<SerializedProvider> {
        const folder = fs.mkdtempSync(path.join(os.tmpdir(), "aigw-dynamic-provider-"));
        fs.writeFileSync(path.join(folder, "host.js"), HOST_PROGRAM);
        const child = spawn(process.execPath, ["host.js"], {
            cwd: folder,
            env: { PATH: process.env.PATH, REQUIRE_FROM_STRING: resolveFromPulumi("require-from-string") },
            stdio: ["pipe", "pipe", "inherit", "pipe"],
        });
        const provider = new SerializedProvider(child, folder);
        await provider.call("load", { providerText });
        return provider;
    }

    /** Calls a provider method in the child; rejects with the provider's error message. */
    call(method: string, ...args: unknown[]): Promise<any> {
        const id = this.nextRequestId++;
        const request = method === "load" ? { id, method, ...(args[0] as object) } : { id, method, args };
        return new Promise((resolve, reject) => {
            this.pending.set(id, { resolve, reject });
            this.child.stdin!.write(`${JSON.stringify(request)}\n`);
        });
    }

    stop(): void {
        this.child.kill();
        fs.rmSync(this.folder, { recursive: true, force: true });
    }
}
