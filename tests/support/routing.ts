/** Runs generated routing modules under python3 for the tests, through tests/support/routing_driver.py. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { StackConfigInput } from "../../config/stackKeys";

/** One decision of the generated classifier. */
export interface Decision {
    /** The route taken, or null for the default group. */
    route: string | null;
    /** The group the prompt goes to. */
    group: string;
    /** Why, in words. */
    reason: string;
}

/** Runs `routing_driver.py <module> <mode>` on a generated module's source, with `input` as JSON on stdin. */
export function runGenerated<T>(source: string, mode: string, input: unknown): T {
    const dir = mkdtempSync(path.join(tmpdir(), "routing-"));
    try {
        const file = path.join(dir, "generated.py");
        writeFileSync(file, source);
        const result = spawnSync("python3", [path.join(__dirname, "routing_driver.py"), file, mode], {
            input: JSON.stringify(input),
            encoding: "utf8",
            timeout: 60_000,
        });
        if (result.status !== 0) throw new Error(`python3 ${mode} failed (${result.status}): ${result.stderr}`);
        return JSON.parse(result.stdout) as T;
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

/** A stack with a coder, a generalist and a search group, routed by content like the dev stack. */
export function routedConfig(overrides: Partial<StackConfigInput> = {}): StackConfigInput {
    return {
        hosts: [
            {
                name: "box",
                ollama: [
                    { name: "ollama", port: 11434, models: ["llama3.2:3b", "nomic-embed-text:v1.5"] },
                    { name: "ollama-coder", port: 11435, models: ["qwen2.5-coder:7b"] },
                ],
            },
        ],
        groups: { general: ["llama3.2:3b"], code: ["qwen2.5-coder:7b"], search: ["llama3.2:3b"] },
        routing: {
            default: "general",
            routes: [
                {
                    name: "code",
                    group: "code",
                    keywords: ["python", "javascript", "rust", "function", "bug", "unit test", "代码"],
                    patterns: ["```", "\\bdef\\s+\\w+\\s*\\("],
                    examples: ["turn an iso date string into a timestamp", "why does this code throw an exception"],
                },
                {
                    name: "summary",
                    group: "general",
                    keywords: ["summarize", "tl;dr", "résumé", "zusammenfassung", "要約"],
                    examples: ["give me the main points of this article"],
                },
                {
                    name: "search",
                    group: "search",
                    keywords: ["search", "latest news", "look up"],
                    examples: ["what is the current price of a used bike"],
                },
            ],
            embedding: { model: "nomic-embed-text:v1.5", threshold: 0.5 },
        },
        ...overrides,
    };
}
