/**
 * A program for the evaluator's own tests (tests/commands/evaluate.test.ts): resources of one type and name
 * under parents of different types, which the engine keeps apart by URN, and, with `fixture:duplicate` set,
 * two resources with one URN, which the engine refuses.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

class Inner extends pulumi.ComponentResource {
    constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
        super("fixture:index:Inner", name, {}, opts);
        new random.RandomPassword(`${name}-key`, { length: 8 }, { parent: this });
        this.registerOutputs({});
    }
}

class Outer extends pulumi.ComponentResource {
    constructor(type: string, name: string) {
        super(type, name, {});
        new Inner(name, { parent: this });
        this.registerOutputs({});
    }
}

new Outer("fixture:index:Left", "same");
new Outer("fixture:index:Right", "same");
if (new pulumi.Config("fixture").getBoolean("duplicate"))
    for (let i = 0; i < 2; i++) new random.RandomPassword("twice", { length: 8 });
