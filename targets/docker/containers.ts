/**
 * Container specs computed from the validated config. Pure, so what each container gets (ports, GPU,
 * env, volumes, health checks) is tested without Pulumi or Docker; the components add only the
 * values that exist at deploy time (image ids, generated keys).
 */
import { HostConfig, GpuRequest } from "../../config/stackKeys";
import { urlHost } from "../../model/addressing";
import { ServiceSpec } from "../../model/services";
import { canonicalAddress, isWildcardAddress } from "../../config/addresses";

/**
 * The Docker network of a host with a route out: Ollama (model pulls), the cloud router and the door are on it.
 * Containers find each other by name on it; those that must not reach out are on `INTERNAL_NETWORK_NAME` only.
 */
export const NETWORK_NAME = "ai-gateway";

/** A published port: always on an explicit address, never Docker's implicit 0.0.0.0. */
export interface PortSpec {
    /** Port inside the container. */
    internal: number;
    /** Port on the host. */
    external: number;
    /** Host address the port binds to. */
    ip: string;
    /** Transport protocol. */
    protocol: "tcp";
}

export function publish(host: HostConfig, internal: number, external: number): PortSpec {
    return { internal, external, ip: host.bindAddress, protocol: "tcp" };
}

/** Docker `deviceRequests` for a GPU request; `none` asks for nothing, so the container runs on CPU. */
export function gpuDeviceRequests(gpu: GpuRequest) {
    if (gpu === "none") return undefined;
    const base = { driver: "nvidia", capabilities: ["gpu"] };
    if (gpu === "all") return [{ ...base, count: -1 }];
    if (typeof gpu === "number") return [{ ...base, count: gpu }];
    return [{ ...base, deviceIds: gpu }];
}

/** A Docker healthcheck: what `docker ps` shows, and what restarts and `docker logs` hints rely on. */
export interface HealthcheckSpec {
    /** The probe command, in Docker's CMD / CMD-SHELL form. */
    tests: string[];
    /** Time between probes. */
    interval: string;
    /** Time one probe may take. */
    timeout: string;
    /** Failed probes before the container is unhealthy. */
    retries: number;
    /** Grace period after start during which failures do not count. */
    startPeriod: string;
}

/**
 * A duration as Go prints it (`20s`, `1m0s`, `2m30s`): the Docker provider reads a container's healthcheck
 * back in that form, so any other spelling of the same time ("60s") is a diff on every `up`.
 */
export function goDuration(seconds: number): string {
    const minutes = Math.floor(seconds / 60);
    return minutes > 0 ? `${minutes}m${seconds % 60}s` : `${seconds}s`;
}

function healthcheck(tests: string[], startPeriodSeconds: number): HealthcheckSpec {
    return {
        tests,
        interval: goDuration(10),
        timeout: goDuration(5),
        retries: 5,
        startPeriod: goDuration(startPeriodSeconds),
    };
}

/**
 * Docker's healthcheck of a service: its own check from inside the container (model/services.ts), every 10 s.
 * Each image's check uses only what that image ships (the Ollama and Qdrant images have no curl).
 */
export function serviceHealthcheck({ command, startSeconds }: ServiceSpec["selfCheck"]): HealthcheckSpec {
    return healthcheck("exec" in command ? ["CMD", ...command.exec] : ["CMD-SHELL", command.shell], startSeconds);
}

/** The door's: HAProxy accepts on its own monitor port (`port`); the official HAProxy image and ours have bash. */
export function doorHealthcheck(port: number): HealthcheckSpec {
    return healthcheck(["CMD-SHELL", `bash -c ':> /dev/tcp/127.0.0.1/${port}' || exit 1`], 5);
}

/** The Docker label every container and network of a stack carries, with the stack's name as its value. */
export const STACK_LABEL = "ai-gateway.stack";

/**
 * The Docker label with the id of the stack's state as its value (a random id made once and kept in the state,
 * the resource STATE_ID_RESOURCE): how `npm run up` tells the objects its own interrupted run left behind from
 * anything else on the host, another checkout's stack of the same name included.
 */
export const STATE_LABEL = "ai-gateway.state";

/** The name of the resource (a `random.RandomId`) whose `hex` is the id of the stack's state. */
export const STATE_ID_RESOURCE = "state-id";

/** The labels of an object that belongs to `stack` and the state with id `stateId`, in the provider's `labels` shape. */
export function stackLabels<S>(stack: string, stateId: S) {
    return [
        { label: STACK_LABEL, value: stack },
        { label: STATE_LABEL, value: stateId },
    ];
}

/**
 * What every container of the stack shares: its stack and state labels, restart policy, bounded logs, and its
 * networks (the first is the one it is created on), on each under its own name.
 */
export function commonContainerArgs<N, S>(containerName: string, networks: N | N[], stack: string, stateId: S) {
    const list = Array.isArray(networks) ? networks : [networks];
    return {
        name: containerName,
        labels: stackLabels(stack, stateId),
        restart: "unless-stopped",
        logDriver: "json-file",
        logOpts: { "max-size": "10m", "max-file": "3" },
        // Set explicitly: left unset, Docker reports the network name and every up shows a diff.
        networkMode: list[0],
        networksAdvanced: list.map((name) => ({ name, aliases: [containerName] })),
    };
}

/**
 * The URL the machine running `pulumi up` uses for health checks and pulls: the published port on the
 * bind address (on the loopback when the bind address is a wildcard).
 */
export function serviceUrl(host: HostConfig, port: number, path = ""): string {
    const bind = canonicalAddress(host.bindAddress);
    const address = isWildcardAddress(bind) ? (bind === "::" ? "::1" : "127.0.0.1") : bind;
    return `http://${urlHost(address)}:${port}${path}`;
}
