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
    /**
     * Its URN as the engine makes it: `urn:pulumi:<stack>::<project>::<types of its parents and its own, joined
     * by $>::<name>`, so two resources of one type and name under parents of different types stay apart.
     */
    urn: string;
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
    /** Whether it is protected: `destroy` (which excludes protected resources) keeps it. */
    protect: boolean;
    /** Its inputs, resolved. */
    inputs: Record<string, unknown>;
}

export interface EvaluatedProgram {
    /** Every declared resource, in a stable order (by type, then name, then URN). */
    resources: DeclaredResource[];
    /** The program's stack outputs. */
    outputs: Record<string, unknown>;
}

/** The program's file; resolved from here so the commands work from any working directory. */
const PROGRAM = path.resolve(__dirname, "..", "index.ts");

/**
 * Evaluates the program with a flat Pulumi config (`"ai-gateway:router" -> "{...}"`).
 * Modules are loaded at call time, so a test can evaluate several configs after `jest.resetModules()`.
 * A config error rejects with the program's own error (a `RunError` listing every problem). Two resources with
 * one URN reject it as they fail `pulumi up`: the engine refuses the second.
 * `program` is for the evaluator's own tests; the default is index.ts.
 */
export async function evaluateProgram(
    flatConfig: Record<string, string>,
    options: { stack?: string; secretKeys?: string[]; program?: string } = {},
): Promise<EvaluatedProgram> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pulumi: typeof import("@pulumi/pulumi") = require("@pulumi/pulumi");
    const declared = new Map<string, DeclaredResource>();
    const duplicates: string[] = [];

    await pulumi.runtime.setMocks(
        {
            newResource: (args) => ({
                id: args.custom ? `${args.name}-id` : undefined,
                state: mockedState(args.type, args.inputs),
            }),
            call: () => ({}),
        },
        "ai-gateway",
        options.stack ?? "render",
        false,
    );
    recordRegistrations(pulumi, declared, duplicates);
    pulumi.runtime.setAllConfig(flatConfig, options.secretKeys ?? []);

    const program = require(options.program ?? PROGRAM) as Record<string, unknown>;
    const outputs = await resolveOutputs(pulumi, program);
    await pulumi.runtime.disconnect();
    if (duplicates.length > 0)
        throw new Error(
            duplicates.map((urn) => `Duplicate resource URN '${urn}'; try giving it a unique name`).join("\n"),
        );

    const resources = [...declared.values()].sort(
        (a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name) || a.urn.localeCompare(b.urn),
    );
    return { resources, outputs };
}

/** The state a real provider would return, with deterministic stand-ins for what only exists after create. */
function mockedState(type: string, inputs: Record<string, unknown>): Record<string, unknown> {
    switch (type) {
        case "random:index/randomPassword:RandomPassword":
            return { ...inputs, result: SECRET_PLACEHOLDER };
        case "random:index/randomId:RandomId":
            // The id of the stack's state: random, made by the first up (targets/docker/containers.ts STATE_LABEL).
            return { ...inputs, hex: STATE_ID_PLACEHOLDER };
        case "docker:index/remoteImage:RemoteImage":
            // Readable stand-in for the image id, so the record shows which image each container runs.
            return { ...inputs, imageId: inputs.name };
        // Keys and certificates made by `up` (@pulumi/tls): a private key is a secret like any generated one.
        case "tls:index/privateKey:PrivateKey":
            return { ...inputs, privateKeyPem: SECRET_PLACEHOLDER };
        case "tls:index/certRequest:CertRequest":
            return { ...inputs, certRequestPem: "[certificate request]\n" };
        case "tls:index/selfSignedCert:SelfSignedCert":
        case "tls:index/locallySignedCert:LocallySignedCert":
            return { ...inputs, certPem: `[${inputs.isCaCertificate ? "CA certificate" : "certificate"}]\n` };
        default:
            return inputs;
    }
}

