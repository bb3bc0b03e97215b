import { readFileSync } from "node:fs";
import * as path from "node:path";
import { withReference } from "../config/reference";

describe("README", () => {
    const readme = readFileSync(path.join(__dirname, "..", "README.md"), "utf8");

    it("has the config reference generated from the schema (run npm run docs:config after changing it)", () => {
        expect(readme).toBe(withReference(readme));
    });

    it("gives the two set-up commands", () => {
        expect(readme).toContain("pulumi up --stack");
        expect(readme).toContain("npm test");
    });
});
