import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..", "..", "..");

describe("npm run test:peers before peers/install.sh", () => {
    it("stops at once with one line that says what is missing and what to run", () => {
        const emptyCache = mkdtempSync(path.join(tmpdir(), "aigw-no-peers-"));
        try {
            const run = spawnSync(process.execPath, [require.resolve("jest/bin/jest"), "-c", "jest.peers.config.js"], {
                cwd: ROOT,
                env: { ...process.env, AIGW_PEERS_CACHE: emptyCache },
                encoding: "utf8",
                // Not hung: killed (run.error, status null) only after 60 s, ~40 times what it takes on an idle machine.
                timeout: 60_000,
            });
            expect(run.error).toBeUndefined();
            expect(run.status).toBe(1);
            // At once: before any suite ran (jest reports none), not after each failed on its own.
            expect(run.stderr).not.toMatch(/^(PASS|FAIL|Test Suites:)/m);
            const lines = run.stderr.split("\n").filter((line) => line.startsWith("npm run test:peers:"));
            // Debian's redis-server and docker-registry are named too on a machine that lacks them.
            expect(lines).toHaveLength(1);
            expect(lines[0]).toContain(`missing Ollama 0.17.4 (${emptyCache}/ollama-0.17.4/bin/ollama), `);
            expect(lines[0]).toContain(`LiteLLM 1.87.0's venv (${emptyCache}/litellm-1.87.0/bin/python)`);
            expect(lines[0]).toMatch(/: run peers\/install\.sh first \(cache: .*\)$/);
            expect(run.stderr).not.toMatch(/\n\s+at /);
        } finally {
            rmSync(emptyCache, { recursive: true, force: true });
        }
    });
});
