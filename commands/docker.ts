/**
 * What the operator commands ask a host's Docker engine, through the `docker` CLI and the host's endpoint
 * from the stack config (`unix:///var/run/docker.sock` or `ssh://user@host`, which the CLI handles itself).
 */
import { execFile, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { oneLine } from "./http";

const run = promisify(execFile);

/** Docker could not be asked: no CLI, no engine at the endpoint, no permission. */
export class DockerUnreachable extends Error {}

/** One published port of a container, as configured (it stays the same while the container is stopped). */
export interface PortBinding {
    /** Port inside the container, e.g. `4000/tcp`. */
    containerPort: string;
    /** Host address it is bound to; empty means every address. */
    hostIp: string;
    /** Host port. */
    hostPort: number;
}

/** What `docker container inspect` says about one container. */
export interface ContainerFacts {
    /** Container name. */
    name: string;
    /** `running`, `exited`, `restarting`, `created`, ... */
    state: string;
    /** Health of its healthcheck (`healthy`, `unhealthy`, `starting`), when it has one. */
    health?: string;
    /** Id of the image it runs (`sha256:...`). */
    imageId: string;
    /** The image as the container was created with it: a reference like `qdrant/qdrant:v1.16.1`, or an id. */
    imageRef: string;
    /** Every published port. */
    ports: PortBinding[];
    /** Its environment, `KEY=value`. */
    env: string[];
    /** The Docker networks it is attached to, by name. */
    networks: string[];
}

/** Runs `docker -H <endpoint> <args>`, resolving stdout; a failure to reach Docker rejects `DockerUnreachable`. */
async function docker(endpoint: string, args: string[], options: { allowFailure?: boolean } = {}): Promise<string> {
    try {
        const { stdout } = await run("docker", ["-H", endpoint, ...args], { timeout: 20_000, maxBuffer: 16 << 20 });
        return stdout;
    } catch (err) {
        const failure = err as Error & { code?: string | number; stdout?: string; stderr?: string };
        if (failure.code === "ENOENT") throw new DockerUnreachable("the docker CLI is not installed");
        const reason = oneLine(failure.stderr ?? failure.message);
        if (/Cannot connect|cannot connect|permission denied|error during connect|no such host|ssh:/i.test(reason))
            throw new DockerUnreachable(`cannot reach Docker at ${endpoint}: ${reason}`);
        if (options.allowFailure) return failure.stdout ?? "";
        throw new DockerUnreachable(`docker ${args[0]} at ${endpoint} failed: ${reason}`);
    }
}

/** The engine's version: proves Docker answers at the endpoint. */
export async function engineVersion(endpoint: string): Promise<string> {
    return (await docker(endpoint, ["version", "--format", "{{.Server.Version}}"])).trim();
}

/** Facts about the named containers that exist; names without a container are left out. */
export async function inspectContainers(endpoint: string, names: string[]): Promise<Map<string, ContainerFacts>> {
    // `inspect` exits 1 when one name is missing but still prints the others.
    const stdout = await docker(endpoint, ["container", "inspect", ...names], { allowFailure: true });
    const found = new Map<string, ContainerFacts>();
    for (const container of JSON.parse(stdout || "[]") as RawContainer[]) {
        const name = container.Name.replace(/^\//, "");
        found.set(name, {
            name,
            state: container.State.Status,
            health: container.State.Health?.Status,
            imageId: container.Image,
            imageRef: container.Config.Image,
            env: container.Config.Env ?? [],
            networks: Object.keys(container.NetworkSettings?.Networks ?? {}),
            ports: Object.entries(container.HostConfig.PortBindings ?? {}).flatMap(([containerPort, bindings]) =>
                (bindings ?? []).map((b) => ({ containerPort, hostIp: b.HostIp, hostPort: Number(b.HostPort) })),
            ),
        });
    }
    return found;
}

/** The tags (`name:version`) each image id carries. */
export async function imageTags(endpoint: string, imageIds: string[]): Promise<Map<string, string[]>> {
    const unique = [...new Set(imageIds)];
    if (unique.length === 0) return new Map();
    const stdout = await docker(endpoint, ["image", "inspect", ...unique], { allowFailure: true });
    const images = JSON.parse(stdout || "[]") as { Id: string; RepoTags?: string[] }[];
    return new Map(images.map((image) => [image.Id, image.RepoTags ?? []]));
}

/** The part of `docker container inspect` we read. */
interface RawContainer {
    Name: string;
    Image: string;
    State: { Status: string; Health?: { Status: string } };
    Config: { Image: string; Env?: string[] };
    HostConfig: { PortBindings?: Record<string, { HostIp: string; HostPort: string }[] | null> };
    NetworkSettings?: { Networks?: Record<string, unknown> | null };
}

/** What `docker network inspect` says about one network. */
export interface NetworkFacts {
    /** Network name. */
    name: string;
    /** Created `internal: true`: no gateway, no route beyond its bridge. */
    internal: boolean;
    /** The host's own addresses on its bridge (the gateways of its subnets); none for an internal network. */
    gateways: string[];
}

/** Facts about the named networks that exist; names without a network are left out. */
export async function inspectNetworks(endpoint: string, names: string[]): Promise<Map<string, NetworkFacts>> {
    if (names.length === 0) return new Map();
    const stdout = await docker(endpoint, ["network", "inspect", ...new Set(names)], { allowFailure: true });
    type RawNetwork = { Name: string; Internal: boolean; IPAM?: { Config?: { Gateway?: string }[] | null } };
    return new Map(
        (JSON.parse(stdout || "[]") as RawNetwork[]).map((n) => [
            n.Name,
            {
                name: n.Name,
                internal: n.Internal,
                gateways: (n.IPAM?.Config ?? []).flatMap((c) => (c.Gateway ? [c.Gateway] : [])),
            },
        ]),
    );
}

/** Runs `argv` inside a running container (`docker exec`); resolves its standard output, rejects when it fails. */
export async function execInContainer(endpoint: string, container: string, argv: string[]): Promise<string> {
    return docker(endpoint, ["exec", container, ...argv]);
}

/**
 * Runs `argv` in a new container of `image` (already on the host: nothing is pulled) on `network`, removed when it
 * ends (`docker run --rm`); resolves its standard output.
 */
export async function runThrowaway(endpoint: string, image: string, network: string, argv: string[]): Promise<string> {
    const [entrypoint, ...args] = argv;
    return docker(endpoint, [
        "run",
        "--rm",
        "--pull",
        "never",
        "--network",
        network,
        "--entrypoint",
        entrypoint,
        image,
        ...args,
    ]);
}

/** The containers of a stack's services, asked of each host's engine; engines that did not answer say why. */
export interface StackContainers {
    /** Facts by container name, for the containers that exist. */
    found: Map<string, ContainerFacts>;
    /** Why Docker could not be asked, by endpoint. */
    unreachable: Map<string, string>;
}

export async function inspectStackContainers(
    services: { containerName: string; host: { docker: string } }[],
): Promise<StackContainers> {
    const byEndpoint = new Map<string, string[]>();
    for (const service of services)
        byEndpoint.set(service.host.docker, [...(byEndpoint.get(service.host.docker) ?? []), service.containerName]);
    const result: StackContainers = { found: new Map(), unreachable: new Map() };
    await Promise.all(
        [...byEndpoint].map(async ([endpoint, names]) => {
            try {
                for (const [name, facts] of await inspectContainers(endpoint, names)) result.found.set(name, facts);
            } catch (err) {
                if (!(err instanceof DockerUnreachable)) throw err;
                result.unreachable.set(endpoint, err.message);
            }
        }),
    );
    return result;
}

/** A container or network, by its id and name. */
export interface DockerObject {
    /** Full id. */
    id: string;
    /** Name, without the leading slash. */
    name: string;
}

/** The containers (running or not) and networks of one host that carry `label`=`value`. */
export async function labelledObjects(
    endpoint: string,
    label: string,
    value: string,
): Promise<{ containers: DockerObject[]; networks: DockerObject[] }> {
    const selector = ["--filter", `label=${label}=${value}`, "--no-trunc"];
    const parse = (stdout: string) =>
        stdout
            .split("\n")
            .filter(Boolean)
            .map((line) => {
                const [id, name] = line.split(" ");
                return { id, name };
            });
    const [containers, networks] = await Promise.all([
        docker(endpoint, ["container", "ls", "--all", ...selector, "--format", "{{.ID}} {{.Names}}"]),
        docker(endpoint, ["network", "ls", ...selector, "--format", "{{.ID}} {{.Name}}"]),
    ]);
    return { containers: parse(containers), networks: parse(networks) };
}

/** Removes containers (stopping them first) and then networks, by id. */
export async function removeObjects(endpoint: string, objects: { containers: string[]; networks: string[] }) {
    if (objects.containers.length > 0) await docker(endpoint, ["container", "rm", "--force", ...objects.containers]);
    if (objects.networks.length > 0) await docker(endpoint, ["network", "rm", ...objects.networks]);
}

/** What to read of a container's log (`docker logs`). */
export interface LogOptions {
    /** Only lines since then: a duration such as `10m` or `1h30m`, or a timestamp (Docker's `--since`). */
    since?: string;
    /** Only the last this many lines (Docker's `--tail`). */
    tail?: number;
    /** Keep reading as the container writes, until it stops or `stop()` is called. */
    follow?: boolean;
}

/** One line of a container's log. */
export interface LogLine {
    /** When Docker received it: RFC 3339 with nanoseconds, UTC. */
    time: string;
    /** The line, without its newline. */
    text: string;
}

/** A log being read: `done` resolves when the output ends, or rejects with `DockerUnreachable` and Docker's words. */
export interface LogReader {
    done: Promise<void>;
    /** Stops reading (a `follow` otherwise lasts as long as the container). */
    stop(): void;
}

/** Docker's timestamp in front of every line of `docker logs --timestamps`. */
const LOG_TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\S+Z) (.*)$/s;

/**
 * Reads the log of container `name` at `endpoint` (`docker logs --timestamps`), its standard output and error alike,
 * calling `onLine` for each line as it comes. The CLI's own complaints (no such container, no engine) are told from
 * the container's lines by their missing timestamp.
 */
export function readContainerLog(
    endpoint: string,
    name: string,
    options: LogOptions,
    onLine: (line: LogLine) => void,
): LogReader {
    const args = ["-H", endpoint, "logs", "--timestamps"];
    if (options.since !== undefined) args.push("--since", options.since);
    if (options.tail !== undefined) args.push("--tail", String(options.tail));
    if (options.follow) args.push("--follow");
    const child = spawn("docker", [...args, name], { stdio: ["ignore", "pipe", "pipe"] });
    const complaints: string[] = [];
    const read = (stream: NodeJS.ReadableStream) =>
        new Promise<void>((resolve) => {
            const lines = createInterface({ input: stream, crlfDelay: Infinity });
            lines.on("line", (line) => {
                const stamped = LOG_TIMESTAMP.exec(line);
                if (stamped) onLine({ time: stamped[1], text: stamped[2] });
                else if (line.trim()) complaints.push(line);
            });
            lines.on("close", resolve);
        });
    const reading = Promise.all([read(child.stdout!), read(child.stderr!)]);
    const done = new Promise<void>((resolve, reject) => {
        child.on("error", (err: NodeJS.ErrnoException) =>
            reject(err.code === "ENOENT" ? new DockerUnreachable("the docker CLI is not installed") : err),
        );
        child.on("close", (code, signal) => {
            void reading.then(() => {
                if (code === 0 || signal !== null) return resolve();
                const reason = oneLine(complaints.join(" ") || `exit ${code}`);
                reject(new DockerUnreachable(`docker logs ${name} at ${endpoint} failed: ${reason}`));
            });
        });
    });
    return { done, stop: () => child.kill("SIGTERM") };
}
