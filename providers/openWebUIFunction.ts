import * as pulumi from "@pulumi/pulumi";

/** Inputs of an OpenWebUIFunction: one function (a filter, say) installed into Open WebUI through its API. */
export interface OpenWebUIFunctionArgs {
    /** Base URL of Open WebUI as the machine running `pulumi up` reaches it, e.g. "http://127.0.0.1:3000". */
    url: pulumi.Input<string>;
    /** Email of the admin account the provider signs in with. */
    adminEmail: pulumi.Input<string>;
    /** Password of that account; kept secret in the state. */
    adminPassword: pulumi.Input<string>;
    /** Id of the function in Open WebUI: lower-case letters, digits and "_", not starting with a digit. */
    functionId: pulumi.Input<string>;
    /** Name shown in Open WebUI's admin panel. */
    name: pulumi.Input<string>;
    /** The function's Python source, as Open WebUI's loader reads it (frontmatter docstring, `class Filter`...). */
    content: pulumi.Input<string>;
    /** Description shown in the admin panel (default none). */
    description?: pulumi.Input<string>;
    /** The function's valves, set exactly as given: a valve left out takes the default its `Valves` class gives. */
    valves?: pulumi.Input<Record<string, pulumi.Input<string | number | boolean>>>;
    /** Run it on the chats of every model (a global filter) instead of only on `models` (default false). */
    global?: pulumi.Input<boolean>;
    /** Models whose chats it runs on (the model's `filterIds` in Open WebUI), e.g. ["auto"]. */
    models?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * What holds Open WebUI's data, e.g. its container id and data folder. When it changes (a replaced container,
     * another data folder), the function is checked again and installed if the new holder lacks it.
     */
    holder?: pulumi.Input<string>;
}

/** Plain values the provider receives (secrets arrive as plaintext), after `check` filled the defaults in. */
interface FunctionInputs {
    url: string;
    adminEmail: string;
    adminPassword: string;
    functionId: string;
    name: string;
    content: string;
    description: string;
    valves: Record<string, unknown>;
    global: boolean;
    models: string[];
    holder?: string;
}

/** What Open WebUI holds, as the outputs report it: the inputs' fields as read back, and Open WebUI's own. */
interface FunctionState extends FunctionInputs {
    /** Whether the function is switched on. */
    isActive: boolean;
    /** Function type Open WebUI read from the source: "filter", "action" or "pipe". */
    type: string;
    /** Epoch seconds Open WebUI gives for the function's creation and its last change. */
    createdAt: number;
    updatedAt: number;
}

/** A function as Open WebUI 0.12.4 exports it (`GET /api/v1/functions/export?include_valves=true`). */
interface InstalledFunction {
    id: string;
    name: string;
    type: string;
    content: string;
    meta?: { description?: string | null };
    valves?: Record<string, unknown> | null;
    is_active: boolean;
    is_global: boolean;
    created_at: number;
    updated_at: number;
}

/** A model entry as `GET /api/v1/models/model?id=` returns it; `meta.filterIds` attaches filters to the model. */
export interface ModelEntry {
    id: string;
    name: string;
    base_model_id?: string | null;
    meta?: Record<string, unknown> & { filterIds?: string[] };
    params?: Record<string, unknown>;
    /** Who may use the model; only the answer has it (the update body leaves grants as they are). */
    access_grants?: unknown[];
    /** Whether the model is shown; only the answer has it (an update without it keeps it). */
    is_active?: boolean;
}

/** What the engine sends for a value not known yet (during preview). */
const UNKNOWN_DURING_PREVIEW = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Open WebUI counts every sign-in per email (15 in 3 to 4 minutes); a refused one is tried again for this long. */
const SIGN_IN_PATIENCE_SECONDS = 240;
const SIGN_IN_RETRY_SECONDS = 30;
const REQUEST_TIMEOUT_MS = 60_000;

/** Prefixes Open WebUI rewrites in a function's source on save (open_webui/utils/plugin.py, `replace_imports`). */
export const REWRITTEN_IMPORTS = ["from utils", "from apps", "from main", "from config"];

