import * as pulumi from "@pulumi/pulumi";

/** Inputs of an OllamaModel: one model tag pulled into one Ollama server. */
export interface OllamaModelArgs {
    /** Base URL of the Ollama server, e.g. "http://127.0.0.1:11434". */
    ollamaUrl: pulumi.Input<string>;
    /** Model tag, e.g. "qwen2.5:7b" or "registry.local:5000/team/model:tag". */
    model: pulumi.Input<string>;
    /**
     * What holds the model, e.g. the Ollama container's id and its models folder on the host. When it changes (a
     * replaced container, another data folder), the model is pulled again: the new holder may not have it.
     */
    holder?: pulumi.Input<string>;
    /** Pull over plain HTTP, for a private registry without TLS (default false). */
    insecure?: pulumi.Input<boolean>;
    /** Delete the model from the server when the resource is destroyed (default false: models are large). */
    deleteOnDestroy?: pulumi.Input<boolean>;
    /** Seconds without a byte from the pull stream before the attempt counts as stalled (default 120). */
    stallSeconds?: pulumi.Input<number>;
    /** Pull attempts before giving up (default 4). */
    maxAttempts?: pulumi.Input<number>;
    /** Seconds before the first retry; each further retry waits twice as long (default 5). */
    backoffSeconds?: pulumi.Input<number>;
}

/** Plain values the provider receives. */
interface OllamaModelInputs {
    ollamaUrl: string;
    model: string;
    holder?: string;
    insecure?: boolean;
    deleteOnDestroy?: boolean;
    stallSeconds?: number;
    maxAttempts?: number;
    backoffSeconds?: number;
}

/** What the server says about an installed model. */
interface InstalledModel {
    digest: string;
    size: number;
    family: string;
    parameterSize: string;
    quantization: string;
}

/** Progress of one resource's pull, kept across attempts so a resumed pull does not repeat lines. */
interface PullProgress {
    lastStatus: string;
    lastLoggedStatus: string;
    loggedTenthsByLayer: Record<string, number>;
    succeeded: boolean;
}

/** What the engine sends for a value not known yet (during preview). */
const UNKNOWN_DURING_PREVIEW = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Errors that another attempt cannot fix: a missing model, a bad name, a server too old for the model. */
const PERMANENT_PULL_ERROR = /does not exist|not found|invalid model name|newer version/i;

function say(model: string, message: string): void {
    // console.log, not pulumi.log: the provider runs in the engine's host process, where stdout reaches the operator.
    console.log(`OllamaModel ${model}: ${message}`);
}

