/**
 * The door as the stack renders it, run by Debian's HAProxy on loopback in front of the real peers: the rendered
 * haproxy.cfg with only what differs outside Docker changed (tested in door.test.ts) — its listeners bound on
 * loopback ports, its services' container names pointed at the peers' loopback addresses instead of Docker's DNS,
 * and its certificate file where the test keeps one. A certificate for it is issued by a CA made here with openssl.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import * as path from "node:path";
import { REMOTE_ACCESS_PEM } from "../../../config/doorHttps";
import { Peer, loopback, peerScript, stopPeers } from "./peers";

export interface DoorOnLoopback {
    /** The door's listeners by the port the rendered config binds, to the loopback port they bind here. */
    ports: Record<number, number>;
    /** The services by the `name:port` the rendered config names, to the `127.0.0.1:port` of the peer. */
    servers: Record<string, string>;
    /** The certificate chain and key file the HTTPS front serves. */
    pemFile: string;
}

/** The rendered door config moved onto loopback; fails on a listener or a service it has no place for. */
export function doorToLoopback(config: string, where: DoorOnLoopback): string {
    const place = <T>(map: Record<string, T>, key: string | number, what: string): T => {
        if (!(key in map)) throw new Error(`the door's ${what} ${key} has no place on loopback`);
        return map[key];
    };
    return config
        .replace(/^resolvers docker\n(?:[ \t]+.*\n)*\n/m, "")
        .replace(
            /^(\s+bind )(?:127\.0\.0\.1)?:(\d+)/gm,
            (_, bind, port) => `${bind}127.0.0.1:${place(where.ports, Number(port), "listener")}`,
        )
        .replace(
            /^(\s+server \S+ )(\S+) resolvers docker init-addr libc,none$/gm,
            (_, server, target) => `${server}${place(where.servers, target, "service")}`,
        )
        .split(REMOTE_ACCESS_PEM)
        .join(where.pemFile);
}

/** Starts Debian's HAProxy on a door config on loopback; `healthPort` is where its health check answers. */
export function startDoor(configFile: string, healthPort: number, dir: string): Peer {
    const peer = { url: loopback(healthPort), dir, pidFiles: [path.join(dir, "door.pid")] };
    try {
        peerScript("start_door.sh", [configFile, `127.0.0.1:${healthPort}`, dir]);
    } catch (err) {
        stopPeers(peer);
        throw err;
    }
    return peer;
}

/**
 * A CA and a server certificate it issued for `names` (openssl's subjectAltName syntax, e.g. `DNS:ai.lan,IP:127.0.0.1`),
 * both ECDSA P-256 as the stack's: `ca.crt`, and `server.pem` with the certificate and its key as the door reads it.
 */
export function issueDoorCertificate(dir: string, names: string): { caFile: string; pemFile: string } {
    mkdirSync(dir, { recursive: true });
    const file = (name: string) => path.join(dir, name);
    const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
    const ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    openssl(
        "req",
        "-x509",
        ...ecKey,
        "-days",
        "2",
        "-subj",
        "/CN=bench CA",
        "-keyout",
        file("ca.key"),
        "-out",
        file("ca.crt"),
    );
    openssl("req", ...ecKey, "-subj", "/CN=ai.lan", "-keyout", file("server.key"), "-out", file("server.csr"));
    execFileSync("sh", [
        "-c",
        `printf 'subjectAltName=${names}\\nextendedKeyUsage=serverAuth\\n' > "$1/ext" && ` +
            `openssl x509 -req -in "$1/server.csr" -CA "$1/ca.crt" -CAkey "$1/ca.key" -CAcreateserial -days 2 ` +
            `-extfile "$1/ext" -out "$1/server.crt" 2>/dev/null && cat "$1/server.crt" "$1/server.key" > "$1/server.pem"`,
        "issue",
        dir,
    ]);
    return { caFile: file("ca.crt"), pemFile: file("server.pem") };
}
