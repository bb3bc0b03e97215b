/**
 * `npm run status -- --stack <name> [--json] [--timeout <seconds>] [--dir <folder>]`
 *
 * For every service of the stack: its container's state (when Docker answers), its health endpoint's
 * answer, the latency and the version it reports. Exit 0 when every service is up, 1 when any is down.
 */
import { GatewayService, listServices } from "../targets/docker/endpoints";
import {
    Command,
    CommandIO,
    REPORT_OPTIONS,
    loadDockerStack,
    parseCommandArgs,
    runWhenMain,
    secondsOption,
} from "./cli";
import { ContainerFacts, StackContainers, inspectStackContainers } from "./docker";
import { ServiceHealth, probeService } from "./health";
import { formatRemoteAccessStatus, remoteAccessStatus } from "./servedCertificate";
import { formatDuration, formatTable } from "./table";

const USAGE = "usage: npm run status -- --stack <name> [--json] [--timeout <seconds>] [--dir <folder>]";

/** One service's line of the status report. */
export interface ServiceStatus {
    /** Container name of the service. */
    service: string;
    /** What the service is (`ollama`, `router`, ...). */
    kind: GatewayService["kind"];
    /** Host that runs it. */
    host: string;
    /** URL probed from this machine. */
    url: string;
    /** The container as Docker reports it; `null` when Docker says there is none, absent when Docker did not answer. */
    container?: Pick<ContainerFacts, "state" | "health"> | null;
    /** Whether the service counts as up: healthy, and its container (when known) running. */
    up: boolean;
    /** The health probe. */
    health: ServiceHealth;
}

/** Combines the health probe with what Docker knows about the container. */
export function serviceStatus(
    service: GatewayService,
    health: ServiceHealth,
    containers: StackContainers,
): ServiceStatus {
    const dockerAnswered = !containers.unreachable.has(service.host.docker);
    const facts = containers.found.get(service.containerName);
    const container = !dockerAnswered ? undefined : facts ? { state: facts.state, health: facts.health } : null;
    return {
        service: service.containerName,
        kind: service.kind,
        host: service.host.name,
        url: service.url,
        container,
        up: health.healthy && (container === undefined || container?.state === "running"),
        health,
    };
}

/** Probes every service of the stack and asks Docker about their containers, in parallel. */
export async function stackStatus(services: GatewayService[], timeoutMs: number) {
    const [containers, healths] = await Promise.all([
        inspectStackContainers(services),
        Promise.all(services.map((service) => probeService(service, timeoutMs))),
    ]);
    return {
        statuses: services.map((service, i) => serviceStatus(service, healths[i], containers)),
        dockerProblems: [...containers.unreachable.values()],
    };
}

function describeContainer(container: ServiceStatus["container"]): string {
    if (container === undefined) return "?";
    if (container === null) return "missing";
    return container.health ? `${container.state} (${container.health})` : container.state;
}

export function formatStatus(statuses: ServiceStatus[]): string {
    return formatTable(
        ["SERVICE", "HOST", "CONTAINER", "HEALTH", "LATENCY", "VERSION", "URL"],
        statuses.map((s) => [
            s.service,
            s.host,
            describeContainer(s.container),
            s.health.healthy ? `ok (${s.health.status})` : `DOWN: ${s.health.problem}`,
            s.health.status === undefined ? "-" : formatDuration(s.health.latencyMs),
            s.health.version ?? "-",
            s.url,
        ]),
    );
}

export const statusCommand: Command = {
    name: "status",
    usage: USAGE,
    async run(argv: string[], io: CommandIO): Promise<number> {
        const { values } = parseCommandArgs(argv, { ...REPORT_OPTIONS, timeout: { type: "string" } });
        const stack = loadDockerStack(values, io.env);
        const timeoutMs = secondsOption(values.timeout, 5, "timeout") * 1000;
        const remote = stack.config.remoteAccess;
        const [{ statuses, dockerProblems }, remoteAccess] = await Promise.all([
            stackStatus(listServices(stack.config), timeoutMs),
            remote ? remoteAccessStatus(remote, timeoutMs) : undefined,
        ]);
        const down = statuses.filter((s) => !s.up).map((s) => s.service);
        if (remoteAccess && !remoteAccess.up) down.push("remote access");
        if (values.json) {
            io.out(
                `${JSON.stringify({ stack: stack.name, up: down.length === 0, dockerProblems, services: statuses, remoteAccess }, null, 2)}\n`,
            );
        } else {
            io.out(formatStatus(statuses));
            if (remoteAccess) io.out(`${formatRemoteAccessStatus(remoteAccess)}\n`);
            for (const problem of dockerProblems) io.err(`status: container states unknown: ${problem}\n`);
            io.err(
                down.length === 0
                    ? `status: all ${statuses.length + (remoteAccess ? 1 : 0)} services of stack ${stack.name} are up\n`
                    : `status: down: ${down.join(", ")}\n`,
            );
        }
        return down.length === 0 ? 0 : 1;
    },
};

runWhenMain(module, statusCommand);
