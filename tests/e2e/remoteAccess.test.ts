/**
 * Remote access as another device on the LAN sees it, on a stack the real Pulumi engine deployed (`npm run up` of
 * a project copy, images from the local registry, a tiny model from the model registry). The device is a network
 * namespace this suite makes, joined to the host by a veth pair (10.231.77.1 on the host, .2 on the device); the
 * stack's `remoteAccess.address` is the host's end, and `ai.lan` names it on the device.
 *
 * From the device: Debian's headless Chromium, trusting the stack's CA through an NSS database (never by ignoring
 * certificate errors), opens https://ai.lan/, signs in as the generated admin and chats with a model through the
 * router, the answer streamed over Open WebUI's WebSocket through the door; curl reaches the router's API at
 * https://ai.lan/v1 only with the key, and gets a streamed answer; Ollama's, the router's and Open WebUI's own
 * ports are refused on the address. The audit's one-door and tls rules pass. Then the certificate is made to end in
 * three days: status and the audit say so, and the next `up` renews it under the same CA.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Browser } from "playwright-core";
import type { Finding } from "../../commands/findings";
import { handshake } from "../../commands/servedCertificate";
import { REMOTE_ACCESS_PEM } from "../../targets/docker/doorHttps";
import { DeployFolder, until } from "./support/deployFolder";
import { LanDevice, nssHomeTrusting } from "./support/lanDevice";
import { ModelRegistry, startRegistries, withTools } from "./support/modelRegistry";
import { nearExpiryCertificate, serveFromDoor } from "./support/nearExpiry";
import { ask, clearTestOutput, inPage, launchChromium, signInInBrowser, testOutput } from "./support/openWebUI";
import {
    CHROMIUM,
    E2E_IMAGES,
    expectSucceeded,
    phase,
    replacedContainers,
    requirePrerequisites,
    stackObjects,
    tearDownStack,
    timed,
    upAndReport,
} from "./support/stackHarness";

const STACK = "remote";
/** Ports on 127.0.0.1, apart from the other suites'; the model registry's on the Docker bridge. */
const PORTS = { ollama: 21700, router: 24400, openWebUI: 23400, modelRegistry: 23380 };
const DEVICE = {
    namespace: "aigw-e2e-lan",
    hostAddress: "10.231.77.1",
    deviceAddress: "10.231.77.2",
    prefix: 30,
    hostnames: ["ai.lan"],
};
const URL_ON_LAN = "https://ai.lan";
const SCREENSHOTS = "remote-access-";

let folder: DeployFolder;
let models: ModelRegistry;
let device: LanDevice;
let browser: Browser | undefined;
let work: string;
let caFile: string;
let caCertificate: string;
let outputs: Record<string, string>;

function config(dataDir: string): Record<string, unknown> {
    return {
        hosts: [{ name: STACK, dataDir, ollama: [{ name: "ollama", port: PORTS.ollama, gpu: "none" }] }],
        ollama: { insecureRegistries: [models.host], flashAttention: false, numParallel: 1 },
        images: E2E_IMAGES,
        groups: { fast: [models.model(withTools("tiny-a"))] },
        router: { port: PORTS.router },
        openWebUI: { port: PORTS.openWebUI },
        remoteAccess: {
            address: DEVICE.hostAddress,
            hostnames: DEVICE.hostnames,
            httpRedirect: true,
            expose: ["openWebUI", "router"],
        },
    };
}

/**
 * Run by Node on the device (`node -e`, the URL and the CA file as arguments, the key on standard input): one
 * streamed chat completion; prints the status and each piece of the body as it arrived, with its time in ms.
 */
const STREAMED_CHAT = `
const https = require("node:https");
const fs = require("node:fs");
const [url, caFile] = process.argv.slice(1);
const key = fs.readFileSync(0, "utf8").trim();
const body = JSON.stringify({ model: "fast", stream: true, max_tokens: 64, messages: [{ role: "user", content: "hi" }] });
const started = process.hrtime.bigint();
const pieces = [];
https.request(url, { method: "POST", ca: fs.readFileSync(caFile), headers: { authorization: "Bearer " + key, "content-type": "application/json" } }, (res) => {
    res.on("data", (chunk) => pieces.push([Number(process.hrtime.bigint() - started) / 1e6, chunk.toString()]));
    res.on("end", () => console.log(JSON.stringify({ status: res.statusCode, pieces })));
}).end(body);
`;

