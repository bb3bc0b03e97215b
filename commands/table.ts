/** Plain-text tables for terminals: columns padded to their widest cell, no colours, so they paste anywhere. */

/** Formats rows under a header; every row has one cell per header column. */
export function formatTable(header: string[], rows: string[][]): string {
    const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
    const line = (cells: string[]) =>
        cells
            .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column])))
            .join("  ")
            .trimEnd();
    return [line(header), ...rows.map(line)].join("\n") + "\n";
}

/** Milliseconds as operators read them: `12 ms`, `3.4 s`. */
export function formatDuration(ms: number): string {
    return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
