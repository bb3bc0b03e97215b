import * as pulumi from "@pulumi/pulumi";

/** Inputs of a HealthCheck: an HTTP endpoint that `pulumi up` waits for. */
export interface HealthCheckArgs {
    /** URL probed with GET. */
    url: pulumi.Input<string>;
    /** Expected HTTP status (default 200). */
    expectStatus?: pulumi.Input<number>;
    /** Substring the body must contain. */
    expectBodyContains?: pulumi.Input<string>;
    /** Top-level JSON field that must be present; its value is reported (e.g. "version"). */
    expectJsonField?: pulumi.Input<string>;
    /** Seconds between probes (default 2). */
    intervalSeconds?: pulumi.Input<number>;
    /** Seconds before giving up (default 300). */
    timeoutSeconds?: pulumi.Input<number>;
    /** Seconds one probe may wait for an answer (default 10, never past the overall timeout). */
    probeTimeoutSeconds?: pulumi.Input<number>;
    /** Request headers, e.g. an API key; pass secrets as secrets. */
    headers?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Values whose change forces a new check, e.g. the container id. */
    triggers?: pulumi.Input<pulumi.Input<string>[]>;
    /** Container name used in the "docker logs <container>" hint. */
    containerName?: pulumi.Input<string>;
}

/** Plain values the provider receives (secrets arrive as plaintext). */
interface HealthCheckInputs {
    url: string;
    expectStatus?: number;
    expectBodyContains?: string;
    expectJsonField?: string;
    intervalSeconds?: number;
    timeoutSeconds?: number;
    probeTimeoutSeconds?: number;
    headers?: Record<string, string>;
    triggers?: string[];
    containerName?: string;
}

interface HealthCheckOutputs extends HealthCheckInputs {
    secondsToHealthy: number;
    lastStatus: number;
    reported: string;
}

/** What the engine sends for a value not known yet (during preview). */
const UNKNOWN_DURING_PREVIEW = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/**
 * Polls until the endpoint answers as expected. Probes start on a fixed cadence (not "interval after the
 * last answer") so that readiness is seen within one interval of it happening.
 */
async function waitUntilHealthy(inputs: HealthCheckInputs): Promise<HealthCheckOutputs> {
    const expectStatus = inputs.expectStatus ?? 200;
    const intervalMs = (inputs.intervalSeconds ?? 2) * 1000;
    const timeoutMs = (inputs.timeoutSeconds ?? 300) * 1000;
    const probeTimeoutMs = (inputs.probeTimeoutSeconds ?? 10) * 1000;
    const startedAt = Date.now();
    const deadline = startedAt + timeoutMs;
    let lastStatus = 0;
    let lastProblem = "no probe answered yet";

    for (let probeNumber = 1; ; probeNumber++) {
        // The last probe, sent at the deadline, still gets a short window to answer.
        const answerWindowMs = Math.min(probeTimeoutMs, Math.max(deadline - Date.now(), intervalMs));
        try {
            const response = await fetch(inputs.url, {
                headers: inputs.headers,
                signal: AbortSignal.timeout(answerWindowMs),
            });
            const body = await response.text();
            lastStatus = response.status;
            const verdict = judgeAnswer(response.status, body, expectStatus, inputs);
            if (verdict.healthy) {
                return { ...inputs, secondsToHealthy: secondsSince(startedAt), lastStatus, reported: verdict.reported };
            }
            lastProblem = verdict.problem;
        } catch (err) {
            lastProblem = describeProbeError(err, answerWindowMs);
        }

        if (Date.now() >= deadline) {
            const nextStep = inputs.containerName
                ? `docker logs ${inputs.containerName}`
                : `check that the service behind ${inputs.url} is running and reachable from here`;
            throw new Error(
                `HealthCheck: ${inputs.url} not healthy after ${secondsSince(startedAt)}s (last: ${lastProblem}). Next: ${nextStep}`,
            );
        }
        const nextProbeAt = Math.min(startedAt + probeNumber * intervalMs, deadline);
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, nextProbeAt - Date.now())));
    }
}

function secondsSince(startedAt: number): number {
    return Math.round((Date.now() - startedAt) / 100) / 10;
}

type Verdict = { healthy: true; reported: string } | { healthy: false; problem: string };

