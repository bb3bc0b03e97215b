/**
 * Remote access: the `ai-gateway:remoteAccess` key. Other devices (laptops, phones, editors on other machines)
 * reach the stack at one address, over HTTPS, through the door of one host (config/doorHttps.ts); nothing else
 * of the stack is published there. Off when the key is absent.
 *
 * This file imports only types from the schema, so the schema can import it; the schema pieces it shares are
 * passed in.
 */
import { X509Certificate, createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import * as path from "node:path";
import { z } from "zod";
import { isLoopbackAddress, isWildcardAddress, sameAddress } from "./addresses";
import { placements } from "./plan";
import type { Problem, StackConfig } from "./schema";

/** What the door can serve to other devices: Open WebUI at `/`, the router's OpenAI API at `/v1`. */
export const EXPOSABLE = ["openWebUI", "router"] as const;
export type Exposable = (typeof EXPOSABLE)[number];

/** The port that redirects plain HTTP to HTTPS, with `httpRedirect: true`. */
export const HTTP_REDIRECT_PORT = 80;
/** Defaults of the internal CA's server certificate: a year, renewed by the first `up` in its last 30 days. */
export const DEFAULT_VALIDITY_DAYS = 365;
export const DEFAULT_RENEW_BEFORE_DAYS = 30;
/** Apple's devices refuse a TLS server certificate valid for longer, whoever issued it. */
export const MAX_VALIDITY_DAYS = 825;
/** The audit's `tls` rule fails a certificate with this many days left or fewer; `up` must renew before that. */
export const AUDIT_EXPIRY_DAYS = 14;

/** The schema pieces remote access shares with the rest of the stack schema, passed in to avoid a cycle. */
export interface RemoteAccessSchemaParts {
    /** A host name of `ai-gateway:hosts`. */
    hostName: z.ZodType<string>;
    /** A TCP port. */
    port: z.ZodType<number>;
    /** An IP address without a zone. */
    ipAddress: z.ZodType<string>;
}

/** One DNS label: lower-case letters, digits and inner hyphens, at most 63 characters. */
const LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
const HOSTNAME_PATTERN = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);

const hostname = z
    .string({ error: "is not a host name" })
    .refine((name) => isIP(name) === 0, {
        error: "is an IP address, not a name (the address is in the certificate already: remoteAccess.address)",
    })
    .refine((name) => name.length <= 253 && HOSTNAME_PATTERN.test(name), {
        error: 'is not a host name (lower-case letters, digits, "-" and dots, e.g. "ai.lan"; no wildcards)',
    });

const absoluteFile = z
    .string({ error: "is not a file path" })
    .refine((file) => path.isAbsolute(file), { error: "is not an absolute path" });

const days = (what: string, max?: number) => {
    const message = `is not ${what} (a whole number of days, ${max ? `1 to ${max}` : "1 or more"})`;
    const base = z.number({ error: message }).int({ error: message }).min(1, { error: message });
    return max ? base.max(max, { error: message }) : base;
};

/** The `ai-gateway:remoteAccess` key; remote access is off when it is absent. */
export function remoteAccessKey({ hostName, port, ipAddress }: RemoteAccessSchemaParts) {
    const tls = z
        .strictObject({
            mode: z
                .enum(["internal", "files"], { error: 'is not a TLS mode ("internal" or "files")' })
                .default("internal")
                .describe(
                    "internal: a CA the stack creates and keeps (Pulumi secrets), which issues and renews the server certificate; files: certFile and keyFile.",
                ),
            validityDays: days("a validity", MAX_VALIDITY_DAYS)
                .default(DEFAULT_VALIDITY_DAYS)
                .describe(
                    `mode internal: how long a server certificate is valid (at most ${MAX_VALIDITY_DAYS} days, which Apple's devices require).`,
                ),
            renewBeforeDays: days("a renewal window")
                .default(DEFAULT_RENEW_BEFORE_DAYS)
                .describe(
                    `mode internal: \`pulumi up\` issues a new server certificate once the current one has this many days left or fewer (more than ${AUDIT_EXPIRY_DAYS}, the audit's limit).`,
                ),
            certFile: absoluteFile
                .optional()
                .describe(
                    "mode files: the server certificate (PEM, with its intermediates), covering every hostname and the address.",
                ),
            keyFile: absoluteFile
                .optional()
                .describe("mode files: its private key (PEM); its content is kept as a Pulumi secret."),
            caFile: absoluteFile
                .optional()
                .describe(
                    "mode files: the CA that issued certFile, which the audit's tls rule verifies against. Unset: the system's trusted CAs.",
                ),
        })
        .describe("The certificate the door serves.");

    return z
        .strictObject({
            address: ipAddress.describe(
                "The LAN or VPN address of the host that other devices reach (never loopback or a wildcard). Only the door publishes there.",
            ),
            host: hostName.optional().describe("Host whose door serves it. Default: Open WebUI's host."),
            hostnames: z
                .array(hostname)
                .default([])
                .describe("Names of the host in the certificate (e.g. ai.lan); the address is in it too."),
            port: port.default(443).describe("HTTPS port on the address."),
            httpRedirect: z
                .boolean({ error: "is not true or false" })
                .default(false)
                .describe(
                    `Also answer plain HTTP on port ${HTTP_REDIRECT_PORT} of the address, with a redirect to HTTPS.`,
                ),
            expose: z
                .array(z.enum(EXPOSABLE, { error: `is not one of ${EXPOSABLE.join(", ")}` }))
                .min(1, { error: "lists nothing (give openWebUI, router or both)" })
                .default(["openWebUI"])
                .describe(
                    "What the door serves there: openWebUI (at /) and router (the OpenAI API at /v1, with the masterKey).",
                ),
            tls: tls.prefault({}),
        })
        .optional()
        .describe("HTTPS access from other devices through the door, at one address. Off when absent.");
}

export type RemoteAccessConfig = NonNullable<StackConfig["remoteAccess"]>;

/** The host whose door serves remote access; undefined without remote access. */
export function remoteAccessHost(config: StackConfig): string | undefined {
    return config.remoteAccess && (config.remoteAccess.host ?? placements(config).openWebUI);
}

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
