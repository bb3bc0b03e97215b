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
    /**
     * Longest wait, in seconds, between two requests to a service that answers but is not healthy yet
     * (default 2): the waits start at 50 ms and double up to it. A port that refuses connections is tried
     * every 50 ms.
     */
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
 * How often a port that refuses connections is tried again. A refused connection never reaches the service
 * (nothing listens yet), so trying often costs it nothing and sees it the moment it listens.
 */
const CONNECT_EVERY_MS = 50;
/** The wait after the first answer that is not healthy yet; each further one doubles, up to the interval. */
const FIRST_BACKOFF_MS = 50;

/**
 * The time waitUntilHealthy reads and sleeps on: the system's (Date.now, setTimeout) unless a test passes a
 * clock of its own, to see which waits were planned whatever the machine's load.
 */
export interface HealthCheckClock {
    /** Milliseconds, as Date.now() counts them. */
    now(): number;
    /** Resolves once `ms` milliseconds have passed. */
    sleep(ms: number): Promise<void>;
}

/**
 * Polls until the endpoint answers as expected. While nothing listens on the port, a bare TCP connection is
 * tried every 50 ms: no HTTP request reaches a service that is not listening, and most services (Ollama,
 * LiteLLM, Open WebUI) listen only once they are ready. Once the port accepts, the URL is asked; an answer
 * that is not healthy yet (a 503, a wrong body, no answer in time) is asked again after 50 ms, then 100, 200,
 * ... up to `intervalSeconds`, so a service that answers early but takes minutes to be ready gets the requests
 * of a fixed interval plus a handful. Each wait counts from the start of the probe before it.
 */
export async function waitUntilHealthy(
    inputs: HealthCheckInputs,
    clock: HealthCheckClock = {
        now: () => Date.now(),
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    },
): Promise<HealthCheckOutputs> {
    const secondsSince = (at: number) => Math.round((clock.now() - at) / 100) / 10;
    const expectStatus = inputs.expectStatus ?? 200;
    const intervalMs = (inputs.intervalSeconds ?? 2) * 1000;
    const timeoutMs = (inputs.timeoutSeconds ?? 300) * 1000;
    const probeTimeoutMs = (inputs.probeTimeoutSeconds ?? 10) * 1000;
    const startedAt = clock.now();
    const deadline = startedAt + timeoutMs;
    let lastStatus = 0;
    let lastProblem = "no probe answered yet";
    let backoffMs = FIRST_BACKOFF_MS;
    let listening = false;

    for (;;) {
        const probeStartedAt = clock.now();
        // The last probe, sent at the deadline, still gets a short window to answer.
        const answerWindowMs = Math.min(probeTimeoutMs, Math.max(deadline - probeStartedAt, 4 * CONNECT_EVERY_MS));
        let waitMs = CONNECT_EVERY_MS;
        if (!listening) {
            const refusal = await connectionProblem(inputs.url, answerWindowMs);
            listening = refusal === undefined;
            lastProblem = refusal ?? lastProblem;
        }
        if (listening) {
            const probe = await askOnce(inputs, answerWindowMs);
            if ("status" in probe) {
                lastStatus = probe.status;
                const verdict = judgeAnswer(probe.status, probe.body, expectStatus, inputs);
                if (verdict.healthy) {
                    return {
                        ...inputs,
                        secondsToHealthy: secondsSince(startedAt),
                        lastStatus,
                        reported: verdict.reported,
                    };
                }
                lastProblem = verdict.problem;
            } else lastProblem = probe.problem;
            // Refused or cut off without an answer: nothing listens behind the port (a restart, or Docker's proxy
            // before the service is up). An answer, or none in time from a service that accepted: give it time.
            listening = !("cutOff" in probe);
            if (listening) {
                waitMs = backoffMs;
                backoffMs = Math.min(backoffMs * 2, intervalMs);
            }
        }

        if (clock.now() >= deadline) {
            const nextStep = inputs.containerName
                ? `docker logs ${inputs.containerName}`
                : `check that the service behind ${inputs.url} is running and reachable from here`;
            throw new Error(
                `HealthCheck: ${inputs.url} not healthy after ${secondsSince(startedAt)}s (last: ${lastProblem}). Next: ${nextStep}`,
            );
        }
        const nextProbeAt = Math.min(probeStartedAt + waitMs, deadline);
        await clock.sleep(Math.max(0, nextProbeAt - clock.now()));
    }
}

/**
 * Opens and closes a TCP connection to the URL's host and port: undefined when it was accepted, else why not
 * (`connect ECONNREFUSED 127.0.0.1:4000`).
 */
function connectionProblem(url: string, windowMs: number): Promise<string | undefined> {
    const net: typeof import("node:net") = require("node:net");
    const { hostname, port, protocol } = new URL(url);
    return new Promise((resolve) => {
        const socket = net.connect({
            host: hostname.replace(/^\[(.*)\]$/, "$1"),
            port: Number(port) || (protocol === "https:" ? 443 : 80),
        });
        const settle = (problem: string | undefined) => {
            socket.destroy();
            resolve(problem);
        };
        socket.setTimeout(windowMs, () => settle(`no connection within ${Math.round(windowMs / 100) / 10}s`));
        socket.once("connect", () => settle(undefined));
        socket.once("error", (err) => settle(err.message));
    });
}

type ProbeResult = { status: number; body: string } | { problem: string; cutOff?: true };

/**
 * One GET on a connection of its own. Node's http, not fetch: fetch (undici, Node 20) does not notice a
 * connection that is closed before it answers, as Docker's port proxy closes it while the container's
 * service is not listening yet, and waits out the whole window instead.
 */
function askOnce(inputs: HealthCheckInputs, windowMs: number): Promise<ProbeResult> {
    const client: typeof import("node:http") = require(inputs.url.startsWith("https:") ? "node:https" : "node:http");
    return new Promise((resolve) => {
        const request = client.get(inputs.url, { headers: inputs.headers, agent: false }, (response) => {
            let body = "";
            response.setEncoding("utf8");
            response.on("data", (chunk: string) => (body += chunk));
            response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
            response.on("error", (err) => resolve({ problem: err.message, cutOff: true }));
        });
        request.setTimeout(windowMs, () => {
            resolve({ problem: `no answer within ${Math.round(windowMs / 100) / 10}s` });
            request.destroy();
        });
        request.on("error", (err) => resolve({ problem: err.message, cutOff: true }));
    });
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
