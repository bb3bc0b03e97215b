/**
 * The audit's rules for remote access (`ai-gateway:remoteAccess`):
 * - one-door: on the remote-access address, from another network namespace than the host's own (a throwaway
 *   container of the door's image on the stack's ordinary network, whose connections reach the host's addresses
 *   as a device on the LAN's do), every port of every service of that host is tried: only the door's HTTPS port
 *   (and the redirect's) may answer;
 * - tls: for each hostname and the address, the chain the door serves verifies against the stack's CA (with
 *   `tls.mode: files`, `tls.caFile` or the system's CAs) and holds that name, over TLS 1.2 or newer; TLS 1.0 and
 *   1.1 are refused; neither the certificate nor its CA ends within 14 days.
 */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { NETWORK_NAME } from "../targets/docker/containers";
import { remoteAccessListeners } from "../targets/docker/doorHttps";
import { AUDIT_EXPIRY_DAYS, RemoteAccessConfig } from "../config/remoteAccessKeys";
import { remoteAccessHost } from "../model/plan";
import { StackConfig } from "../config/stackKeys";
import { placements, redisPublished } from "../model/plan";
import { listServices } from "../targets/docker/endpoints";
import { CA_OUTPUT } from "./ca";
import { runThrowaway } from "./docker";
import { Finding, findingFor } from "./findings";
import { CertificateFacts, handshake } from "./servedCertificate";

/** A port the one-door rule tries on the remote-access address, and whether it must answer there. */
export interface ProbedPort {
    port: number;
    /** What publishes it (on the bind address, or on the remote-access address for the door's own). */
    what: string;
    /** Only the door's HTTPS front answers on the remote-access address. */
    mayAnswer: boolean;
}

/** Every port the services of the remote-access host publish, and the door's HTTPS front's. */
export function probedPorts(config: StackConfig): ProbedPort[] {
    const hostName = remoteAccessHost(config);
    if (!hostName) return [];
    const ports: ProbedPort[] = remoteAccessListeners(config, hostName).map((l) => ({
        port: l.port,
        what: l.kind === "https" ? "the door's HTTPS" : "the door's HTTP redirect",
        mayAnswer: true,
    }));
    const add = (port: number, what: string) => {
        if (!ports.some((p) => p.port === port)) ports.push({ port, what, mayAnswer: false });
    };
    for (const service of listServices(config).filter((s) => s.host.name === hostName))
        add(service.port, service.containerName);
    if (redisPublished(config) && placements(config).router === hostName) add(config.router.redisPort, "redis");
    return ports;
}

/**
 * Tries each port from inside the throwaway container, all at once, 2 s each; prints `<port> open`, `<port>
 * timeout` or `<port> refused <why>`, one line per port. The HAProxy images the door runs have bash.
 */
export const PORT_PROBE = [
    'address="$1"; shift',
    'for port in "$@"; do (',
    '  if out=$(timeout 2 bash -c ": >/dev/tcp/$address/$port" 2>&1); then echo "$port open"',
    '  elif [ $? -eq 124 ]; then echo "$port timeout"',
    '  else echo "$port refused ${out##*: }"; fi',
    ") & done",
    "wait",
].join("\n");

/** Judges what the probe saw: only the ports that may answer did, and all of them did. */
export function judgeProbe(address: string, ports: ProbedPort[], output: string): Finding {
    const finding = findingFor("one-door", address);
    const seen = new Map(
        output
            .split("\n")
            .map((line) => /^(\d+) (open|timeout|refused)/.exec(line.trim()))
            .filter((m): m is RegExpExecArray => m !== null)
            .map((m) => [Number(m[1]), m[2]]),
    );
    const named = (p: ProbedPort) => `${p.port} (${p.what})`;
    const unseen = ports.filter((p) => !seen.has(p.port));
    if (unseen.length > 0)
        return finding("fail", `cannot check: the probe said nothing of ${unseen.map(named).join(", ")}`);
    const open = ports.filter((p) => !p.mayAnswer && seen.get(p.port) === "open");
    const closed = ports.filter((p) => p.mayAnswer && seen.get(p.port) !== "open");
    if (open.length > 0 || closed.length > 0)
        return finding(
            "fail",
            [
                ...(open.length > 0 ? [`answer beyond the door: ${open.map(named).join(", ")}`] : []),
                ...(closed.length > 0 ? [`the door does not answer on ${closed.map(named).join(", ")}`] : []),
            ].join("; "),
        );
    const shut = ports.filter((p) => !p.mayAnswer);
    return finding(
        "pass",
        `only ${ports
            .filter((p) => p.mayAnswer)
            .map(named)
            .join(", ")} answer; ${shut.map((p) => `${named(p)} ${seen.get(p.port)}`).join(", ") || "no other port"}`,
    );
}

