/**
 * Model pulls in `npm run bench`: OllamaModel's throughput against the raw `ollama pull` CLI and against a pull
 * that streams no progress at all, on a model of about 590 MB, the same registry and the same Ollama, the three
 * alternated and the model deleted between runs; and how far apart in percent the progress lines OllamaModel
 * prints are, at a download speed that can be followed. OllamaModel runs as the engine runs it: its serialized
 * provider in a node process of its own, whose printed lines are what `up` shows.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { OllamaModel } from "../../../providers/ollamaModel";
import { ModelRegistry } from "../../e2e/support/modelRegistry";
import { recordRegistrations, SerializedProvider } from "../../support/serializedProvider";
import { OLLAMA_BIN, percentile } from "../support/peers";
import { widestProgressStep } from "../support/pullProgress";
import { Measure } from "./results";

/** The ways a model is pulled, alternated round by round. */
type Way = "provider" | "cli" | "unstreamed";

/** The size of the largest file in `dir`, 0 when there is none (the model's weights, once pulled). */
function largestBlob(dir: string): number {
    if (!existsSync(dir)) return 0;
    return Math.max(0, ...readdirSync(dir).map((file) => statSync(path.join(dir, file)).size));
}

/** OllamaModel's serialized provider, in a node process of its own as the engine runs it. */
async function serializedOllamaModel(ollamaUrl: string, model: string): Promise<SerializedProvider> {
    const registrations = recordRegistrations();
    const resource = new OllamaModel(`bench-${model}`, { ollamaUrl, model, insecure: true });
    return SerializedProvider.load((await registrations.registered(resource)).inputs.__provider);
}

/**
 * Pulls `model` (from an insecure registry) into the Ollama at `ollamaUrl`, whose models folder is `modelsDir`,
 * `rounds` times each way, deleting it before every pull.
 */
export async function pullThroughput(
    ollamaUrl: string,
    modelsDir: string,
    model: string,
    rounds: number,
): Promise<Measure[]> {
    const blobs = path.join(modelsDir, "blobs");
    const remove = async () => {
        await fetch(`${ollamaUrl}/api/delete`, { method: "DELETE", body: JSON.stringify({ model }) });
        // A blob left behind would make the next pull a copy from disk, not a download.
        if (largestBlob(blobs) > 1e6) throw new Error(`the delete of ${model} left its weights in ${blobs}`);
    };
    const provider = await serializedOllamaModel(ollamaUrl, model);
    const pulls: Record<Way, () => Promise<unknown>> = {
        provider: () => provider.call("create", { ollamaUrl, model, insecure: true }),
        cli: () =>
            promisify(execFile)(OLLAMA_BIN, ["pull", "--insecure", model], {
                env: { ...process.env, OLLAMA_HOST: ollamaUrl.replace("http://", "") },
                maxBuffer: 64 * 1024 * 1024,
            }),
        unstreamed: async () => {
            const response = await fetch(`${ollamaUrl}/api/pull`, {
                method: "POST",
                body: JSON.stringify({ model, insecure: true, stream: false }),
            });
            const answer = (await response.json()) as { status?: string; error?: string };
            if (answer.status !== "success") throw new Error(`unstreamed pull of ${model}: ${JSON.stringify(answer)}`);
        },
    };
    const seconds: Record<Way, number[]> = { provider: [], cli: [], unstreamed: [] };
    let bytes = 0;
    try {
        for (let round = 0; round < rounds; round++) {
            // Each way goes first, second and third in turn, so neither drift nor a warm cache favours one.
            const ways = (["provider", "cli", "unstreamed"] as Way[]).map((_, i, all) => all[(i + round) % all.length]);
            for (const way of ways) {
                await remove();
                const startedAt = performance.now();
                await pulls[way]();
                seconds[way].push((performance.now() - startedAt) / 1000);
                bytes = largestBlob(blobs);
            }
        }
        await remove(); // the next pull of these weights, under another name, must download them too
    } finally {
        provider.stop();
    }
    const megabytes = bytes / 1e6;
    const rates = (way: Way) => seconds[way].map((s) => megabytes / s);
    // Ollama notices a finished part of a download on a 1 s tick (its stall check, server/download.go), so a
    // pull of these weights at loopback speed takes one of two times a second apart, whoever asks: the best of
    // the rounds compares what each way can reach, the median shows the spread.
    const best = (way: Way) => Math.max(...rates(way));
    const size = `${Math.round(megabytes)} MB`;
    const against = (measured: Way, baseline: Way, what: string) => [
        {
            id: `pull.${what}`,
            unit: "MB/s",
            measured: best(measured),
            baseline: best(baseline),
            target: { of: "ratio" as const, atLeast: 0.97 },
            samples: { measured: rates(measured), baseline: rates(baseline) },
        },
        {
            id: `pull.${what}.p50`,
            unit: "MB/s",
            measured: percentile(rates(measured), 50),
            baseline: percentile(rates(baseline), 50),
        },
    ];
    const [throughput, throughputP50] = against("provider", "cli", "throughput");
    const [progressCost, progressCostP50] = against("provider", "unstreamed", "progressCost");
    return [
        {
            ...throughput,
            what: `pull throughput of a ${size} model, best of ${rounds}: OllamaModel vs \`ollama pull\` (same registry, same Ollama, alternated)`,
        },
        { ...throughputP50, what: "the same, p50" },
        {
            ...progressCost,
            what: `the same, best of ${rounds}: OllamaModel (progress streamed and printed) vs a pull that streams no progress (\`stream: false\`)`,
        },
        { ...progressCostP50, what: "the same, p50" },
    ];
}

/**
 * The progress lines OllamaModel prints while it pulls `model` from `registry` at `bytesPerSecond`, a speed at
 * which a download takes long enough to follow (on loopback at full speed the weights arrive between two of
 * Ollama's progress reports): the widest step between two lines of the weights, and the longest pause.
 */
export async function pullProgress(
    ollamaUrl: string,
    registry: ModelRegistry,
    name: string,
    bytesPerSecond: number,
): Promise<Measure[]> {
    const model = registry.model(name);
    await fetch(`${ollamaUrl}/api/delete`, { method: "DELETE", body: JSON.stringify({ model }) });
    const provider = await serializedOllamaModel(ollamaUrl, model);
    registry.bytesPerSecond = bytesPerSecond;
    const startedAt = performance.now();
    try {
        await provider.call("create", { ollamaUrl, model, insecure: true });
    } finally {
        registry.bytesPerSecond = undefined;
        provider.stop();
    }
    const seconds = (performance.now() - startedAt) / 1000;
    const output = provider.lines.map((line) => line.text).join("\n");
    const times = [startedAt, ...provider.lines.map((line) => line.at)];
    const longestPause = Math.max(...times.slice(1).map((at, i) => at - times[i])) / 1000;
    const rate = `${Math.round(bytesPerSecond / 1e6)} MB/s`;
    return [
        {
            id: "pull.progressStep",
            what: `widest step between two progress lines OllamaModel printed for the weights, pulled at ${rate} (${seconds.toFixed(0)} s)`,
            unit: "%",
            measured: widestProgressStep(output, model),
            target: { of: "measured", atMost: 10 },
        },
        {
            id: "pull.progressPause",
            what: `the same pull: longest time without a line`,
            unit: "s",
            measured: longestPause,
        },
    ];
}
