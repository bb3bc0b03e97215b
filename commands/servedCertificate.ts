/**
 * What the door's HTTPS front serves, seen as a device sees it: a TLS handshake with the remote-access address,
 * for a name. `status` shows the days its certificate has left; the audit's `tls` rule verifies the chain and
 * the protocol versions it accepts.
 */
import { PeerCertificate, TLSSocket, connect } from "node:tls";
import { isIP } from "node:net";
import { RemoteAccessConfig } from "../config/remoteAccessKeys";
import { remoteAccessUrl } from "../targets/docker/doorHttps";

const DAY_MS = 24 * 60 * 60 * 1000;

/** A certificate as the handshake showed it. */
export interface CertificateFacts {
    /** Its subject's common name. */
    subject: string;
    /** Its issuer's common name. */
    issuer: string;
    /** Its names, as `DNS:ai.lan, IP Address:192.168.1.20`. */
    names: string;
    /** When it ends, ISO 8601. */
    validTo: string;
    /** Whole days until it ends (negative once it has). */
    daysLeft: number;
}

/** One handshake: what the server presented and how, or why there was none. */
export interface Handshake {
    /** The negotiated protocol (`TLSv1.3`), when the handshake completed. */
    protocol?: string;
    /** The server's certificate, and its issuer's when the server sent it; when the handshake completed. */
    certificate?: CertificateFacts;
    issuerCertificate?: CertificateFacts;
    /** Why the handshake failed (with `verify`, also a chain or name that does not verify). */
    problem?: string;
    /** OpenSSL's or Node's code for that failure. */
    code?: string;
}

export interface HandshakeOptions {
    /** The name asked for (SNI and the name verified); undefined for the address itself. */
    name?: string;
    /** Verify the chain against these CAs (the system's when `true`), and the name or address; else accept anything. */
    verify?: string | true;
    /** The protocol versions the client offers. */
    versions?: { min: "TLSv1" | "TLSv1.2"; max: "TLSv1.1" | "TLSv1.3" };
    timeoutMs?: number;
}

/** Facts of a certificate from Node's view of it. */
function facts(peer: PeerCertificate, now = Date.now()): CertificateFacts {
    const validTo = new Date(peer.valid_to);
    const commonName = (part: PeerCertificate["subject"] | undefined) => [part?.CN ?? []].flat().join(", ");
    return {
        subject: commonName(peer.subject),
        issuer: commonName(peer.issuer),
        names: peer.subjectaltname ?? "",
        validTo: validTo.toISOString(),
        daysLeft: Math.floor((validTo.getTime() - now) / DAY_MS),
    };
}

/** A TLS handshake with `address:port`, as a device on the LAN makes it; never rejects. */
export function handshake(address: string, port: number, options: HandshakeOptions = {}): Promise<Handshake> {
    const { name, verify, versions, timeoutMs = 5000 } = options;
    return new Promise((resolve) => {
        let socket: TLSSocket | undefined;
        const done = (result: Handshake) => {
            socket?.destroy();
            resolve(result);
        };
        socket = connect({
            host: address,
            port,
            // SNI carries names only; asked by address, the certificate must hold the address.
            servername: name,
            ALPNProtocols: ["http/1.1"],
            rejectUnauthorized: verify !== undefined,
            ca: typeof verify === "string" ? verify : undefined,
            // Node's own check of the name or address when verifying; none when only looking.
            ...(verify === undefined ? { checkServerIdentity: () => undefined } : {}),
            minVersion: versions?.min ?? "TLSv1.2",
            maxVersion: versions?.max ?? "TLSv1.3",
            // To offer TLS 1.0 and 1.1 at all, OpenSSL 3 must be told to accept their weak hashes.
            ciphers: versions?.max === "TLSv1.1" ? "DEFAULT:@SECLEVEL=0" : undefined,
            timeout: timeoutMs,
        });
        socket.on("secureConnect", () => {
            const peer = socket!.getPeerCertificate(true);
            const issuer = peer.issuerCertificate;
            done({
                protocol: socket!.getProtocol() ?? undefined,
                certificate: facts(peer),
                issuerCertificate: issuer && issuer !== peer ? facts(issuer) : undefined,
            });
        });
        socket.on("timeout", () => done({ problem: `no handshake within ${timeoutMs} ms`, code: "ETIMEDOUT" }));
        socket.on("error", (err: NodeJS.ErrnoException) =>
            done({ problem: err.message.split("\n")[0], code: err.code }),
        );
    });
}

/** The line of `status` for remote access, and whether it is up: the certificate served and the days it has left. */
export interface RemoteAccessStatus {
    /** What other devices open. */
    url: string;
    /** The address and port probed. */
    address: string;
    port: number;
    /** A TLS handshake completed. */
    up: boolean;
    /** The certificate the door serves, when it answered. */
    certificate?: CertificateFacts;
    /** Why it is down. */
    problem?: string;
}

export async function remoteAccessStatus(remote: RemoteAccessConfig, timeoutMs: number): Promise<RemoteAccessStatus> {
    // The name a device asks for: the first hostname, else the address itself.
    const served = await handshake(remote.address, remote.port, { name: remote.hostnames[0], timeoutMs });
    return {
        url: remoteAccessUrl(remote),
        address: remote.address,
        port: remote.port,
        up: served.certificate !== undefined,
        certificate: served.certificate,
        problem: served.problem,
    };
}

/** `status`'s line for remote access. */
export function formatRemoteAccessStatus(status: RemoteAccessStatus): string {
    const where = `remote access ${status.url} (${isIP(status.address) === 6 ? `[${status.address}]` : status.address}:${status.port})`;
    if (!status.certificate) return `${where}: DOWN: ${status.problem}`;
    const { validTo, daysLeft, issuer } = status.certificate;
    return `${where}: certificate valid until ${validTo.slice(0, 10)}, ${daysLeft} days left (issued by ${issuer})`;
}
