import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { validateStackConfig } from "../../config/load";
import { remoteAccessHost } from "../../model/plan";
import { StackConfigInput } from "../../config/stackKeys";
import { IssuedCertificate, issueCertificate } from "../support/certificates";
import { UI_ON_ITS_OWN_HOST, minimalConfig, problemsOf, withRemoteAccess } from "../support/stack";

const split = (remoteAccess: unknown) => withRemoteAccess(remoteAccess, UI_ON_ITS_OWN_HOST);

describe("ai-gateway:remoteAccess", () => {
    it("is off when absent, and needs only the address: Open WebUI on 443 with an internal CA, a year, renewed in the last 30 days", () => {
        expect(validateStackConfig(minimalConfig()).remoteAccess).toBeUndefined();
        const config = validateStackConfig(withRemoteAccess({ address: "192.168.1.20" }));
        expect(config.remoteAccess).toEqual({
            address: "192.168.1.20",
            hostnames: [],
            port: 443,
            httpRedirect: false,
            expose: ["openWebUI"],
            tls: { mode: "internal", validityDays: 365, renewBeforeDays: 30 },
        });
        expect(remoteAccessHost(config)).toBe("box");
        expect(remoteAccessHost(validateStackConfig(split({ address: "192.168.1.20" })))).toBe("ui");
    });

    it("refuses an address other devices cannot reach, or where the host publishes everything else", () => {
        expect(problemsOf(withRemoteAccess({ address: "127.0.0.1" }))).toEqual([
            'ai-gateway:remoteAccess.address: "127.0.0.1" is not an address other devices reach (give the host\'s LAN or VPN address, e.g. 192.168.1.20)',
        ]);
        expect(problemsOf(withRemoteAccess({ address: "::" }))).toHaveLength(1);
        expect(problemsOf(withRemoteAccess({ address: "ai.lan" }))).toEqual([
            'ai-gateway:remoteAccess.address: "ai.lan" is not an IP address (e.g. 127.0.0.1 or 192.168.1.20)',
        ]);
        expect(problemsOf(split({ address: "10.0.0.1", host: "gpu", expose: ["router"] }))).toEqual([
            'ai-gateway:remoteAccess.address: "10.0.0.1" is the bindAddress of host gpu, where Ollama\'s API (no authentication) ' +
                "and every other port is published: give another address of the host, and keep bindAddress on 127.0.0.1 or a network of its own",
        ]);
        const wildcard = minimalConfig({
            hosts: [
                {
                    name: "box",
                    bindAddress: "0.0.0.0",
                    allowWildcardBind: true,
                    ollama: [{ name: "ollama", port: 11434, models: ["llama3.2:3b"] }],
                },
            ],
            remoteAccess: { address: "192.168.1.20" },
        } as Partial<StackConfigInput>);
        expect(problemsOf(wildcard)).toEqual([
            'ai-gateway:hosts[0].bindAddress: "0.0.0.0" publishes every port on every address of host box, remoteAccess.address ' +
                "included, where only the door may answer: give bindAddress one address (e.g. 127.0.0.1)",
        ]);
    });

    it("serves only what the door of its host runs, and names the host that runs it", () => {
        expect(problemsOf(split({ address: "192.168.1.20", expose: ["openWebUI", "router"] }))).toEqual([
            'ai-gateway:remoteAccess.expose[1]: "router" runs on host gpu, not on host ui, whose door serves remote access ' +
                "(a door serves only its own host's services: set remoteAccess.host to gpu)",
        ]);
        expect(problemsOf(split({ address: "192.168.1.20", host: "gpu" }))).toEqual([
            'ai-gateway:remoteAccess.expose[0]: "openWebUI" runs on host ui, not on host gpu, whose door serves remote access ' +
                "(a door serves only its own host's services: set remoteAccess.host to ui)",
        ]);
        expect(problemsOf(withRemoteAccess({ address: "192.168.1.20" }, { openWebUI: { enabled: false } }))).toEqual([
            'ai-gateway:remoteAccess.expose[0]: "openWebUI" is not deployed (openWebUI.enabled is false)',
        ]);
        expect(problemsOf(withRemoteAccess({ address: "192.168.1.20", host: "nas" }))).toEqual([
            'ai-gateway:remoteAccess.host: "nas" is not one of the hosts (box)',
        ]);
        expect(
            problemsOf(withRemoteAccess({ address: "192.168.1.20", expose: ["router", "router", "ollama"] })),
        ).toEqual(['ai-gateway:remoteAccess.expose[2]: "ollama" is not one of openWebUI, router']);
        expect(problemsOf(withRemoteAccess({ address: "192.168.1.20", expose: ["router", "router"] }))).toEqual([
            'ai-gateway:remoteAccess.expose[1]: "router" is listed twice',
        ]);
        expect(problemsOf(withRemoteAccess({ address: "192.168.1.20", expose: [] }))).toEqual([
            "ai-gateway:remoteAccess.expose: [] lists nothing (give openWebUI, router or both)",
        ]);
    });

    it("takes names for the certificate, never an address or a wildcard, and keeps port 80 for the redirect", () => {
        expect(
            problemsOf(
                withRemoteAccess({ address: "192.168.1.20", hostnames: ["ai.lan", "AI.lan", "*.lan", "10.0.0.5"] }),
            ),
        ).toEqual([
            'ai-gateway:remoteAccess.hostnames[1]: "AI.lan" is not a host name (lower-case letters, digits, "-" and dots, e.g. "ai.lan"; no wildcards)',
            'ai-gateway:remoteAccess.hostnames[2]: "*.lan" is not a host name (lower-case letters, digits, "-" and dots, e.g. "ai.lan"; no wildcards)',
            'ai-gateway:remoteAccess.hostnames[3]: "10.0.0.5" is an IP address, not a name (the address is in the certificate already: remoteAccess.address)',
        ]);
        expect(problemsOf(withRemoteAccess({ address: "192.168.1.20", hostnames: ["ai.lan", "ai.lan"] }))).toEqual([
            'ai-gateway:remoteAccess.hostnames[1]: "ai.lan" is listed twice',
        ]);
        expect(problemsOf(withRemoteAccess({ address: "192.168.1.20", port: 80, httpRedirect: true }))).toEqual([
            "ai-gateway:remoteAccess.port: 80 is the port of the HTTP redirect (httpRedirect: true): give HTTPS another port, e.g. 443",
        ]);
        expect(problemsOf(withRemoteAccess({ address: "192.168.1.20", portt: 8443 }))).toEqual([
            "ai-gateway:remoteAccess.portt: unknown key (allowed: address, host, hostnames, port, httpRedirect, expose, tls)",
        ]);
    });

    it("renews an internal certificate within its validity, before the audit's 14 days, and at most at 825 days", () => {
        const tls = (settings: object) => problemsOf(withRemoteAccess({ address: "192.168.1.20", tls: settings }));
        expect(tls({ validityDays: 900 })).toEqual([
            "ai-gateway:remoteAccess.tls.validityDays: 900 is not a validity (a whole number of days, 1 to 825)",
        ]);
        expect(tls({ validityDays: 30 })).toEqual([
            "ai-gateway:remoteAccess.tls.renewBeforeDays: 30 is not shorter than validityDays (30): every up would issue a new certificate",
        ]);
        expect(tls({ renewBeforeDays: 7 })).toEqual([
            "ai-gateway:remoteAccess.tls.renewBeforeDays: 7 is too short: the audit fails a certificate with 14 days left or " +
                "fewer, so up must renew it before (give 15 or more)",
        ]);
        expect(tls({ mode: "acme" })).toEqual([
            'ai-gateway:remoteAccess.tls.mode: "acme" is not a TLS mode ("internal" or "files")',
        ]);
        expect(tls({ certFile: "/etc/ssl/ai.crt" })).toEqual([
            'ai-gateway:remoteAccess.tls.certFile: "/etc/ssl/ai.crt" is only for tls.mode "files"',
        ]);
    });

    describe("with tls.mode files", () => {
        let dir: string;
        let good: IssuedCertificate;
        let other: IssuedCertificate;
        const file = (name: string) => path.join(dir, name);
        const files = (settings: object) =>
            withRemoteAccess({ address: "192.168.1.20", hostnames: ["ai.lan"], tls: { mode: "files", ...settings } });

        beforeAll(() => {
            dir = mkdtempSync(path.join(tmpdir(), "remote-access-files-"));
            good = issueCertificate(file("good"), "DNS:ai.lan,IP:192.168.1.20");
            other = issueCertificate(file("other"), "DNS:other.lan");
            writeFileSync(file("not.pem"), "not a certificate\n");
        });
        afterAll(() => rmSync(dir, { recursive: true, force: true }));

        it("takes a certificate and its key that cover every hostname and the address", () => {
            const config = validateStackConfig(files({ certFile: good.certFile, keyFile: good.keyFile }));
            expect(config.remoteAccess!.tls).toMatchObject({ mode: "files", certFile: good.certFile });
        });

        it("refuses missing, unreadable or mismatched files, and a certificate without the names", () => {
            expect(problemsOf(files({}))).toEqual([
                'ai-gateway:remoteAccess.tls.certFile: is required with tls.mode "files"',
                'ai-gateway:remoteAccess.tls.keyFile: is required with tls.mode "files"',
            ]);
            expect(problemsOf(files({ certFile: file("none.crt"), keyFile: good.keyFile }))).toEqual([
                `ai-gateway:remoteAccess.tls.certFile: "${file("none.crt")}" cannot be read (ENOENT)`,
            ]);
            expect(problemsOf(files({ certFile: file("not.pem"), keyFile: good.keyFile }))).toEqual([
                `ai-gateway:remoteAccess.tls.certFile: "${file("not.pem")}" is not a PEM certificate`,
            ]);
            expect(problemsOf(files({ certFile: good.certFile, keyFile: other.keyFile }))).toEqual([
                `ai-gateway:remoteAccess.tls.keyFile: "${other.keyFile}" is not the key of the certificate in ${good.certFile}`,
            ]);
            expect(problemsOf(files({ certFile: other.certFile, keyFile: other.keyFile }))).toEqual([
                `ai-gateway:remoteAccess.tls.certFile: "${other.certFile}" does not cover ai.lan, 192.168.1.20 (its names: ` +
                    "DNS:other.lan): devices would refuse it there",
            ]);
            expect(problemsOf(files({ certFile: "good.crt", keyFile: good.keyFile }))).toEqual([
                'ai-gateway:remoteAccess.tls.certFile: "good.crt" is not an absolute path',
            ]);
        });
    });
});
