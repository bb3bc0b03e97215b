import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { SECRET_PLACEHOLDER } from "../../../commands/evaluate";
import { REMOTE_ACCESS_PEM } from "../../../targets/docker/doorHttps";
import { IssuedCertificate, issueCertificate } from "../../support/certificates";
import { Program, evaluate, minimalConfig } from "../../support/stack";

type Upload = { file: string; content: string };
const REMOTE = { address: "192.168.1.20", hostnames: ["ai.lan"], expose: ["openWebUI", "router"], httpRedirect: true };

describe("remote access with the internal CA", () => {
    let p: Program;
    beforeAll(async () => {
        p = await evaluate(minimalConfig({ remoteAccess: REMOTE } as object));
    });

    it("makes a CA and a server certificate for the names and the address, renewed by up in its last 30 days", () => {
        const ca = p.byName("remote-access-ca");
        expect(ca.inputs).toMatchObject({
            isCaCertificate: true,
            validityPeriodHours: 87600,
            allowedUses: ["cert_signing", "crl_signing"],
            subject: { commonName: "ai-gateway CA (render)", organization: "ai-gateway" },
        });
        expect(p.byName("remote-access-request").inputs).toMatchObject({
            dnsNames: ["ai.lan"],
            ipAddresses: ["192.168.1.20"],
            subject: { commonName: "ai.lan" },
        });
        expect(p.byName("remote-access-certificate").inputs).toMatchObject({
            validityPeriodHours: 365 * 24,
            earlyRenewalHours: 30 * 24,
            allowedUses: ["digital_signature", "server_auth"],
        });
        for (const key of ["remote-access-ca-key", "remote-access-key"])
            expect(p.byName(key).inputs).toEqual({ algorithm: "ECDSA", ecdsaCurve: "P256" });
    });

    it("keeps the CA across a destroy (protected), so devices that trust it go on trusting the next certificates", () => {
        const protectedOnes = p.resources.filter((r) => r.protect && r.type.startsWith("tls:")).map((r) => r.name);
        expect(protectedOnes.sort()).toEqual(["remote-access-ca", "remote-access-ca-key"]);
        expect(p.byName("remote-access-certificate").protect).toBe(false);
    });

    it("has the door publish HTTPS and the redirect on the address, each port checked free first, and serve the key as a secret", () => {
        const door = p.container("door");
        expect(door.inputs.ports).toEqual([
            { internal: 4000, external: 4000, ip: "127.0.0.1", protocol: "tcp" },
            { internal: 3000, external: 3000, ip: "127.0.0.1", protocol: "tcp" },
            { internal: 443, external: 443, ip: "192.168.1.20", protocol: "tcp" },
            { internal: 80, external: 80, ip: "192.168.1.20", protocol: "tcp" },
        ]);
        const uploads = door.inputs.uploads as Upload[];
        expect(uploads.map((u) => u.file)).toEqual(["/usr/local/etc/haproxy/haproxy.cfg", REMOTE_ACCESS_PEM]);
        expect(uploads[1].content).toBe(`[certificate]\n${SECRET_PLACEHOLDER}\n`);
        expect(door.dependsOn).toEqual(
            expect.arrayContaining(["box-door-https-port", "box-door-http-redirect-port", "remote-access-certificate"]),
        );
        expect(p.byName("box-door-https-port").inputs).toMatchObject({
            bindAddress: "192.168.1.20",
            port: 443,
            configKey: "ai-gateway:remoteAccess.port",
        });
        // Nothing else of the stack is published on the address.
        for (const container of p.containers().filter((c) => c.inputs.name !== "door"))
            expect(JSON.stringify(container.inputs.ports ?? [])).not.toContain("192.168.1.20");
    });

    it("outputs the URL other devices open and the CA's certificate", () => {
        expect(p.evaluated.outputs.remoteAccessUrl).toBe("https://ai.lan/");
        expect(p.evaluated.outputs.remoteAccessCaCertificate).toBe("[CA certificate]\n");
    });
});

describe("remote access with the operator's files", () => {
    let dir: string;
    let issued: IssuedCertificate;
    beforeAll(() => {
        dir = mkdtempSync(path.join(tmpdir(), "remote-access-program-"));
        issued = issueCertificate(dir, "DNS:ai.lan,IP:192.168.1.20");
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("serves them, the key kept as a secret that no record shows, and makes no CA", async () => {
        const { certFile, keyFile } = issued;
        const p = await evaluate(
            minimalConfig({
                remoteAccess: {
                    address: "192.168.1.20",
                    hostnames: ["ai.lan"],
                    tls: { mode: "files", certFile, keyFile },
                },
            } as object),
        );
        expect(p.resources.filter((r) => r.type.startsWith("tls:"))).toEqual([]);
        const pem = (p.container("door").inputs.uploads as Upload[])[1];
        expect(pem).toEqual({
            file: REMOTE_ACCESS_PEM,
            content: `${readFileSync(certFile, "utf8")}${SECRET_PLACEHOLDER}\n`,
        });
        const key = readFileSync(keyFile, "utf8").split("\n")[1];
        expect(JSON.stringify(p.evaluated)).not.toContain(key);
        expect(p.evaluated.outputs.remoteAccessCaCertificate).toBeUndefined();
    });
});