/** curl on the device, trusting the stack's CA; resolves its status line, headers and body. */
function curlOnDevice(args: string[]): { status: number; headers: string; body: string; stderr: string } {
    const run = device.run(["curl", "--silent", "--show-error", "--include", "--cacert", caFile, ...args]);
    const [head, ...rest] = run.stdout.split(/\r\n\r\n/);
    return {
        status: Number(/^HTTP\/\S+ (\d+)/.exec(head ?? "")?.[1] ?? 0),
        headers: head ?? "",
        body: rest.join("\r\n\r\n"),
        stderr: run.stderr,
    };
}

/** The findings of `npm run audit -- --json`. */
async function audit(): Promise<Finding[]> {
    return (JSON.parse((await folder.run("audit", ["--json"])).stdout) as { findings: Finding[] }).findings;
}

beforeAll(async () => {
    requirePrerequisites(true, true);
    for (const command of ["certutil", "openssl", "ip"])
        try {
            execFileSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" });
        } catch {
            throw new Error(`e2e prerequisites missing: ${command} (tests/prepare.sh installs it)`);
        }
    clearTestOutput(SCREENSHOTS);
    work = mkdtempSync(path.join(tmpdir(), "aigw-e2e-remote-"));
    device = LanDevice.create(DEVICE);
    folder = new DeployFolder(STACK);
    models = await timed("infrastructure (image registry, model registry, tiny model)", () =>
        startRegistries(PORTS.modelRegistry, [withTools("tiny-a")], work),
    );
}, 600_000);

afterAll(async () => {
    // Pass or fail, nothing stays behind: the browser, the stack, the servers, the device and its link.
    await tearDownStack(STACK, { folder, models, work, servers: [browser] });
    device?.remove();
}, 600_000);

test("up deploys the stack with the door's HTTPS front on the LAN address, and npm run ca prints its CA", async () => {
    folder.writeConfig(config(path.join(work, "data")));
    await upAndReport(folder, "up");
    expect([...stackObjects(STACK).containers.keys()].sort()).toEqual(["door", "litellm", "ollama", "open-webui"]);
    outputs = folder.outputs() as Record<string, string>;
    expect(outputs.remoteAccessUrl).toBe("https://ai.lan/");

    const ca = await folder.run("ca");
    expectSucceeded(ca, "npm run ca");
    expect(ca.stdout).toBe(`${outputs.remoteAccessCaCertificate.trimEnd()}\n`);
    caCertificate = ca.stdout;
    caFile = path.join(work, "ai-gateway-ca.crt");
    writeFileSync(caFile, caCertificate);
    // Docker publishes on the address only what the door publishes there.
    const published = execFileSync("docker", ["ps", "--format", "{{.Names}} {{.Ports}}"], { encoding: "utf8" });
    const onAddress = published.split("\n").filter((line) => line.includes(DEVICE.hostAddress));
    expect(onAddress.map((line) => line.split(" ")[0])).toEqual(["door"]);
});

