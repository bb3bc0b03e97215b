import * as path from "node:path";
import { evaluateFile } from "../support/stack";

const PROGRAM = path.join(__dirname, "..", "support", "urnProgram.ts");
const RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword";

describe("the program's evaluation under mocks", () => {
    it("keeps resources of one type and name apart when their parents' types differ, as the engine's URNs do", async () => {
        const { resources } = await evaluateFile(PROGRAM, {});
        expect(resources.filter((r) => r.name === "same-key").map((r) => [r.urn, r.parent])).toEqual([
            [
                `urn:pulumi:render::ai-gateway::fixture:index:Left$fixture:index:Inner$${RANDOM_PASSWORD}::same-key`,
                "same",
            ],
            [
                `urn:pulumi:render::ai-gateway::fixture:index:Right$fixture:index:Inner$${RANDOM_PASSWORD}::same-key`,
                "same",
            ],
        ]);
        expect(resources.filter((r) => r.name === "same").map((r) => r.urn)).toEqual([
            "urn:pulumi:render::ai-gateway::fixture:index:Left$fixture:index:Inner::same",
            "urn:pulumi:render::ai-gateway::fixture:index:Right$fixture:index:Inner::same",
            "urn:pulumi:render::ai-gateway::fixture:index:Left::same",
            "urn:pulumi:render::ai-gateway::fixture:index:Right::same",
        ]);
    });

    it("fails as the engine does when two resources would have one URN", async () => {
        await expect(evaluateFile(PROGRAM, { "fixture:duplicate": "true" })).rejects.toThrow(
            `Duplicate resource URN 'urn:pulumi:render::ai-gateway::${RANDOM_PASSWORD}::twice'; try giving it a unique name`,
        );
    });
});
