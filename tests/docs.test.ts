/**
 * README.md and docs/ kept true: README short and holding the two set-up commands, every docs page linked from it,
 * every link resolving (the file, and the heading its #anchor names), the config reference generated from the
 * schema, and every `npm run <script>` they name one that package.json has.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { withReference } from "../config/reference";
import { CONFIG_REFERENCE_PAGE } from "../commands/docsConfig";

const ROOT = path.join(__dirname, "..");
const DOCS = path.join(ROOT, "docs");
/** Every page: README.md and docs/*.md, by path from the project root. */
const PAGES = [
    "README.md",
    ...readdirSync(DOCS)
        .filter((f) => f.endsWith(".md"))
        .map((f) => `docs/${f}`),
];
const read = (page: string) => readFileSync(path.join(ROOT, page), "utf8");

/** What a reader sees of a page's Markdown: its fenced code blocks and inline code taken out. */
function prose(markdown: string): string {
    return markdown.replace(/^```[\s\S]*?^```/gm, "").replace(/`[^`\n]*`/g, "");
}

/** The anchors of a page's headings, as GitHub makes them (lower case, punctuation dropped, spaces to hyphens). */
export function anchors(markdown: string): Set<string> {
    const seen = new Map<string, number>();
    const found = new Set<string>();
    for (const line of markdown.replace(/^```[\s\S]*?^```/gm, "").split("\n")) {
        const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
        if (!heading) continue;
        const base = heading[1]
            .toLowerCase()
            .replace(/[^\p{L}\p{N}\s_-]/gu, "")
            .replace(/ /g, "-");
        const count = seen.get(base) ?? 0;
        seen.set(base, count + 1);
        found.add(count === 0 ? base : `${base}-${count}`);
    }
    return found;
}

/** The relative links of a page: `[text](target)` outside code, without external URLs. */
function relativeLinks(markdown: string): string[] {
    return [...prose(markdown).matchAll(/\]\(([^)\s]+)\)/g)]
        .map((m) => m[1])
        .filter((target) => !/^[a-z][a-z+.-]*:/i.test(target));
}

describe("README", () => {
    const readme = read("README.md");

    it("is one a new user reads in five minutes: 12 KB at most", () => {
        expect(Buffer.byteLength(readme)).toBeLessThanOrEqual(12 * 1024);
    });

    it("gives the two set-up commands", () => {
        expect(readme).toContain("pulumi up --stack");
        expect(readme).toContain("npm test");
    });

    it("links every docs page", () => {
        const linked = new Set(relativeLinks(readme).map((target) => target.split("#")[0]));
        expect(PAGES.filter((page) => page !== "README.md" && !linked.has(page))).toEqual([]);
    });
});

describe("docs/", () => {
    it.each(PAGES.filter((page) => page.startsWith("docs/")))(
        "%s starts with its title and a paragraph that says what its reader wants to do there",
        (page) => {
            const [title, blank, first] = read(page).split("\n");
            expect(title).toMatch(/^# \S/);
            expect(blank).toBe("");
            // Prose, not a heading, a list, a table or code, at once.
            expect(first).toMatch(/^[A-Z]/);
        },
    );

    it("has the config reference generated from the schema (run npm run docs:config after changing it)", () => {
        expect(path.relative(ROOT, CONFIG_REFERENCE_PAGE)).toBe("docs/configuration.md");
        const page = read("docs/configuration.md");
        expect(page).toBe(withReference(page));
    });
});

describe("README and docs/", () => {
    it.each(PAGES)("%s: every link resolves, to the file and to the heading it names", (page) => {
        const broken: string[] = [];
        for (const target of relativeLinks(read(page))) {
            const [file, anchor] = target.split("#");
            const resolved = file ? path.join(path.dirname(path.join(ROOT, page)), file) : path.join(ROOT, page);
            if (!existsSync(resolved)) broken.push(`${target}: no file ${path.relative(ROOT, resolved)}`);
            else if (anchor !== undefined && !anchors(readFileSync(resolved, "utf8")).has(anchor))
                broken.push(`${target}: no heading #${anchor} in ${path.relative(ROOT, resolved)}`);
        }
        expect(broken).toEqual([]);
    });

    it.each(PAGES)("%s: every npm run names a script of package.json, every npx a command it has", (page) => {
        const pkg = JSON.parse(read("package.json")) as {
            scripts: Record<string, string>;
            bin: Record<string, string>;
        };
        const text = read(page);
        const scripts = [...text.matchAll(/npm run (?:-s |--silent )?([a-z][\w:-]*)/g)].map((m) => m[1]);
        const bins = [...text.matchAll(/npx ([a-z][\w-]*)/g)].map((m) => m[1]);
        expect(scripts.filter((script) => !(script in pkg.scripts))).toEqual([]);
        // npx runs this project's own bin, or one of its dependencies' (jest).
        expect(
            bins.filter((bin) => !(bin in pkg.bin) && !existsSync(path.join(ROOT, "node_modules", ".bin", bin))),
        ).toEqual([]);
    });

    it("knows a heading's anchor as GitHub makes it", () => {
        expect([
            ...anchors("# Proofs\n## Proving it end to end: `npm run test:e2e`\n## What `up` does, in order\n"),
        ]).toEqual(["proofs", "proving-it-end-to-end-npm-run-teste2e", "what-up-does-in-order"]);
        expect([...anchors("## A\n```\n# not a heading\n```\n## A\n")]).toEqual(["a", "a-1"]);
    });
});
