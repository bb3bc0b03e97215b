/**
 * The audit's rules on who can connect where (commands/audit.ts): Ollama on no other address of this machine
 * (ollama-not-beyond), a published Redis behind its password (auth), and no connection out from the routers and
 * Open WebUI (no-egress).
 */
import * as os from "node:os";
import { AuditedContainer } from "./auditContainers";
import { Server, createServer, connect, isIP } from "node:net";
import { sameAddress } from "../config/addresses";
import { NETWORK_NAME, serviceUrl } from "../targets/docker/containers";
import { INTERNAL_NETWORK_NAME } from "../targets/docker/doorPlan";
import { GatewayService } from "../targets/docker/endpoints";
import { StackContainers, execInContainer, inspectNetworks } from "./docker";
import { acceptsConnections } from "./http";
import { Finding, findingFor } from "./findings";

/**
 * Addresses of this machine other than `bindAddress` on which Ollama must not answer: every interface
 * address, and another loopback address (a port published on all addresses answers there too).
 */
export function otherLocalAddresses(bindAddress: string): string[] {
    const interfaces = Object.values(os.networkInterfaces()).flatMap((list) => list ?? []);
    const addresses = interfaces.filter((i) => !i.address.startsWith("fe80:")).map((i) => i.address);
    return [...new Set([...addresses, "127.0.0.2"])].filter((a) => !sameAddress(a, bindAddress));
}

export async function ollamaBeyondFindings(services: GatewayService[], probeAddresses?: string[]): Promise<Finding[]> {
    return Promise.all(
        services
            .filter((s) => s.kind === "ollama")
            .map(async (service) => {
                const finding = findingFor("ollama-not-beyond", service.containerName);
                if (!service.host.docker.startsWith("unix://"))
                    return finding(
                        "skip",
                        `remote host ${service.host.name}: only its port bindings are checked from here`,
                    );
                const addresses = (probeAddresses ?? otherLocalAddresses(service.host.bindAddress)).filter(
                    (a) => !sameAddress(a, service.host.bindAddress),
                );
                const answered = (
                    await Promise.all(
                        addresses.map(async (a) => ((await acceptsConnections(a, service.port)) ? a : undefined)),
                    )
                ).filter((a): a is string => a !== undefined);
                if (answered.length > 0)
                    return finding("fail", `port ${service.port} answers on ${answered.join(", ")}`);
                return finding(
                    "pass",
                    `port ${service.port} not reachable on ${addresses.join(", ") || "(no other address)"}`,
                );
            }),
    );
}

/** Redis refuses a client without its password, or is not published at all. */
export async function redisAuthFinding(redis: AuditedContainer): Promise<Finding> {
    const finding = findingFor("auth", redis.containerName);
    if (redis.port === undefined) return finding("skip", "not published: only the routers on its host reach it");
    const url = new URL(serviceUrl(redis.host, redis.port));
    const answer = await redisPing(url.hostname.replace(/^\[(.*)\]$/, "$1"), redis.port);
    if (answer.startsWith("-NOAUTH")) return finding("pass", `PING without a password answered ${answer}`);
    return finding("fail", `PING without a password answered ${answer || "nothing"}`);
}

/** Sends Redis's inline PING and returns the first line of the answer, or what went wrong. */
function redisPing(host: string, port: number, timeoutMs = 3000): Promise<string> {
    return new Promise((resolve) => {
        let answer = "";
        const socket = connect({ host, port });
        const done = (line: string) => {
            socket.destroy();
            resolve(line);
        };
        socket.setTimeout(timeoutMs, () => done(`no answer in ${timeoutMs} ms`));
        socket.on("connect", () => socket.write("PING\r\n"));
        socket.on("data", (chunk) => {
            answer += chunk.toString("utf8");
            if (answer.includes("\r\n")) done(answer.slice(0, answer.indexOf("\r\n")));
        });
        socket.on("error", (err) => done(`cannot connect: ${err.message}`));
        socket.on("end", () => done(answer.trim()));
    });
}

/**
 * The probe run inside a container (`python -c EGRESS_PROBE <host> <port>`): one TCP connection, 3 s at most;
 * prints `connected`, or `blocked: <why>`. The LiteLLM and Open WebUI images always have Python.
 */
export const EGRESS_PROBE = [
    "import socket, sys",
    "try:",
    "    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()",
    "    print('connected')",
    "except OSError as e:",
    "    print('blocked:', e)",
].join("\n");

/** A TCP listener on `address` that counts the connections it gets; undefined when it cannot listen there. */
async function countingListener(
    address: string,
): Promise<{ server: Server; port: number; seen: () => number } | undefined> {
    let count = 0;
    const server = createServer((socket) => {
        count++;
        socket.destroy();
    });
    const listening = await new Promise<boolean>((resolve) => {
        server.once("error", () => resolve(false));
        server.listen({ host: address, port: 0 }, () => resolve(true));
    });
    if (!listening) return undefined;
    const port = (server.address() as { port: number }).port;
    return { server, port, seen: () => count };
}

