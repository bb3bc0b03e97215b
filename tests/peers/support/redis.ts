/**
 * Debian's redis-server as a peer: the state that router replicas share. The suite starts its own server on
 * loopback, never the system service, in its own process group, so `stopPeers` ends it like any other peer.
 */
import { execFileSync, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Peer, stopPeers } from "./peers";

/** Installed by peers/install.sh (Debian's redis-server, which brings redis-cli). */
export const REDIS_SERVER = "/usr/bin/redis-server";

/** A running redis-server and what a client needs to reach it. */
export interface RedisPeer extends Peer {
    /** Its port on 127.0.0.1. */
    port: number;
    /** Its `requirepass`. */
    password: string;
}

/** How long a fresh redis-server may take to answer PING: it needs milliseconds, a busy machine more. */
const READY_TIMEOUT_MS = 10_000;

/** Starts redis-server on 127.0.0.1:`port` with `password` and no persistence; waits until it answers PING. */
export async function startRedis(port: number, password: string, dir: string): Promise<RedisPeer> {
    if (!existsSync(REDIS_SERVER)) throw new Error(`${REDIS_SERVER} missing: run peers/install.sh`);
    mkdirSync(dir, { recursive: true });
    const log = openSync(path.join(dir, "redis.log"), "w");
    // detached: a process group of its own, which peers/stop.sh ends as a whole.
    const child = spawn(
        REDIS_SERVER,
        [
            ...["--port", String(port), "--bind", "127.0.0.1", "--requirepass", password],
            ...["--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", dir],
        ],
        { detached: true, stdio: ["ignore", log, log] },
    );
    closeSync(log);
    child.unref();
    const pidFile = path.join(dir, "redis.pid");
    writeFileSync(pidFile, String(child.pid));
    const redis = { url: `redis://127.0.0.1:${port}`, dir, pidFiles: [pidFile], port, password };
    for (const started = Date.now(); Date.now() - started < READY_TIMEOUT_MS; await sleep(100)) {
        try {
            if (redisCli(redis, "PING") === "PONG") return redis;
        } catch {
            // Not listening yet.
        }
    }
    stopPeers(redis);
    throw new Error(`redis-server on 127.0.0.1:${port} did not answer PING in ${READY_TIMEOUT_MS} ms (log: ${dir})`);
}

/** Runs one redis-cli command against `redis` and returns its output, trimmed. */
export function redisCli(redis: RedisPeer, ...command: string[]): string {
    return execFileSync(
        "redis-cli",
        ["-h", "127.0.0.1", "-p", String(redis.port), "--no-auth-warning", "-a", redis.password, ...command],
        { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
    ).trim();
}
