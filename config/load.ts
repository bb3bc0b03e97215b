/**
 * Turns the raw stack config (what `pulumi.runtime.allConfig()` returns, or a `Pulumi.<stack>.yaml`)
 * into a validated `StackConfig`, or into one readable line per problem.
 */
import { z } from "zod";
import { PROJECT, formatPath, maskUrlUserinfo } from "./primitives";
import { SECRET_KEYS, StackConfig } from "./stackKeys";
import { TargetProblem, targetProblems } from "./targetChecks";
import { stackSchema } from "./schema";

/** A config that failed validation; `problems` holds one line per problem, ready to print. */
export class ConfigError extends Error {
    constructor(public readonly problems: string[]) {
        super(`invalid stack config:\n${problems.join("\n")}`);
        this.name = "ConfigError";
    }
}

/**
 * Validates the `ai-gateway:*` keys of a flat Pulumi config map (`"ai-gateway:router" -> "{...}"`).
 * Keys of other namespaces (`docker:*`, `pulumi:*`) are not ours and are ignored. `secretKeys` are the keys
 * stored encrypted (`pulumi config set --secret`): a secret key stored in plain text is refused.
 * Throws `ConfigError` listing every problem at once.
 */
export function loadStackConfig(flat: Record<string, string>, secretKeys: readonly string[]): StackConfig {
    const raw: Record<string, unknown> = {};
    const problems: string[] = [];
    for (const [key, value] of Object.entries(flat)) {
        if (!key.startsWith(`${PROJECT}:`)) continue;
        const name = key.slice(PROJECT.length + 1);
        // Defined, not assigned: `raw["__proto__"] = ...` would replace raw's prototype and the key would vanish.
        Object.defineProperty(raw, name, {
            value: SECRET_KEYS.includes(name) ? value : parseValue(value),
            enumerable: true,
            writable: true,
            configurable: true,
        });
        // The value itself is never shown: it is in plain text already, in a file that is often committed.
        if (SECRET_KEYS.includes(name) && !secretKeys.includes(key))
            problems.push(
                `${key}: is stored in plain text in the stack file: remove it (pulumi config rm ${name}) and set it ` +
                    `as a secret with pulumi config set --secret ${name} <value>`,
            );
    }
    try {
        const config = validateStackConfig(raw);
        if (problems.length === 0) return config;
    } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        problems.push(...err.problems);
    }
    throw new ConfigError(problems);
}

/** Validates an already structured config object (the `ai-gateway:` prefix removed from its keys). */
export function validateStackConfig(raw: Record<string, unknown>): StackConfig {
    const result = stackSchema.safeParse(raw, { error: describeIssue, reportInput: true });
    const protoKeys = protoKeyProblems(raw);
    const refused = result.success ? targetProblems(raw, result.data).map(formatTargetProblem) : [];
    if (result.success && protoKeys.length === 0 && refused.length === 0) return result.data;
    throw new ConfigError([
        ...(result.error?.issues.flatMap((issue) => formatIssue(issue, raw)) ?? []),
        ...protoKeys,
        ...refused,
    ]);
}

function formatTargetProblem({ path, message, value }: TargetProblem): string {
    return value === undefined ? `${fullKey(path)}: ${message}` : `${fullKey(path)}: ${show(value)} ${message}`;
}

/**
 * A map key `__proto__` (a group or a fallback of that name): zod leaves it out of the result without an issue,
 * as assigning it would replace the result's prototype, so the group would vanish. It is refused here with what
 * the key's own schema says of it. In an object of fixed keys zod reports it as an unknown key itself.
 */
function protoKeyProblems(raw: unknown): string[] {
    const problems: string[] = [];
    const walk = (node: unknown, path: (string | number)[]) => {
        if (node === null || typeof node !== "object") return;
        for (const key of Object.keys(node)) {
            const child = Object.getOwnPropertyDescriptor(node, key)!.value;
            const at = [...path, Array.isArray(node) ? Number(key) : key];
            if (key === "__proto__") {
                const schema = schemaAt(path);
                const def = schema && (schema._zod.def as unknown as Record<string, unknown>);
                if (def?.type !== "record") continue;
                const keyCheck = (def.keyType as z.ZodType).safeParse(key, { error: describeIssue });
                const why = keyCheck.success ? "is not allowed as a key" : keyCheck.error.issues[0].message;
                problems.push(`${fullKey(at)}: ${JSON.stringify(key)} ${why}`);
            } else walk(child, at);
        }
    };
    walk(raw, []);
    return problems;
}