/** An address beyond the stack that the egress probe tries, with a listener of this audit on it. */
interface ProbeTarget {
    /** The address and port. */
    address: string;
    port: number;
    /** What it is, in words. */
    what: string;
    /** Connections it has accepted. */
    seen: () => number;
}

/**
 * The services with no route out are on internal networks only, and from inside each that has Python (the local
 * routers and Open WebUI) a connection to an address beyond the stack fails: a listener of this audit on the
 * Docker host's own address on the stack's ordinary network (`ai-gateway`), which a container with a route out
 * reaches; and one on the host's address on each internal network, if the host has one there (the stack creates
 * them without). Only on a local engine can the audit listen on the host; on a remote one, the networks are
 * checked.
 */
export async function noEgressFindings(audited: AuditedContainer[], containers: StackContainers): Promise<Finding[]> {
    const subjects = audited.filter((c) => c.noEgress);
    const findings: Finding[] = [];
    for (const endpoint of new Set(subjects.map((s) => s.host.docker))) {
        const onHost = subjects.filter((s) => s.host.docker === endpoint);
        const fail = (detail: string) => {
            for (const s of onHost) findings.push(findingFor("no-egress", s.containerName)("fail", detail));
        };
        const unreachable = containers.unreachable.get(endpoint);
        if (unreachable) {
            fail(`cannot check: ${unreachable}`);
            continue;
        }
        const networkNames = [...new Set(onHost.flatMap((s) => containers.found.get(s.containerName)?.networks ?? []))];
        let networks: Awaited<ReturnType<typeof inspectNetworks>>;
        try {
            networks = await inspectNetworks(endpoint, [...networkNames, NETWORK_NAME]);
        } catch (err) {
            fail(`cannot check: ${(err as Error).message}`);
            continue;
        }
        const listeners: (ProbeTarget & { server: Server })[] = [];
        let problem: string | undefined;
        if (endpoint.startsWith("unix://")) {
            const gateway = networks.get(NETWORK_NAME)?.gateways.find((g) => isIP(g) === 4);
            const egress = gateway ? await countingListener(gateway) : undefined;
            if (egress)
                listeners.push({
                    ...egress,
                    address: gateway!,
                    what: `where this audit listens on the Docker host's address on ${NETWORK_NAME} (a container with a route out reaches it)`,
                });
            else problem = `cannot check: no address of network ${NETWORK_NAME} on this machine to listen on`;
            // The host's own address on an internal network, when it has one, answers with whatever it serves there.
            for (const name of networkNames.filter((n) => networks.get(n)?.internal)) {
                const address = networks.get(name)!.gateways.find((g) => isIP(g) === 4);
                const inside = address ? await countingListener(address) : undefined;
                if (inside)
                    listeners.push({
                        ...inside,
                        address: address!,
                        what: `the Docker host's own address on ${name}, where it serves anything it serves on every address`,
                    });
            }
        }
        try {
            for (const s of onHost) findings.push(await noEgressFinding(s, containers, networks, listeners, problem));
        } finally {
            for (const l of listeners) l.server.close();
        }
    }
    return findings;
}

async function noEgressFinding(
    container: AuditedContainer,
    containers: StackContainers,
    networks: Map<string, { internal: boolean }>,
    targets: ProbeTarget[],
    problem: string | undefined,
): Promise<Finding> {
    const finding = findingFor("no-egress", container.containerName);
    const facts = containers.found.get(container.containerName);
    if (!facts) return finding("fail", `no container ${container.containerName} on host ${container.host.name}`);
    const open = facts.networks.filter((n) => networks.get(n)?.internal !== true);
    const seen =
        open.length > 0
            ? `on ${open.join(", ")}, which ${open.length === 1 ? "has" : "have"} a route out (only ${INTERNAL_NETWORK_NAME} is allowed)`
            : `only on ${facts.networks.join(", ") || "no network"} (no route out)`;
    const verdict = open.length > 0 ? "fail" : "pass";
    if (!container.probed) return finding(verdict, seen);
    if (!container.host.docker.startsWith("unix://"))
        return finding(verdict, `${seen}; not probed: the audit cannot listen on remote host ${container.host.name}`);
    if (problem) return finding("fail", `${seen}; ${problem}`);
    const blocked: string[] = [];
    for (const target of targets) {
        let answer: string;
        const before = target.seen();
        try {
            const argv = ["python", "-c", EGRESS_PROBE, target.address, String(target.port)];
            answer = (await execInContainer(container.host.docker, container.containerName, argv)).trim();
        } catch (err) {
            return finding("fail", `${seen}; cannot check: ${(err as Error).message}`);
        }
        const where = `${target.address}:${target.port}, ${target.what}`;
        if (answer === "connected" || target.seen() > before) return finding("fail", `${seen}; connected to ${where}`);
        if (!answer.startsWith("blocked:"))
            return finding("fail", `${seen}; cannot check: the probe answered ${JSON.stringify(answer.slice(0, 200))}`);
        blocked.push(`${where}: ${answer.slice("blocked: ".length)}`);
    }
    return finding(verdict, `${seen}; cannot connect to ${blocked.join("; nor to ")}`);
}
