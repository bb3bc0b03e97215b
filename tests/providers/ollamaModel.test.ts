import { ollamaModelProvider } from "../../providers/ollamaModel";
import { DEFAULT_CATALOG, FakeOllama } from "../support/fakeOllama";
import { freePort, sendJson, startHttpServer } from "../support/httpServer";
import { describeWithFakeOllama, ollamaTarget, OllamaTarget } from "../support/targets";

let target: OllamaTarget;
let logged: string[];

beforeAll(async () => {
    target = await ollamaTarget();
});
afterAll(() => target.close());
beforeEach(() => {
    logged = [];
    jest.spyOn(console, "log").mockImplementation((line: string) => void logged.push(line));
});
afterEach(() => jest.restoreAllMocks());

/** Inputs for one model on the target, with backoffs short enough for a test. */
function modelInputs(model: string, extra: Record<string, unknown> = {}) {
    return { ollamaUrl: target.url, model, insecure: target.insecure, backoffSeconds: 0.05, stallSeconds: 2, ...extra };
}

async function removeBehindPulumisBack(model: string): Promise<void> {
    const response = await fetch(`${target.url}/api/delete`, { method: "DELETE", body: JSON.stringify({ model }) });
    expect([200, 404]).toContain(response.status);
}

const linesFor = (model: string) => logged.filter((line) => line.startsWith(`OllamaModel ${model}: `));

describe("OllamaModel pulls", () => {
    it("pulls a model, printing a line per layer and per ~10%, and reports what was installed", async () => {
        const [model] = target.models;
        const { id, outs } = await ollamaModelProvider.create(modelInputs(model));

        expect(id).toBe(model);
        expect(outs).toMatchObject({ model, ollamaUrl: target.url });
        expect(outs.digest).toMatch(/^[0-9a-f]{64}$/);
        expect(outs.size).toBeGreaterThan(0);
        const lines = linesFor(model);
        expect(lines[0]).toBe(`OllamaModel ${model}: pulling manifest`);
        expect(lines).toContain(`OllamaModel ${model}: success`);
        expect(lines.at(-1)).toMatch(new RegExp(`^OllamaModel ${model}: ready: `));
        if (target.fake) {
            const spec = DEFAULT_CATALOG[0];
            expect(outs).toMatchObject({
                family: spec.family,
                parameterSize: spec.parameterSize,
                quantization: spec.quantization,
            });
            expect(lines).toContain(`OllamaModel ${model}: pulling 8eeb52dfb3bb: layer of 4.7 GB, 0% here`);
            const percentLines = lines.filter((line) => line.includes("pulling 8eeb52dfb3bb "));
            expect(percentLines.map((line) => line.match(/ (\d+)% /)![1])).toEqual([
                "10",
                "20",
                "30",
                "40",
                "50",
                "60",
                "70",
                "80",
                "90",
                "100",
            ]);
            expect(percentLines[3]).toBe(`OllamaModel ${model}: pulling 8eeb52dfb3bb 40% (1.9 GB of 4.7 GB)`);
        }
    });

    it("pulls several models in parallel, each reporting under its own name", async () => {
        const [first, second] = target.models;
        const results = await Promise.all(
            [first, second].map((model) => ollamaModelProvider.create(modelInputs(model))),
        );

        expect(results.map((result) => result.id)).toEqual([first, second]);
        for (const model of [first, second]) {
            expect(linesFor(model)).toContain(`OllamaModel ${model}: success`);
        }
        if (target.fake) {
            const firstSuccess = logged.indexOf(`OllamaModel ${first}: success`);
            const secondManifest = logged.indexOf(`OllamaModel ${second}: pulling manifest`);
            expect(secondManifest).toBeLessThan(firstSuccess);
        }
    });

    it("fails at once on a model the registry does not have, with the cause and the next step", async () => {
        const model = target.missingModel;
        await expect(ollamaModelProvider.create(modelInputs(model, { maxAttempts: 4 }))).rejects.toThrow(
            new RegExp(
                `^OllamaModel: pull of ${model} failed after 1 attempt: .*file does not exist.* \\(last status: pulling manifest\\)\\. Next: check the model tag`,
            ),
        );
    });
});