/** Structured values arrive as JSON text; scalars as plain text that may be a number or a boolean. */
function parseValue(value: string): unknown {
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}

/** Messages for the issues the schema does not word itself; each follows the offending value. */
function describeIssue(issue: z.core.$ZodRawIssue): string {
    switch (issue.code) {
        case "invalid_type":
            return issue.input === undefined ? "is required" : `is not ${article(issue.expected)}`;
        case "invalid_value":
            return `is not one of ${issue.values.map((v) => JSON.stringify(v)).join(" | ")}`;
        case "too_small":
            return `is too small (minimum ${issue.minimum})`;
        case "too_big":
            return `is too big (maximum ${issue.maximum})`;
        default:
            return "is not allowed here";
    }
}

function article(type: string): string {
    if (type === "record" || type === "object") return "a map of keys to values";
    if (type === "array") return "a list";
    return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function formatIssue(issue: z.core.$ZodIssue, raw: Record<string, unknown>): string[] {
    if (issue.code === "unrecognized_keys") {
        const allowed = allowedKeysAt(issue.path);
        return issue.keys.map(
            (key) =>
                `${fullKey([...issue.path, key])}: unknown key${allowed ? ` (allowed: ${allowed.join(", ")})` : ""}`,
        );
    }
    // Record keys that fail their own pattern are reported on the key, not on a value.
    if (issue.code === "invalid_key") {
        return [
            `${fullKey(issue.path)}: ${JSON.stringify(issue.path[issue.path.length - 1])} ${issue.issues[0]?.message ?? "is not a valid key"}`,
        ];
    }
    if (issue.code === "custom" && issue.params?.aboutKey) return [`${fullKey(issue.path)}: ${issue.message}`];
    const value = valueAt(raw, issue.path) ?? (issue as { input?: unknown }).input;
    const shown = isSecretPath(issue.path) ? "[secret]" : show(value);
    return [
        value === undefined
            ? `${fullKey(issue.path)}: ${issue.message}`
            : `${fullKey(issue.path)}: ${shown} ${issue.message}`,
    ];
}

function fullKey(path: readonly PropertyKey[]): string {
    return path.length === 0 ? `${PROJECT}:<root>` : `${PROJECT}:${formatPath(path)}`;
}

function isSecretPath(path: readonly PropertyKey[]): boolean {
    return SECRET_KEYS.includes(String(path[0]));
}

/** The value at `path`, through own keys only: `groups.constructor` is the group, never Object's constructor. */
function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
    let node: unknown = raw;
    for (const part of path) {
        if (node === null || typeof node !== "object" || !Object.hasOwn(node, part)) return undefined;
        node = Object.getOwnPropertyDescriptor(node, part)!.value;
    }
    return node;
}

/** A value as messages show it: JSON, shortened, a URL's user name and password masked. */
function show(value: unknown): string {
    const text = JSON.stringify(typeof value === "string" ? maskUrlUserinfo(value) : value) ?? String(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The keys an object in the schema accepts at `path`, for "unknown key" messages. */
function allowedKeysAt(path: readonly PropertyKey[]): string[] | undefined {
    const node = schemaAt(path);
    const def = node?._zod.def as unknown as Record<string, unknown> | undefined;
    return def?.type === "object" ? Object.keys(def.shape as object) : undefined;
}

/** The schema of the value at `path`, looked through defaults and refinements; undefined outside the schema. */
function schemaAt(path: readonly PropertyKey[]): z.core.$ZodType | undefined {
    let node: z.core.$ZodType = stackSchema;
    for (const part of path) {
        node = unwrap(node);
        const def = node._zod.def as unknown as Record<string, unknown>;
        const shape = def.shape as Record<string, z.core.$ZodType> | undefined;
        if (def.type === "object") {
            if (!Object.hasOwn(shape!, String(part))) return undefined;
            node = shape![String(part)];
        } else if (def.type === "array") node = def.element as z.core.$ZodType;
        else if (def.type === "record") node = def.valueType as z.core.$ZodType;
        else return undefined;
        if (!node) return undefined;
    }
    return unwrap(node);
}

/** Looks through defaults, optionals and refinements to the schema underneath. */
function unwrap(node: z.core.$ZodType): z.core.$ZodType {
    for (;;) {
        const def = node._zod.def as unknown as Record<string, unknown>;
        if (def.innerType) node = def.innerType as z.core.$ZodType;
        else if (def.type === "pipe") node = def.in as z.core.$ZodType;
        else return node;
    }
}
