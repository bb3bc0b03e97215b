import * as pulumi from "@pulumi/pulumi";

/** Inputs of a PortGuard: one host port that a service of the stack publishes. */
export interface PortGuardArgs {
    /** Host address the port is published on, e.g. "127.0.0.1" or "0.0.0.0". */
    bindAddress: pulumi.Input<string>;
    /** Host port the service publishes. */
    port: pulumi.Input<number>;
    /** Service that wants the port, e.g. "router". */
    service: pulumi.Input<string>;
    /** Config key that sets the port, e.g. "ai-gateway:router.port". */
    configKey: pulumi.Input<string>;
    /** Host to connect to instead of the one derived from bindAddress, e.g. a remote Docker host. */
    probeHost?: pulumi.Input<string>;
    /** Milliseconds a probe waits for a connection (default 500). */
    probeTimeoutMs?: pulumi.Input<number>;
}

/** What the engine sends for a value not known yet (during preview). */
const UNKNOWN_DURING_PREVIEW = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const WILDCARD_ADDRESSES = ["0.0.0.0", "::"];

/** An address without brackets, IPv6 in its compressed form (`0:0:0:0:0:0:0:0` is `::`), IPv4 as it is. */
function spelling(address: string): string {
    const unbracketed = address.replace(/^\[(.*)\]$/, "$1");
    if (!unbracketed.includes(":") || unbracketed.includes("%")) return unbracketed;
    try {
        return new URL(`http://[${unbracketed}]/`).hostname.slice(1, -1);
    } catch {
        return unbracketed;
    }
}

/** A wildcard bind is reachable on loopback; any other address is probed as it is. */
function probeAddressFor(bindAddress: string): string {
    const address = spelling(bindAddress);
    if (address === "0.0.0.0") return "127.0.0.1";
    if (address === "::") return "::1";
    return address;
}

/**
 * The stack's own container holds the port it published before, on the old address; a wildcard on either
 * side covers the other, so probing would only find ourselves.
 */
function alreadyOwned(olds: Record<string, unknown>, news: Record<string, unknown>): boolean {
    if (olds.port !== news.port) return false;
    const oldAddress = spelling(String(olds.bindAddress));
    const newAddress = spelling(String(news.bindAddress));
    return (
        oldAddress === newAddress || WILDCARD_ADDRESSES.includes(oldAddress) || WILDCARD_ADDRESSES.includes(newAddress)
    );
}

/** Resolves true when something accepts a TCP connection there; refusals, timeouts and errors mean free. */
function somethingListens(host: string, port: number, timeoutMs: number): Promise<boolean> {
    const net = require("node:net");
    return new Promise((resolve) => {
        const socket = net.connect({ host, port });
        const settle = (listening: boolean) => {
            socket.destroy();
            resolve(listening);
        };
        socket.setTimeout(timeoutMs, () => settle(false));
        socket.once("connect", () => settle(true));
        socket.once("error", () => settle(false));
    });
}

/** Exported for direct tests; the engine runs its serialized copy. */
export const portGuardProvider: pulumi.dynamic.ResourceProvider = {
    async check(olds, news) {
        const { bindAddress, port, service, configKey } = news;
        if (bindAddress === UNKNOWN_DURING_PREVIEW || port === UNKNOWN_DURING_PREVIEW) {
            return { inputs: news };
        }
        const net = require("node:net");
        if (!net.isIP(probeAddressFor(bindAddress))) {
            return {
                inputs: news,
                failures: [
                    {
                        property: "bindAddress",
                        reason: `PortGuard: bind address ${JSON.stringify(bindAddress)} of ${service} is not an IP address (e.g. 127.0.0.1, 0.0.0.0, ::1).`,
                    },
                ],
            };
        }
        if (!(Number.isInteger(port) && port >= 1 && port <= 65535)) {
            return {
                inputs: news,
                failures: [
                    {
                        property: "port",
                        reason: `PortGuard: port ${port} of ${service} is not a TCP port (1-65535). Change ${configKey}.`,
                    },
                ],
            };
        }
        if (alreadyOwned(olds, news)) {
            return { inputs: news };
        }
        const probeHost = typeof news.probeHost === "string" ? news.probeHost : probeAddressFor(bindAddress);
        if (await somethingListens(probeHost, port, news.probeTimeoutMs ?? 500)) {
            return {
                inputs: news,
                failures: [
                    {
                        property: "port",
                        reason: `PortGuard: port ${port} on ${bindAddress}, wanted by ${service}, is already in use. Change ${configKey} or stop what listens there.`,
                    },
                ],
            };
        }
        return { inputs: news };
    },

    async diff(_id, olds, news) {
        const keys = ["bindAddress", "port", "service", "configKey", "probeHost", "probeTimeoutMs"];
        return { changes: keys.some((key) => olds[key] !== news[key]) };
    },

    async create(inputs) {
        return { id: `${inputs.bindAddress}:${inputs.port}`, outs: inputs };
    },

    async update(_id, _olds, news) {
        return { outs: news };
    },
};

/**
 * Fails the preview, with the port, the service and the config key to change, when a port the stack is about
 * to publish is already taken by something else. Ports the stack already published never fail.
 */
export class PortGuard extends pulumi.dynamic.Resource {
    constructor(name: string, args: PortGuardArgs, opts?: pulumi.CustomResourceOptions) {
        super(portGuardProvider, name, { ...args }, opts, "aigateway", "PortGuard");
    }
}
