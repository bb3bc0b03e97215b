/**
 * The operator commands' view of remote access, against real TLS on this machine: a Node TLS server stands for the
 * door's HTTPS front (the door itself, HAProxy with the rendered config, is judged by the same rules in the e2e
 * suite); the one-door probe's script runs in the real bash; doctor listens on this machine's real addresses.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, AddressInfo } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import * as path from "node:path";
import { Server, createServer as createTlsServer } from "node:tls";
import { auditedContainers, bindingFindings } from "../../commands/auditContainers";
import { PORT_PROBE, judgeProbe, probedPorts, tlsFindings } from "../../commands/auditRemote";
import { caCommand } from "../../commands/ca";
import { doctorCommand } from "../../commands/doctor";
import { formatRemoteAccessStatus, remoteAccessStatus } from "../../commands/servedCertificate";
import { validateStackConfig } from "../../config/load";
import { RemoteAccessConfig } from "../../config/remoteAccessKeys";
import { IssuedCertificate, issueCertificate } from "../support/certificates";
import { freePort, holdPort } from "../support/httpServer";
import { StackFolder, runInProcess, testStackConfig } from "../support/operator";
import { minimalConfig } from "../support/stack";

/** What the door would serve, on 127.0.0.1: `pemFile`'s certificate and key, TLS 1.2 and newer. */
async function tlsFront(issued: IssuedCertificate): Promise<{ server: Server; port: number }> {
    const pem = readFileSync(issued.pemFile, "utf8");
    const server = createTlsServer({ cert: pem, key: pem, minVersion: "TLSv1.2" }, (socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { server, port: (server.address() as AddressInfo).port };
}

/** Remote access as validated, on 127.0.0.1 (which validation refuses, and these functions take as given). */
const onLoopback = (port: number): RemoteAccessConfig => ({
    ...validateStackConfig(
        minimalConfig({ remoteAccess: { address: "192.168.1.20", hostnames: ["ai.lan"] } } as object),
    ).remoteAccess!,
    address: "127.0.0.1",
    port,
});

describe("status and the audit's tls rule, against a TLS server", () => {
    let dir: string;
    let fresh: IssuedCertificate;
    let ending: IssuedCertificate;
    const servers: Server[] = [];
    beforeAll(() => {
        dir = mkdtempSync(path.join(tmpdir(), "remote-access-commands-"));
        fresh = issueCertificate(path.join(dir, "fresh"), "DNS:ai.lan,IP:127.0.0.1", 365);
        ending = issueCertificate(path.join(dir, "ending"), "DNS:ai.lan,IP:127.0.0.1", 3);
    });
    afterAll(() => {
        for (const server of servers) server.close();
        rmSync(dir, { recursive: true, force: true });
    });
    const serve = async (issued: IssuedCertificate) => {
        const front = await tlsFront(issued);
        servers.push(front.server);
        return front.port;
    };
    const ca = (issued: IssuedCertificate) => readFileSync(issued.caFile, "utf8");

    it("status shows the certificate served and its days left, or why nothing answered", async () => {
        const status = await remoteAccessStatus(onLoopback(await serve(fresh)), 5000);
        expect(status).toMatchObject({
            up: true,
            certificate: { subject: "ai.lan", issuer: "test CA", daysLeft: 364 },
        });
        expect(formatRemoteAccessStatus(status)).toMatch(
            /^remote access https:\/\/ai\.lan:\d+\/ \(127\.0\.0\.1:\d+\): certificate valid until \d{4}-\d\d-\d\d, 364 days left \(issued by test CA\)$/,
        );
        const down = await remoteAccessStatus(onLoopback(await freePort()), 5000);
        expect(down.up).toBe(false);
        expect(formatRemoteAccessStatus(down)).toMatch(/: DOWN: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
    });

    it("passes a chain that verifies for every name far from its end, over TLS 1.2+, with TLS 1.0 and 1.1 refused", async () => {
        const findings = await tlsFindings(onLoopback(await serve(fresh)), ca(fresh));
        expect(findings.map((f) => [f.subject, f.verdict])).toEqual([
            ["ai.lan", "pass"],
            ["127.0.0.1", "pass"],
            ["TLS 1.0 and 1.1", "pass"],
        ]);
        expect(findings[0].detail).toMatch(
            /^verifies against the stack's CA over TLSv1\.3, valid until \S+ \(364 days\), its CA test CA until \S+ \(36\d\d days\)$/,
        );
        expect(findings[2].detail).toMatch(/^refused \(ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION\)$/);
    });

    it("fails a certificate 14 days or fewer from its end, another CA's, and one without the name", async () => {
        const endingPort = await serve(ending);
        const soon = await tlsFindings(onLoopback(endingPort), ca(ending));
        expect(soon[0]).toMatchObject({ verdict: "fail", detail: expect.stringMatching(/\(2 days, 14 or fewer\)/) });
        const foreign = await tlsFindings(onLoopback(endingPort), ca(fresh));
        expect(foreign[0]).toMatchObject({
            verdict: "fail",
            detail: "the chain does not verify for ai.lan: unable to verify the first certificate",
        });
        const unnamed = await tlsFindings({ ...onLoopback(endingPort), hostnames: ["other.lan"] }, ca(ending));
        expect(unnamed[0]).toMatchObject({
            verdict: "fail",
            detail: expect.stringMatching(/^the chain does not verify for other\.lan: Hostname\/IP does not match/),
        });
        const noCa = await tlsFindings(onLoopback(endingPort), undefined);
        expect(noCa[0].detail).toMatch(/^cannot check: no CA to verify against/);
    });
});

describe("the one-door probe", () => {
    const config = validateStackConfig(
        minimalConfig({
            router: { replicas: 2 },
            remoteAccess: { address: "192.168.1.20", httpRedirect: true, expose: ["openWebUI", "router"] },
        } as object),
    );

    it("tries every port the host's services publish, and the door's HTTPS and redirect", () => {
        expect(probedPorts(config)).toEqual([
            { port: 443, what: "the door's HTTPS", mayAnswer: true },
            { port: 80, what: "the door's HTTP redirect", mayAnswer: true },
            { port: 11434, what: "ollama", mayAnswer: false },
            { port: 4000, what: "litellm", mayAnswer: false },
            { port: 4001, what: "litellm-2", mayAnswer: false },
            { port: 3000, what: "open-webui", mayAnswer: false },
        ]);
        expect(probedPorts(validateStackConfig(minimalConfig()))).toEqual([]);
    });

    it("tells, in the real bash, a port that answers from one refused and one that never answers", async () => {
        const open = await holdPort();
        const refused = await freePort();
        try {
            // 192.0.2.1 (TEST-NET-1) is routed nowhere: the connection is never answered.
            const seen = (address: string, ports: number[]) =>
                execFileSync("bash", ["-c", PORT_PROBE, "probe", address, ...ports.map(String)], { encoding: "utf8" });
            const local = seen("127.0.0.1", [open.port, refused]);
            expect(local.split("\n").sort()).toEqual(
                ["", `${open.port} open`, `${refused} refused Connection refused`].sort(),
            );
            const ports = [
                { port: open.port, what: "the door's HTTPS", mayAnswer: true },
                { port: refused, what: "ollama", mayAnswer: false },
            ];
            expect(judgeProbe("127.0.0.1", ports, local)).toMatchObject({
                verdict: "pass",
                detail: `only ${open.port} (the door's HTTPS) answer; ${refused} (ollama) refused`,
            });
            const leaked = judgeProbe(
                "127.0.0.1",
                [
                    { ...ports[0], mayAnswer: false },
                    { ...ports[1], mayAnswer: true },
                ],
                local,
            );
            expect(leaked).toMatchObject({
                verdict: "fail",
                detail: `answer beyond the door: ${open.port} (the door's HTTPS); the door does not answer on ${refused} (ollama)`,
            });
            expect(seen("192.0.2.1", [9])).toMatch(/^9 (timeout|refused .*)\n$/);
            expect(judgeProbe("127.0.0.1", ports, "")).toMatchObject({ verdict: "fail" });
        } finally {
            await open.close();
        }
    });
});

describe("the audit's bind-address rule with remote access", () => {
    const config = validateStackConfig(
        minimalConfig({ remoteAccess: { address: "192.168.1.20", httpRedirect: true } } as object),
    );
    const door = auditedContainers(config).find((c) => c.containerName === "door")!;
    const judged = (ports: { hostIp: string; hostPort: number }[]) =>
        bindingFindings([door], {
            found: new Map([
                ["door", { ports: ports.map((p) => ({ ...p, containerPort: `${p.hostPort}/tcp` })) } as never],
            ]),
            unreachable: new Map(),
        })[0];
    const own = [
        { hostIp: "127.0.0.1", hostPort: 4000 },
        { hostIp: "127.0.0.1", hostPort: 3000 },
    ];

    it("lets the door publish its HTTPS front and redirect on the address, and nothing else there", () => {
        const front = [
            { hostIp: "192.168.1.20", hostPort: 443 },
            { hostIp: "192.168.1.20", hostPort: 80 },
        ];
        expect(judged([...own, ...front])).toMatchObject({
            verdict: "pass",
            detail: "published on 127.0.0.1:4000, 127.0.0.1:3000, 192.168.1.20:443, 192.168.1.20:80 only",
        });
        expect(judged([...own, ...front, { hostIp: "192.168.1.20", hostPort: 4000 }])).toMatchObject({
            verdict: "fail",
            detail: "4000/tcp published on 192.168.1.20:4000 (only 127.0.0.1:4000, 127.0.0.1:3000, 192.168.1.20:443, 192.168.1.20:80 are allowed)",
        });
        expect(judged(own)).toMatchObject({
            verdict: "fail",
            detail: "does not publish 192.168.1.20:443, 192.168.1.20:80",
        });
    });
});

describe("doctor and ca with remote access", () => {
    const folder = new StackFolder();
    afterAll(() => folder.remove());
    /** An address of this machine other than loopback: where a LAN's devices would reach it. */
    const ownAddress = Object.values(networkInterfaces())
        .flatMap((list) => list ?? [])
        .find((i) => i.family === "IPv4" && !i.internal)?.address;

    async function remoteFindings(remoteAccess: object) {
        const stack = folder.write(`r${Math.random().toString(36).slice(2, 8)}`, {
            ...testStackConfig({ ollama: await freePort(), router: await freePort() }),
            remoteAccess,
        });
        const run = await runInProcess(doctorCommand, ["--stack", stack, "--json"], folder.env());
        return (
            JSON.parse(run.out).findings as { rule: string; subject: string; verdict: string; detail: string }[]
        ).filter((f) => f.rule === "remote-access");
    }

    it("passes an address of this machine with its port free, and fails a port taken there or another address", async () => {
        expect(ownAddress).toBeDefined();
        const taken = createServer();
        await new Promise<void>((resolve) => taken.listen(0, ownAddress, resolve));
        const port = (taken.address() as AddressInfo).port;
        try {
            const free = await freePort();
            expect(await remoteFindings({ address: ownAddress, port: free, expose: ["router"] })).toEqual([
                {
                    rule: "remote-access",
                    subject: `address ${ownAddress}`,
                    verdict: "pass",
                    detail: expect.stringMatching(/^an address of this machine \(\S+\)$/),
                },
                {
                    rule: "remote-access",
                    subject: `port ${free}`,
                    verdict: "pass",
                    detail: `${ownAddress}:${free} is free`,
                },
            ]);
            expect((await remoteFindings({ address: ownAddress, port, expose: ["router"] }))[1]).toMatchObject({
                verdict: "fail",
                detail: `${ownAddress}:${port} is in use: change ai-gateway:remoteAccess.port or stop what listens there (ss -ltnp | grep :${port})`,
            });
        } finally {
            taken.close();
        }
        const elsewhere = await remoteFindings({ address: "192.0.2.77", expose: ["router"] });
        expect(elsewhere).toEqual([
            expect.objectContaining({
                verdict: "fail",
                detail: expect.stringMatching(
                    /^is not an address of this machine \(it has .+\): set ai-gateway:remoteAccess\.address to the host's LAN or VPN address, which other devices reach$/,
                ),
            }),
        ]);
    });

    it("ca refuses a stack without remote access or not deployed, and prints tls.caFile with mode files", async () => {
        const plain = folder.write("plain", testStackConfig({ ollama: 11434, router: 4000 }));
        const none = await runInProcess(caCommand, ["--stack", plain], folder.env());
        expect(none).toMatchObject({ code: 1, out: "" });
        expect(none.err).toBe(
            "ca: stack plain has no ai-gateway:remoteAccess, so no CA: see docs/remote-access.md to turn it on\n",
        );
        const internal = folder.write("internal", {
            ...testStackConfig({ ollama: 11434, router: 4000 }),
            remoteAccess: { address: "192.168.1.20", expose: ["router"] },
        });
        const undeployed = await runInProcess(caCommand, ["--stack", internal], folder.env());
        expect(undeployed.code).toBe(1);
        expect(undeployed.err).toContain(
            `ca: cannot read the outputs of stack internal: is it deployed from this folder`,
        );

        const issued = issueCertificate(path.join(folder.dir, "tls"), "DNS:ai.lan,IP:192.168.1.20");
        const files = folder.write("files", {
            ...testStackConfig({ ollama: 11434, router: 4000 }),
            remoteAccess: {
                address: "192.168.1.20",
                hostnames: ["ai.lan"],
                expose: ["router"],
                tls: { mode: "files", certFile: issued.certFile, keyFile: issued.keyFile, caFile: issued.caFile },
            },
        });
        const printed = await runInProcess(caCommand, ["--stack", files], folder.env());
        expect(printed.code).toBe(0);
        expect(printed.out).toBe(readFileSync(issued.caFile, "utf8"));
    });
});