/** The one-door rule: the probe runs in a container of the door's image on the remote-access host. */
export async function oneDoorFinding(config: StackConfig): Promise<Finding> {
    const remote = config.remoteAccess!;
    const host = config.hosts.find((h) => h.name === remoteAccessHost(config))!;
    const ports = probedPorts(config);
    const argv = ["bash", "-c", PORT_PROBE, "probe", remote.address, ...ports.map((p) => String(p.port))];
    try {
        return judgeProbe(
            remote.address,
            ports,
            await runThrowaway(host.docker, config.images.door, NETWORK_NAME, argv),
        );
    } catch (err) {
        return findingFor("one-door", remote.address)("fail", `cannot check: ${(err as Error).message}`);
    }
}

/** Whole days left, and whether that is enough. */
function lasts(what: string, facts: CertificateFacts | undefined): { ok: boolean; text: string } {
    if (!facts) return { ok: true, text: "" };
    const ok = facts.daysLeft > AUDIT_EXPIRY_DAYS;
    return {
        ok,
        text: `${what} until ${facts.validTo.slice(0, 10)} (${facts.daysLeft} days${ok ? "" : `, ${AUDIT_EXPIRY_DAYS} or fewer`})`,
    };
}

/**
 * The tls rule. `ca` is what the chain must verify against: the stack's CA certificate, or `true` for the system's
 * CAs; undefined when it could not be had.
 */
export async function tlsFindings(remote: RemoteAccessConfig, ca: string | true | undefined): Promise<Finding[]> {
    const names = [...remote.hostnames, remote.address];
    const byName = await Promise.all(
        names.map(async (name) => {
            const finding = findingFor("tls", name);
            if (ca === undefined)
                return finding(
                    "fail",
                    `cannot check: no CA to verify against (the stack output ${CA_OUTPUT} could not be read: install the Pulumi CLI, and run this where npm run up ran)`,
                );
            const served = await handshake(remote.address, remote.port, {
                name: isIP(name) ? undefined : name,
                verify: ca,
            });
            if (!served.certificate) return finding("fail", `the chain does not verify for ${name}: ${served.problem}`);
            const own = lasts("valid", served.certificate);
            const issuer = lasts(`its CA ${served.issuerCertificate?.subject}`, served.issuerCertificate);
            const detail = `verifies against ${ca === true ? "the system's CAs" : "the stack's CA"} over ${served.protocol}, ${[own.text, issuer.text].filter(Boolean).join(", ")}`;
            return finding(own.ok && issuer.ok ? "pass" : "fail", detail);
        }),
    );
    const old = await handshake(remote.address, remote.port, {
        name: remote.hostnames[0],
        versions: { min: "TLSv1", max: "TLSv1.1" },
    });
    const versions = findingFor("tls", "TLS 1.0 and 1.1");
    return [
        ...byName,
        old.protocol
            ? versions("fail", `a handshake over ${old.protocol} was accepted (only TLS 1.2 and newer may be)`)
            : versions("pass", `refused (${old.code ?? old.problem})`),
    ];
}

/**
 * What the chain must verify against: with `tls.mode: internal`, the stack's CA (its output, read through
 * `output`); with `files`, `tls.caFile`, else the system's CAs.
 */
export async function remoteAccessCa(
    remote: RemoteAccessConfig,
    output: (name: string) => Promise<unknown>,
): Promise<string | true | undefined> {
    if (remote.tls.mode === "files") return remote.tls.caFile ? readFileSync(remote.tls.caFile, "utf8") : true;
    const ca = await output(CA_OUTPUT);
    return typeof ca === "string" ? ca : undefined;
}

/** Both rules, when the stack has remote access; `ca` as for `tlsFindings`. */
export async function remoteAccessAuditFindings(
    config: StackConfig,
    ca: () => Promise<string | true | undefined>,
): Promise<Finding[]> {
    if (!config.remoteAccess) return [];
    const [oneDoor, tls] = await Promise.all([
        oneDoorFinding(config),
        ca().then((c) => tlsFindings(config.remoteAccess!, c)),
    ]);
    return [oneDoor, ...tls];
}
