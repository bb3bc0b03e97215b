import { bytesOf, progressByLayer, widestProgressStep } from "./pullProgress";

const model = "127.0.0.1:5080/aigw/large-a:latest";
/** As `npm run up` shows them: the engine's prefix, then the provider's line. */
const upOutput = (lines: string[]) =>
    lines
        .map((line) => ` +  pulumi:pulumi:Stack ai-gateway-e2e creating (12s) OllamaModel ${model}: ${line}`)
        .join("\n");

describe("pull progress lines", () => {
    it("reads the sizes OllamaModel prints", () => {
        expect(bytesOf("590.5 MB")).toBe(590.5e6);
        expect(bytesOf("74 B")).toBe(74);
        expect(bytesOf("4.7 GB")).toBe(4.7e9);
    });

    it("follows each layer, and measures the steps of the largest", () => {
        const output = upOutput([
            "pulling manifest",
            "pulling 7e9f414cea97: layer of 590.5 MB, 0% here",
            ...[10, 20, 30, 40, 50, 60, 70, 80, 90, 100].map((p) => `pulling 7e9f414cea97 ${p}% (x of 590.5 MB)`),
            "pulling 4d7ca7dee35e: layer of 74 B, 0% here",
            "pulling 4d7ca7dee35e 100% (74 B of 74 B)",
            "verifying sha256 digest",
        ]);
        expect(progressByLayer(output, model).get("4d7ca7dee35e")).toEqual({ bytes: 74, percents: [0, 100] });
        expect(widestProgressStep(output, model)).toBe(10);
        expect(widestProgressStep(output.replace(/.* 50% .*\n/, ""), model)).toBe(20);
        // No line at the end of the layer: the step to 100 % counts.
        expect(widestProgressStep(output.replace(/.* (90|100)% .*590.5 MB\)\n/g, ""), model)).toBe(20);
        expect(widestProgressStep("", model)).toBe(100);
    });
});
