/**
 * Runs the real Pulumi program (index.ts) in this process under Pulumi's mocks, with no engine, no
 * CLI and no Docker, and records every resource it declares. `render` prints that record; the tests
 * assert on it. Generated secrets and secret config values are replaced by a placeholder, so the
 * record is the same on every run and never holds a secret.
 */
import * as path from "node:path";

/** Stands for every secret value under mocks; shown as `[secret]`. */
export const SECRET_PLACEHOLDER = "__ai_gateway_secret__";
export const SECRET_SHOWN_AS = "[secret]";
/** Stands for the id of the stack's state, which only the first `up` makes. */
export const STATE_ID_PLACEHOLDER = "[state id]";

/** One resource the program declares. */
export interface DeclaredResource {
    /** Pulumi type token, e.g. `docker:index/container:Container`. */
    type: string;
    /** Resource name. */
    name: string;
    /** Whether it is a custom resource (false for components). */
    custom: boolean;
    /** Name of the explicit provider it is created with, if any (e.g. the host's Docker provider). */
    provider?: string;
    /** Name of its parent resource. */
    parent?: string;
    /** Names of the resources it waits for: its `dependsOn` and those its inputs come from. */
    dependsOn: string[];
    /** Whether a replacement deletes the old resource first (containers with fixed names and ports must). */
    deleteBeforeReplace: boolean;
    /** Its inputs, resolved. */
    inputs: Record<string, unknown>;
}

export interface EvaluatedProgram {
    /** Every declared resource, in a stable order (by type, then name). */
    resources: DeclaredResource[];
    /** The program's stack outputs. */
    outputs: Record<string, unknown>;
}

/** The program's file; resolved from here so the commands work from any working directory. */
const PROGRAM = path.resolve(__dirname, "..", "index.ts");

/**
 * Evaluates the program with a flat Pulumi config (`"ai-gateway:router" -> "{...}"`).
 * Modules are loaded at call time, so a test can evaluate several configs after `jest.resetModules()`.
 * A config error rejects with the program's own error (a `RunError` listing every problem).
 */
export async function evaluateProgram(
    flatConfig: Record<string, string>,
    options: { stack?: string; secretKeys?: string[] } = {},
): Promise<EvaluatedProgram> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pulumi: typeof import("@pulumi/pulumi") = require("@pulumi/pulumi");
    const declared = new Map<string, DeclaredResource>();

    await pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                const inputs = readableInputs(args.inputs);
                declared.set(urnName(args.type, args.name), {
                    type: args.type,
                    name: args.name,
                    custom: args.custom ?? true,
                    provider: args.provider ? providerName(args.provider) : undefined,
                    dependsOn: [],
                    deleteBeforeReplace: false,
                    inputs,
                });
                return { id: args.custom ? `${args.name}-id` : undefined, state: mockedState(args.type, args.inputs) };
            },
            call: () => ({}),
        },
        "ai-gateway",
        options.stack ?? "render",
        false,
    );
    recordParentsAndDependencies(pulumi, declared);
    pulumi.runtime.setAllConfig(flatConfig, options.secretKeys ?? []);

    const program = require(PROGRAM) as Record<string, unknown>;
    const outputs = await resolveOutputs(pulumi, program);
    await pulumi.runtime.disconnect();

    const resources = [...declared.values()].sort((a, b) =>
        a.type === b.type ? a.name.localeCompare(b.name) : a.type.localeCompare(b.type),
    );
    return { resources, outputs };
}

/** The state a real provider would return, with deterministic stand-ins for what only exists after create. */
function mockedState(type: string, inputs: Record<string, unknown>): Record<string, unknown> {
    switch (type) {
        case "random:index/randomPassword:RandomPassword":
            return { ...inputs, result: SECRET_PLACEHOLDER };
        case "random:index/randomId:RandomId":
            // The id of the stack's state: random, made by the first up (config/containers.ts STATE_LABEL).
            return { ...inputs, hex: STATE_ID_PLACEHOLDER };
        case "docker:index/remoteImage:RemoteImage":
            // Readable stand-in for the image id, so the record shows which image each container runs.
            return { ...inputs, imageId: inputs.name };
        default:
            return inputs;
    }
}

/** Marks a secret value on the wire (`{ <SECRET_SIG_KEY>: <SECRET_SIG>, value }`). */
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/**
 * The inputs as an operator reads them. Secret wrappers are unwrapped: what they hold is either the
 * placeholder or derived from it, so it still shows as `[secret]`. Dynamic resources carry their
 * provider's serialized code, which is not an input anyone wants to read.
 */
function readableInputs(inputs: Record<string, unknown>): Record<string, unknown> {
    const { __provider, ...rest } = inputs;
    return unwrapSecrets(rest) as Record<string, unknown>;
}

function unwrapSecrets(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(unwrapSecrets);
    if (typeof value !== "object" || value === null) return value;
    const record = value as Record<string, unknown>;
    if (record[SECRET_SIG_KEY] === SECRET_SIG) return unwrapSecrets(record.value);
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unwrapSecrets(v)]));
}

/** `urn:pulumi:stack::project::type::name` and a provider reference (`urn::id`) both end in the name. */
function providerName(reference: string): string {
    const urn = reference.split("::").slice(0, -1).join("::");
    return urn.slice(urn.lastIndexOf("::") + 2);
}

function urnName(type: string, name: string): string {
    return `${type}::${name}`;
}

/**
 * Mocks hand `newResource` neither the parent, the dependencies nor the replacement order of a resource;
 * the registration request carries them, so the mock monitor's registration is wrapped to read them.
 */
function recordParentsAndDependencies(
    pulumi: typeof import("@pulumi/pulumi"),
    declared: Map<string, DeclaredResource>,
): void {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const monitor = pulumi.runtime.getMonitor() as any;
    const register = monitor.registerResource.bind(monitor);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    monitor.registerResource = (request: any, callback: (err: unknown, response: unknown) => void) =>
        register(request, (err: unknown, response: unknown) => {
            const resource = declared.get(urnName(request.getType(), request.getName()));
            if (resource) {
                const parent: string = request.getParent();
                resource.parent = parent ? parent.slice(parent.lastIndexOf("::") + 2) : undefined;
                resource.dependsOn = (request.getDependenciesList() as string[])
                    .map((urn) => urn.slice(urn.lastIndexOf("::") + 2))
                    .sort();
                resource.deleteBeforeReplace = request.getDeletebeforereplace();
            }
            callback(err, response);
        });
}

async function resolveOutputs(
    pulumi: typeof import("@pulumi/pulumi"),
    program: Record<string, unknown>,
): Promise<Record<string, unknown>> {
    const outputs: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(program)) {
        if (value === undefined) continue;
        outputs[key] = await new Promise((resolve) => pulumi.output(value).apply(resolve));
    }
    return outputs;
}

/** Replaces the placeholder everywhere in a value, e.g. `LITELLM_MASTER_KEY=sk-[secret]`. */
export function hideSecrets<T>(value: T): T {
    return JSON.parse(JSON.stringify(value).split(SECRET_PLACEHOLDER).join(SECRET_SHOWN_AS));
}