test("from the device: HTTPS with the stack's CA, HSTS and no banner; port 80 redirects; the router only with its key", () => {
    const page = curlOnDevice([`${URL_ON_LAN}/`]);
    expect(page.status).toBe(200);
    expect(page.body).toContain("<title>Open WebUI</title>");
    expect(page.headers).toMatch(/^strict-transport-security: max-age=31536000\r?$/im);
    expect(page.headers).not.toMatch(/^server:/im);
    // Without the CA the device's curl refuses the certificate: it is verified, not ignored.
    const untrusted = device.run(["curl", "--silent", "--show-error", `${URL_ON_LAN}/`]);
    expect(untrusted.status).toBe(60);

    const redirect = device.run(["curl", "--silent", "--include", "http://ai.lan/c/x?y=1"]);
    expect(redirect.stdout).toMatch(/^HTTP\/1\.1 301/);
    expect(redirect.stdout).toMatch(/^location: https:\/\/ai\.lan\/c\/x\?y=1\r?$/im);

    expect(curlOnDevice([`${URL_ON_LAN}/v1/models`]).status).toBe(401);
    const models = curlOnDevice([`${URL_ON_LAN}/v1/models`, "-H", `Authorization: Bearer ${outputs.masterKey}`]);
    expect(models.status).toBe(200);
    expect(JSON.parse(models.body).data.map((m: { id: string }) => m.id)).toEqual(["fast"]);

    // A streamed answer through the door: its events arrive in pieces as they are generated, not as one body.
    const stream = device.run(["node", "-e", STREAMED_CHAT, `${URL_ON_LAN}/v1/chat/completions`, caFile], {
        input: outputs.masterKey,
    });
    const { status, pieces } = JSON.parse(stream.stdout) as { status: number; pieces: [number, string][] };
    const events = pieces.flatMap(([, text]) => text.split("\n").filter((line) => line.startsWith("data: ")));
    const [first, last] = [pieces[0][0], pieces[pieces.length - 1][0]];
    phase(
        "streamed chat through the door",
        last / 1000,
        `${events.length} events in ${pieces.length} pieces, the first after ${first.toFixed(1)} ms, the last after ${last.toFixed(1)} ms`,
    );
    expect(status).toBe(200);
    expect(events[events.length - 1]).toBe("data: [DONE]");
    expect(events.length).toBeGreaterThan(10);
    expect(pieces.length).toBeGreaterThan(1);
    expect(last).toBeGreaterThan(first);
});

test("from the device: Ollama's, the router's and Open WebUI's own ports are refused on the address", () => {
    const ports = { ollama: PORTS.ollama, router: PORTS.router, openWebUI: PORTS.openWebUI };
    const seen = Object.fromEntries(
        Object.entries(ports).map(([name, port]) => [name, device.connects(DEVICE.hostAddress, port)]),
    );
    phase("ports on the address from the device", 0, JSON.stringify(seen));
    for (const [, answer] of Object.entries(seen))
        expect(answer).toEqual({ accepted: false, how: "Connection refused" });
    // The control: the same check sees the door's ports answer.
    expect(device.connects(DEVICE.hostAddress, 443).accepted).toBe(true);
    expect(device.connects(DEVICE.hostAddress, 80).accepted).toBe(true);
});

test("in Chromium on the device, trusting the CA, the admin signs in at https://ai.lan/ and gets a streamed answer", async () => {
    const home = nssHomeTrusting(path.join(work, "browser-home"), caFile, "ai-gateway CA");
    browser = await launchChromium({
        executablePath: device.chromiumWrapper(work, CHROMIUM),
        env: { ...process.env, HOME: home },
    });
    const admin = { email: outputs.openWebUIAdminEmail, password: outputs.openWebUIAdminPassword };
    const started = Date.now();
    const seen = await inPage(browser, `${SCREENSHOTS}chat`, async (page) => {
        const frames: string[] = [];
        const sockets: string[] = [];
        page.on("websocket", (socket) => {
            sockets.push(socket.url());
            socket.on("framereceived", ({ payload }) => frames.push(String(payload)));
        });
        const landing = await page.goto(`${URL_ON_LAN}/`);
        const security = await landing!.securityDetails();
        await signInInBrowser(page, URL_ON_LAN, admin);
        await page.locator("#model-selector-model-button").click();
        await page.locator("#model-search-input").fill("fast");
        await page.getByRole("option", { name: "Select fast model" }).click();
        const framesBefore = frames.length;
        const { answer } = await ask(page, "Say hello to the LAN");
        await page.screenshot({ path: testOutput(`${SCREENSHOTS}chat.png`) });
        return {
            security,
            secure: await page.evaluate("window.isSecureContext"),
            sockets,
            answer,
            // Open WebUI 0.12.4 sends each piece of an answer as it comes, a `response.output_text.delta` event.
            deltas: frames.slice(framesBefore).filter((f) => f.includes('"type":"response.output_text.delta"')),
        };
    });
    phase(
        "browser on the device: sign in, pick fast, ask, answer",
        (Date.now() - started) / 1000,
        `${seen.deltas.length} pieces of the answer over ${seen.sockets.join(", ")}, the first: ${seen.deltas[0]?.slice(0, 300)}`,
    );
    expect(seen.security).toMatchObject({ issuer: `ai-gateway CA (${STACK})`, subjectName: "ai.lan" });
    expect(["TLS 1.3", "TLS 1.2"]).toContain(seen.security!.protocol);
    expect(seen.secure).toBe(true);
    expect(seen.sockets.some((url) => url.startsWith("wss://ai.lan/ws/socket.io/"))).toBe(true);
    expect(seen.answer.length).toBeGreaterThan(0);
    // The answer came in pieces over the WebSocket, through the door, as it was generated.
    expect(seen.deltas.length).toBeGreaterThan(1);
});

