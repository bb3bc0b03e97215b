/**
 * What a validated stack config puts where, by name: the hosts the shared services run on, the name of every
 * container and the host folders that keep its data. The components name their containers and folders with
 * these functions, and the schema checks what they give (config/nameChecks.ts), so a new container is
 * checked as soon as it is listed here. Pure; it imports only the config's types, so the checks can use it.
 */
import * as path from "node:path";
import type { HostConfig, OllamaInstanceConfig, StackConfig } from "../config/stackKeys";

/** Names of the containers whose name the config does not choose. */
export const CONTAINER_NAMES = {
    /** The first router of the first router host; its replicas are litellm-2, litellm-3, ... */
    router: "litellm",
    cloudRouter: "litellm-cloud",
    openWebUI: "open-webui",
    qdrant: "qdrant",
    redis: "redis",
    /** The door of the first host that has one; on the others door-<host> (and `door` on its networks). */
    door: "door",
} as const;

/** Which hosts run each shared service. `router` is the first router host: the cloud router and Redis run there. */
export function placements(config: StackConfig): {
    routers: string[];
    router: string;
    openWebUI: string;
    qdrant: string;
} {
    const first = config.hosts[0].name;
    const routers = config.router.hosts ?? [first];
    return {
        routers,
        router: routers[0],
        openWebUI: config.openWebUI.host ?? first,
        qdrant: config.qdrant.host ?? first,
    };
}

/** Routers share cooldowns and usage through Redis once there is more than one. */
export function needsRedis(config: StackConfig): boolean {
    return placements(config).routers.length * config.router.replicas > 1;
}

/** Redis is reached over the Docker network on its own host; routers on other hosts need its port published. */
export function redisPublished(config: StackConfig): boolean {
    return placements(config).routers.length > 1;
}

/**
 * Container name of a local router replica: `litellm`, `litellm-2`, ... on the first router host, and
 * `litellm-<host>`, `litellm-<host>-2`, ... on the others. Host names can make two of them equal (hosts `a` and
 * `a-2`, or a host named `cloud`): the schema refuses that.
 */
export function routerContainerName(routerHosts: string[], hostName: string, replica: number): string {
    const base = hostName === routerHosts[0] ? CONTAINER_NAMES.router : `${CONTAINER_NAMES.router}-${hostName}`;
    return replica === 0 ? base : `${base}-${replica + 1}`;
}

/** A host runs a container that is kept off every network with a route out (targets/docker/doorPlan.ts), so it gets a door. */
export function hasDoor(config: StackConfig, hostName: string): boolean {
    const placed = placements(config);
    return (
        placed.routers.includes(hostName) ||
        (config.openWebUI.enabled && placed.openWebUI === hostName) ||
        (config.qdrant.enabled && placed.qdrant === hostName)
    );
}

/**
 * The door's container name: `door` on the first host that has one, `door-<host>` on the others, so that every
 * container of the stack has its own name (on its networks it is `door` on every host).
 */
export function doorContainerName(config: StackConfig, hostName: string): string {
    const first = config.hosts.find((h) => hasDoor(config, h.name))?.name;
    return hostName === first ? CONTAINER_NAMES.door : `${CONTAINER_NAMES.door}-${hostName}`;
}

/** Where an instance keeps its models on the host: its own directory, so two instances never race on a pull. */
export function ollamaModelsDir(host: HostConfig, instance: OllamaInstanceConfig): string {
    return `${host.dataDir}/${instance.name}`;
}

export const dataDirs = {
    openWebUI: (host: HostConfig) => `${host.dataDir}/openwebui`,
    qdrant: (host: HostConfig) => `${host.dataDir}/qdrant/data`,
};

/** The resource that pulls `model` into an instance: `<instance>-<model>`. */
export function modelPullName(instanceName: string, model: string): string {
    return `${instanceName}-${model}`;
}

/** One container the stack creates, as the checks of its name and folders see it. */
export interface PlannedContainer {
    /** Its name in Docker and on its host's network. */
    name: string;
    /** Index of its host in `ai-gateway:hosts`. */
    hostIndex: number;
    /** Its host's Docker endpoint: containers with the same one share an engine and its machine's folders. */
    engine: string;
    /** What it is, in words: `the router on host gpu1`, `the Ollama instance hosts[0].ollama[1]`. */
    what: string;
    /** The config key whose value makes its name, when the config chooses it, and what renaming it renames. */
    namedBy?: { path: (string | number)[]; value: string; renames: "instance" | "host" };
    /** Host folders it keeps its data in. */
    dataDirs: string[];
}

