/**
 * The Python both routing classifiers are made of: the LiteLLM hook (routing/hook.ts) and the Open WebUI
 * filter (routing/filter.ts) are the same classifier, stdlib only, with the decision spec rendered in as a
 * literal and a different wrapper around it. Pure: the same config always gives the same text.
 */
import { Vantage, baseUrl } from "../model/addressing";
import { ollamaReachable } from "../model/ollama";
import { routingEmbeddingInstance } from "../model/plan";
import { RoutingSpec, routingSpec } from "./spec";
import { StackConfig } from "../config/stackKeys";
import { CLASSIFIER, CLASSIFIER_IMPORTS, RULES, RULES_PROCESS_MAIN } from "./classifierPython";

/**
 * Text Open WebUI replaces wherever it is in a function's source before running it (0.12.4,
 * open_webui/utils/plugin.py `replace_imports`: "from main" becomes "from open_webui.main"), which would change
 * a keyword, pattern or example that holds it. The same list as providers/openWebUIFunction.ts's check.
 */
const REWRITTEN_BY_OPEN_WEBUI = /from (?=utils|apps|main|config)/g;

/**
 * A string as a Python literal: its JSON form (JSON strings are valid Python strings), with the space of
 * "from main" and its kind written `\u0020`, so the text Open WebUI rewrites never appears and the value stays
 * the same. A space is never part of an escape, so this is safe wherever the match starts.
 */
function pythonString(text: string): string {
    return JSON.stringify(text).replace(REWRITTEN_BY_OPEN_WEBUI, "from\\u0020");
}

/** A JSON-like value as a Python literal. */
export function pythonLiteral(value: unknown, indent = ""): string {
    const inner = `${indent}    `;
    if (value === null || value === undefined) return "None";
    if (typeof value === "boolean") return value ? "True" : "False";
    if (typeof value === "number") return JSON.stringify(value);
    if (typeof value === "string") return pythonString(value);
    if (Array.isArray(value)) {
        if (value.length === 0) return "[]";
        return `[\n${value.map((item) => `${inner}${pythonLiteral(item, inner)},`).join("\n")}\n${indent}]`;
    }
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return "{}";
    return `{\n${entries.map(([k, v]) => `${inner}${pythonString(k)}: ${pythonLiteral(v, inner)},`).join("\n")}\n${indent}}`;
}

/** The decision spec for a classifier running at `from`: the embedding model's instance as reached from there. */
export function classifierSpec(config: StackConfig, from: Vantage): RoutingSpec {
    const routing = config.routing!;
    const model = routing.embedding?.model;
    const embedding = model ? routingEmbeddingInstance(config, model) : undefined;
    return routingSpec(routing, embedding && baseUrl(from, ollamaReachable(embedding.host, embedding.instance)));
}

/** The parts of one generated classifier file. */
export interface ClassifierModule {
    /** The module docstring, first in the file (Open WebUI reads its frontmatter there), without quotes. */
    docstring: string;
    /** Imports the wrapper needs besides the classifier's. */
    imports: string[];
    /** The decision spec rendered into the file. */
    spec: RoutingSpec;
    /** The code after the classifier: what the host process (LiteLLM, Open WebUI) calls. */
    wrapper: string;
}

/** `import x` lines before `from x import y` lines, each kind in alphabetical order. */
function byImportKind(a: string, b: string): number {
    return Number(a.startsWith("from ")) - Number(b.startsWith("from ")) || a.localeCompare(b);
}

/** A complete, self-contained Python module: docstring, imports, classifier, spec, wrapper. */
export function renderClassifierModule({ docstring, imports, spec, wrapper }: ClassifierModule): string {
    return (
        [
            `"""\n${docstring.trim()}\n"""`,
            [...CLASSIFIER_IMPORTS, ...imports].sort(byImportKind).join("\n"),
            "# The rules as source: run here, and in the rules' process (RulesProcess) for every request.\n" +
                `RULES_SOURCE = r'''\n${RULES.trim()}\n'''\n` +
                `RULES_PROCESS_MAIN = r'''\n${RULES_PROCESS_MAIN.trim()}\n'''\n` +
                `exec(compile(RULES_SOURCE, "<ai-gateway routing rules>", "exec"))`,
            CLASSIFIER.trim(),
            `ROUTING = ${pythonLiteral(spec)}\nROUTES = compile_routes(ROUTING)\nRULES_PROCESS = RulesProcess(ROUTING)\n` +
                `EXAMPLES = ExampleIndex(ROUTING, OllamaEmbed(ROUTING["embedding"])) if ROUTING["embedding"] else None`,
            String.raw`
def classify(text, examples=EXAMPLES):
    """The decision for one prompt under this stack's routes, in this process (tests)."""
    return decide(text, ROUTES, ROUTING["defaultGroup"], examples)


async def classify_async(text, use_examples=True):
    """
    The decision for a request, on an event loop: the rules in their own process (RulesProcess), the
    embedding call in a thread.
    """
    made = await RULES_PROCESS.decide(text)
    if use_examples and EXAMPLES is not None and made["reason"] == NO_RULE_MATCHED:
        made = await asyncio.to_thread(decide_by_examples, clip(text), ROUTING["defaultGroup"], EXAMPLES)
    return made


async def decide_request(body, use_examples=True):
    """The decision for a request body; never raises: any failure is a decision for the default group."""
    try:
        return await classify_async(prompt_text(body), use_examples)
    except Exception as err:
        return decision(None, ROUTING["defaultGroup"], "routing failed (%s)" % _short(repr(err)))
`.trim(),
            wrapper.trim(),
        ].join("\n\n\n") + "\n"
    );
}
