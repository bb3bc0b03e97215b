/**
 * Entry point of the test containers: `node serveFake.js <kind> <containerPort> [<options JSON>]` serves one
 * fake service on every address of the container, as the real image does on its port. The fakes listen on
 * the container's loopback; a plain TCP relay makes them reachable through the port Docker publishes.
 * `node serveFake.js door <port>=<host>:<port>...` is a host's door: a TCP relay per port to a service by name.
 */
import * as net from "node:net";
import { FakeOllama } from "./fakeOllama";
import { FakeRouter, startFakeOpenWebUI, startFakeQdrant } from "./fakeServices";

/** Relays every connection to `port` on every address to `host:targetPort`, resolved at each connection. */
function relay(port: number, host: string, targetPort: number): void {
    net.createServer((client) => {
        const upstream = net.connect(targetPort, host);
        client.pipe(upstream).pipe(client);
        client.on("error", () => upstream.destroy());
        upstream.on("error", () => client.destroy());
    }).listen(port, "0.0.0.0");
}

/** The kinds a test container can be, and how each starts; resolves to the fake's loopback URL. */
const STARTERS: Record<string, (options: any) => Promise<{ url: string }>> = {
    ollama: () => FakeOllama.start(),
    router: (options) => FakeRouter.start(options),
    openWebUI: (options) => startFakeOpenWebUI(options),
    qdrant: (options) => startFakeQdrant(options),
};

async function main([kind, ...args]: string[]): Promise<void> {
    if (kind === "door") {
        for (const forward of args) {
            const [, port, host, target] = /^(\d+)=(.+):(\d+)$/.exec(forward)!;
            relay(Number(port), host, Number(target));
        }
        return;
    }
    const [containerPort, options = "{}"] = args;
    const fake = await STARTERS[kind](JSON.parse(options));
    relay(Number(containerPort), "127.0.0.1", Number(new URL(fake.url).port));
}

main(process.argv.slice(2));
