/**
 * The network wall: which containers of a host may reach beyond the stack, and how traffic reaches those
 * that may not. Pure, so who talks to whom is tested without Pulumi or Docker.
 *
 * Every host with a router, Open WebUI, Qdrant or Redis has two Docker networks: `ai-gateway`, an ordinary
 * bridge with a route out, and `ai-gateway-internal`, created `internal: true`, which has none. The routers,
 * Open WebUI, Qdrant and Redis are on the internal one only. Docker publishes no port of a container that is
 * only on internal networks, so one container, the door, is on both: it publishes their ports on the host's
 * bindAddress and forwards each to its service, and it is how they reach the stack's services on other hosts
 * (their Ollama instances, the first router host's Redis and router, Qdrant): one port on the internal
 * network per such address, forwarded there and nowhere else. Ollama (model pulls) and the cloud router (the
 * cloud API) are on the ordinary network; Ollama is on the internal one too, so the routers reach it by name.
 */
import { Vantage } from "../../model/addressing";
import {
    CONTAINER_NAMES,
    hasDoor,
    needsRedis,
    placements,
    redisPublished,
    routingEmbeddingInstance,
} from "../../model/plan";
import { HostConfig, StackConfig } from "../../config/stackKeys";
import { openWebUIEmbeddingHost } from "../../model/plan";

/** The network with no route out that the routers, Open WebUI, Qdrant and Redis are on. */
export const INTERNAL_NETWORK_NAME = "ai-gateway-internal";
/** The first port the door listens on, inside its container, for an address on another host. */
export const DOOR_FIRST_FORWARD_PORT = 20000;
/** Where the door answers its own health check, inside its container (moved up when a service has it). */
export const DOOR_HEALTH_PORT = 8404;

/** A service of another host that containers of this host use, reached through this host's door. */
export interface DoorForward {
    /** The container it stands in for (its listener in the door's config is named after it). */
    name: string;
    /** What it is, in words. */
    what: string;
    /** The host that runs it. */
    host: HostConfig;
    /** Its published port there. */
    port: number;
    /** The port the door listens on for it. */
    listen: number;
}

/** The door's name on both networks of its host: what the other containers of the host address it by. */
export const DOOR_CONTAINER = CONTAINER_NAMES.door;

/** Host ports the door of a host publishes: those of the routers, Open WebUI, Qdrant and Redis on it. */
export function doorPublishedPorts(config: StackConfig, hostName: string): number[] {
    const placed = placements(config);
    const ports: number[] = [];
    if (placed.routers.includes(hostName))
        for (let replica = 0; replica < config.router.replicas; replica++) ports.push(config.router.port + replica);
    if (placed.router === hostName && redisPublished(config)) ports.push(config.router.redisPort);
    if (config.openWebUI.enabled && placed.openWebUI === hostName) ports.push(config.openWebUI.port);
    if (config.qdrant.enabled && placed.qdrant === hostName) ports.push(config.qdrant.port);
    return ports;
}

/** The first port from `start` up that is none of `taken`. */
export function freePort(start: number, taken: Set<number>): number {
    let port = start;
    while (taken.has(port)) port++;
    return port;
}

/** The port of the door's own health check on a host: one that no service behind it uses. */
export function doorHealthPort(config: StackConfig, hostName: string): number {
    return freePort(DOOR_HEALTH_PORT, new Set(doorPublishedPorts(config, hostName)));
}

/**
 * The services of other hosts that the containers of `hostName` use, each with the door port that forwards
 * to it, in a fixed order: for the routers, every Ollama instance elsewhere and the first router host's
 * Redis; for Open WebUI, the router, Qdrant and its embedding instance when they run elsewhere.
 */
export function doorForwards(config: StackConfig, hostName: string): DoorForward[] {
    if (!hasDoor(config, hostName)) return [];
    const placed = placements(config);
    const hostNamed = (name: string) => config.hosts.find((h) => h.name === name)!;
    const wanted: Omit<DoorForward, "listen">[] = [];
    const want = (forward: Omit<DoorForward, "listen">) => {
        if (!wanted.some((w) => w.host.name === forward.host.name && w.port === forward.port)) wanted.push(forward);
    };
    const remoteInstances = config.hosts
        .filter((h) => h.name !== hostName)
        .flatMap((host) => host.ollama.map((instance) => ({ host, instance })));
    if (placed.routers.includes(hostName)) {
        for (const { host, instance } of remoteInstances)
            want({
                name: instance.name,
                what: `Ollama instance ${instance.name} on host ${host.name}`,
                host,
                port: instance.port,
            });
        if (needsRedis(config) && placed.router !== hostName)
            want({
                name: "redis",
                what: `Redis on host ${placed.router}`,
                host: hostNamed(placed.router),
                port: config.router.redisPort,
            });
    }
    if (config.openWebUI.enabled && placed.openWebUI === hostName) {
        if (!placed.routers.includes(hostName))
            want({
                name: "litellm",
                what: `the router on host ${placed.router}`,
                host: hostNamed(placed.router),
                port: config.router.port,
            });
        if (config.qdrant.enabled && placed.qdrant !== hostName)
            want({
                name: "qdrant",
                what: `Qdrant on host ${placed.qdrant}`,
                host: hostNamed(placed.qdrant),
                port: config.qdrant.port,
            });
        const embeddingHost = openWebUIEmbeddingHost(config);
        const embeddings = [
            ...(embeddingHost === undefined
                ? []
                : [
                      {
                          host: hostNamed(embeddingHost),
                          instance: hostNamed(embeddingHost).ollama.find((o) =>
                              o.models.includes(config.openWebUI.embeddingModel!),
                          )!,
                      },
                  ]),
            // The routing filter in Open WebUI compares prompts with the routes' examples through this instance.
            ...(config.routing?.embedding ? [routingEmbeddingInstance(config, config.routing.embedding.model)!] : []),
        ];
        for (const { host, instance } of embeddings.filter((e) => e.host.name !== hostName))
            want({
                name: instance.name,
                what: `Ollama instance ${instance.name} on host ${host.name}`,
                host,
                port: instance.port,
            });
    }
    const taken = new Set([...doorPublishedPorts(config, hostName), doorHealthPort(config, hostName)]);
    return wanted.map((forward) => {
        const listen = freePort(DOOR_FIRST_FORWARD_PORT, taken);
        taken.add(listen);
        return { ...forward, listen };
    });
}

/**
 * How a container on `fromHost` reaches `port` of another host: the door's port that forwards there. Throws
 * for an address the door has no forward for, so nothing can name a way out that the door does not hold.
 */
export function doorForwardPort(config: StackConfig, fromHost: string, host: HostConfig, port: number): number {
    const forward = doorForwards(config, fromHost).find((f) => f.host.name === host.name && f.port === port);
    if (!forward) throw new Error(`the door of host ${fromHost} has no forward to ${host.name}:${port}`);
    return forward.listen;
}

/**
 * How the containers of `hostName` (default: the first router host) reach the others: by container name on their
 * own host's networks, through their door's forward to another host's published port (model/addressing.ts).
 */
export function dockerVantage(config: StackConfig, hostName = placements(config).router): Vantage {
    return {
        reach: (to) =>
            to.host === hostName
                ? { host: to.name, port: to.containerPort }
                : {
                      host: DOOR_CONTAINER,
                      port: doorForwardPort(
                          config,
                          hostName,
                          config.hosts.find((h) => h.name === to.host)!,
                          to.servicePort,
                      ),
                  },
    };
}
