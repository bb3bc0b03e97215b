/**
 * `npm run logs -- --stack <name> [service...] [--follow] [--since 10m] [--tail <lines>] [--timestamps]`
 * `npm run logs -- --stack <name> --requests [router...] [--follow] [--since 10m] [--json]`
 *
 * The logs of the stack's containers, read from each host's Docker engine at its endpoint (as `status` asks it),
 * every line behind its container's name, in time order. With `--requests`, one line per request through the
 * routers instead, from the line each router's request log prints (routing/requestLog.ts): when it came, the model
 * the client asked for, the group that answered (for `auto`: the routing decision and why), the Ollama instance
 * that answered, the status and the latency. Exit 1 when no container of the stack is there to read.
 */
import { StackConfig } from "../config/stackKeys";
import { OLLAMA_OPENAI_PATH, ollamaEndpoints } from "../model/litellm";
import { ollamaContainers, serviceContainers } from "../model/plan";
import { REQUEST_LOG_MARKER, RequestRecord } from "../routing/requestLog";
import { AUTO_MODEL } from "../routing/schema";
import { dockerVantage } from "../targets/docker/doorPlan";
import { isRouter, listServices } from "../targets/docker/endpoints";
import {
    Command,
    CommandFailure,
    CommandIO,
    STACK_OPTIONS,
    UsageError,
    loadDockerStack,
    parseCommandArgs,
    runWhenMain,
} from "./cli";
import { LogLine, LogOptions, inspectStackContainers, readContainerLog } from "./docker";
import { formatDuration, formatTable } from "./table";

const USAGE =
    "usage: npm run logs -- --stack <name> [service...] [--follow] [--since <10m|timestamp>] [--tail <lines>] " +
    "[--timestamps] [--requests [--json]] [--dir <folder>]";

/** Lines of each container's log shown when neither `--since` nor `--tail` says how many. */
export const DEFAULT_TAIL = 100;

/** A Go duration (`90s`, `10m`, `1h30m`), Unix seconds, or an RFC 3339 date: what `docker logs --since` takes. */
const SINCE =
    /^(?:(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+|\d+(?:\.\d+)?|\d{4}-\d{2}-\d{2}(?:T[\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?)$/;

/** One container of the stack: its name and the Docker endpoint of its host. */
interface StackContainer {
    name: string;
    endpoint: string;
}

/** Every container the stack deploys, in the order `status` lists services (the door and Redis too). */
function stackContainers(config: StackConfig): StackContainer[] {
    return [...ollamaContainers(config), ...serviceContainers(config)].map((c) => ({
        name: c.name,
        endpoint: c.engine,
    }));
}

/** A request line of a router's log, or undefined for any other line (or a marked line that is not a record). */
export function parseRequestLine(text: string): RequestRecord | undefined {
    const at = text.indexOf(REQUEST_LOG_MARKER);
    if (at < 0) return undefined;
    try {
        const record = JSON.parse(text.slice(at + REQUEST_LOG_MARKER.length)) as RequestRecord;
        return typeof record?.time === "string" && typeof record.status === "number" ? record : undefined;
    } catch {
        return undefined;
    }
}

/** A request line with the router that printed it and, where the stack knows it, the Ollama instance that answered. */
export interface RouterRequest extends RequestRecord {
    /** The router container whose log holds the line. */
    router: string;
    /** The Ollama instance behind the deployment's api_base, as the router's host reaches it. */
    instance?: string;
    /** That instance's host. */
    host?: string;
}

/** Per router container: each api_base it may use, to the Ollama instance (and host) behind it. */
export function instancesByApiBase(config: StackConfig): Map<string, Map<string, { instance: string; host: string }>> {
    const byRouter = new Map<string, Map<string, { instance: string; host: string }>>();
    for (const router of listServices(config).filter(isRouter))
        byRouter.set(
            router.containerName,
            new Map(
                ollamaEndpoints(config, dockerVantage(config, router.host.name)).map((e) => [
                    `${e.apiBase}${OLLAMA_OPENAI_PATH}`,
                    { instance: e.instance.name, host: e.host.name },
                ]),
            ),
        );
    return byRouter;
}

/** The group a request was sent to: the routing decision's for `auto`, else the model the client asked for. */
function groupAskedFor(request: RequestRecord): string | undefined {
    return request.route?.group ?? (request.model === AUTO_MODEL ? undefined : request.model);
}

/** The cells of one request's row: time, router, model, group, instance, status, latency, and why. */
export function requestRow(request: RouterRequest, multiHost: boolean): string[] {
    const asked = groupAskedFor(request);
    const group =
        request.group === undefined
            ? (request.route?.group ?? "-")
            : asked && asked !== request.group
              ? `${asked} → ${request.group}`
              : request.group;
    const model = request.backendModel?.replace(/^hosted_vllm\//, "");
    const instance = request.instance
        ? `${request.instance}${multiHost ? `@${request.host}` : ""}${model ? ` (${model})` : ""}`
        : (request.backendModel ?? request.apiBase ?? "-");
    const why: string[] = [];
    if (request.route)
        why.push(
            `${request.route.route === null ? "default" : `route ${request.route.route}`}: ${request.route.reason}`,
        );
    if (asked && request.group && asked !== request.group) why.push(`fallback from ${asked}`);
    if (request.path && !/^\/(v1\/)?chat\/completions$/.test(request.path)) why.push(request.path);
    if (request.error) why.push(request.error);
    return [
        request.time.replace("T", " ").replace(/\.\d+Z$/, ""),
        request.router,
        request.model ?? "-",
        group,
        instance,
        String(request.status),
        request.ms === undefined ? "-" : formatDuration(request.ms),
        why.join("; "),
    ];
}

const REQUEST_HEADER = ["TIME (UTC)", "ROUTER", "MODEL", "GROUP", "INSTANCE", "STATUS", "LATENCY", "WHY"];

/** A row padded to the header's widths, for lines printed as they come (`--follow`), where no table can wait. */
function streamedRow(cells: string[], widths: number[]): string {
    return (
        cells
            .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i])))
            .join("  ")
            .trimEnd() + "\n"
    );
}