/** Inputs whose change is applied by an update; `functionId` replaces. */
const COMPARED_INPUTS = [
    "url",
    "adminEmail",
    "adminPassword",
    "name",
    "content",
    "description",
    "valves",
    "global",
    "models",
    "holder",
] as const;

function say(functionId: string, message: string): void {
    // console.log, not pulumi.log: the provider runs in the engine's host process, where stdout reaches the operator.
    console.log(`OpenWebUIFunction ${functionId}: ${message}`);
}

/** JSON with object keys sorted: two values that mean the same compare equal. */
export function canonical(value: unknown): string {
    const sorted = (v: unknown): unknown =>
        Array.isArray(v)
            ? v.map(sorted)
            : v && typeof v === "object"
              ? Object.fromEntries(
                    Object.keys(v)
                        .sort()
                        .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
                )
              : v;
    return JSON.stringify(sorted(value)) ?? "undefined";
}

/** The inputs with their defaults: what the state and Open WebUI's answers are compared with. */
export function withDefaults(news: Record<string, any>): Record<string, any> {
    const models = Array.isArray(news.models) ? [...new Set(news.models as string[])].sort() : news.models;
    return {
        ...news,
        description: news.description ?? "",
        valves: news.valves ?? {},
        global: news.global ?? false,
        models: models ?? [],
    };
}

/** The model entry with `functionId` among its filters: the body of `POST /api/v1/models/model/update`. */
export function attachedForm(entry: ModelEntry, functionId: string): ModelEntry {
    const filterIds = entry.meta?.filterIds ?? [];
    return {
        id: entry.id,
        name: entry.name,
        base_model_id: entry.base_model_id ?? null,
        meta: { ...entry.meta, filterIds: filterIds.includes(functionId) ? filterIds : [...filterIds, functionId] },
        params: entry.params ?? {},
    };
}

/** The model entry without `functionId` among its filters. */
export function detachedForm(entry: ModelEntry, functionId: string): ModelEntry {
    return {
        ...attachedForm(entry, functionId),
        meta: { ...entry.meta, filterIds: (entry.meta?.filterIds ?? []).filter((id) => id !== functionId) },
    };
}

/** A new model entry that only attaches `functionId` to model `modelId`: the body of `POST /api/v1/models/create`. */
export function newEntryForm(modelId: string, functionId: string): ModelEntry {
    return { id: modelId, name: modelId, base_model_id: null, meta: { filterIds: [functionId] }, params: {} };
}

/**
 * Whether an entry holds nothing but what `newEntryForm` gives it (no other filter, name, setting, access grant,
 * and shown): it only attaches this function, so removing it with the function takes nothing from anyone.
 * Open WebUI fills the meta's known fields in with null.
 */
export function isOnlyAttachment(entry: ModelEntry, functionId: string): boolean {
    const { filterIds, ...rest } = entry.meta ?? {};
    const otherMeta = Object.values(rest).filter((v) => v !== null && v !== undefined);
    return (
        entry.name === entry.id &&
        !entry.base_model_id &&
        otherMeta.length === 0 &&
        (filterIds ?? []).every((id) => id === functionId) &&
        Object.keys(entry.params ?? {}).length === 0 &&
        (entry.access_grants ?? []).length === 0 &&
        entry.is_active !== false
    );
}

/** Which compared inputs differ between the state (`olds`) and the program (`news`). */
export function changedInputs(olds: Record<string, any>, news: Record<string, any>): string[] {
    const wanted = withDefaults(news);
    const held = withDefaults(olds);
    return COMPARED_INPUTS.filter((key) => canonical(held[key]) !== canonical(wanted[key]));
}

/** fetch hides the useful part ("connect ECONNREFUSED ...") in `cause`. */
function describeError(err: unknown): string {
    const error = err as { name?: string; message?: string; cause?: { message?: string } };
    if (error.name === "TimeoutError") return `no answer within ${REQUEST_TIMEOUT_MS / 1000}s`;
    return error.cause?.message ?? error.message ?? String(err);
}

