import { ENGINE_FIX, judgeEngine } from "../../commands/dockerVersion";

describe("the Docker Engine's version", () => {
    it("passes 28.3.3 and newer, whatever suffix the packager adds", () => {
        for (const version of ["28.3.3", "28.4.0", "29.0.0-rc.1", "29.1.2+dfsg1"])
            expect(judgeEngine(version, "gpu")).toEqual({ verdict: "pass", detail: `host gpu: Docker ${version}` });
    });

    it("warns below 28.0 of direct routing to containers and of the firewalld reload, with the fix", () => {
        expect(judgeEngine("20.10.24+dfsg1", "gpu")).toEqual({
            verdict: "warn",
            detail:
                "host gpu: Docker 20.10.24+dfsg1: before 28.0.0, a LAN neighbour with a route to a Docker bridge subnet reaches the containers' addresses directly, Ollama's unauthenticated API included, whatever bindAddress says; " +
                "before 28.3.3, a firewalld reload removes the rules that keep ports published on 127.0.0.1 off the LAN (CVE-2025-54388). " +
                `Fix: ${ENGINE_FIX}`,
        });
    });

    it("warns from 28.0 to 28.3.2 of the firewalld reload only", () => {
        for (const version of ["28.0.0", "28.3.2"]) {
            const { verdict, detail } = judgeEngine(version, "gpu");
            expect(verdict).toBe("warn");
            expect(detail).toContain("CVE-2025-54388");
            expect(detail).not.toContain("bridge subnet");
        }
    });

    it("fails below 20.10, which the stack does not run on", () => {
        expect(judgeEngine("19.03.15", "old")).toEqual({
            verdict: "fail",
            detail: `host old: Docker 19.03.15 is older than 20.10.0, the oldest the stack runs on: ${ENGINE_FIX}`,
        });
    });

    it("warns when it cannot read the version", () => {
        expect(judgeEngine("dev", "gpu")).toEqual({
            verdict: "warn",
            detail: 'host gpu: cannot read Docker\'s version "dev"; the stack needs 28.3.3 or newer to keep its ports private',
        });
    });
});
