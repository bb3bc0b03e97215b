/**
 * Routing by content: the `ai-gateway:routing` key and the decision spec the generated classifiers read.
 *
 * Clients ask for the virtual model `auto`; a hook in LiteLLM (routing/hook.ts) and, for operators who
 * want the choice in the UI, an Open WebUI filter (routing/filter.ts) pick a group for each prompt:
 * keyword and pattern rules first, then similarity to example prompts when an embedding model is configured,
 * else the default group. The rules that span other keys are in routing/checks.ts, the spec the classifiers read in routing/spec.ts.
 */
import { z } from "zod";
import { modelTag, name } from "../config/primitives";

/** The model name clients ask for to have the prompt routed by content. */
export const AUTO_MODEL = "auto";
/** The hook module LiteLLM loads from the directory of its config file. */
export const ROUTING_HOOK_FILE = "routing_hook.py";
/** `module.instance` of the hook, as LiteLLM's `litellm_settings.callbacks` names it. */
export const ROUTING_HOOK_CALLBACK = "routing_hook.route_by_content";
/** The Open WebUI filter function file, shipped into the Open WebUI container for a manual install. */
export const ROUTING_FILTER_FILE = "route_by_content.py";

const DEFAULT_THRESHOLD = 0.6;
const DEFAULT_EMBEDDING_TIMEOUT_MS = 2000;

/**
 * Whitespace to either language: what JavaScript's trim removes and what Python's str.split and str.strip do
 * (Python adds the separators \x1c-\x1f and NEL \x85; JavaScript adds the BOM \ufeff).
 */
const WHITESPACE_IN_EITHER = /^[\s\x1c-\x1f\x85]*$/u;

const nonEmptyText = (what: string) =>
    z.string({ error: `is not ${what} (a non-empty string)` }).refine((s) => !WHITESPACE_IN_EITHER.test(s), {
        error: `is not ${what} (a non-empty string: it has nothing but whitespace, as Python reads it)`,
    });

const route = z
    .strictObject({
        name: z
            .string({ error: "is not a route name" })
            .regex(/^[a-z][a-z0-9-]{0,39}$/, {
                error: 'is not a valid route name (lower-case letters, digits and "-", starting with a letter)',
            })
            .describe("Route name, shown in the decision header and log line."),
        group: name("group").describe("The group a prompt that takes this route goes to."),
        keywords: z
            .array(nonEmptyText("a keyword"))
            .default([])
            .describe("Words or phrases that pick this route, matched as whole words, ignoring case."),
        patterns: z
            .array(z.string({ error: "is not a pattern" }).refine(isPortablePattern, { error: describePattern }))
            .default([])
            .describe("Regular expressions that pick this route (Python `re`, the subset docs/routing.md lists)."),
        examples: z
            .array(nonEmptyText("an example prompt"))
            .default([])
            .describe("Example prompts of this route, compared by embedding when no rule decides."),
    })
    .describe("One route: its group and the signals that pick it.");

/** The `ai-gateway:routing` key; routing by content is off when it is absent. */
export const routingKey = z
    .strictObject({
        default: name("group").describe("The group a prompt goes to when no route decides, or on any failure."),
        routes: z.array(route).min(1, { error: "lists no route (give at least one)" }).describe("The routes."),
        embedding: z
            .strictObject({
                model: modelTag.describe("Embedding model, pulled by one of the Ollama instances."),
                threshold: z
                    .number({ error: "is not a similarity threshold (a number from 0 to 1)" })
                    .min(0, { error: "is not a similarity threshold (a number from 0 to 1)" })
                    .max(1, { error: "is not a similarity threshold (a number from 0 to 1)" })
                    .default(DEFAULT_THRESHOLD)
                    .describe("Cosine similarity a prompt needs with an example to take that example's route."),
                timeoutMs: z
                    .number({ error: "is not a timeout in milliseconds (a whole number, 1 or more)" })
                    .int({ error: "is not a timeout in milliseconds (a whole number, 1 or more)" })
                    .min(1, { error: "is not a timeout in milliseconds (a whole number, 1 or more)" })
                    .default(DEFAULT_EMBEDDING_TIMEOUT_MS)
                    .describe("How long one embedding call may take before the default group is used."),
            })
            .optional()
            .describe("Similarity to the routes' examples, used only when no keyword or pattern decides."),
    })
    .optional()
    .describe("Routing by content: what the virtual model `auto` sends where. Off when absent.");

/** The validated `ai-gateway:routing` key, when it is set. */
export type RoutingConfig = NonNullable<z.output<typeof routingKey>>;

/**
 * Regex constructs that JavaScript (where the config is checked) and Python (where it runs) read differently
 * or only one of them reads. Everything else is refused by compiling in JavaScript's strict `u` mode.
 */
const UNPORTABLE_ESCAPES: Record<string, string> = {
    p: "Unicode property escapes (\\p{...})",
    P: "Unicode property escapes (\\P{...})",
    k: "named back-references (\\k<...>)",
    c: "control escapes (\\cX)",
};

/** Repeat counts above this are refused: Python raises OverflowError past 4294967295, and nobody needs more. */
export const MAX_REPEAT_COUNT = 1000;
/** A group that repeats or has alternatives may itself be repeated this often (`(?:\d{1,3}\.){3}`), not more. */
const MAX_SAFE_GROUP_REPEAT = 10;
/** Groups nested deeper are refused: Python's parser recurses per group and fails around a few hundred. */
export const MAX_GROUP_DEPTH = 20;