/**
 * An error for "Open WebUI gave no answer at all" (refused, reset, timed out), marked `noAnswer`: a refresh or
 * destroy then goes on without it, down or crash-looping as it is, instead of failing every later run.
 */
function noAnswer(message: string): Error {
    return Object.assign(new Error(message), { noAnswer: true });
}

function isNoAnswer(err: unknown): boolean {
    return (err as { noAnswer?: boolean }).noAnswer === true;
}

/** Open WebUI's `detail`, or the start of the body. */
function detailOf(body: string): string {
    try {
        const detail = JSON.parse(body).detail;
        if (detail !== undefined) return typeof detail === "string" ? detail : JSON.stringify(detail);
    } catch {
        // not JSON: the text itself
    }
    return body.trim().slice(0, 300);
}

interface Answer {
    status: number;
    body: string;
}

async function send(url: string, method: string, token: string | undefined, body?: unknown): Promise<Answer> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    return { status: response.status, body: await response.text() };
}

/** Sessions by Open WebUI, email and password, kept for the life of the provider process (one `pulumi up`). */
function sessions(): Map<string, string> {
    const holder = globalThis as { __aigwOpenWebUISessions?: Map<string, string> };
    holder.__aigwOpenWebUISessions ??= new Map();
    return holder.__aigwOpenWebUISessions;
}

function sessionKey(inputs: FunctionInputs): string {
    return JSON.stringify([inputs.url, inputs.adminEmail, inputs.adminPassword]);
}

/** Signs in as the admin (`POST /api/v1/auths/signin`), waiting out Open WebUI's sign-in limit; returns the token. */
async function signIn(inputs: FunctionInputs): Promise<string> {
    const known = sessions().get(sessionKey(inputs));
    if (known) return known;
    const endpoint = `${inputs.url.replace(/\/+$/, "")}/api/v1/auths/signin`;
    const startedAt = Date.now();
    for (;;) {
        let answer: Answer;
        try {
            answer = await send(endpoint, "POST", undefined, {
                email: inputs.adminEmail,
                password: inputs.adminPassword,
            });
        } catch (err) {
            throw noAnswer(
                `OpenWebUIFunction ${inputs.functionId}: cannot reach Open WebUI at ${inputs.url} (${describeError(err)}). Next: docker logs open-webui`,
            );
        }
        if (answer.status === 200) {
            const token = JSON.parse(answer.body).token as string;
            sessions().set(sessionKey(inputs), token);
            return token;
        }
        const waited = (Date.now() - startedAt) / 1000;
        if (answer.status === 429 && waited + SIGN_IN_RETRY_SECONDS <= SIGN_IN_PATIENCE_SECONDS) {
            say(
                inputs.functionId,
                `Open WebUI limits sign-ins per account (HTTP 429); trying again in ${SIGN_IN_RETRY_SECONDS}s`,
            );
            await new Promise((resolve) => setTimeout(resolve, SIGN_IN_RETRY_SECONDS * 1000));
            continue;
        }
        const next =
            answer.status === 400
                ? " Next: the admin account is created from openWebUIAdminPassword only when Open WebUI's data folder has no user yet; if it holds another admin, sign in as that one and set this password (Settings > Account)"
                : answer.status === 429
                  ? ` Next: wait a few minutes (Open WebUI allows 15 sign-ins per account in 3 minutes) and run again`
                  : " Next: docker logs open-webui";
        throw new Error(
            `OpenWebUIFunction ${inputs.functionId}: signing in to ${inputs.url} as ${inputs.adminEmail} failed: HTTP ${answer.status} ${detailOf(answer.body)}.${next}`,
        );
    }
}

/** One authenticated API call; a session Open WebUI no longer accepts is renewed once. */
async function api(inputs: FunctionInputs, method: string, path: string, body?: unknown): Promise<Answer> {
    const endpoint = `${inputs.url.replace(/\/+$/, "")}${path}`;
    for (let attempt = 1; ; attempt++) {
        const token = await signIn(inputs);
        let answer: Answer;
        try {
            answer = await send(endpoint, method, token, body);
        } catch (err) {
            throw noAnswer(
                `OpenWebUIFunction ${inputs.functionId}: ${method} ${path} at ${inputs.url} failed (${describeError(err)}). Next: docker logs open-webui`,
            );
        }
        if (answer.status === 401 && attempt === 1 && !/could not find/i.test(detailOf(answer.body))) {
            sessions().delete(sessionKey(inputs));
            continue;
        }
        return answer;
    }
}