/** Marks a secret value on the wire (`{ <SECRET_SIG_KEY>: <SECRET_SIG>, value }`). */
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/**
 * The inputs as an operator reads them. Secret wrappers are unwrapped: what they hold is either the
 * placeholder or derived from it, so it still shows as `[secret]`, or a private key the program read from a file
 * (remoteAccess.tls.keyFile), which the placeholder replaces. Dynamic resources carry their
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
    if (record[SECRET_SIG_KEY] === SECRET_SIG) return hidePrivateKeys(unwrapSecrets(record.value));
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unwrapSecrets(v)]));
}

/** A PEM private key, in whatever form (`PRIVATE KEY`, `EC PRIVATE KEY`, `RSA PRIVATE KEY`, ...). */
const PEM_PRIVATE_KEY = /-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g;

/** Every PEM private key in the strings of a secret value replaced by the placeholder. */
function hidePrivateKeys(value: unknown): unknown {
    if (typeof value === "string") return value.replace(PEM_PRIVATE_KEY, SECRET_PLACEHOLDER);
    if (Array.isArray(value)) return value.map(hidePrivateKeys);
    if (typeof value !== "object" || value === null) return value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, hidePrivateKeys(v)]));
}

/** `urn:pulumi:stack::project::type::name` and a provider reference (`urn::id`) both end in the name. */
function providerName(reference: string): string {
    const urn = reference.split("::").slice(0, -1).join("::");
    return urn.slice(urn.lastIndexOf("::") + 2);
}

/** The last part of a URN: the resource's name. */
function nameOf(urn: string): string {
    return urn.slice(urn.lastIndexOf("::") + 2);
}

/** The type the root stack resource has; the engine leaves it out of its children's URNs. */
const STACK_TYPE = "pulumi:pulumi:Stack";

/**
 * The URN the engine gives a resource (pkg/resource/urn.go): its parent's qualified type, `$`, its own type, and
 * its name. The mock monitor keeps only the parent's last type, which would let two resources whose parents'
 * parents differ share one URN in the record and merge.
 */
function engineUrn(stack: string, project: string, parentUrn: string, type: string, name: string): string {
    const parentType = parentUrn ? parentUrn.split("::")[2] : undefined;
    const qualified = parentType && parentType !== STACK_TYPE ? `${parentType}$${type}` : type;
    return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

/**
 * Records every registration by its URN. Mocks hand `newResource` neither the parent, the dependencies nor the
 * replacement order of a resource; the registration request carries them, so the mock monitor's registration is
 * wrapped to read them, and its answer carries the engine's URN, which the children then name as their parent
 * (the mock monitor's own record of the resource is filed under that URN too).
 * A URN registered twice goes to `duplicates`.
 */
function recordRegistrations(
    pulumi: typeof import("@pulumi/pulumi"),
    declared: Map<string, DeclaredResource>,
    duplicates: string[],
): void {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const monitor = pulumi.runtime.getMonitor() as any;
    const register = monitor.registerResource.bind(monitor);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    monitor.registerResource = (request: any, callback: (err: unknown, response: any) => void) => {
        const parent: string = request.getParent();
        const type: string = request.getType();
        const name: string = request.getName();
        const urn = engineUrn(pulumi.getStack(), pulumi.getProject(), parent, type, name);
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        register(request, (err: unknown, response: any) => {
            if (!err) {
                // The mock monitor finds a resource by the URN it answered (registerResourceOutputs): it gets ours.
                monitor.resources.set(urn, { ...monitor.resources.get(response.getUrn()), urn });
                response.setUrn(urn);
                if (declared.has(urn)) duplicates.push(urn);
                else {
                    const provider: string = request.getProvider();
                    declared.set(urn, {
                        urn,
                        type,
                        name,
                        custom: request.getCustom(),
                        provider: provider ? providerName(provider) : undefined,
                        parent: parent ? nameOf(parent) : undefined,
                        dependsOn: (request.getDependenciesList() as string[]).map(nameOf).sort(),
                        deleteBeforeReplace: request.getDeletebeforereplace(),
                        protect: request.getProtect() ?? false,
                        inputs: readableInputs(pulumi.runtime.deserializeProperties(request.getObject())),
                    });
                }
            }
            callback(err, response);
        });
    };
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
