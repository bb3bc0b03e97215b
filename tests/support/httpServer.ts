import * as http from "node:http";
import * as net from "node:net";

/** A real HTTP server on loopback, for provider tests. */
export interface LocalServer {
    url: string;
    port: number;
    close(): Promise<void>;
}

/** Listens on `address` (127.0.0.1 unless said; port 0: any free port) and serves `handler`. */
export async function startHttpServer(
    handler: http.RequestListener,
    port = 0,
    address = "127.0.0.1",
): Promise<LocalServer> {
    const server = http.createServer(handler);
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, address, resolve);
    });
    const boundPort = (server.address() as net.AddressInfo).port;
    return {
        url: `http://${address}:${boundPort}`,
        port: boundPort,
        close: () =>
            new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };
}

/** A port something listens on (and accepts connections) until `close`: a port another program took. */
export async function holdPort(): Promise<{ port: number; close: () => Promise<void> }> {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const { port } = holder.address() as net.AddressInfo;
    return { port, close: () => new Promise<void>((resolve) => holder.close(() => resolve())) };
}

/** A port nothing listens on right now, for "connection refused, then ready" cases. */
export async function freePort(): Promise<number> {
    const { port, close } = await holdPort();
    await close();
    return port;
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { "content-type": "application/json; charset=utf-8" }).end(JSON.stringify(body));
}

export async function readJsonBody<T>(req: http.IncomingMessage): Promise<T> {
    let text = "";
    for await (const chunk of req) text += chunk;
    return (text ? JSON.parse(text) : {}) as T;
}