/** An API call that must succeed; returns the parsed answer. */
async function apiOk(inputs: FunctionInputs, method: string, path: string, body?: unknown): Promise<any> {
    const answer = await api(inputs, method, path, body);
    if (answer.status !== 200)
        throw new Error(
            `OpenWebUIFunction ${inputs.functionId}: ${method} ${path} answered HTTP ${answer.status}: ${detailOf(answer.body)}`,
        );
    return answer.body ? JSON.parse(answer.body) : undefined;
}

/** The function as Open WebUI holds it, or undefined when it has none by that id. */
async function findFunction(inputs: FunctionInputs): Promise<InstalledFunction | undefined> {
    const all = (await apiOk(inputs, "GET", "/api/v1/functions/export?include_valves=true")) as InstalledFunction[];
    return all.find((f) => f.id === inputs.functionId);
}

/** The model entry by id, or undefined when Open WebUI has none (404). */
async function findModelEntry(inputs: FunctionInputs, modelId: string): Promise<ModelEntry | undefined> {
    const path = `/api/v1/models/model?id=${encodeURIComponent(modelId)}`;
    const answer = await api(inputs, "GET", path);
    if (answer.status === 404) return undefined;
    if (answer.status !== 200)
        throw new Error(
            `OpenWebUIFunction ${inputs.functionId}: GET ${path} answered HTTP ${answer.status}: ${detailOf(answer.body)}`,
        );
    return JSON.parse(answer.body) as ModelEntry;
}

/** Attaches the function to a model: a new entry when the model has none, else its entry's filters. */
async function attach(inputs: FunctionInputs, modelId: string, entry: ModelEntry | undefined): Promise<void> {
    if (!entry) await apiOk(inputs, "POST", "/api/v1/models/create", newEntryForm(modelId, inputs.functionId));
    else await apiOk(inputs, "POST", "/api/v1/models/model/update", attachedForm(entry, inputs.functionId));
}

/** Detaches the function from a model; an entry that did nothing but attach it is removed. */
async function detach(inputs: FunctionInputs, modelId: string): Promise<void> {
    const entry = await findModelEntry(inputs, modelId);
    if (!entry) return;
    if (isOnlyAttachment(entry, inputs.functionId)) {
        await apiOk(inputs, "POST", "/api/v1/models/model/delete", { id: modelId });
    } else if ((entry.meta?.filterIds ?? []).includes(inputs.functionId)) {
        await apiOk(inputs, "POST", "/api/v1/models/model/update", detachedForm(entry, inputs.functionId));
    }
}

/**
 * Open WebUI takes a chat's model, and the filters attached to it, from a map it rebuilds only when its model list
 * is read (`GET /api/models`): read it, so the next chat sees the change without waiting for a browser to load.
 */
async function refreshModels(inputs: FunctionInputs): Promise<void> {
    await apiOk(inputs, "GET", "/api/models");
}

/** What Open WebUI holds for the resource `props` describe, or undefined when the function is gone. */
async function readState(props: FunctionState): Promise<FunctionState | undefined> {
    const installed = await findFunction(props);
    if (!installed) return undefined;
    const attachedTo: string[] = [];
    for (const modelId of props.models) {
        const entry = await findModelEntry(props, modelId);
        if ((entry?.meta?.filterIds ?? []).includes(props.functionId)) attachedTo.push(modelId);
    }
    return {
        ...props,
        name: installed.name,
        content: installed.content,
        description: installed.meta?.description ?? "",
        valves: installed.valves ?? {},
        global: installed.is_global,
        models: attachedTo,
        isActive: installed.is_active,
        type: installed.type,
        createdAt: installed.created_at,
        updatedAt: installed.updated_at,
    };
}