function judgeAnswer(status: number, body: string, expectStatus: number, inputs: HealthCheckInputs): Verdict {
    const excerpt = JSON.stringify(body.trim().slice(0, 200));
    if (status !== expectStatus) {
        return { healthy: false, problem: `HTTP ${status} (expected ${expectStatus}) ${excerpt}` };
    }
    if (inputs.expectBodyContains && !body.includes(inputs.expectBodyContains)) {
        return {
            healthy: false,
            problem: `HTTP ${status} but body lacks ${JSON.stringify(inputs.expectBodyContains)}: ${excerpt}`,
        };
    }
    if (!inputs.expectJsonField) {
        return { healthy: true, reported: body.trim().slice(0, 200) };
    }
    let parsed: unknown;
    try {
        parsed = JSON.parse(body);
    } catch {
        return { healthy: false, problem: `HTTP ${status} but body is not JSON: ${excerpt}` };
    }
    const field = inputs.expectJsonField;
    if (typeof parsed !== "object" || parsed === null || !(field in parsed)) {
        return { healthy: false, problem: `HTTP ${status} but JSON has no field ${JSON.stringify(field)}: ${excerpt}` };
    }
    const value = (parsed as Record<string, unknown>)[field];
    return { healthy: true, reported: typeof value === "string" ? value : JSON.stringify(value) };
}

/** fetch hides the useful part ("connect ECONNREFUSED 127.0.0.1:4000") in `cause`. */
function describeProbeError(err: unknown, answerWindowMs: number): string {
    const error = err as { name?: string; message?: string; cause?: { message?: string } };
    if (error.name === "TimeoutError") {
        return `no answer within ${Math.round(answerWindowMs / 100) / 10}s`;
    }
    return error.cause?.message ?? error.message ?? String(err);
}

function isKnown(value: unknown): boolean {
    return value !== undefined && value !== UNKNOWN_DURING_PREVIEW;
}

/** Exported for direct tests; the engine runs its serialized copy. */
export const healthCheckProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds, news) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        if (isKnown(news.url)) {
            let protocol = "";
            try {
                protocol = new URL(news.url).protocol;
            } catch {
                // reported below
            }
            if (protocol !== "http:" && protocol !== "https:") {
                failures.push({
                    property: "url",
                    reason: `HealthCheck: url must be an http(s) URL, got ${JSON.stringify(news.url)}`,
                });
            }
        }
        for (const key of ["intervalSeconds", "timeoutSeconds", "probeTimeoutSeconds"]) {
            if (isKnown(news[key]) && !(typeof news[key] === "number" && news[key] > 0)) {
                failures.push({
                    property: key,
                    reason: `HealthCheck: ${key} must be a positive number of seconds, got ${news[key]}`,
                });
            }
        }
        if (
            isKnown(news.expectStatus) &&
            !(Number.isInteger(news.expectStatus) && news.expectStatus >= 100 && news.expectStatus <= 599)
        ) {
            failures.push({
                property: "expectStatus",
                reason: `HealthCheck: expectStatus must be an HTTP status (100-599), got ${news.expectStatus}`,
            });
        }
        return { inputs: news, failures };
    },

    async diff(_id, olds, news) {
        // Every input shapes the probe or its verdict; an update probes again, so any change re-checks.
        const keys = new Set([...Object.keys(olds), ...Object.keys(news)]);
        const outputOnly = ["secondsToHealthy", "lastStatus", "reported", "__provider"];
        const changed = [...keys].filter(
            (key) => !outputOnly.includes(key) && JSON.stringify(olds[key]) !== JSON.stringify(news[key]),
        );
        return { changes: changed.length > 0 };
    },

    async create(inputs) {
        const outs = await waitUntilHealthy(inputs as HealthCheckInputs);
        return { id: `healthcheck:${inputs.url}`, outs };
    },

    async update(_id, _olds, news) {
        return { outs: await waitUntilHealthy(news as HealthCheckInputs) };
    },
};

/**
 * Makes `pulumi up` wait until an HTTP endpoint is healthy, and fail with the URL, the last answer and the
 * next step when it never is.
 */
export class HealthCheck extends pulumi.dynamic.Resource {
    /** Seconds from the first probe until the endpoint answered as expected. */
    declare public readonly secondsToHealthy: pulumi.Output<number>;
    /** HTTP status of the healthy answer. */
    declare public readonly lastStatus: pulumi.Output<number>;
    /** The expected JSON field's value (e.g. Ollama's version), else the start of the body. */
    declare public readonly reported: pulumi.Output<string>;

    constructor(name: string, args: HealthCheckArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            healthCheckProvider,
            name,
            { ...args, secondsToHealthy: undefined, lastStatus: undefined, reported: undefined },
            // Headers often carry API keys: keep them secret in state even when given as plain strings.
            { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "headers"] },
            "aigateway",
            "HealthCheck",
        );
    }
}
