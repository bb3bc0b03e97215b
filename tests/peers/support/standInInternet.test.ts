import * as http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import { freePort } from "../../support/httpServer";
import { STAND_IN_ANSWER, StandInInternet, standInEnv, startStandInInternet } from "./standInInternet";

/** Sends `body` to https://`host``path` through the proxy, as a client with HTTPS_PROXY does. */
function throughTunnel(proxy: string, host: string, requestPath: string, body: string): Promise<string> {
    return new Promise((resolve, reject) => {
        const connect = http.request(proxy, { method: "CONNECT", path: `${host}:443`, agent: false });
        connect.on("error", reject);
        connect.on("connect", (res, socket) => {
            if (res.statusCode !== 200) return reject(new Error(`CONNECT answered ${res.statusCode}`));
            // The stand-in's certificate is its own, as SSL_VERIFY=False lets LiteLLM accept it.
            const secure = tls.connect({ socket, servername: host, rejectUnauthorized: false });
            // One request by hand over the tunnel: Node's clients do not take a socket made elsewhere for https.
            secure.write(
                `POST ${requestPath} HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\n` +
                    `authorization: Bearer sk-seen\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
            );
            let text = "";
            secure.on("data", (chunk) => (text += chunk));
            secure.on("end", () => resolve(text.slice(text.indexOf("\r\n\r\n") + 4)));
            secure.on("error", reject);
        });
        connect.end();
    });
}

describe("the stand-in internet", () => {
    let dir: string;
    let internet: StandInInternet;

    beforeAll(async () => {
        dir = mkdtempSync(path.join(tmpdir(), "stand-in-internet-"));
        internet = await startStandInInternet(await freePort(), dir);
    });
    afterAll(async () => {
        await internet?.close();
        rmSync(dir, { recursive: true, force: true });
    });

    it("records an HTTPS request whole, through its tunnel: host, path, headers and the prompt", async () => {
        const answer = await throughTunnel(internet.proxyUrl, "api.anthropic.com", "/v1/messages", '{"p":"secret"}');
        expect(JSON.parse(answer)).toEqual(STAND_IN_ANSWER);
        expect(internet.tunnels).toEqual(["api.anthropic.com:443"]);
        expect(internet.received).toEqual([
            expect.objectContaining({
                scheme: "https",
                host: "api.anthropic.com:443",
                method: "POST",
                path: "/v1/messages",
                headers: expect.objectContaining({ authorization: "Bearer sk-seen" }),
                body: '{"p":"secret"}',
            }),
        ]);
    });

    it("records a plain HTTP request sent to the proxy", async () => {
        const answer = await new Promise<number>((resolve, reject) =>
            http
                .request(internet.proxyUrl, { path: "http://metadata.example/computeMetadata/v1/", agent: false })
                .on("response", (res) => resolve(res.resume().statusCode!))
                .on("error", reject)
                .end(),
        );
        expect(answer).toBe(200);
        expect(internet.received.at(-1)).toMatchObject({
            scheme: "http",
            host: "metadata.example",
            path: "/computeMetadata/v1/",
        });
    });

    it("is what the proxy variables name, loopback excepted", () => {
        expect(standInEnv(internet)).toMatchObject({
            HTTPS_PROXY: internet.proxyUrl,
            NO_PROXY: "127.0.0.1,localhost",
            AIOHTTP_TRUST_ENV: "True",
        });
    });
});
