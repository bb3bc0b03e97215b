/**
 * How the services of the stack reach each other, which only the target knows: on Docker a container reaches
 * those of its own host by name and those of other hosts through its host's door; on Kubernetes every workload
 * reaches the others by their Service's name. What renders a service's settings (the routers' configs, Open
 * WebUI's environment, the routing classifiers) is handed a Vantage and never asks which target it is.
 */

/** A service of the stack, as another one connects to it. */
export interface Reachable {
    /** Its name: its container's on Docker, its Service's on Kubernetes. */
    name: string;
    /** The host of `ai-gateway:hosts` it runs on. */
    host: string;
    /** The port it listens on inside its container. */
    containerPort: number;
    /** The port the stack gives it: published on its host's bind address (Docker), its Service's (Kubernetes). */
    servicePort: number;
}

/** Where a connection goes: a name the caller resolves (or an address) and a port. */
export interface Endpoint {
    /** Host name or address. */
    host: string;
    /** TCP port. */
    port: number;
}

/** One service's view of the others: how it connects to each. */
export interface Vantage {
    /** The endpoint a connection to `to` goes to. */
    reach(to: Reachable): Endpoint;
}

/** IPv6 literals need brackets inside a URL. */
export function urlHost(address: string): string {
    return address.includes(":") ? `[${address}]` : address;
}

/** The base URL (no trailing slash) of an HTTP service, as `from` reaches it. */
export function baseUrl(from: Vantage, to: Reachable): string {
    const { host, port } = from.reach(to);
    return `http://${urlHost(host)}:${port}`;
}
