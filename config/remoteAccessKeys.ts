/**
 * Remote access: the `ai-gateway:remoteAccess` key. Other devices (laptops, phones, editors on other machines)
 * reach the stack at one address, over HTTPS, through the door of one host (targets/docker/doorHttps.ts); nothing
 * else of the stack is published there. Off when the key is absent. Its rules that span other keys are in
 * config/remoteAccessChecks.ts.
 */
import { isIP } from "node:net";
import * as path from "node:path";
import { z } from "zod";
import { ipAddress, name, port } from "./primitives";

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

/** The `ai-gateway:remoteAccess` key; remote access is off when it is absent. */
export const remoteAccessKey = z
    .strictObject({
        address: ipAddress.describe(
            "The LAN or VPN address of the host that other devices reach (never loopback or a wildcard). Only the door publishes there.",
        ),
        host: name("host").optional().describe("Host whose door serves it. Default: Open WebUI's host."),
        hostnames: z
            .array(hostname)
            .default([])
            .describe("Names of the host in the certificate (e.g. ai.lan); the address is in it too."),
        port: port.default(443).describe("HTTPS port on the address."),
        httpRedirect: z
            .boolean({ error: "is not true or false" })
            .default(false)
            .describe(`Also answer plain HTTP on port ${HTTP_REDIRECT_PORT} of the address, with a redirect to HTTPS.`),
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

/** The validated `ai-gateway:remoteAccess` key, when it is set. */
export type RemoteAccessConfig = NonNullable<z.output<typeof remoteAccessKey>>;
