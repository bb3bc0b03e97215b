import { readFileSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { RemoteAccessConfig } from "../../config/remoteAccessKeys";

/** How long the internal CA is valid: ten years, so that devices install it once. */
export const CA_VALIDITY_HOURS = 10 * 365 * 24;

export interface RemoteAccessCertificateArgs {
    /** The validated remote-access config: its names, its address and how the certificate comes. */
    remote: RemoteAccessConfig;
}

/**
 * The certificate the door serves to other devices. With `tls.mode: internal`, a CA the stack creates and keeps
 * (its key a Pulumi secret, like every key of the stack) issues a server certificate for the hostnames and the
 * address, and `pulumi up` issues a new one once the current one is within `renewBeforeDays` of its end
 * (`earlyRenewalHours`). With `files`, the operator's certificate and key, read when the program runs.
 */
export class RemoteAccessCertificate extends pulumi.ComponentResource {
    /** The certificate chain and its private key in one PEM, as HAProxy reads it; a secret. */
    public readonly pem: pulumi.Output<string>;
    /** The internal CA's certificate, which devices install to trust the door; none with `files`. */
    public readonly caCertificate?: pulumi.Output<string>;

    constructor(name: string, args: RemoteAccessCertificateArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aigateway:tls:RemoteAccessCertificate", name, {}, opts);
        const { remote } = args;
        const { tls: settings } = remote;
        if (settings.mode === "files") {
            const chain = readFileSync(settings.certFile!, "utf8");
            this.pem = pulumi.secret(joinPem(chain, readFileSync(settings.keyFile!, "utf8")));
            this.registerOutputs({});
            return;
        }

        // The devices trust this CA once installed: a destroy keeps it (protected, like the secrets that open Open
        // WebUI's data), so the next up's certificates are trusted as the last ones were.
        const keptAcrossDestroy = { parent: this, protect: true };
        const caKey = new tls.PrivateKey(
            `${name}-ca-key`,
            { algorithm: "ECDSA", ecdsaCurve: "P256" },
            keptAcrossDestroy,
        );
        const ca = new tls.SelfSignedCert(
            `${name}-ca`,
            {
                privateKeyPem: caKey.privateKeyPem,
                isCaCertificate: true,
                setSubjectKeyId: true,
                validityPeriodHours: CA_VALIDITY_HOURS,
                allowedUses: ["cert_signing", "crl_signing"],
                subject: { commonName: `ai-gateway CA (${pulumi.getStack()})`, organization: "ai-gateway" },
            },
            keptAcrossDestroy,
        );
        const key = new tls.PrivateKey(`${name}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
        const request = new tls.CertRequest(
            `${name}-request`,
            {
                privateKeyPem: key.privateKeyPem,
                dnsNames: remote.hostnames,
                ipAddresses: [remote.address],
                subject: { commonName: remote.hostnames[0] ?? remote.address, organization: "ai-gateway" },
            },
            { parent: this },
        );
        const certificate = new tls.LocallySignedCert(
            `${name}-certificate`,
            {
                certRequestPem: request.certRequestPem,
                caPrivateKeyPem: caKey.privateKeyPem,
                caCertPem: ca.certPem,
                validityPeriodHours: settings.validityDays * 24,
                // The provider replaces the certificate at the first up within this many hours of its end.
                earlyRenewalHours: settings.renewBeforeDays * 24,
                // An ECDSA key signs; it never enciphers a session key (that is RSA key exchange).
                allowedUses: ["digital_signature", "server_auth"],
            },
            { parent: this },
        );
        this.pem = pulumi.secret(pulumi.all([certificate.certPem, key.privateKeyPem]).apply(([c, k]) => joinPem(c, k)));
        this.caCertificate = ca.certPem;
        this.registerOutputs({ caCertificate: this.caCertificate });
    }
}

/** PEM blocks one after the other, each ending its line. */
function joinPem(...blocks: string[]): string {
    return blocks.map((block) => (block.endsWith("\n") ? block : `${block}\n`)).join("");
}