describe("OllamaModel refresh, destroy and diff", () => {
    it("read reports the installed model, and an empty id once it was deleted behind Pulumi's back", async () => {
        const model = target.models[1];
        const { id, outs } = await ollamaModelProvider.create(modelInputs(model));
        await expect(ollamaModelProvider.read!(id, outs)).resolves.toEqual({ id, props: outs });

        await removeBehindPulumisBack(model);
        await expect(ollamaModelProvider.read!(id, outs)).resolves.toEqual({ id: "" });
        expect(logged.at(-1)).toBe(
            `OllamaModel ${model}: no longer on ${target.url} (deleted outside Pulumi); the next pulumi up pulls it again.`,
        );
    });

    it("read keeps a model whose server does not answer, marked unverified, and the next up checks and pulls it", async () => {
        const port = await freePort();
        const model = target.models[1];
        const { id, outs } = await ollamaModelProvider.create(modelInputs(model));
        // The Ollama container is gone or not up yet (an interrupted replace): nothing listens at its URL.
        const down = { ...outs, ollamaUrl: `http://127.0.0.1:${port}` };
        await expect(ollamaModelProvider.read!(id, down)).resolves.toEqual({
            id,
            props: { ...down, unverified: true },
        });
        expect(logged.at(-1)).toBe(
            `OllamaModel ${model}: cannot check: http://127.0.0.1:${port} did not answer (connect ECONNREFUSED 127.0.0.1:${port}); kept as recorded, and the next pulumi up checks it again`,
        );

        // The server is back, without the model: the unverified state is a change, and the update pulls it.
        await removeBehindPulumisBack(model);
        const unverified = { ...outs, unverified: true };
        expect(await ollamaModelProvider.diff!(id, unverified, modelInputs(model))).toEqual({
            changes: true,
            replaces: [],
        });
        const { outs: checked } = await ollamaModelProvider.update!(id, unverified, modelInputs(model));
        expect(checked).toEqual({ ...outs, ...modelInputs(model) });
        expect(linesFor(model)).toContain(`OllamaModel ${model}: success`);
        // Verified again: no change left.
        expect(await ollamaModelProvider.diff!(id, checked!, modelInputs(model))).toEqual({
            changes: false,
            replaces: [],
        });
    });

    it("read and delete still fail on a server that answers with an error", async () => {
        const failing = await startHttpServer((_req, res) => sendJson(res, 500, { error: "disk full" }));
        const outs = { ...modelInputs("tiny:latest"), ollamaUrl: failing.url, deleteOnDestroy: true };
        await expect(ollamaModelProvider.read!("tiny:latest", outs)).rejects.toThrow(
            `OllamaModel: cannot refresh tiny:latest: HTTP 500 from ${failing.url}/api/tags.`,
        );
        await expect(ollamaModelProvider.delete!("tiny:latest", outs)).rejects.toThrow(
            `OllamaModel: deleting tiny:latest from ${failing.url} failed: HTTP 500 {"error":"disk full"}`,
        );
        await failing.close();
    });

    it("delete goes on when the server does not answer, saying the files stay", async () => {
        const port = await freePort();
        const outs = { ...modelInputs("tiny:latest"), ollamaUrl: `http://127.0.0.1:${port}`, deleteOnDestroy: true };
        await expect(ollamaModelProvider.delete!("tiny:latest", outs)).resolves.toBeUndefined();
        expect(logged.at(-1)).toBe(
            `OllamaModel tiny:latest: not deleted: http://127.0.0.1:${port} did not answer (connect ECONNREFUSED 127.0.0.1:${port}); its files stay in the instance's models folder`,
        );
    });

    it("delete leaves the model by default and removes it only with deleteOnDestroy", async () => {
        const model = target.models[1];
        const { id, outs } = await ollamaModelProvider.create(modelInputs(model));
        const installedNames = async () =>
            ((await (await fetch(`${target.url}/api/tags`)).json()) as { models: { name: string }[] }).models.map(
                (m) => m.name,
            );

        await ollamaModelProvider.delete!(id, outs);
        expect(await installedNames()).toContain(model);
        expect(logged.at(-1)).toBe(`OllamaModel ${model}: left on ${target.url} (deleteOnDestroy is false)`);

        await ollamaModelProvider.delete!(id, { ...outs, deleteOnDestroy: true });
        expect(await installedNames()).not.toContain(model);
        // Already gone is what delete wants, not an error.
        await expect(ollamaModelProvider.delete!(id, { ...outs, deleteOnDestroy: true })).resolves.toBeUndefined();
    });

    it("diff replaces for another tag, server or holder and updates in place for anything else", async () => {
        const olds = {
            ...modelInputs("tiny:latest"),
            digest: "d",
            size: 1,
            family: "f",
            parameterSize: "p",
            quantization: "q",
        };
        const news = modelInputs("tiny:latest");
        expect(await ollamaModelProvider.diff!("id", olds, news)).toEqual({ changes: false, replaces: [] });
        expect(await ollamaModelProvider.diff!("id", olds, { ...news, model: "tiny:q8" })).toEqual({
            changes: true,
            replaces: ["model"],
        });
        expect(await ollamaModelProvider.diff!("id", olds, { ...news, ollamaUrl: "http://gpu2:11434" })).toEqual({
            changes: true,
            replaces: ["ollamaUrl"],
        });
        // An Ollama container replaced, or given another (empty) models folder: the model must be pulled again.
        const held = { ...news, holder: "ollama-id-1:/data/ollama" };
        expect(await ollamaModelProvider.diff!("id", { ...olds, ...held }, held)).toEqual({
            changes: false,
            replaces: [],
        });
        for (const holder of ["ollama-id-2:/data/ollama", "ollama-id-1:/srv/ollama"])
            expect(await ollamaModelProvider.diff!("id", { ...olds, ...held }, { ...held, holder })).toEqual({
                changes: true,
                replaces: ["holder"],
                deleteBeforeReplace: true,
            });
        expect(await ollamaModelProvider.diff!("id", olds, { ...news, deleteOnDestroy: true })).toEqual({
            changes: true,
            replaces: [],
        });
        const { outs } = await ollamaModelProvider.update!("id", olds, { ...news, deleteOnDestroy: true });
        expect(outs).toMatchObject({ deleteOnDestroy: true, digest: "d" });
    });

    it("check names the property for a bad URL, tag or attempt count", async () => {
        const { failures } = await ollamaModelProvider.check!(
            {},
            { ollamaUrl: "ollama:11434", model: "qwen 7b", maxAttempts: 0 },
        );
        expect(failures!.map((failure) => failure.property)).toEqual(["ollamaUrl", "model", "maxAttempts"]);
    });
});