/**
 * Makes Open WebUI hold the function as `inputs` say: installed (or its source and name updated), its valves set,
 * switched on, global or not, attached to `inputs.models` and detached from the models `previous` had.
 * Toggles in Open WebUI flip their state, so each is read before it is sent.
 */
async function converge(inputs: FunctionInputs, previous?: FunctionState): Promise<FunctionState> {
    const id = inputs.functionId;
    const form = { id, name: inputs.name, content: inputs.content, meta: { description: inputs.description } };
    const done: string[] = [];
    let installed = await findFunction(inputs);
    if (!installed) {
        await apiOk(inputs, "POST", "/api/v1/functions/create", form);
        done.push("installed");
    } else if (
        installed.content !== inputs.content ||
        installed.name !== inputs.name ||
        (installed.meta?.description ?? "") !== inputs.description
    ) {
        await apiOk(inputs, "POST", `/api/v1/functions/id/${id}/update`, form);
        done.push(previous ? "source updated" : "already there under this id: source replaced");
    }
    installed = (await findFunction(inputs))!;
    if (canonical(installed.valves ?? {}) !== canonical(inputs.valves)) {
        await apiOk(inputs, "POST", `/api/v1/functions/id/${id}/valves/update`, inputs.valves);
        done.push(`valves ${canonical(inputs.valves)}`);
    }
    if (!installed.is_active) {
        await apiOk(inputs, "POST", `/api/v1/functions/id/${id}/toggle`);
        done.push("switched on");
    }
    if (installed.is_global !== inputs.global) {
        await apiOk(inputs, "POST", `/api/v1/functions/id/${id}/toggle/global`);
        done.push(inputs.global ? "made global" : "no longer global");
    }
    for (const modelId of inputs.models) {
        const entry = await findModelEntry(inputs, modelId);
        if ((entry?.meta?.filterIds ?? []).includes(id)) continue;
        await attach(inputs, modelId, entry);
        done.push(`attached to model ${modelId}`);
    }
    for (const modelId of previous?.models ?? []) {
        if (inputs.models.includes(modelId)) continue;
        await detach(inputs, modelId);
        done.push(`detached from model ${modelId}`);
    }
    say(id, done.length > 0 ? done.join(", ") : `already as configured in ${inputs.url}`);
    if (done.length > 0) await refreshModels(inputs);
    const state = await readState(inputs as FunctionState);
    if (!state) throw new Error(`OpenWebUIFunction ${id}: installed, but ${inputs.url} does not list it.`);
    return state;
}

function isKnown(value: unknown): boolean {
    return value !== undefined && value !== UNKNOWN_DURING_PREVIEW;
}