test("status shows the certificate served, doctor knows the address, and the audit's one-door and tls rules pass", async () => {
    const status = await folder.run("status");
    expectSucceeded(status, "npm run status");
    expect(status.stdout).toMatch(
        /remote access https:\/\/ai\.lan\/ \(10\.231\.77\.1:443\): certificate valid until \S+, 36[45] days left/,
    );
    const doctor = await folder.run("doctor", ["--json"]);
    const remote = (JSON.parse(doctor.stdout).findings as Finding[]).filter((f) => f.rule === "remote-access");
    expect(remote.map((f) => [f.subject, f.verdict])).toEqual([
        ["address 10.231.77.1", "pass"],
        ["port 443", "pass"],
        ["port 80", "pass"],
    ]);
    const findings = await audit();
    const of = (rule: string) => findings.filter((f) => f.rule === rule);
    phase(
        "audit one-door and tls",
        0,
        [...of("one-door"), ...of("tls")].map((f) => `${f.subject}: ${f.detail}`).join(" | "),
    );
    expect(of("one-door").map((f) => f.verdict)).toEqual(["pass"]);
    expect(of("tls").map((f) => [f.subject, f.verdict])).toEqual([
        ["ai.lan", "pass"],
        ["10.231.77.1", "pass"],
        ["TLS 1.0 and 1.1", "pass"],
    ]);
    // Every other rule too: the door's HTTPS front on the address is the one port there that bind-address allows.
    expect(findings.filter((f) => f.verdict === "fail")).toEqual([]);
    expect(of("bind-address").find((f) => f.subject === "door")!.detail).toBe(
        `published on 127.0.0.1:${PORTS.router}, 127.0.0.1:${PORTS.openWebUI}, 10.231.77.1:443, 10.231.77.1:80 only`,
    );
});

test("a certificate three days from its end is renewed by the next up, under the same CA", async () => {
    const pem = nearExpiryCertificate(folder, "remote-access", 3);
    serveFromDoor("door", REMOTE_ACCESS_PEM, pem);
    /** The days left of the certificate the door serves, once it serves one that `done` accepts (10 s at most). */
    const servedDays = async (done: (days: number) => boolean) => {
        let days: number | undefined;
        await until(
            async () => {
                const served = await handshake(DEVICE.hostAddress, 443, { name: "ai.lan", verify: caCertificate });
                days = served.certificate?.daysLeft;
                return days !== undefined && done(days);
            },
            10,
            "the door to serve the certificate",
        ).catch(() => undefined);
        return days;
    };
    expect(await servedDays((days) => days < 3)).toBe(2);
    const status = await folder.run("status");
    expect(status.stdout).toMatch(/remote access https:\/\/ai\.lan\/ .* 2 days left/);
    const tlsBefore = (await audit()).filter((f) => f.rule === "tls");
    expect(tlsBefore[0].verdict).toBe("fail");
    expect(tlsBefore[0].detail).toMatch(/2 days, 14 or fewer/);

    const before = stackObjects(STACK).containers;
    const { summary } = await upAndReport(folder, "up renews the certificate");
    expect(summary.changes).toMatchObject({ replace: 2 });
    expect(replacedContainers(before, stackObjects(STACK).containers)).toEqual(["door"]);
    // The replaced door serves within moments of its start.
    expect(await servedDays((days) => days > 300)).toBe(364);
    const tlsAfter = (await audit()).filter((f) => f.rule === "tls");
    expect(tlsAfter.map((f) => f.verdict)).toEqual(["pass", "pass", "pass"]);
    const ca = await folder.run("ca");
    expect(ca.stdout).toBe(caCertificate);
    const again = await folder.run("preview", ["--expect-no-changes"]);
    expectSucceeded(again, "npm run preview -- --expect-no-changes after the renewal");
});
