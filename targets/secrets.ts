import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

/** A generated router master key, a secret. LiteLLM refuses master keys that do not start with "sk-". */
export function newMasterKey(name: string, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
    const keyBody = new random.RandomPassword(name, { length: 48, special: false }, opts);
    return pulumi.secret(pulumi.interpolate`sk-${keyBody.result}`);
}