function formatBytes(bytes: number): string {
    const units = ["B", "KB", "MB", "GB", "TB"];
    let value = bytes;
    let unit = 0;
    while (value >= 1000 && unit < units.length - 1) {
        value /= 1000;
        unit++;
    }
    return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** fetch hides the useful part ("connect ECONNREFUSED ...", "other side closed") in `cause`. */
function describeError(err: unknown): string {
    const error = err as { message?: string; cause?: { message?: string } };
    const detail = error.cause?.message ?? error.message ?? String(err);
    return error.message === "terminated" ? `connection dropped mid-stream (${detail})` : detail;
}

function permanentError(message: string): Error {
    return Object.assign(new Error(message), { permanent: true });
}

/**
 * fetch, with "no answer at all" (refused, reset, timed out) marked `noAnswer`: a refresh or destroy then goes on
 * without the server, which is down or being replaced, instead of failing every later run.
 */
async function ask(url: string, init: RequestInit): Promise<Response> {
    try {
        return await fetch(url, init);
    } catch (err) {
        throw Object.assign(new Error(describeError(err)), { noAnswer: true });
    }
}

function isNoAnswer(err: unknown): boolean {
    return (err as { noAnswer?: boolean }).noAnswer === true;
}

/** Reads one NDJSON line of /api/pull; Ollama reports failures as `{"error":...}` lines even with HTTP 200. */
function followPullLine(model: string, line: string, progress: PullProgress): void {
    let message: { status?: string; error?: string; digest?: string; total?: number; completed?: number };
    try {
        message = JSON.parse(line);
    } catch {
        throw new Error(`unreadable line from Ollama: ${line.slice(0, 200)}`);
    }
    if (message.error) {
        throw PERMANENT_PULL_ERROR.test(message.error) ? permanentError(message.error) : new Error(message.error);
    }
    const status = message.status ?? "";
    if (message.digest && message.total) {
        const percent = Math.floor(((message.completed ?? 0) / message.total) * 100);
        progress.lastStatus = `${status} ${percent}%`;
        const tenths = Math.floor(percent / 10);
        const loggedTenths = progress.loggedTenthsByLayer[message.digest];
        if (loggedTenths === undefined) {
            say(model, `${status}: layer of ${formatBytes(message.total)}, ${percent}% here`);
            progress.loggedTenthsByLayer[message.digest] = tenths;
        } else if (tenths > loggedTenths) {
            say(
                model,
                `${status} ${percent}% (${formatBytes(message.completed ?? 0)} of ${formatBytes(message.total)})`,
            );
            progress.loggedTenthsByLayer[message.digest] = tenths;
        }
        return;
    }
    progress.lastStatus = status;
    if (status !== progress.lastLoggedStatus) {
        say(model, status);
        progress.lastLoggedStatus = status;
    }
    if (status === "success") {
        progress.succeeded = true;
    }
}

/** Joins by text, so a server behind a path prefix (http://host/ollama) keeps its prefix. */
function endpoint(ollamaUrl: string, path: string): string {
    return `${ollamaUrl.replace(/\/+$/, "")}${path}`;
}

/** One streamed POST /api/pull, aborted when no byte arrives for stallSeconds. */
async function pullOnce(inputs: OllamaModelInputs, progress: PullProgress): Promise<void> {
    const stallSeconds = inputs.stallSeconds ?? 120;
    const abort = new AbortController();
    const stalled = new Error(`no data for ${stallSeconds}s (stalled)`);
    let stallTimer: NodeJS.Timeout | undefined;
    const restartStallTimer = () => {
        clearTimeout(stallTimer);
        stallTimer = setTimeout(() => abort.abort(stalled), stallSeconds * 1000);
    };
    restartStallTimer();
    try {
        const response = await fetch(endpoint(inputs.ollamaUrl, "/api/pull"), {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ model: inputs.model, insecure: inputs.insecure ?? false, stream: true }),
            signal: abort.signal,
        });
        if (!response.ok || !response.body) {
            const body = await response.text();
            let reason = body.trim();
            try {
                reason = JSON.parse(body).error ?? reason;
            } catch {
                // not JSON: keep the text
            }
            const message = `HTTP ${response.status} from /api/pull: ${reason}`;
            throw response.status < 500 || PERMANENT_PULL_ERROR.test(reason)
                ? permanentError(message)
                : new Error(message);
        }
        const decoder = new TextDecoder();
        let unfinishedLine = "";
        for await (const chunk of response.body) {
            restartStallTimer();
            const lines = (unfinishedLine + decoder.decode(chunk, { stream: true })).split("\n");
            unfinishedLine = lines.pop() ?? "";
            for (const line of lines.filter((l) => l.trim())) {
                followPullLine(inputs.model, line, progress);
            }
        }
        if (unfinishedLine.trim()) {
            followPullLine(inputs.model, unfinishedLine, progress);
        }
        if (!progress.succeeded) {
            throw new Error(`the pull stream ended before "success"`);
        }
    } catch (err) {
        throw abort.signal.aborted ? stalled : err;
    } finally {
        clearTimeout(stallTimer);
    }
}

/**
 * A model name as Ollama compares it: its default tag, registry and namespace filled in or left out alike, and
 * case ignored (Ollama 0.17.4, types/model/name.go `EqualFold`). Ollama also gives a name it pulls the case of
 * an installed model's same part (server/routes.go `getExistingName`: `qwen2.5:1B` next to `llama3.2:1b` is
 * listed as `qwen2.5:1b`), so only a comparison that ignores case finds it.
 */
export function canonicalModelName(name: string): string {
    const tagged = /:[^/]+$/.test(name) ? name : `${name}:latest`;
    return tagged.toLowerCase().replace(/^(registry\.ollama\.ai\/)?(library\/)?/, "");
}

/** Looks the model up in GET /api/tags: undefined when the server does not have it. */
async function findInstalledModel(ollamaUrl: string, model: string): Promise<InstalledModel | undefined> {
    const response = await ask(endpoint(ollamaUrl, "/api/tags"), { signal: AbortSignal.timeout(30_000) });
    if (!response.ok) {
        throw new Error(`HTTP ${response.status} from ${ollamaUrl}/api/tags`);
    }
    const { models } = (await response.json()) as {
        models?: { name: string; model?: string; digest: string; size: number; details?: Record<string, string> }[];
    };
    const wanted = canonicalModelName(model);
    const entry = (models ?? []).find(
        (candidate) =>
            canonicalModelName(candidate.name) === wanted || canonicalModelName(candidate.model ?? "") === wanted,
    );
    if (!entry) {
        return undefined;
    }
    return {
        digest: entry.digest,
        size: entry.size,
        family: entry.details?.family ?? "",
        parameterSize: entry.details?.parameter_size ?? "",
        quantization: entry.details?.quantization_level ?? "",
    };
}