/** A quantifier at `i`: its greatest count (Infinity when unbounded), its largest written number, its length. */
function quantifierAt(pattern: string, i: number): { max: number; largest: number; length: number } | undefined {
    const lazy = (end: number) => (pattern[end] === "?" ? 1 : 0);
    if (pattern[i] === "*" || pattern[i] === "+") return { max: Infinity, largest: 0, length: 1 + lazy(i + 1) };
    if (pattern[i] === "?") return { max: 1, largest: 0, length: 1 + lazy(i + 1) };
    const braces = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
    if (!braces) return undefined;
    const least = Number(braces[1]);
    const most = braces[2] === undefined ? least : braces[3] === "" ? Infinity : Number(braces[3]);
    const largest = Math.max(least, Number.isFinite(most) ? most : 0);
    return { max: most, largest, length: braces[0].length + lazy(i + braces[0].length) };
}

/**
 * Why a pattern can take exponential time or crash Python's parser, or undefined: a group that itself holds a
 * repeat (`(\w+\s?)+`) or alternatives (`(a|ab)*`) repeated more than MAX_SAFE_GROUP_REPEAT times, a repeat
 * count above MAX_REPEAT_COUNT, groups nested deeper than MAX_GROUP_DEPTH. Run on patterns that compile; the
 * router also bounds each decision's time, for what this cannot see (e.g. `\w*\w*\w*x`, polynomial).
 */
export function riskyPatternReason(pattern: string): string | undefined {
    /** What a group holds: a repeat (of more than one) or an alternation, anywhere inside it. */
    type Group = { repeats: boolean; alternates: boolean };
    const open: Group[] = [{ repeats: false, alternates: false }];
    for (let i = 0; i < pattern.length; i++) {
        let closed: Group | undefined;
        const c = pattern[i];
        if (c === "\\") i++;
        else if (c === "[") {
            // Skip the class: "]" right after "[" or "[^" is a literal, "\" escapes the next character.
            i += pattern[i + 1] === "^" ? 2 : 1;
            if (pattern[i] === "]") i++;
            while (i < pattern.length && pattern[i] !== "]") i += pattern[i] === "\\" ? 2 : 1;
        } else if (c === "(") {
            open.push({ repeats: false, alternates: false });
            if (open.length - 1 > MAX_GROUP_DEPTH)
                return `nests groups more than ${MAX_GROUP_DEPTH} deep (Python's parser fails on deep nesting)`;
            if (pattern[i + 1] === "?") i += 2;
            continue;
        } else if (c === ")") {
            closed = open.pop();
        } else if (c === "|") {
            open[open.length - 1].alternates = true;
            continue;
        }
        const parent = open[open.length - 1];
        const quantifier = quantifierAt(pattern, i + 1);
        if (quantifier) {
            if (quantifier.largest > MAX_REPEAT_COUNT)
                return `repeats ${quantifier.largest} times (at most ${MAX_REPEAT_COUNT})`;
            if (quantifier.max > MAX_SAFE_GROUP_REPEAT && closed && (closed.repeats || closed.alternates))
                return (
                    `repeats a group that itself ${closed.repeats ? "repeats" : "has alternatives"} ` +
                    "(nested or overlapping quantifiers can take exponential time on a short prompt): " +
                    "rewrite it without repeating such a group"
                );
            if (quantifier.max > 1) parent.repeats = true;
            i += quantifier.length;
        }
        if (closed?.repeats) parent.repeats = true;
    }
    return undefined;
}

/** Why a pattern is outside the portable subset, or undefined when it is inside. */
export function unportablePatternReason(pattern: string): string | undefined {
    let inClass = false;
    for (let i = 0; i < pattern.length; i++) {
        const c = pattern[i];
        if (c === "\\") {
            const escaped = pattern[i + 1];
            if (UNPORTABLE_ESCAPES[escaped]) return `uses ${UNPORTABLE_ESCAPES[escaped]}`;
            if (escaped === "u" && pattern[i + 2] === "{") return "uses code point escapes (\\u{...})";
            i++;
        } else if (inClass) {
            if (c === "]") inClass = false;
        } else if (c === "[") {
            if (pattern[i + 1] === "]" || pattern.startsWith("^]", i + 1)) return "uses an empty class ([] or [^])";
            inClass = true;
            if (pattern[i + 1] === "^") i++;
            if (pattern[i + 1] === "]") i++;
        } else if (c === "(" && pattern[i + 1] === "?" && !":=!".includes(pattern[i + 2])) {
            return 'uses "(?" other than (?:...), (?=...) and (?!...) (no named groups, lookbehind or inline flags)';
        }
    }
    try {
        new RegExp(pattern, "iu");
    } catch (err) {
        // V8 words it "Invalid regular expression: /<pattern>/iu: <cause>": the value is shown already.
        return `does not compile (${(err as Error).message.replace(/^.*\/iu: /, "")})`;
    }
    return riskyPatternReason(pattern);
}

function isPortablePattern(pattern: string): boolean {
    return unportablePatternReason(pattern) === undefined;
}

function describePattern(issue: { input?: unknown }): string {
    const reason = typeof issue.input === "string" ? unportablePatternReason(issue.input) : undefined;
    return `is not a portable pattern: it ${reason ?? "is not a string"}`;
}
