import { secretCommand } from "../../commands/secret";
import { runInProcess } from "../support/operator";

/** Mistakes are refused before the CLI is looked for or any stack is created (`PATH` has no CLI here). */
describe("secret: refusals", () => {
    const env = { PATH: "/nonexistent" };

    it("refuses a key that is not one of the stack's secret keys, naming the ones that are", async () => {
        const { code, err } = await runInProcess(secretCommand, ["--stack", "dev", "router.port"], env, "4100");
        expect(code).toBe(2);
        expect(err).toMatch(/^secret: router\.port is not a secret key of the stack \(secret keys: cloudApiKey\)\n/);
    });

    it("refuses an empty value, naming the key", async () => {
        const { code, err } = await runInProcess(secretCommand, ["--stack", "dev", "cloudApiKey"], env, "\n");
        expect(code).toBe(1);
        expect(err).toBe("secret: no value for ai-gateway:cloudApiKey on standard input\n");
    });

    it("needs the stack and exactly one key", async () => {
        expect((await runInProcess(secretCommand, ["cloudApiKey"], env, "x")).err).toMatch(/--stack is required/);
        expect((await runInProcess(secretCommand, ["--stack", "dev"], env, "x")).err).toMatch(/name exactly one key/);
    });
});
