/**
 * The rules of remote access that span other keys: the host that serves it and what it runs, the address beside
 * the host's bindAddress, the TLS mode and its files.
 */
import { X509Certificate, createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { placements, remoteAccessHost } from "../model/plan";
import { isLoopbackAddress, isWildcardAddress, sameAddress } from "./addresses";
import type { Problem } from "./primitives";
import { AUDIT_EXPIRY_DAYS, HTTP_REDIRECT_PORT, RemoteAccessConfig } from "./remoteAccessKeys";
import type { StackConfig } from "./stackKeys";

/** Every rule of remote access that spans keys: the host and what it runs, the address, the TLS files. */
export function checkRemoteAccess(config: StackConfig, problem: Problem): void {
    const remote = config.remoteAccess;
    if (!remote) return;
    const at = (...keys: (string | number)[]) => ["remoteAccess", ...keys];
    const placed = placements(config);
    const hostName = remoteAccessHost(config)!;
    const hostIndex = config.hosts.findIndex((h) => h.name === hostName);

    const unreachable = isLoopbackAddress(remote.address) || isWildcardAddress(remote.address);
    if (unreachable)
        problem(
            at("address"),
            "is not an address other devices reach (give the host's LAN or VPN address, e.g. 192.168.1.20)",
            remote.address,
        );
    if (hostIndex < 0) {
        problem(at("host"), `is not one of the hosts (${config.hosts.map((h) => h.name).join(", ")})`, remote.host);
        return;
    }
    const host = config.hosts[hostIndex];
    if (!unreachable && sameAddress(host.bindAddress, remote.address))
        problem(
            at("address"),
            `is the bindAddress of host ${hostName}, where Ollama's API (no authentication) and every other port is ` +
                "published: give another address of the host, and keep bindAddress on 127.0.0.1 or a network of its own",
            remote.address,
        );
    else if (isWildcardAddress(host.bindAddress))
        problem(
            ["hosts", hostIndex, "bindAddress"],
            `publishes every port on every address of host ${hostName}, remoteAccess.address included, where only ` +
                "the door may answer: give bindAddress one address (e.g. 127.0.0.1)",
            host.bindAddress,
        );

    remote.expose.forEach((service, i) => {
        if (remote.expose.indexOf(service) !== i) problem(at("expose", i), "is listed twice", service);
        else if (service === "openWebUI" && !config.openWebUI.enabled)
            problem(at("expose", i), "is not deployed (openWebUI.enabled is false)", service);
        else if (service === "openWebUI" && placed.openWebUI !== hostName)
            problem(at("expose", i), elsewhere(placed.openWebUI, hostName), service);
        else if (service === "router" && !placed.routers.includes(hostName))
            problem(at("expose", i), elsewhere(placed.router, hostName), service);
    });
    remote.hostnames.forEach((name, i) => {
        if (remote.hostnames.indexOf(name) !== i) problem(at("hostnames", i), "is listed twice", name);
    });
    if (remote.httpRedirect && remote.port === HTTP_REDIRECT_PORT)
        problem(
            at("port"),
            `is the port of the HTTP redirect (httpRedirect: true): give HTTPS another port, e.g. 443`,
            remote.port,
        );
    checkTls(remote, problem);
}

/** Why a service on `runsOn` cannot be served by the door of `hostName`. */
function elsewhere(runsOn: string, hostName: string): string {
    return (
        `runs on host ${runsOn}, not on host ${hostName}, whose door serves remote access (a door serves only ` +
        `its own host's services: set remoteAccess.host to ${runsOn})`
    );
}

function checkTls(remote: RemoteAccessConfig, problem: Problem): void {
    const { tls } = remote;
    const at = (key: string) => ["remoteAccess", "tls", key];
    if (tls.mode === "internal") {
        for (const key of ["certFile", "keyFile", "caFile"] as const)
            if (tls[key] !== undefined) problem(at(key), 'is only for tls.mode "files"', tls[key]);
        if (tls.renewBeforeDays >= tls.validityDays)
            problem(
                at("renewBeforeDays"),
                `is not shorter than validityDays (${tls.validityDays}): every up would issue a new certificate`,
                tls.renewBeforeDays,
            );
        else if (tls.renewBeforeDays <= AUDIT_EXPIRY_DAYS)
            problem(
                at("renewBeforeDays"),
                `is too short: the audit fails a certificate with ${AUDIT_EXPIRY_DAYS} days left or fewer, so up ` +
                    `must renew it before (give ${AUDIT_EXPIRY_DAYS + 1} or more)`,
                tls.renewBeforeDays,
            );
        return;
    }
    for (const key of ["certFile", "keyFile"] as const)
        if (tls[key] === undefined) problem(at(key), 'is required with tls.mode "files"', undefined);
    if (tls.certFile === undefined || tls.keyFile === undefined) return;
    const certificate = readPem(tls.certFile, (text) => new X509Certificate(text), "a PEM certificate");
    if (typeof certificate === "string") return problem(at("certFile"), certificate, tls.certFile);
    const key = readPem(tls.keyFile, (text) => createPrivateKey(text), "a PEM private key");
    if (typeof key === "string") return problem(at("keyFile"), key, tls.keyFile);
    if (!certificate.checkPrivateKey(key))
        problem(at("keyFile"), `is not the key of the certificate in ${tls.certFile}`, tls.keyFile);
    const uncovered = [
        ...remote.hostnames.filter((name) => certificate.checkHost(name) === undefined),
        ...(certificate.checkIP(remote.address) === undefined ? [remote.address] : []),
    ];
    if (uncovered.length > 0)
        problem(
            at("certFile"),
            `does not cover ${uncovered.join(", ")} (its names: ${certificate.subjectAltName ?? "none"}): devices ` +
                "would refuse it there",
            tls.certFile,
        );
    // Whether it issued the certificate, through intermediates or not, is the audit's tls rule's to say.
    if (tls.caFile !== undefined) {
        const ca = readPem(tls.caFile, (text) => new X509Certificate(text), "a PEM certificate");
        if (typeof ca === "string") problem(at("caFile"), ca, tls.caFile);
    }
}

/** What `parse` makes of the file, or why it cannot be read as `what`. */
function readPem<T>(file: string, parse: (text: string) => T, what: string): T | string {
    let text: string;
    try {
        text = readFileSync(file, "utf8");
    } catch (err) {
        return `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
    }
    try {
        return parse(text);
    } catch {
        return `is not ${what}`;
    }
}
