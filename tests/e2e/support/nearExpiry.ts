/**
 * A server certificate close to its end, made honestly for a deployed stack: the stack's own CA (its key read
 * from the stack's state) issues a real certificate for the same request that ends in a few days, and it takes
 * the place of the current one both where the door serves it and in the state, where @pulumi/tls reads a
 * certificate's end (`validityEndTime`) to decide whether the next `up` renews it. Only the passage of time is
 * left out: the certificate is new, but it ends as one issued a year ago would.
 */
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { DeployFolder } from "./deployFolder";

const TYPES = {
    certificate: "tls:index/locallySignedCert:LocallySignedCert",
    key: "tls:index/privateKey:PrivateKey",
};

interface StateResource {
    urn: string;
    type: string;
    outputs: Record<string, unknown>;
}

/** A secret of `pulumi stack export --show-secrets`: its value, which the export keeps as JSON text. */
function revealed(value: unknown): string {
    const secret = value as { plaintext?: string };
    return typeof secret === "object" && secret?.plaintext !== undefined ? JSON.parse(secret.plaintext) : String(value);
}

function resourcesOf(state: { deployment: { resources: StateResource[] } }) {
    return state.deployment.resources;
}

/**
 * Issues a certificate of the stack's CA that ends in `days` days for the stack's certificate request, puts it
 * into the state in the current one's place, and returns what the door serves with it (chain and key).
 */
export function nearExpiryCertificate(folder: DeployFolder, name: string, days: number): string {
    const plain = JSON.parse(folder.pulumi(["stack", "export", "--show-secrets"]));
    const byName = (type: string, resourceName: string) =>
        resourcesOf(plain).find((r) => r.type === type && r.urn.endsWith(`::${resourceName}`))!;
    const current = byName(TYPES.certificate, `${name}-certificate`).outputs;
    const serverKey = revealed(byName(TYPES.key, `${name}-key`).outputs.privateKeyPem);

    const work = mkdtempSync(path.join(tmpdir(), "aigw-near-expiry-"));
    try {
        const file = (base: string, content: string) => {
            writeFileSync(path.join(work, base), content, { mode: 0o600 });
            return path.join(work, base);
        };
        const extensions =
            "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n";
        // The request's names (DNS and IP) are copied as @pulumi/tls copies them.
        execFileSync(
            "openssl",
            [
                "x509",
                "-req",
                "-in",
                file("request.pem", String(current.certRequestPem)),
                "-CA",
                file("ca.pem", String(current.caCertPem)),
                "-CAkey",
                file("ca-key.pem", revealed(current.caPrivateKeyPem)),
                "-days",
                String(days),
                "-copy_extensions",
                "copy",
                "-extfile",
                file("extensions.cnf", extensions),
                "-set_serial",
                `0x${execFileSync("openssl", ["rand", "-hex", "16"], { encoding: "utf8" }).trim()}`,
                "-out",
                path.join(work, "near.pem"),
            ],
            { stdio: ["ignore", "ignore", "pipe"] },
        );
        const pem = readFileSync(path.join(work, "near.pem"), "utf8");
        const x509 = new X509Certificate(pem);

        const exported = JSON.parse(folder.pulumi(["stack", "export"]));
        const stored = resourcesOf(exported).find(
            (r: StateResource) => r.type === TYPES.certificate && r.urn.endsWith(`::${name}-certificate`),
        )!;
        Object.assign(stored.outputs, {
            certPem: pem,
            validityStartTime: new Date(x509.validFrom).toISOString(),
            validityEndTime: new Date(x509.validTo).toISOString(),
        });
        folder.pulumi(["stack", "import", "--file", file("state.json", JSON.stringify(exported))]);
        return `${pem}${serverKey.endsWith("\n") ? serverKey : `${serverKey}\n`}`;
    } finally {
        rmSync(work, { recursive: true, force: true });
    }
}

/** Puts `pem` where the door reads its certificate and has HAProxy load it again (a reload, not a restart). */
export function serveFromDoor(door: string, target: string, pem: string): void {
    const work = mkdtempSync(path.join(tmpdir(), "aigw-door-pem-"));
    try {
        const file = path.join(work, "remote-access.pem");
        writeFileSync(file, pem);
        // HAProxy runs as its own user in the door: the copy keeps this mode.
        chmodSync(file, 0o644);
        execFileSync("docker", ["cp", file, `${door}:${target}`]);
        execFileSync("docker", ["kill", "--signal", "USR2", door], { stdio: "ignore" });
    } finally {
        rmSync(work, { recursive: true, force: true });
    }
}
