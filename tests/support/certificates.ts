/** Certificates for tests, made with openssl: a CA, and a server certificate it issued, both ECDSA P-256 as the stack's. */
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import * as path from "node:path";

/** The files `issueCertificate` writes. */
export interface IssuedCertificate {
    /** The CA's certificate. */
    caFile: string;
    /** The server's certificate, then its key: what the door reads. */
    pemFile: string;
    /** The server's certificate and key alone. */
    certFile: string;
    keyFile: string;
}

/**
 * Issues in `dir` a CA and a server certificate for `names` (openssl's subjectAltName syntax, e.g.
 * `DNS:ai.lan,IP:127.0.0.1`) that ends in `days` days.
 */
export function issueCertificate(dir: string, names: string, days = 30): IssuedCertificate {
    mkdirSync(dir, { recursive: true });
    const file = (name: string) => path.join(dir, name);
    const ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
    openssl(
        "req",
        "-x509",
        ...ecKey,
        "-days",
        "3650",
        "-subj",
        "/CN=test CA",
        "-keyout",
        file("ca.key"),
        "-out",
        file("ca.crt"),
    );
    openssl("req", ...ecKey, "-subj", "/CN=ai.lan", "-keyout", file("server.key"), "-out", file("server.csr"));
    execFileSync("sh", [
        "-c",
        `printf 'subjectAltName=${names}\\nextendedKeyUsage=serverAuth\\n' > "$1/ext" && ` +
            `openssl x509 -req -in "$1/server.csr" -CA "$1/ca.crt" -CAkey "$1/ca.key" -CAcreateserial -days ${days} ` +
            `-extfile "$1/ext" -out "$1/server.crt" 2>/dev/null && cat "$1/server.crt" "$1/server.key" > "$1/server.pem"`,
        "issue",
        dir,
    ]);
    return {
        caFile: file("ca.crt"),
        pemFile: file("server.pem"),
        certFile: file("server.crt"),
        keyFile: file("server.key"),
    };
}