/** Every Ollama container, host by host. */
export function ollamaContainers(config: StackConfig): PlannedContainer[] {
    return config.hosts.flatMap((host, hostIndex) =>
        host.ollama.map((instance, j) => ({
            name: instance.name,
            hostIndex,
            engine: host.docker,
            what: `the Ollama instance hosts[${hostIndex}].ollama[${j}]`,
            namedBy: {
                path: ["hosts", hostIndex, "ollama", j, "name"],
                value: instance.name,
                renames: "instance" as const,
            },
            dataDirs: [ollamaModelsDir(host, instance)],
        })),
    );
}

/**
 * Every other container: the router replicas of each router host, the cloud router, Redis, Qdrant and Open WebUI,
 * where the config deploys them. Needs placements on hosts that exist.
 */
export function serviceContainers(config: StackConfig): PlannedContainer[] {
    const placed = placements(config);
    const on = (hostName: string) => {
        const hostIndex = config.hosts.findIndex((h) => h.name === hostName);
        return { host: config.hosts[hostIndex], hostIndex, engine: config.hosts[hostIndex].docker };
    };
    const containers: PlannedContainer[] = [];
    for (const hostName of placed.routers) {
        const { hostIndex, engine } = on(hostName);
        for (let replica = 0; replica < config.router.replicas; replica++) {
            const name = routerContainerName(placed.routers, hostName, replica);
            containers.push({
                name,
                hostIndex,
                engine,
                what:
                    replica === 0
                        ? `the router on host ${hostName}`
                        : `router replica ${replica + 1} on host ${hostName}`,
                namedBy:
                    hostName === placed.router
                        ? undefined
                        : { path: ["hosts", hostIndex, "name"], value: hostName, renames: "host" },
                dataDirs: [],
            });
        }
    }
    const service = (name: string, hostName: string, what: string, folders: (host: HostConfig) => string[]) => {
        const { host, hostIndex, engine } = on(hostName);
        containers.push({ name, hostIndex, engine, what: `${what} on host ${hostName}`, dataDirs: folders(host) });
    };
    if (config.cloud.enabled) service(CONTAINER_NAMES.cloudRouter, placed.router, "the cloud router", () => []);
    if (needsRedis(config)) service(CONTAINER_NAMES.redis, placed.router, "Redis", () => []);
    if (config.qdrant.enabled)
        service(CONTAINER_NAMES.qdrant, placed.qdrant, "Qdrant", (host) => [dataDirs.qdrant(host)]);
    if (config.openWebUI.enabled)
        service(CONTAINER_NAMES.openWebUI, placed.openWebUI, "Open WebUI", (host) => [dataDirs.openWebUI(host)]);
    for (const host of config.hosts.filter((h) => hasDoor(config, h.name))) {
        const name = doorContainerName(config, host.name);
        const { hostIndex, engine } = on(host.name);
        containers.push({
            name,
            hostIndex,
            engine,
            what: `the door on host ${host.name}`,
            namedBy:
                name === CONTAINER_NAMES.door
                    ? undefined
                    : { path: ["hosts", hostIndex, "name"], value: host.name, renames: "host" },
            dataDirs: [],
        });
    }
    return containers;
}

/** A host folder in one spelling: `/data//x/` is `/data/x`. */
export function normalFolder(folder: string): string {
    return path.posix.normalize(folder).replace(/(.)\/+$/, "$1");
}

/** How two host folders relate: the same folder, `a` inside `b`, `a` holding `b`, or apart. */
export function folderRelation(a: string, b: string): "same" | "inside" | "holds" | undefined {
    const [x, y] = [normalFolder(a), normalFolder(b)];
    const within = (inner: string, outer: string) => inner.startsWith(outer === "/" ? outer : `${outer}/`);
    if (x === y) return "same";
    if (within(x, y)) return "inside";
    if (within(y, x)) return "holds";
    return undefined;
}

/**
 * The host whose Ollama instance serves Open WebUI's embedding model: Open WebUI's own host when one of its
 * instances pulls it, else the first host that does; undefined without such an instance or model.
 */
export function openWebUIEmbeddingHost(config: StackConfig): string | undefined {
    const model = config.openWebUI.embeddingModel;
    if (model === undefined) return undefined;
    const pulling = config.hosts.filter((h) => h.ollama.some((instance) => instance.models.includes(model)));
    return (pulling.find((h) => h.name === placements(config).openWebUI) ?? pulling[0])?.name;
}

/** The Ollama instance that embeds for routing by content: the first of the stack that pulls the model. */
export function routingEmbeddingInstance(
    config: StackConfig,
    model: string,
): { host: HostConfig; instance: OllamaInstanceConfig } | undefined {
    for (const host of config.hosts)
        for (const instance of host.ollama) if (instance.models.includes(model)) return { host, instance };
    return undefined;
}

/** The host whose door serves remote access (remoteAccess.host, else Open WebUI's); undefined without remote access. */
export function remoteAccessHost(config: StackConfig): string | undefined {
    return config.remoteAccess && (config.remoteAccess.host ?? placements(config).openWebUI);
}
