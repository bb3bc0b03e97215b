/**
 * The keys `smoke`, `audit` and `ask-code` send: from an environment variable when the operator set one,
 * else from the deployed stack's outputs (Automation API, when the Pulumi CLI is installed), else a
 * one-line failure that says how to provide it.
 */
import { ServiceAuth } from "../targets/docker/endpoints";
import { deployedOutputs } from "./automation";
import { CommandFailure } from "./cli";
import { PROJECT_DIR } from "./stackFile";

/** The environment variable that provides each key, named after the stack output that holds it. */
export const KEY_VARIABLES: Record<ServiceAuth["keyOutput"], string> = {
    masterKey: "AIGW_MASTER_KEY",
    cloudMasterKey: "AIGW_CLOUD_MASTER_KEY",
    qdrantApiKey: "AIGW_QDRANT_API_KEY",
};

/** Reads a stack's keys once per command, whichever of them it needs. */
export class StackKeys {
    private outputs?: Promise<Record<string, unknown> | undefined>;

    constructor(
        private readonly stack: string,
        private readonly env: NodeJS.ProcessEnv,
        private readonly projectDir = PROJECT_DIR,
    ) {}

    /**
     * The key in `output`. An explicit environment variable wins over the outputs, so an operator can
     * check a deployment that was made elsewhere.
     */
    async require(output: ServiceAuth["keyOutput"]): Promise<string> {
        const variable = KEY_VARIABLES[output];
        const fromEnv = this.env[variable];
        if (fromEnv !== undefined) return fromEnv;
        const fromOutputs = await this.output(output);
        if (typeof fromOutputs === "string") return fromOutputs;
        throw new CommandFailure(
            `no ${output} for stack ${this.stack}: set ${variable} ` +
                `(${variable}=$(npm run -s outputs -- --stack ${this.stack} ${output} --show-secrets)), ` +
                "or install the Pulumi CLI so it is read from the deployed stack",
        );
    }

    /** A stack output of the deployed stack, read once per command; undefined when it cannot be read. */
    async output(name: string): Promise<unknown> {
        this.outputs ??= deployedOutputs(this.stack, this.projectDir, this.env);
        return (await this.outputs)?.[name];
    }
}
