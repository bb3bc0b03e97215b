/** Builds stack configs for tests and evaluates the real program on them under Pulumi's mocks. */
import { readdirSync } from "node:fs";
import * as path from "node:path";
import { DeclaredResource, EvaluatedProgram, evaluateProgram } from "../../commands/evaluate";
import { readStackFile } from "../../commands/stackFile";
import { ConfigError, loadStackConfig, validateStackConfig } from "../../config/load";
import { StackConfig, StackConfigInput } from "../../config/stackKeys";
import { ServiceSpec, describeServices } from "../../model/services";
import { dockerVantage } from "../../targets/docker/doorPlan";

/** One of the project's stack files, validated as the program validates it. */
export function stackFileConfig(stack: string): StackConfig {
    const { config, secretKeys } = readStackFile(stack);
    return loadStackConfig(config, secretKeys);
}

/** A small valid stack: one host, one instance serving one group. Tests override what they examine. */
export function minimalConfig(overrides: Partial<StackConfigInput> = {}): StackConfigInput {
    return {
        hosts: [{ name: "box", ollama: [{ name: "ollama", port: 11434, gpu: "all", models: ["llama3.2:3b"] }] }],
        groups: { fast: ["llama3.2:3b"] },
        ...overrides,
    };
}

/** A stack with every service: two router replicas (so Redis), the cloud router, Qdrant and Open WebUI. */
export function everyServiceConfig(): StackConfig {
    return validateStackConfig(
        minimalConfig({
            router: { replicas: 2 },
            cloud: { enabled: true, port: 4100 },
            cloudApiKey: "sk-test",
            qdrant: { enabled: true },
        }),
    );
}

/** The services of a stack as the Docker target describes them (model/services.ts). */
export function dockerServices(config: StackConfig): ServiceSpec[] {
    return describeServices(config, (hostName) => dockerVantage(config, hostName));
}

/** `minimalConfig` with `ai-gateway:remoteAccess` set to `remoteAccess`, and `overrides`. */
export function withRemoteAccess(remoteAccess: unknown, overrides: Partial<StackConfigInput> = {}): StackConfigInput {
    return minimalConfig({ ...overrides, remoteAccess } as Partial<StackConfigInput>);
}

/** Two hosts on a LAN: the router and its Ollama on gpu (10.0.0.1), Open WebUI on ui (10.0.0.2). */
export const UI_ON_ITS_OWN_HOST: Partial<StackConfigInput> = {
    hosts: [
        { name: "gpu", bindAddress: "10.0.0.1", ollama: [{ name: "ollama", port: 11434, models: ["llama3.2:3b"] }] },
        { name: "ui", bindAddress: "10.0.0.2", ollama: [{ name: "ollama-ui", port: 11434, models: [] }] },
    ],
    openWebUI: { host: "ui" },
};

/** The problem lines of a config that must be refused; fails the test if it is accepted. */
export function problemsOf(raw: Record<string, unknown>): string[] {
    try {
        validateStackConfig(raw);
    } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).problems;
    }
    throw new Error("the config was accepted");
}

/** The flat `ai-gateway:<key>` map the Pulumi engine hands to the program. */
export function flatConfig(config: Record<string, unknown>): Record<string, string> {
    return Object.fromEntries(
        Object.entries(config).map(([key, value]) => [
            `ai-gateway:${key}`,
            typeof value === "string" ? value : JSON.stringify(value),
        ]),
    );
}

const PROJECT_ROOT = path.resolve(__dirname, "..", "..");
const PROVIDERS_DIR = path.join(PROJECT_ROOT, "providers");

/**
 * A fresh module registry for each evaluation, so the program, its config and its components start from
 * nothing; only these modules are loaded once per test file and shared:
 * - the packages the program depends on (package.json's dependencies): loading the Pulumi SDK alone takes
 *   seconds, and `setMocks` at the start of every evaluation resets its runtime (monitor, settings, stack
 *   resource), as between Pulumi's own mock tests. The provider SDKs also load `@pulumi/pulumi/runtime`;
 * - the dynamic providers (providers/): they hold no state, and the SDK serializes each provider object once
 *   and caches the text, which otherwise takes half of every evaluation. tests/providers/ proves the
 *   serialization itself.
 */
function freshModules(): void {
    const { dependencies } = require(path.join(PROJECT_ROOT, "package.json")) as { dependencies: object };
    const providers = readdirSync(PROVIDERS_DIR)
        .filter((file) => file.endsWith(".ts"))
        .map((file) => path.join(PROVIDERS_DIR, file));
    const shared = [...Object.keys(dependencies), "@pulumi/pulumi/runtime", ...providers].map(
        (name) => [name, require(name)] as const,
    );
    jest.resetModules();
    for (const [name, loaded] of shared) jest.doMock(name, () => loaded);
}

/** Runs index.ts on a config. */
export async function evaluate(config: Record<string, unknown>): Promise<Program> {
    freshModules();
    const evaluateFresh: typeof evaluateProgram = require("../../commands/evaluate").evaluateProgram;
    return new Program(await evaluateFresh(flatConfig(config), { secretKeys: ["ai-gateway:cloudApiKey"] }));
}

/** Runs another program than index.ts (a fixture of the evaluator's own tests) on a flat config. */
export async function evaluateFile(program: string, flat: Record<string, string>): Promise<EvaluatedProgram> {
    freshModules();
    const evaluateFresh: typeof evaluateProgram = require("../../commands/evaluate").evaluateProgram;
    return evaluateFresh(flat, { program });
}

/** Runs index.ts on one of the project's stack files. */
export async function evaluateStackFile(stack: string): Promise<Program> {
    freshModules();
    const evaluateFresh: typeof evaluateProgram = require("../../commands/evaluate").evaluateProgram;
    const { config, secretKeys } = readStackFile(stack);
    return new Program(await evaluateFresh(config, { stack, secretKeys }));
}

/** Queries over an evaluated program. */
export class Program {
    constructor(public readonly evaluated: EvaluatedProgram) {}

    get resources(): DeclaredResource[] {
        return this.evaluated.resources;
    }

    ofType(typeSuffix: string): DeclaredResource[] {
        return this.resources.filter((r) => r.type.endsWith(typeSuffix));
    }

    containers(): DeclaredResource[] {
        return this.ofType(":Container");
    }

    container(name: string): DeclaredResource {
        const found = this.containers().find((c) => c.inputs.name === name);
        if (!found) throw new Error(`no container ${name} (have ${this.containers().map((c) => c.inputs.name)})`);
        return found;
    }

    /** The custom resource of that name (a component may share its name with its main container). */
    byName(name: string): DeclaredResource {
        const found = this.resources.find((r) => r.custom && r.name === name);
        if (!found) throw new Error(`no resource named ${name}`);
        return found;
    }

    env(containerName: string): Record<string, string> {
        const envs = (this.container(containerName).inputs.envs ?? []) as string[];
        return Object.fromEntries(envs.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
    }

    upload(containerName: string): string {
        const uploads = this.container(containerName).inputs.uploads as { content: string }[];
        return uploads[0].content;
    }
}
