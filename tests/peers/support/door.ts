/**
 * The door as the stack renders it, run by Debian's HAProxy on loopback in front of the real peers: the rendered
 * haproxy.cfg with only what differs outside Docker changed (tested in door.test.ts) — its listeners bound on
 * loopback ports, its services' container names pointed at the peers' loopback addresses instead of Docker's DNS,
 * and its certificate file where the test keeps one (tests/support/certificates.ts issues one).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { doorHealthPort } from "../../../targets/docker/doorPlan";
import { renderDoorConfig } from "../../../targets/docker/doorConfig";
import { REMOTE_ACCESS_PEM } from "../../../targets/docker/doorHttps";
import { StackConfig } from "../../../config/stackKeys";
import { Peer, loopback, peerScript, stopPeers } from "./peers";

export interface DoorOnLoopback {
    /** The door's listeners by the port the rendered config binds, to the loopback port they bind here (its health
     * check's is added by startRenderedDoor). */
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

/**
 * Starts Debian's HAProxy on the door config the program renders for `hostName`, moved onto loopback as `where`
 * says, with its health check on `healthPort`; its config and log go to `dir`.
 */
export function startRenderedDoor(
    config: StackConfig,
    hostName: string,
    dir: string,
    where: DoorOnLoopback & { healthPort: number },
): Peer {
    mkdirSync(dir, { recursive: true });
    const configFile = path.join(dir, "haproxy.cfg");
    const ports = { ...where.ports, [doorHealthPort(config, hostName)]: where.healthPort };
    writeFileSync(configFile, doorToLoopback(renderDoorConfig(config, hostName)!, { ...where, ports }));
    const peer = { url: loopback(where.healthPort), dir, pidFiles: [path.join(dir, "door.pid")] };
    try {
        peerScript("start_door.sh", [configFile, `127.0.0.1:${where.healthPort}`, dir]);
    } catch (err) {
        stopPeers(peer);
        throw err;
    }
    return peer;
}
