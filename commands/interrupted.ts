/**
 * Recovery from an interrupted `up` or `destroy` (Ctrl-C twice, a killed terminal, a reboot): the engine
 * records an operation as pending before it calls the provider, so a run stopped mid-step leaves pending
 * operations in the state, and maybe a container or network that Docker created but the state never
 * recorded. Their fixed names would make the next run fail ("name already in use"). Before it runs, `up`
 * removes those orphans (only objects carrying this state's label that the state does not know) and clears
 * the pending operations with a refresh, so a plain re-run converges. A killed run also leaves its lock in
 * a file backend, and a kill while the engine writes its checkpoint leaves that file cut off: a lock whose
 * process no longer runs on this machine is removed, and a cut-off checkpoint restored from the engine's backup.
 */
import { copyFileSync, existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { hostname } from "node:os";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { STATE_ID_RESOURCE, STATE_LABEL } from "../targets/docker/containers";
import { HostConfig } from "../config/stackKeys";
import { PROJECT } from "../config/primitives";
import { labelledObjects, removeObjects, DockerObject } from "./docker";
import { readProcessStat } from "./processStat";

/** The part of an exported state this module reads. */
interface StateDocument {
    resources?: { type: string; id?: string; urn?: string; outputs?: Record<string, unknown> }[];
    pending_operations?: { type: string; resource: { urn: string } }[];
}

/**
 * The id of the state (the `hex` of its RandomId STATE_ID_RESOURCE), which every container and network it
 * makes carries as STATE_LABEL; undefined when the state has none yet (no object of it can carry it then).
 */
export function stateIdOf(state: StateDocument): string | undefined {
    const resource = (state.resources ?? []).find(
        (r) => r.type === "random:index/randomId:RandomId" && r.urn?.endsWith(`::${STATE_ID_RESOURCE}`),
    );
    const hex = resource?.outputs?.hex;
    return typeof hex === "string" && hex !== "" ? hex : undefined;
}

const DOCKER_OBJECT_TYPES = ["docker:index/container:Container", "docker:index/network:Network"];

/** Each pending operation in words: `creating litellm (docker:index/container:Container)`. */
export function describePending(state: StateDocument): string[] {
    return (state.pending_operations ?? []).map((op) => {
        const [typeChain, name] = op.resource.urn.split("::").slice(-2);
        return `${op.type} ${name} (${typeChain.split("$").pop()})`;
    });
}

/** Labelled objects the state does not know: what an interrupted run created and never recorded. */
export function orphans(
    state: StateDocument,
    labelled: { containers: DockerObject[]; networks: DockerObject[] },
): { containers: DockerObject[]; networks: DockerObject[] } {
    const known = new Set(
        (state.resources ?? []).filter((r) => DOCKER_OBJECT_TYPES.includes(r.type) && r.id).map((r) => r.id),
    );
    return {
        containers: labelled.containers.filter((c) => !known.has(c.id)),
        networks: labelled.networks.filter((n) => !known.has(n.id)),
    };
}

/** What a file backend's lock file says of the run that holds it. */
interface LockHolder {
    pid?: number;
    hostname?: string;
}

/**
 * Whether a process with `pid` runs on this machine. A killed process stays a zombie until something reaps
 * it, and a container's or VM's init may take seconds to reap orphans: signal 0 still reaches a zombie, so
 * on Linux its state in /proc decides.
 */
export function running(pid: number): boolean {
    try {
        process.kill(pid, 0);
    } catch (err) {
        return (err as NodeJS.ErrnoException).code === "EPERM";
    }
    const stat = readProcessStat(pid);
    if (stat === undefined) return true; // no /proc (macOS): the signal's answer stands
    return stat.state !== "Z" && stat.state !== "X";
}

/** A lock whose run is gone: its file, and the pid of the process that took it. */
export interface StaleLock {
    file: string;
    pid: number;
}

/**
 * The lock files of `stack` in the file backend at `backendUrl` whose run is gone: taken on this machine by a
 * process that no longer runs. A lock of another machine, or of a run still going, is never stale.
 */
export function staleLocks(
    backendUrl: string,
    stack: string,
    isRunning: (pid: number) => boolean = running,
    thisHost: string = hostname(),
): StaleLock[] {
    if (!backendUrl.startsWith("file://")) return [];
    const locks = path.join(new URL(backendUrl).pathname, ".pulumi", "locks");
    if (!existsSync(locks)) return [];
    return readdirSync(locks).flatMap((org) => {
        const dir = path.join(locks, org, PROJECT, stack);
        if (!existsSync(dir)) return [];
        return readdirSync(dir).flatMap((name) => {
            const file = path.join(dir, name);
            const { pid, hostname: host } = JSON.parse(readFileSync(file, "utf8")) as LockHolder;
            return host === thisHost && pid !== undefined && !isRunning(pid) ? [{ file, pid }] : [];
        });
    });
}

/** Removes the stack's stale locks (see `staleLocks`), saying whose they were. */
export function clearStaleLocks(backendUrl: string, stack: string, say: (line: string) => void): void {
    for (const { file, pid } of staleLocks(backendUrl, stack)) {
        say(`the last run of stack ${stack} (pid ${pid}) ended without releasing its lock: removing ${file}`);
        rmSync(file);
    }
}

function parsesAsJson(file: string): boolean {
    try {
        JSON.parse(readFileSync(file, "utf8"));
        return true;
    } catch {
        return false;
    }
}

/**
 * Repairs the checkpoint of `stack` in the file backend at `backendUrl` when a killed run cut it off while
 * writing it (the engine then says "failed to load checkpoint: EOF"). The file store keeps beside each file a
 * record of its checksum (`.attrs`), and either can be cut: a cut checkpoint is restored from the backup the
 * engine keeps of the one before (`<stack>.json.bak`), with that backup's record when it is whole; a cut record
 * of a whole checkpoint is removed (the store reads a file without one). Resolves to whether it repaired
 * anything: a restored backup may be a step behind, so the run then looks for orphans as after any interruption.
 */
export function restoreCutCheckpoint(backendUrl: string, stack: string, say: (line: string) => void): boolean {
    if (!backendUrl.startsWith("file://")) return false;
    const file = path.join(new URL(backendUrl).pathname, ".pulumi", "stacks", PROJECT, `${stack}.json`);
    const backup = `${file}.bak`;
    const whole = (candidate: string) => existsSync(candidate) && parsesAsJson(candidate);
    if (!existsSync(file)) return false;
    if (!parsesAsJson(file)) {
        if (!whole(backup)) return false;
        say(`the state of stack ${stack} was cut off by a run killed while writing it: restoring ${backup}`);
        copyFileSync(backup, file);
        if (whole(`${backup}.attrs`)) copyFileSync(`${backup}.attrs`, `${file}.attrs`);
        else rmSync(`${file}.attrs`, { force: true });
        return true;
    }
    if (existsSync(`${file}.attrs`) && !parsesAsJson(`${file}.attrs`)) {
        say(`the checksum record of stack ${stack}'s state was cut off by a run killed while writing it: removing it`);
        rmSync(`${file}.attrs`);
        return true;
    }
    return false;
}

/**
 * When the stack's last run was interrupted (it left pending operations, or its checkpoint had to be
 * restored): removes its orphans on every host and clears its pending operations. Does nothing (one state
 * export) after a run that finished.
 */
export async function recoverInterruptedRun(
    stack: Stack,
    hosts: HostConfig[],
    say: (line: string) => void,
    write: (text: string) => void,
    checkpointRestored = false,
): Promise<void> {
    const state = ((await stack.exportStack()).deployment ?? {}) as StateDocument;
    const pending = describePending(state);
    if (pending.length === 0 && !checkpointRestored) return;
    say(
        `the last run of stack ${stack.name} was interrupted` +
            (pending.length > 0 ? ` during: ${pending.join("; ")}` : ""),
    );
    // Only this state's objects: another checkout may deploy a stack of the same name on the same engine. A
    // state without its id yet made no container or network (they all wait for it).
    const stateId = stateIdOf(state);
    for (const host of hosts) {
        if (stateId === undefined) break;
        const left = orphans(state, await labelledObjects(host.docker, STATE_LABEL, stateId));
        const names = [...left.containers, ...left.networks].map((o) => o.name);
        if (names.length === 0) continue;
        say(`removing what it created on host ${host.name} but never recorded: ${names.join(", ")}`);
        await removeObjects(host.docker, {
            containers: left.containers.map((c) => c.id),
            networks: left.networks.map((n) => n.id),
        });
    }
    say("refreshing the state to clear the interrupted operations");
    await stack.refresh({ clearPendingCreates: true, onOutput: write, color: "auto" });
}
