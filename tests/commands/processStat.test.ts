import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { readProcessStat } from "../../commands/processStat";

describe("a process's stat from /proc", () => {
    it("reads the state, parent and CPU time past a command name with spaces and parentheses", async () => {
        // The kernel names a process after its executable's file.
        const dir = mkdtempSync(path.join(tmpdir(), "aigw-stat-"));
        const shell = path.join(dir, "a) (b");
        symlinkSync("/bin/sh", shell);
        const child = spawn(shell, ["-c", "while :; do :; done"], { stdio: "ignore" });
        try {
            // A busy machine may give the loop its first 10 ms tick late.
            const cpuSoFar = () => readProcessStat(child.pid!)?.cpuMs ?? 0;
            for (const end = Date.now() + 10_000; cpuSoFar() === 0 && Date.now() < end;)
                await new Promise((resolve) => setTimeout(resolve, 50));
            expect(readFileSync(`/proc/${child.pid}/comm`, "utf8")).toBe("a) (b\n");
            const stat = readProcessStat(child.pid!);
            expect(stat).toMatchObject({ ppid: process.pid });
            expect(["R", "S"]).toContain(stat!.state);
            expect(stat!.cpuMs).toBeGreaterThan(0);
            expect(stat!.cpuMs % 10).toBe(0);
        } finally {
            child.kill("SIGKILL");
            await once(child, "exit");
            rmSync(dir, { recursive: true, force: true });
        }
    });

    it("is undefined for a process that has ended and been reaped", async () => {
        const child = spawn("true");
        await once(child, "exit");
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(readProcessStat(child.pid!)).toBeUndefined();
    });
});
