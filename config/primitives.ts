/**
 * The building blocks of the stack config schema: ports, names, addresses, model tags, images, and how
 * messages name a key. Messages are written to follow the offending value: `70000 is not a port (1-65535)`.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { zoneOf } from "./addresses";

/** The Pulumi project name, which is also the namespace of every config key. */
export const PROJECT = "ai-gateway";

/** Reports one problem of a validated config: the path of the key, what is wrong, the value. */
export type Problem = (path: (string | number)[], message: string, input: unknown) => void;

const PORT_MESSAGE = "is not a port (1-65535)";
export const port = z
    .number({ error: "is not a port (1-65535)" })
    .int({ error: PORT_MESSAGE })
    .min(1, { error: PORT_MESSAGE })
    .max(65535, { error: PORT_MESSAGE });

export const positiveInt = (what: string) =>
    z
        .number({ error: `is not ${what} (a whole number, 1 or more)` })
        .int({ error: `is not ${what} (a whole number, 1 or more)` })
        .min(1, { error: `is not ${what} (a whole number, 1 or more)` });

export const nonNegativeInt = (what: string) =>
    z
        .number({ error: `is not ${what} (a whole number, 0 or more)` })
        .int({ error: `is not ${what} (a whole number, 0 or more)` })
        .min(0, { error: `is not ${what} (a whole number, 0 or more)` });

export const ipAddress = z
    .string({ error: "is not an IP address (e.g. 127.0.0.1 or 192.168.1.20)" })
    .refine((value) => isIP(value) !== 0, { error: "is not an IP address (e.g. 127.0.0.1 or 192.168.1.20)" })
    .superRefine((value, ctx) => {
        const zone = zoneOf(value);
        if (zone !== undefined)
            ctx.addIssue({
                code: "custom",
                message:
                    `has a zone suffix (${zone}), which names an interface, not an address: the wildcard and loopback ` +
                    `checks and Docker's port publishing need the address alone (e.g. "192.168.1.20" or "fd00::20"; ` +
                    "a link-local fe80:: address, which needs a zone, cannot be used)",
                input: value,
            });
    });

/** Lower-case names double as container names, Docker network aliases and router group names. */
export const NAME_PATTERN = /^[a-z][a-z0-9-]{0,39}$/;
export const name = (what: string) =>
    z.string({ error: `is not a ${what} name` }).regex(NAME_PATTERN, {
        error: `is not a valid ${what} name (lower-case letters, digits and "-", starting with a letter)`,
    });

/** An Ollama model reference: `tag`, `name:tag` or `registry/namespace/name:tag`. */
export const modelTag = z
    .string({ error: "is not a model tag" })
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, { error: 'is not a model tag (e.g. "qwen2.5-coder:7b")' })
    .refine((tag) => !isOllamaCloudModel(tag), {
        error:
            "is an Ollama cloud model: Ollama forwards it to ollama.com, so prompts would leave the host " +
            "(use a local model; the only cloud path is ai-gateway:cloud)",
    });

/**
 * Ollama runs tags ending in ":cloud" or "-cloud" (e.g. gpt-oss:120b-cloud) on ollama.com, not on the host
 * (ollama 0.17.4, middleware/anthropic.go and cmd/config); every Ollama container also sets OLLAMA_NO_CLOUD=1.
 */
export function isOllamaCloudModel(tag: string): boolean {
    return /[:-]cloud$/i.test(tag);
}

/**
 * A model name as Ollama compares names: case ignored (Ollama 0.17.4, types/model/name.go `EqualFold`), a name
 * without a tag read as `:latest`, the default registry and namespace left out. Two names with one key are one
 * model to Ollama, which lists the second in the case of the first. providers/ollamaModel.ts compares the same way.
 */
export function ollamaModelKey(tag: string): string {
    const tagged = /:[^/]+$/.test(tag) ? tag : `${tag}:latest`;
    return tagged.toLowerCase().replace(/^(registry\.ollama\.ai\/)?(library\/)?/, "");
}

/** Why `model` is refused next to `other`, found at `where`: both are one model to Ollama. */
export function sameOllamaModel(other: string, where: string, fix: string): string {
    return (
        `is the model of ${where} (${JSON.stringify(other)}) to Ollama, which ignores case in names and reads a ` +
        `name without a tag as :latest (${fix})`
    );
}

const MODEL_PINNED_MESSAGE =
    'is not a pinned image (use "name:version" or "name@sha256:...", never "latest" or no tag)';
/** Images must name a version: an unpinned image changes under the operator between two `pulumi up`s. */
export const pinnedImage = z
    .string({ error: MODEL_PINNED_MESSAGE })
    .refine(isPinnedImage, { error: MODEL_PINNED_MESSAGE });

export function isPinnedImage(ref: string): boolean {
    if (/@sha256:[0-9a-f]{64}$/.test(ref)) return true;
    const lastSlash = ref.lastIndexOf("/");
    const colon = ref.indexOf(":", lastSlash + 1);
    if (colon < 0) return false;
    const tag = ref.slice(colon + 1);
    return /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag) && tag !== "latest";
}

/** Docker endpoints we accept: the local socket, or a remote engine over SSH. Plain tcp:// has no auth. */
export const dockerEndpoint = z.string({ error: "is not a Docker endpoint" }).regex(/^(unix:\/\/\/\S+|ssh:\/\/\S+)$/, {
    error: "is not a Docker endpoint (unix:///var/run/docker.sock or ssh://user@host)",
});

const GPU_MESSAGE = 'is not a GPU request ("all", "none", a GPU count, or a list of device ids like ["0","1"])';
/** How many NVIDIA GPUs an Ollama instance gets. */
export const gpuRequest = z.union(
    [z.literal("all"), z.literal("none"), z.number().int().min(1), z.array(z.string().regex(/^[A-Za-z0-9-]+$/)).min(1)],
    { error: GPU_MESSAGE },
);

export const durationPattern = /^(-1|0|\d+(ms|s|m|h))$/;

/** An http(s) URL's user name and password, if it has any: `[scheme://, userinfo@]`. */
const URL_USERINFO = /^(https?:\/\/)[^@/?#]*@/i;

/** `value` with the user name and password of an http(s) URL in it masked, as messages show it. */
export function maskUrlUserinfo(value: string): string {
    return value.replace(URL_USERINFO, "$1***@");
}

/**
 * A URL's user name and password would be written in plain text wherever the URL goes (the render, the
 * routerConfigs output): refused. Messages show the URL with them masked (config/load.ts).
 */
export function refuseUserinfo(value: string, ctx: z.RefinementCtx): void {
    // A value that is no http(s) URL has its own message already.
    if (!URL_USERINFO.test(value) || !URL.canParse(value)) return;
    ctx.addIssue({
        code: "custom",
        message:
            "holds a user name or password, which would be written in plain text into the render and the " +
            `routerConfigs output (give the URL without them; the provider's key is the secret ${PROJECT}:cloudApiKey)`,
        input: value,
    });
}

/** `hosts[0].ollama[1].port`: the path of a config value as operators write it with `--path`. */
export function formatPath(path: readonly PropertyKey[]): string {
    return path
        .map((part, i) => (typeof part === "number" ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`))
        .join("");
}
