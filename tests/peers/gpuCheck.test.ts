/**
 * The check that Ollama found a GPU, on a real Ollama 0.17.4 (the stack's image tag): on this machine, which
 * has no GPU, its start log lists only the CPU, and the check of `pulumi up` reads it as a fallback to CPU.
 * Port: 11481.
 */
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { judgeOllamaCompute, parseInferenceCompute } from "../../targets/docker/gpu";
import { Peer, startOllama, stopPeers } from "./support/peers";

const PORT = 11481;
let state: string;
let ollama: Peer;

beforeAll(() => {
    state = mkdtempSync(path.join(tmpdir(), "aigw-gpu-check-"));
    ollama = startOllama(PORT, state);
});
afterAll(() => {
    stopPeers(ollama);
    rmSync(state, { recursive: true, force: true });
});

/** The server's log once it has reported its compute devices (it does so after its API answers). */
async function logWithDevices(timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const log = readFileSync(path.join(state, "ollama.log"), "utf8");
        if (log.includes('msg="inference compute"') || Date.now() > deadline) return log;
        await new Promise((resolve) => setTimeout(resolve, 500));
    }
}

it("reads a real Ollama's CPU-only start as a fallback to CPU", async () => {
    const log = await logWithDevices();
    expect(parseInferenceCompute(log)).toEqual([{ id: "cpu", library: "cpu", description: "cpu" }]);
    expect(judgeOllamaCompute({ name: "box" }, "ollama", log)).toMatchObject({
        ok: false,
        problem: expect.stringMatching(
            /^Ollama instance ollama on host box found no GPU and fell back to CPU \(inference compute: cpu[^)]*\)\. Fix: docker logs ollama/,
        ),
    });
});
