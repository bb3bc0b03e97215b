/**
 * The results of `npm run bench`: one row per measure, each our figure against a reference measured in the
 * same run, and for the rows that are targets, the target and whether it was met. `npm run bench` writes them
 * to bench-results/bench.json (git-ignored); tests and CI read them back with `readBenchResults`.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";

/** Where `npm run bench` writes its results: bench-results/bench.json in the project folder. */
export const BENCH_RESULTS_FILE = path.join(__dirname, "..", "..", "..", "bench-results", "bench.json");

/**
 * What a target bounds, and how: `{ of: "ratio", atLeast: 0.97 }`, `{ of: "measured", atMost: 250 }`,
 * `{ of: "difference", atMost: 10 }` (ours less the reference, e.g. the milliseconds the router adds).
 */
export interface Target {
    /** The figure bounded: ours (`measured`), ours over the reference (`ratio`) or ours less it (`difference`). */
    of: "measured" | "ratio" | "difference";
    /** Met when the figure is at most this. */
    atMost?: number;
    /** Met when the figure is at least this. */
    atLeast?: number;
}

/** One measure as a bench section returns it. */
export interface Measure {
    /** Stable key that tests and CI look a row up by, e.g. `health.detection.p50`. */
    id: string;
    /** What was measured, in words, with how many samples. */
    what: string;
    /** Unit of `measured` and `baseline`: `ms`, `MB/s`, `requests`, `%`... */
    unit: string;
    /** Our figure. */
    measured: number;
    /** The reference, measured in the same run (what `what` says it is); absent when the target stands alone. */
    baseline?: number;
    /** When the measure is a target of the project's. */
    target?: Target;
    /** The samples `measured` and `baseline` were taken from, in the order they were measured. */
    samples?: { measured: number[]; baseline?: number[] };
}

/** One row of bench.json: a measure with its ratio and verdict. */
export interface BenchRow extends Measure {
    /** `measured / baseline`, when there is a baseline. */
    ratio?: number;
    /** Whether the target was met, when the row is a target. */
    pass?: boolean;
}

/** The whole file. */
export interface BenchResults {
    /** When the run ended (ISO 8601). */
    date: string;
    /** The command that measured it. */
    command: string;
    /** The machine: its cores and its load average (1, 5, 15 min) at the start and the end of the run. */
    machine: { cores: number; loadAverage: { start: number[]; end: number[] } };
    /** The software measured. */
    versions: Record<string, string>;
    /** Every row, in the order the sections ran. */
    rows: BenchRow[];
    /** The targets: how many, and the ids of those missed. */
    targets: { total: number; failed: string[] };
}

/** Whether `value` meets `target`. */
export function meets(value: number, target: Target): boolean {
    return (
        (target.atMost === undefined || value <= target.atMost) &&
        (target.atLeast === undefined || value >= target.atLeast)
    );
}

/** A measure with its ratio and, for a target, its verdict. */
export function judged(measure: Measure): BenchRow {
    const ratio = measure.baseline === undefined ? undefined : measure.measured / measure.baseline;
    const row: BenchRow = { ...measure, ...(ratio === undefined ? {} : { ratio }) };
    if (!measure.target) return row;
    const difference = measure.baseline === undefined ? undefined : measure.measured - measure.baseline;
    const figure = { ratio, difference, measured: measure.measured }[measure.target.of];
    return { ...row, pass: figure !== undefined && Number.isFinite(figure) && meets(figure, measure.target) };
}

/** The results of a run from its rows. */
export function benchResults(
    rows: BenchRow[],
    context: Pick<BenchResults, "date" | "command" | "machine" | "versions">,
): BenchResults {
    const targets = rows.filter((row) => row.target);
    return {
        ...context,
        rows,
        targets: { total: targets.length, failed: targets.filter((row) => !row.pass).map((row) => row.id) },
    };
}

export function writeBenchResults(file: string, results: BenchResults): void {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
}

/** Reads a results file, failing with one line when it is missing or not what `npm run bench` writes. */
export function readBenchResults(file: string): BenchResults {
    let parsed: BenchResults;
    try {
        parsed = JSON.parse(readFileSync(file, "utf8")) as BenchResults;
    } catch (err) {
        throw new Error(`${file}: not readable as bench results (${(err as Error).message}); run npm run bench`);
    }
    const bad = (parsed.rows ?? []).find(
        (row) =>
            typeof row.id !== "string" ||
            typeof row.measured !== "number" ||
            (row.target && typeof row.pass !== "boolean"),
    );
    if (!Array.isArray(parsed.rows) || !parsed.targets || bad)
        throw new Error(
            `${file}: not bench results${bad ? ` (row ${JSON.stringify(bad.id)})` : ""}; run npm run bench`,
        );
    return parsed;
}

/** The row of `id`; fails naming the ids there are. */
export function benchRow(results: BenchResults, id: string): BenchRow {
    const row = results.rows.find((candidate) => candidate.id === id);
    if (!row) throw new Error(`no bench row ${id} (have ${results.rows.map((r) => r.id).join(", ")})`);
    return row;
}

const figure = (value: number | undefined, unit = "") =>
    value === undefined
        ? ""
        : `${Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(value >= 10 ? 1 : 2)}${unit && ` ${unit}`}`;

function describeTarget(target: Target | undefined, unit: string): string {
    if (!target) return "";
    const bound = target.atMost !== undefined ? `≤ ${target.atMost}` : `≥ ${target.atLeast}`;
    if (target.of === "ratio") return `ratio ${bound}`;
    return target.of === "difference" ? `adds ${bound} ${unit}` : `${bound} ${unit}`;
}

/** The rows as the Markdown table README quotes. */
export function benchTable(rows: BenchRow[]): string {
    const lines = ["| measure | ours | reference | ratio | target | met |", "| --- | ---: | ---: | ---: | --- | --- |"];
    for (const row of rows)
        lines.push(
            `| ${row.what} | ${figure(row.measured, row.unit)} | ${figure(row.baseline, row.unit)} | ${figure(row.ratio)} | ${describeTarget(row.target, row.unit)} | ${row.pass === undefined ? "" : row.pass ? "yes" : "NO"} |`,
        );
    return lines.join("\n");
}