function nextStepFor(cause: string, inputs: OllamaModelInputs): string {
    if (/HTTP response to HTTPS client/i.test(cause) && !inputs.insecure) {
        return " Next: set insecure: true for a registry without TLS.";
    }
    if (PERMANENT_PULL_ERROR.test(cause)) {
        return " Next: check the model tag (ollama.com/library, or your registry's catalog).";
    }
    return ` Next: check that ${inputs.ollamaUrl} can reach its registry, then run pulumi up again (the download resumes).`;
}

async function pullWithRetries(inputs: OllamaModelInputs): Promise<void> {
    const maxAttempts = inputs.maxAttempts ?? 4;
    const backoffSeconds = inputs.backoffSeconds ?? 5;
    const progress: PullProgress = {
        lastStatus: "none",
        lastLoggedStatus: "",
        loggedTenthsByLayer: {},
        succeeded: false,
    };
    for (let attempt = 1; ; attempt++) {
        try {
            await pullOnce(inputs, progress);
            return;
        } catch (err) {
            const cause = describeError(err);
            if ((err as { permanent?: boolean }).permanent || attempt >= maxAttempts) {
                const attempts = `${attempt} attempt${attempt === 1 ? "" : "s"}`;
                throw new Error(
                    `OllamaModel: pull of ${inputs.model} failed after ${attempts}: ${cause} (last status: ${progress.lastStatus}).${nextStepFor(cause, inputs)}`,
                );
            }
            const delaySeconds = backoffSeconds * 2 ** (attempt - 1);
            say(
                inputs.model,
                `attempt ${attempt} of ${maxAttempts} failed: ${cause}; retrying in ${delaySeconds}s (Ollama resumes partial downloads)`,
            );
            await new Promise((resolve) => setTimeout(resolve, delaySeconds * 1000));
        }
    }
}

/** Pulls the model and describes what the server then holds. */
async function pullModel(inputs: OllamaModelInputs): Promise<InstalledModel> {
    await pullWithRetries(inputs);
    const installed = await findInstalledModel(inputs.ollamaUrl, inputs.model);
    if (!installed) {
        throw new Error(`OllamaModel: ${inputs.model} pulled, but ${inputs.ollamaUrl}/api/tags does not list it.`);
    }
    say(
        inputs.model,
        `ready: ${installed.parameterSize} ${installed.quantization}, ${formatBytes(installed.size)}, ${installed.digest.slice(0, 12)}`,
    );
    return installed;
}

function isKnown(value: unknown): boolean {
    return value !== undefined && value !== UNKNOWN_DURING_PREVIEW;
}

