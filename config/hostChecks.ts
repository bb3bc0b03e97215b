/**
 * What each host publishes: no two services on one port of a host, and a host that other machines use must
 * publish on an address they can reach, never loopback nor (unless accepted) every interface.
 */
import { isLoopbackAddress, isWildcardAddress } from "./addresses";
import { placements, redisPublished } from "../model/plan";
import { PROJECT, Problem, formatPath } from "./primitives";
import type { StackConfig } from "./stackKeys";

/** Two services may not publish the same port on one host. */
export function checkPorts(config: StackConfig, problem: Problem): void {
    const placed = placements(config);
    const lastReplicaPort = config.router.port + config.router.replicas - 1;
    if (lastReplicaPort > 65535)
        problem(
            ["router", "port"],
            `gives router replica ${config.router.replicas} port ${lastReplicaPort}, which is not a port (with ${config.router.replicas} replicas, at most ${65536 - config.router.replicas})`,
            config.router.port,
        );
    config.hosts.forEach((h, i) => {
        const taken = new Map<number, string>();
        /** `replica` names a router replica above the first, whose port is router.port + its index. */
        const claim = (path: (string | number)[], value: number, replica?: number) => {
            const what = replica ? `${formatPath(path)} (replica ${replica + 1}: ${value})` : formatPath(path);
            const owner = taken.get(value);
            if (!owner) taken.set(value, what);
            else if (replica)
                problem(
                    path,
                    `gives router replica ${replica + 1} port ${value}, already used by ${PROJECT}:${owner} on host ${h.name}`,
                    value,
                );
            else problem(path, `is already used by ${PROJECT}:${owner} on host ${h.name}`, value);
        };
        h.ollama.forEach((instance, j) => claim(["hosts", i, "ollama", j, "port"], instance.port));
        if (placed.routers.includes(h.name)) {
            for (let replica = 0; replica < config.router.replicas; replica++)
                claim(["router", "port"], config.router.port + replica, replica);
        }
        if (placed.router === h.name) {
            if (config.cloud.enabled) claim(["cloud", "port"], config.cloud.port);
            if (redisPublished(config)) claim(["router", "redisPort"], config.router.redisPort);
        }
        if (config.openWebUI.enabled && placed.openWebUI === h.name)
            claim(["openWebUI", "port"], config.openWebUI.port);
        if (config.qdrant.enabled && placed.qdrant === h.name) claim(["qdrant", "port"], config.qdrant.port);
    });
}

/**
 * Services on one host reach another host through its bindAddress, so that address must be one other
 * machines can reach, stated explicitly: never loopback, never a wildcard that publishes everywhere.
 * Health checks and model pulls run where `pulumi up` runs, so a remote host needs the same.
 */
export function checkReachability(config: StackConfig, problem: Problem): void {
    const placed = placements(config);
    config.hosts.forEach((h, i) => {
        const reasons: string[] = [];
        if (h.docker.startsWith("ssh://"))
            reasons.push("health checks and model pulls run on the machine that runs pulumi up");
        const otherRouter = placed.routers.find((r) => r !== h.name);
        if (otherRouter) reasons.push(`the router on host ${otherRouter} uses its Ollama instances`);
        if (placed.router === h.name && redisPublished(config))
            reasons.push(`the routers on host ${placed.routers.filter((r) => r !== h.name)[0]} use its Redis`);
        const uiRouterHost = placed.routers.includes(placed.openWebUI) ? placed.openWebUI : placed.router;
        if (uiRouterHost === h.name && config.openWebUI.enabled && placed.openWebUI !== h.name)
            reasons.push(`Open WebUI on host ${placed.openWebUI} uses its router`);
        if (
            placed.qdrant === h.name &&
            config.qdrant.enabled &&
            config.openWebUI.enabled &&
            placed.openWebUI !== h.name
        )
            reasons.push(`Open WebUI on host ${placed.openWebUI} uses its Qdrant`);
        if (reasons.length > 0 && (isLoopbackAddress(h.bindAddress) || isWildcardAddress(h.bindAddress)))
            problem(
                ["hosts", i, "bindAddress"],
                `cannot be reached from other machines (${reasons[0]}): set this host's LAN or VPN address`,
                h.bindAddress,
            );
        else if (isWildcardAddress(h.bindAddress) && !h.allowWildcardBind)
            problem(
                ["hosts", i, "bindAddress"],
                `publishes every port, Ollama's unauthenticated API included, on every interface of host ${h.name}: ` +
                    `give one address of the host, or set ${PROJECT}:hosts[${i}].allowWildcardBind: true to accept that`,
                h.bindAddress,
            );
    });
}
