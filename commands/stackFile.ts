/**
 * Reads a stack config file (`Pulumi.<stack>.yaml`) the way the Pulumi engine hands it to the program:
 * a flat map of `namespace:key` to text, structured values as JSON.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { PROJECT } from "../config/primitives";
import { SECRET_PLACEHOLDER } from "./evaluate";

/** The project directory: where `Pulumi.yaml` and the stack files are. */
export const PROJECT_DIR = path.resolve(__dirname, "..");

export interface StackFile {
    /** Flat config as the program receives it; encrypted values are replaced by the secret placeholder. */
    config: Record<string, string>;
    /** Keys whose values are secrets (`secure:` in the file). */
    secretKeys: string[];
}

/** The stacks that have a config file in the project directory. */
export function listStacks(dir = PROJECT_DIR): string[] {
    return readdirSync(dir)
        .map((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1])
        .filter((stack): stack is string => stack !== undefined)
        .sort();
}

/** Reads `Pulumi.<stack>.yaml`; throws a one-line error naming the stacks that exist when it is missing. */
export function readStackFile(stack: string, dir = PROJECT_DIR): StackFile {
    const file = path.join(dir, `Pulumi.${stack}.yaml`);
    if (!existsSync(file))
        throw new Error(
            `no stack config ${path.basename(file)} (stacks here: ${listStacks(dir).join(", ") || "none"})`,
        );
    const document = (parse(readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [rawKey, rawValue] of Object.entries(document.config ?? {})) {
        // A key without a namespace belongs to the project, as in `pulumi config set`.
        const key = rawKey.includes(":") ? rawKey : `${PROJECT}:${rawKey}`;
        if (containsSecure(rawValue)) secretKeys.push(key);
        const value = withoutCiphertext(rawValue);
        config[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return { config, secretKeys };
}

function isSecure(value: unknown): boolean {
    return typeof value === "object" && value !== null && Object.keys(value).length === 1 && "secure" in value;
}

function containsSecure(value: unknown): boolean {
    if (isSecure(value)) return true;
    if (typeof value === "object" && value !== null) return Object.values(value).some(containsSecure);
    return false;
}

/** Encrypted values cannot be read without the stack's passphrase; the placeholder stands in for them. */
function withoutCiphertext(value: unknown): unknown {
    if (isSecure(value)) return SECRET_PLACEHOLDER;
    if (Array.isArray(value)) return value.map(withoutCiphertext);
    if (typeof value === "object" && value !== null)
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutCiphertext(v)]));
    return value;
}