/** Exported for direct tests; the engine runs its serialized copy. */
export const ollamaModelProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds, news) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        if (isKnown(news.ollamaUrl) && !/^https?:\/\/[^/]/.test(String(news.ollamaUrl))) {
            failures.push({
                property: "ollamaUrl",
                reason: `OllamaModel: ollamaUrl must be an http(s) URL, got ${JSON.stringify(news.ollamaUrl)}`,
            });
        }
        if (isKnown(news.model) && !/^\S+$/.test(String(news.model))) {
            failures.push({
                property: "model",
                reason: `OllamaModel: model must be a tag like "qwen2.5:7b", got ${JSON.stringify(news.model)}`,
            });
        }
        for (const key of ["stallSeconds", "backoffSeconds"]) {
            if (isKnown(news[key]) && !(typeof news[key] === "number" && news[key] >= 0)) {
                failures.push({
                    property: key,
                    reason: `OllamaModel: ${key} must be a number of seconds, got ${news[key]}`,
                });
            }
        }
        if (isKnown(news.maxAttempts) && !(Number.isInteger(news.maxAttempts) && news.maxAttempts >= 1)) {
            failures.push({
                property: "maxAttempts",
                reason: `OllamaModel: maxAttempts must be a whole number >= 1, got ${news.maxAttempts}`,
            });
        }
        return { inputs: news, failures };
    },

    async diff(_id, olds, news) {
        // Another tag, server or holder is another copy of the model; the other inputs only steer how pulls and
        // deletes run.
        const replaces = ["ollamaUrl", "model", "holder"].filter((key) => olds[key] !== news[key]);
        const tuning = ["insecure", "deleteOnDestroy", "stallSeconds", "maxAttempts", "backoffSeconds"];
        // A refresh that could not reach the server marked the model unverified: the next up checks it.
        const changes =
            replaces.length > 0 || olds.unverified === true || tuning.some((key) => olds[key] !== news[key]);
        // The same server under a new holder: delete the old copy first, or deleteOnDestroy would remove the new one.
        if (replaces.includes("holder") && olds.ollamaUrl === news.ollamaUrl)
            return { changes, replaces, deleteBeforeReplace: true };
        return { changes, replaces };
    },

    async create(inputs) {
        return { id: inputs.model, outs: { ...inputs, ...(await pullModel(inputs as OllamaModelInputs)) } };
    },

    async read(id, recorded) {
        // What an earlier refresh could not check, this one checks.
        const { unverified: _earlier, ...props } = recorded;
        const { ollamaUrl, model } = props as OllamaModelInputs;
        let installed: InstalledModel | undefined;
        try {
            installed = await findInstalledModel(ollamaUrl, model);
        } catch (err) {
            if (!isNoAnswer(err)) throw new Error(`OllamaModel: cannot refresh ${model}: ${describeError(err)}.`);
            say(
                model,
                `cannot check: ${ollamaUrl} did not answer (${describeError(err)}); kept as recorded, and the next pulumi up checks it again`,
            );
            return { id, props: { ...props, unverified: true } };
        }
        if (!installed) {
            say(model, `no longer on ${ollamaUrl} (deleted outside Pulumi); the next pulumi up pulls it again.`);
            // An empty id is how a provider tells the engine the resource is gone.
            return { id: "" };
        }
        return { id, props: { ...props, ...installed } };
    },

    async update(_id, olds, news) {
        const { unverified, ...recorded } = olds;
        if (!unverified) return { outs: { ...recorded, ...news } };
        const inputs = news as OllamaModelInputs;
        const installed = (await findInstalledModel(inputs.ollamaUrl, inputs.model)) ?? (await pullModel(inputs));
        return { outs: { ...recorded, ...news, ...installed } };
    },

    async delete(_id, props) {
        const { ollamaUrl, model, deleteOnDestroy } = props as OllamaModelInputs;
        if (!deleteOnDestroy) {
            say(model, `left on ${ollamaUrl} (deleteOnDestroy is false)`);
            return;
        }
        let response: Response;
        try {
            response = await ask(endpoint(ollamaUrl, "/api/delete"), {
                method: "DELETE",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({ model }),
                signal: AbortSignal.timeout(60_000),
            });
        } catch (err) {
            // A server that is gone cannot delete; its files are in the instance's models folder, which a destroy
            // leaves anyway.
            say(
                model,
                `not deleted: ${ollamaUrl} did not answer (${describeError(err)}); its files stay in the instance's models folder`,
            );
            return;
        }
        // 404: already gone, which is what delete wants.
        if (!response.ok && response.status !== 404) {
            throw new Error(
                `OllamaModel: deleting ${model} from ${ollamaUrl} failed: HTTP ${response.status} ${await response.text()}`,
            );
        }
        say(model, `deleted from ${ollamaUrl}`);
    },
};

/**
 * Pulls a model into an Ollama server during `pulumi up`, printing progress, retrying stalled or dropped pulls,
 * and reporting what was installed.
 */
export class OllamaModel extends pulumi.dynamic.Resource {
    /** Digest of the installed model's manifest. */
    declare public readonly digest: pulumi.Output<string>;
    /** Bytes on disk. */
    declare public readonly size: pulumi.Output<number>;
    /** Model family, e.g. "qwen2". */
    declare public readonly family: pulumi.Output<string>;
    /** Parameter count as Ollama reports it, e.g. "7.6B". */
    declare public readonly parameterSize: pulumi.Output<string>;
    /** Quantization level, e.g. "Q4_K_M". */
    declare public readonly quantization: pulumi.Output<string>;

    constructor(name: string, args: OllamaModelArgs, opts?: pulumi.CustomResourceOptions) {
        const computed = {
            digest: undefined,
            size: undefined,
            family: undefined,
            parameterSize: undefined,
            quantization: undefined,
        };
        super(ollamaModelProvider, name, { ...args, ...computed }, opts, "aigateway", "OllamaModel");
    }
}
