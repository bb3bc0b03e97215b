import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { benchResults, benchRow, benchTable, judged, readBenchResults, writeBenchResults } from "./results";

const context = {
    date: "2026-11-22T12:00:00.000Z",
    command: "npm run bench",
    machine: { cores: 2, loadAverage: { start: [1, 1, 1], end: [2, 1, 1] } },
    versions: { ollama: "0.17.4" },
};

describe("bench results", () => {
    let dir: string;
    beforeEach(() => {
        dir = mkdtempSync(path.join(tmpdir(), "aigw-bench-results-"));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it("judges a ratio target and a bound on the figure itself", () => {
        const pull = judged({
            id: "pull.throughput",
            what: "pull",
            unit: "MB/s",
            measured: 98,
            baseline: 100,
            target: { of: "ratio", atLeast: 0.97 },
        });
        expect(pull).toMatchObject({ ratio: 0.98, pass: true });
        const detection = judged({
            id: "health.detection.p50",
            what: "detection",
            unit: "ms",
            measured: 260,
            baseline: 1000,
            target: { of: "measured", atMost: 250 },
        });
        expect(detection).toMatchObject({ ratio: 0.26, pass: false });
        expect(judged({ id: "info", what: "no target", unit: "ms", measured: 1 })).toEqual({
            id: "info",
            what: "no target",
            unit: "ms",
            measured: 1,
        });
    });

    it("writes a file that reads back the same, with the missed targets named", () => {
        const rows = [
            judged({ id: "a", what: "a", unit: "ms", measured: 1, target: { of: "measured", atMost: 2 } }),
            judged({ id: "b", what: "b", unit: "ms", measured: 3, baseline: 1, target: { of: "ratio", atMost: 2 } }),
        ];
        const file = path.join(dir, "bench-results", "bench.json");
        writeBenchResults(file, benchResults(rows, context));
        const read = readBenchResults(file);
        expect(read.targets).toEqual({ total: 2, failed: ["b"] });
        expect(benchRow(read, "a").pass).toBe(true);
        expect(() => benchRow(read, "c")).toThrow("no bench row c (have a, b)");
        expect(benchTable(read.rows).split("\n")).toEqual([
            "| measure | ours | reference | ratio | target | met |",
            "| --- | ---: | ---: | ---: | --- | --- |",
            "| a | 1.00 ms |  |  | ≤ 2 ms | yes |",
            "| b | 3.00 ms | 1.00 ms | 3.00 | ratio ≤ 2 | NO |",
        ]);
    });

    it("refuses a file that is not bench results, in one line", () => {
        const file = path.join(dir, "bench.json");
        expect(() => readBenchResults(file)).toThrow(/bench\.json: not readable as bench results .*run npm run bench$/);
        writeFileSync(file, JSON.stringify({ rows: [{ id: "a", measured: "fast" }], targets: {} }));
        expect(() => readBenchResults(file)).toThrow(`${file}: not bench results (row "a"); run npm run bench`);
    });
});