/** What the command was asked to read. */
interface Selection {
    containers: StackContainer[];
    requests: boolean;
}

/** The containers named on the command line (all of them, or all routers with `--requests`), checked against the stack. */
function select(config: StackConfig, names: string[], requests: boolean): Selection {
    const all = stackContainers(config);
    const routers = new Set(
        listServices(config)
            .filter(isRouter)
            .map((s) => s.containerName),
    );
    const eligible = requests ? all.filter((c) => routers.has(c.name)) : all;
    for (const name of names) {
        if (eligible.some((c) => c.name === name)) continue;
        const what =
            requests && all.some((c) => c.name === name)
                ? "a router (--requests reads the routers)"
                : "a service of the stack";
        throw new UsageError(`${name} is not ${what}: ${eligible.map((c) => c.name).join(", ")}`);
    }
    return { containers: names.length === 0 ? eligible : eligible.filter((c) => names.includes(c.name)), requests };
}

/** The containers that exist, asked of each engine once; engines that do not answer, and missing containers, said on stderr. */
async function existing(containers: StackContainer[], io: CommandIO, stackName: string): Promise<StackContainer[]> {
    const { found, unreachable } = await inspectStackContainers(
        containers.map((c) => ({ containerName: c.name, host: { docker: c.endpoint } })),
    );
    const problems = [...unreachable.values()];
    const there = containers.filter((c) => found.has(c.name));
    if (there.length === 0)
        throw new CommandFailure(
            problems.length > 0
                ? problems.join("\n")
                : `no container of stack ${stackName} exists (${containers.map((c) => c.name).join(", ")}): ` +
                      `nothing is deployed; run npm run up -- --stack ${stackName}`,
        );
    for (const problem of problems) io.err(`logs: ${problem}\n`);
    const missing = containers.filter((c) => !found.has(c.name));
    if (missing.length > 0 && problems.length === 0)
        io.err(`logs: not there (not deployed, or removed): ${missing.map((c) => c.name).join(", ")}\n`);
    return there;
}