describeWithFakeOllama("OllamaModel faults only the fake can cause", () => {
    const model = "tiny:latest";

    it("treats an error line in a 200 stream as failure, with the last status", async () => {
        target.fake!.failNextPulls({
            kind: "errorLine",
            atPercent: 35,
            message: "max retries exceeded: unexpected EOF",
        });
        await expect(ollamaModelProvider.create(modelInputs(model, { maxAttempts: 1 }))).rejects.toThrow(
            "OllamaModel: pull of tiny:latest failed after 1 attempt: max retries exceeded: unexpected EOF (last status: pulling 8eeb52dfb3bb 30%). Next: check that",
        );
    });

    it("retries a dropped connection with backoff and the next pull resumes", async () => {
        const fake = target.fake!;
        const pullsBefore = fake.pullRequests.length;
        fake.failNextPulls({ kind: "drop", atPercent: 50 }, { kind: "drop", atPercent: 70 });

        const { outs } = await ollamaModelProvider.create(modelInputs(model));
        expect(outs.family).toBe("qwen2");
        expect(fake.pullRequests.length - pullsBefore).toBe(3);
        const [, secondPull, thirdPull] = fake.resumedFrom.slice(pullsBefore);
        const layer = DEFAULT_CATALOG[0].layers[0];
        expect(secondPull[layer.digest]).toBeGreaterThanOrEqual(layer.size * 0.5);
        expect(thirdPull[layer.digest]).toBeGreaterThanOrEqual(layer.size * 0.7);

        const lines = linesFor(model);
        expect(lines).toContain(
            "OllamaModel tiny:latest: attempt 1 of 4 failed: connection dropped mid-stream (other side closed); retrying in 0.05s (Ollama resumes partial downloads)",
        );
        expect(lines).toContain(
            "OllamaModel tiny:latest: attempt 2 of 4 failed: connection dropped mid-stream (other side closed); retrying in 0.1s (Ollama resumes partial downloads)",
        );
        // A resumed pull continues the progress lines instead of repeating them.
        const percentLines = lines.filter((line) => / \d+% \(/.test(line) && line.includes("8eeb52dfb3bb"));
        expect(new Set(percentLines).size).toBe(percentLines.length);
    });

    it("retries a stalled pull once no data came for stallSeconds", async () => {
        target.fake!.failNextPulls({ kind: "stall", atPercent: 30 });
        const startedAt = Date.now();
        await ollamaModelProvider.create(modelInputs(model, { stallSeconds: 0.3 }));
        expect(Date.now() - startedAt).toBeGreaterThanOrEqual(300);
        expect(linesFor(model)).toContain(
            "OllamaModel tiny:latest: attempt 1 of 4 failed: no data for 0.3s (stalled); retrying in 0.05s (Ollama resumes partial downloads)",
        );
    });

    it("gives up after maxAttempts with the model, the cause and the last status", async () => {
        target.fake!.failNextPulls(
            { kind: "stall", atPercent: 20 },
            { kind: "drop", atPercent: 30 },
            { kind: "drop", atPercent: 40 },
        );
        await expect(
            ollamaModelProvider.create(modelInputs(model, { stallSeconds: 0.2, maxAttempts: 3 })),
        ).rejects.toThrow(
            /^OllamaModel: pull of tiny:latest failed after 3 attempts: connection dropped mid-stream \(other side closed\) \(last status: pulling 8eeb52dfb3bb [34]\d%\)\. Next: check that http:\/\/127\.0\.0\.1:\d+ can reach its registry, then run pulumi up again \(the download resumes\)\.$/,
        );
    });
});

describe("OllamaModel and names in another case", () => {
    // Ollama 0.17.4 gives a name it pulls the case of the same part of an installed model's name
    // (server/routes.go getExistingName) and compares names ignoring case (types/model/name.go EqualFold).
    const layer = (hex: string) => [{ digest: `sha256:${hex.padEnd(64, "0")}`, size: 1_000 }];
    const catalog = ["llama3.2:1b", "qwen2.5:1b", "llama3.2:q4_k_m", "qwen2.5:q4_k_m"].map((name, i) => ({
        name,
        layers: layer(`a${i}`),
        family: "f",
        parameterSize: "1B",
        quantization: "Q4_K_M",
    }));
    let fake: FakeOllama;
    beforeAll(async () => {
        fake = await FakeOllama.start({ catalog });
    });
    afterAll(() => fake.close());
    const inputs = (model: string) => ({ ollamaUrl: fake.url, model, backoffSeconds: 0.05, stallSeconds: 2 });
    const listed = async () =>
        ((await (await fetch(`${fake.url}/api/tags`)).json()) as { models: { name: string }[] }).models.map(
            (m) => m.name,
        );

    it("finds a model Ollama listed in the case of one it had, on create and on every refresh", async () => {
        await ollamaModelProvider.create(inputs("llama3.2:1b"));
        const { id, outs } = await ollamaModelProvider.create(inputs("qwen2.5:1B"));
        expect(await listed()).toEqual(["llama3.2:1b", "qwen2.5:1b"]);
        expect(id).toBe("qwen2.5:1B");
        expect(outs.digest).toMatch(/^a1/);
        await expect(ollamaModelProvider.read!(id, outs)).resolves.toEqual({ id, props: outs });

        await ollamaModelProvider.create(inputs("llama3.2:q4_k_m"));
        const quantized = await ollamaModelProvider.create(inputs("qwen2.5:Q4_K_M"));
        expect(await listed()).toContain("qwen2.5:q4_k_m");
        await expect(ollamaModelProvider.read!(quantized.id, quantized.outs)).resolves.toEqual({
            id: "qwen2.5:Q4_K_M",
            props: quantized.outs,
        });
    });
});
