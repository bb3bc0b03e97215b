/** What Linux says of a process in /proc/<pid>/stat (proc(5)). */
import { readFileSync } from "node:fs";

export interface ProcessStat {
    /** One letter: R running, S sleeping, Z zombie (ended, not yet reaped), X dead, … */
    state: string;
    /** The parent's pid. */
    ppid: number;
    /** User plus system CPU time of all its threads so far, in ms (Linux counts in ticks of 10 ms). */
    cpuMs: number;
}

/** The process's stat, or undefined when there is none: it has ended, or the system has no /proc (macOS). */
export function readProcessStat(pid: number | string): ProcessStat | undefined {
    let stat: string;
    try {
        stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
        return undefined;
    }
    // The command name between the parentheses may hold spaces and parentheses itself.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { state: fields[0], ppid: Number(fields[1]), cpuMs: (Number(fields[11]) + Number(fields[12])) * 10 };
}