/** Exported for direct tests; the engine runs its serialized copy. */
export const openWebUIFunctionProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds, news) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        const fail = (property: string, reason: string) =>
            failures.push({ property, reason: `OpenWebUIFunction: ${reason}` });
        if (isKnown(news.url) && !/^https?:\/\/[^/]/.test(String(news.url)))
            fail("url", `url must be an http(s) URL, got ${JSON.stringify(news.url)}`);
        if (isKnown(news.functionId) && !/^[a-z_][a-z0-9_]*$/.test(String(news.functionId)))
            fail(
                "functionId",
                `functionId must be lower-case letters, digits and "_", not starting with a digit (Open WebUI lower-cases ids and needs a Python identifier), got ${JSON.stringify(news.functionId)}`,
            );
        if (isKnown(news.content)) {
            const rewritten = REWRITTEN_IMPORTS.find((prefix) => String(news.content).includes(prefix));
            if (typeof news.content !== "string" || news.content.trim() === "")
                fail("content", "content must be the function's Python source");
            else if (rewritten)
                fail(
                    "content",
                    `content contains "${rewritten}", which Open WebUI rewrites on save, so it would never match what is installed`,
                );
        }
        if (isKnown(news.valves) && news.valves !== undefined) {
            const valves = news.valves as Record<string, unknown>;
            const bad =
                typeof valves !== "object" || Array.isArray(valves)
                    ? "valves"
                    : Object.keys(valves).find((k) => !["string", "number", "boolean"].includes(typeof valves[k]));
            if (bad) fail("valves", `valves must map names to strings, numbers or booleans (${bad} is not)`);
        }
        if (isKnown(news.models) && news.models !== undefined && !Array.isArray(news.models))
            fail("models", "models must be a list of model ids");
        return { inputs: withDefaults(news), failures };
    },

    async diff(_id, olds, news) {
        const replaces = olds.functionId !== news.functionId ? ["functionId"] : [];
        const changed = changedInputs(olds, news);
        // Switched off by hand (seen by refresh): an update switches it on again. A refresh that could not reach
        // Open WebUI marked it unverified: the update checks it all.
        const switchedOff = olds.isActive === false;
        const unverified = olds.unverified === true;
        return { changes: replaces.length > 0 || changed.length > 0 || switchedOff || unverified, replaces };
    },

    async create(inputs) {
        const state = await converge(inputs as FunctionInputs);
        return { id: state.functionId, outs: state };
    },

    async read(id, props) {
        // What an earlier refresh could not check, this one checks.
        const { unverified: _earlier, ...state } = props as FunctionState & { unverified?: boolean };
        let found: FunctionState | undefined;
        try {
            found = await readState(state);
        } catch (err) {
            if (!isNoAnswer(err))
                throw new Error(`OpenWebUIFunction ${state.functionId}: cannot refresh: ${(err as Error).message}`);
            say(
                state.functionId,
                `cannot check: Open WebUI at ${state.url} did not answer; kept as recorded, and the next pulumi up checks it again`,
            );
            return { id, props: { ...state, unverified: true } };
        }
        if (!found) {
            say(
                state.functionId,
                `no longer in Open WebUI at ${state.url} (removed outside Pulumi); the next pulumi up installs it again.`,
            );
            // An empty id is how a provider tells the engine the resource is gone.
            return { id: "" };
        }
        return { id, props: found };
    },

    async update(_id, olds, news) {
        return { outs: await converge(news as FunctionInputs, olds as FunctionState) };
    },

    async delete(_id, props) {
        const state = props as FunctionState;
        try {
            for (const modelId of state.models ?? []) await detach(state, modelId);
            if (await findFunction(state)) {
                await apiOk(state, "DELETE", `/api/v1/functions/id/${state.functionId}/delete`);
                say(state.functionId, `removed from Open WebUI at ${state.url}`);
            }
            await refreshModels(state);
        } catch (err) {
            if (!isNoAnswer(err)) throw err;
            // Down or crash-looping: the function stays in Open WebUI's data folder, which a destroy leaves too.
            say(
                state.functionId,
                `not removed: Open WebUI at ${state.url} did not answer; it stays in Open WebUI's data folder (remove it under Admin Panel > Functions)`,
            );
        }
    },
};

/**
 * Installs a function into Open WebUI through its API during `pulumi up`, signed in as the admin: its source,
 * valves, switched on, attached to models or global. `pulumi refresh` reads what Open WebUI really holds, so a
 * function changed by hand shows as drift and the next `pulumi up` puts it back; `destroy` removes it.
 */
export class OpenWebUIFunction extends pulumi.dynamic.Resource {
    /** Whether the function is switched on in Open WebUI. */
    declare public readonly isActive: pulumi.Output<boolean>;
    /** The function type Open WebUI read from its source ("filter", "action" or "pipe"). */
    declare public readonly type: pulumi.Output<string>;
    /** When Open WebUI created the function, in epoch seconds: unchanged while the same function is kept. */
    declare public readonly createdAt: pulumi.Output<number>;
    /** When Open WebUI last changed it, in epoch seconds. */
    declare public readonly updatedAt: pulumi.Output<number>;

    constructor(name: string, args: OpenWebUIFunctionArgs, opts?: pulumi.CustomResourceOptions) {
        const computed = {
            isActive: undefined,
            type: undefined,
            createdAt: undefined,
            updatedAt: undefined,
        };
        super(
            openWebUIFunctionProvider,
            name,
            { ...args, ...computed },
            { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "adminPassword"] },
            "aigateway",
            "OpenWebUIFunction",
        );
    }
}
