/**
 * The shape of the code base: no module imports itself through others (type-only imports count: a circle of
 * types is a circle of meaning), and no source file grows past what a reader takes in at once.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..");
/** The program's source: everything but the tests, the tools around them and the packages. */
const SOURCE_DIRS = ["config", "routing", "model", "targets", "providers", "commands"];
const MAX_LINES = 400;
/**
 * A dynamic provider is serialized with everything it uses, and an imported module would be captured whole: its
 * code stays in one self-contained file, however long.
 */
const SELF_CONTAINED = /^providers\//;

function sourceFiles(): string[] {
    const files = ["index.ts"];
    const walk = (dir: string) => {
        for (const entry of readdirSync(path.join(ROOT, dir))) {
            const relative = path.join(dir, entry);
            if (statSync(path.join(ROOT, relative)).isDirectory()) walk(relative);
            else if (entry.endsWith(".ts")) files.push(relative);
        }
    };
    SOURCE_DIRS.forEach(walk);
    return files.sort();
}

/** The project files a file imports: `import`, `import type`, `export ... from` and `require` of a relative path. */
export function relativeImports(file: string, text: string, exists: (candidate: string) => boolean): string[] {
    const specifiers = [...text.matchAll(/(?:\bfrom|\bimport|\brequire)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)].map(
        (m) => m[1],
    );
    return specifiers.flatMap((specifier) => {
        const base = path.normalize(path.join(path.dirname(file), specifier));
        const found = [`${base}.ts`, path.join(base, "index.ts"), base].find(exists);
        return found ? [found] : [];
    });
}

/** The import circles of a graph: its strongly connected components of more than one file, or a file importing itself. */
export function importCircles(graph: Map<string, string[]>): string[][] {
    let counter = 0;
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const circles: string[][] = [];
    const visit = (node: string) => {
        index.set(node, counter);
        low.set(node, counter++);
        stack.push(node);
        onStack.add(node);
        for (const next of graph.get(node) ?? []) {
            if (!index.has(next)) {
                visit(next);
                low.set(node, Math.min(low.get(node)!, low.get(next)!));
            } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, index.get(next)!));
        }
        if (low.get(node) !== index.get(node)) return;
        const component: string[] = [];
        let member: string;
        do {
            member = stack.pop()!;
            onStack.delete(member);
            component.push(member);
        } while (member !== node);
        if (component.length > 1 || (graph.get(node) ?? []).includes(node)) circles.push(component.sort());
    };
    for (const node of graph.keys()) if (!index.has(node)) visit(node);
    return circles;
}

describe("the code base", () => {
    const files = sourceFiles();
    const texts = new Map(files.map((file) => [file, readFileSync(path.join(ROOT, file), "utf8")]));

    it("has no import circle, type-only imports included", () => {
        const known = new Set(files);
        const graph = new Map(
            files.map((file) => [file, relativeImports(file, texts.get(file)!, (c) => known.has(c))]),
        );
        expect(importCircles(graph)).toEqual([]);
    });

    it(`has no source file over ${MAX_LINES} lines, but the self-contained dynamic providers`, () => {
        const long = files
            .filter((file) => !SELF_CONTAINED.test(file))
            .map((file) => `${file}: ${texts.get(file)!.split("\n").length} lines`)
            .filter((line) => Number(/(\d+) lines$/.exec(line)![1]) > MAX_LINES);
        expect(long).toEqual([]);
    });

    it("finds a circle and a long file when there is one (the checks themselves)", () => {
        expect(
            importCircles(
                new Map([
                    ["a", ["b"]],
                    ["b", ["c"]],
                    ["c", ["a"]],
                    ["d", ["a"]],
                ]),
            ),
        ).toEqual([["a", "b", "c"]]);
        expect(importCircles(new Map([["a", ["a"]]]))).toEqual([["a"]]);
        expect(
            relativeImports("x/a.ts", 'import type { T } from "../y/b";\nconst c = require("./c");', () => true),
        ).toEqual(["y/b.ts", "x/c.ts"]);
    });
});