export const logsCommand: Command = {
    name: "logs",
    usage: USAGE,
    async run(argv, io) {
        const { values, positionals } = parseCommandArgs(
            argv,
            {
                ...STACK_OPTIONS,
                follow: { type: "boolean", short: "f", default: false },
                since: { type: "string" },
                tail: { type: "string" },
                timestamps: { type: "boolean", short: "t", default: false },
                requests: { type: "boolean", default: false },
                json: { type: "boolean", default: false },
            },
            true,
        );
        if (values.since !== undefined && !SINCE.test(values.since))
            throw new UsageError(
                `--since ${values.since} is neither a duration (10m, 1h30m) nor a date (2026-12-05T10:00:00Z)`,
            );
        if (values.tail !== undefined && !/^\d+$/.test(values.tail))
            throw new UsageError(`--tail ${values.tail} is not a number of lines`);
        if (values.json && !values.requests) throw new UsageError("--json goes with --requests");
        const stack = loadDockerStack(values, io.env);
        const selection = select(stack.config, positionals, values.requests);
        const containers = await existing(selection.containers, io, stack.name);

        // A request line can sit anywhere in a router's log: --requests reads all of it unless told otherwise.
        const options: LogOptions = {
            since: values.since,
            follow: values.follow,
            tail:
                values.tail !== undefined
                    ? Number(values.tail)
                    : values.since !== undefined || values.requests
                      ? undefined
                      : DEFAULT_TAIL,
        };
        const show = values.requests
            ? requestPrinter(stack.config, io, values.json, values.follow)
            : linePrinter(containers, io, values.timestamps, values.follow);
        const readers = containers.map((c) =>
            readContainerLog(c.endpoint, c.name, options, (line) => show.add(c.name, line)),
        );
        const stopAll = () => readers.forEach((r) => r.stop());
        process.once("SIGINT", stopAll);
        try {
            const ended = await Promise.allSettled(readers.map((r) => r.done));
            show.flush();
            const failures = ended.flatMap((e) => (e.status === "rejected" ? [(e.reason as Error).message] : []));
            if (failures.length === readers.length) throw new CommandFailure(failures.join("\n"));
            for (const failure of failures) io.err(`logs: ${failure}\n`);
        } finally {
            process.removeListener("SIGINT", stopAll);
        }
        return 0;
    },
};

/** Where lines go: printed as they come (`--follow`), or gathered and printed in time order at the end. */
interface Printer {
    add(container: string, line: LogLine): void;
    flush(): void;
}

/** Collects `[time, item]` pairs until flushed in time order, or hands each on at once when following. */
function ordered<T>(follow: boolean, print: (items: T[]) => void): { add(time: string, item: T): void; flush(): void } {
    const kept: { time: string; item: T; seq: number }[] = [];
    return {
        add(time, item) {
            if (follow) print([item]);
            else kept.push({ time, item, seq: kept.length });
        },
        flush() {
            // Docker's timestamps are RFC 3339 in UTC with nanoseconds: they sort as text, ties in arrival order.
            kept.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.seq - b.seq));
            if (kept.length > 0) print(kept.map((k) => k.item));
            kept.length = 0;
        },
    };
}

/** `<container> | <line>`, the names padded alike. */
function linePrinter(containers: StackContainer[], io: CommandIO, timestamps: boolean, follow: boolean): Printer {
    const width = Math.max(...containers.map((c) => c.name.length));
    const lines = ordered<string>(follow, (items) => io.out(items.join("")));
    return {
        add: (container, line) =>
            lines.add(line.time, `${container.padEnd(width)} | ${timestamps ? `${line.time} ` : ""}${line.text}\n`),
        flush: () => lines.flush(),
    };
}

/** One row (or with `--json` one JSON object) per request line of the routers' logs. */
function requestPrinter(config: StackConfig, io: CommandIO, json: boolean, follow: boolean): Printer {
    const instances = instancesByApiBase(config);
    const multiHost = config.hosts.length > 1;
    let headerShown = false;
    let seen = 0;
    const widths = [19, 13, 6, 14, 24, 6, 7];
    const requests = ordered<RouterRequest>(follow, (items) => {
        seen += items.length;
        if (json) return io.out(items.map((r) => `${JSON.stringify(r)}\n`).join(""));
        const rows = items.map((r) => requestRow(r, multiHost));
        if (!follow) return io.out(formatTable(REQUEST_HEADER, rows));
        if (!headerShown) io.out(streamedRow(REQUEST_HEADER, widths));
        headerShown = true;
        io.out(rows.map((row) => streamedRow(row, widths)).join(""));
    });
    return {
        add(container, line) {
            const record = parseRequestLine(line.text);
            if (!record) return;
            const behind = record.apiBase ? instances.get(container)?.get(record.apiBase) : undefined;
            requests.add(record.time, { router: container, ...record, ...behind });
        },
        flush() {
            requests.flush();
            // Said on stderr, so that --json stays one record per line and nothing else.
            if (seen === 0)
                io.err("logs: no request in the routers' logs (none came, or none in the time asked for)\n");
        },
    };
}

runWhenMain(module, logsCommand);
