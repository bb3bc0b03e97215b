/**
 * `npm run wait -- --stack <name> [--timeout <seconds>] [--interval <seconds>] [--dir <folder>]`
 *
 * Blocks until every service of the stack answers its health endpoint, or the timeout passes; then
 * names each service that is not healthy, with its URL and last answer, and exits 1.
 */
import { GatewayService, listServices } from "../targets/docker/endpoints";
import {
    Command,
    CommandIO,
    STACK_OPTIONS,
    loadDockerStack,
    parseCommandArgs,
    runWhenMain,
    secondsOption,
} from "./cli";
import { ServiceHealth, probeService } from "./health";

const USAGE = "usage: npm run wait -- --stack <name> [--timeout <seconds>] [--interval <seconds>] [--dir <folder>]";

/** Services that never became healthy, with their last probe. */
export type Unhealthy = { service: GatewayService; health: ServiceHealth }[];

/**
 * Probes every service each `intervalMs` (on a fixed cadence, so readiness is seen within one interval)
 * until all are healthy or `timeoutMs` passes. Reports each service as it becomes healthy.
 */
export async function waitUntilHealthy(
    services: GatewayService[],
    options: { timeoutMs: number; intervalMs: number; onHealthy(service: GatewayService, afterMs: number): void },
): Promise<Unhealthy> {
    const startedAt = Date.now();
    const deadline = startedAt + options.timeoutMs;
    let pending = services;
    for (;;) {
        const roundStartedAt = Date.now();
        const probeTimeoutMs = Math.max(500, Math.min(5000, deadline - roundStartedAt));
        const healths = await Promise.all(pending.map((service) => probeService(service, probeTimeoutMs)));
        const stillPending: Unhealthy = [];
        pending.forEach((service, i) => {
            if (healths[i].healthy) options.onHealthy(service, Date.now() - startedAt);
            else stillPending.push({ service, health: healths[i] });
        });
        if (stillPending.length === 0 || Date.now() >= deadline) return stillPending;
        pending = stillPending.map((p) => p.service);
        const nextRoundAt = Math.min(roundStartedAt + options.intervalMs, deadline);
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, nextRoundAt - Date.now())));
    }
}

export const waitCommand: Command = {
    name: "wait",
    usage: USAGE,
    async run(argv: string[], io: CommandIO): Promise<number> {
        const { values } = parseCommandArgs(argv, {
            ...STACK_OPTIONS,
            timeout: { type: "string" },
            interval: { type: "string" },
        });
        const stack = loadDockerStack(values, io.env);
        const timeoutSeconds = secondsOption(values.timeout, 600, "timeout");
        const services = listServices(stack.config);
        io.err(`wait: waiting up to ${timeoutSeconds}s for ${services.length} services of stack ${stack.name}\n`);
        const unhealthy = await waitUntilHealthy(services, {
            timeoutMs: timeoutSeconds * 1000,
            intervalMs: secondsOption(values.interval, 2, "interval") * 1000,
            onHealthy: (service, afterMs) =>
                io.out(`${service.containerName} healthy after ${(afterMs / 1000).toFixed(1)}s (${service.url})\n`),
        });
        if (unhealthy.length === 0) {
            io.out(`all ${services.length} services healthy\n`);
            return 0;
        }
        for (const { service, health } of unhealthy)
            io.out(`${service.containerName} NOT healthy: ${service.url}${service.healthPath}: ${health.problem}\n`);
        io.err(
            `wait: timed out after ${timeoutSeconds}s; not healthy: ${unhealthy.map((u) => u.service.containerName).join(", ")}` +
                ` (next: docker logs ${unhealthy[0].service.containerName})\n`,
        );
        return 1;
    },
};

runWhenMain(module, waitCommand);
