/**
 * Entry point of the test containers: `node serveFake.js <kind> <containerPort> [<options JSON>]` serves one
 * fake service on every address of the container, as the real image does on its port. The fakes listen on
 * the container's loopback; a plain TCP relay makes them reachable through the port Docker publishes.
 */
import * as net from "node:net";
import { FakeOllama } from "./fakeOllama";
import { FakeRouter, startFakeOpenWebUI, startFakeQdrant } from "./fakeServices";

/** The kinds a test container can be, and how each starts; resolves to the fake's loopback URL. */
const STARTERS: Record<string, (options: any) => Promise<{ url: string }>> = {
    ollama: () => FakeOllama.start(),
    router: (options) => FakeRouter.start(options),
    openWebUI: (options) => startFakeOpenWebUI(options),
    qdrant: (options) => startFakeQdrant(options),
};

async function main([kind, containerPort, options = "{}"]: string[]): Promise<void> {
    const fake = await STARTERS[kind](JSON.parse(options));
    const target = Number(new URL(fake.url).port);
    net.createServer((client) => {
        const upstream = net.connect(target, "127.0.0.1");
        client.pipe(upstream).pipe(client);
        client.on("error", () => upstream.destroy());
        upstream.on("error", () => client.destroy());
    }).listen(Number(containerPort), "0.0.0.0");
}

main(process.argv.slice(2));
