/**
 * The real Open WebUI 0.12.4 (the stack's image, images/open-webui), the router and Ollama, run as the program
 * declares them for a small routed stack, on a Docker network with no route out (`docker network create
 * --internal`): Open WebUI starts and works without the internet, its admin account and sign-up are as the stack
 * sets them, its models are the router's groups and `auto`, its chats go through the router, and its
 * embeddings to the stack's Ollama. Then OpenWebUIFunction, from its serialized form as the engine runs it,
 * installs the routing filter, updates it, sees a hand edit as drift and puts it back, and removes it; and the
 * data folder keeps users, chats and the function across a replaced container.
 *
 * Open WebUI runs in the network namespace of a placeholder container, where netwatch.py sees every DNS
 * question and connection from before Open WebUI's first instruction. Containers are named aigw-peers-owui-*;
 * the only host port is 23150, used on loopback while the tiny models are loaded.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { DeclaredResource } from "../../commands/evaluate";
import { LITELLM_CONTAINER_PORT } from "../../model/litellm";
import { OLLAMA_CONTAINER_PORT } from "../../model/ollama";
import { OPEN_WEBUI_CONTAINER_PORT } from "../../model/openWebUI";
import { OpenWebUIFunction, OpenWebUIFunctionArgs } from "../../providers/openWebUIFunction";
import { until } from "../e2e/support/deployFolder";
import { E2E_IMAGES } from "../e2e/support/stackHarness";
import { evaluate, Program } from "../support/stack";
import { asEngineSendsThem, recordRegistrations, SerializedProvider } from "../support/serializedProvider";
import { docker } from "../support/testImage";
import {
    NetworkWatch,
    addressOf,
    containerLog,
    ensureImage,
    removeDockerObjects,
    runDeclared,
    waitForHttp,
} from "./support/declaredContainers";
import { loadTinyModel, startOllama, stopPeers } from "./support/peers";

const PREFIX = "aigw-peers-owui-";
const NETWORK = `${PREFIX}net`;
const NAMES = {
    ollama: `${PREFIX}ollama`,
    router: `${PREFIX}litellm`,
    namespace: `${PREFIX}netns`,
    ui: `${PREFIX}webui`,
};
/** Where the tiny models are loaded into the Ollama data folder before its container starts. */
const MODEL_LOADING_PORT = 23150;
/** Open WebUI starts in 20-60 s on 2 busy cores; its first start also migrates a new database. */
const START_SECONDS = 240;
const SECRET = `aigwOwui${randomBytes(12).toString("hex")}`;

/** The stack: two tiny models in two groups, routed by content, Open WebUI embedding with tiny-a. */
function stackConfig(dataDir: string, keywords = ["python", "function"]) {
    return {
        hosts: [
            {
                name: "box",
                dataDir,
                ollama: [{ name: "ollama", port: 11434, gpu: "none", models: ["tiny-a", "tiny-b"] }],
            },
        ],
        images: E2E_IMAGES,
        groups: { fast: ["tiny-a"], code: ["tiny-b"] },
        routing: { default: "fast", routes: [{ name: "code", group: "code", keywords }] },
        openWebUI: { embeddingModel: "tiny-a" },
    };
}

let dataDir: string;
let program: Program;
let watch: NetworkWatch;
let ui: string;
let uiAddress: string;
let admin: { email: string; password: string };
const running: SerializedProvider[] = [];
/** The filter's state as the engine would hold it, from one step to the next. */
let state: Record<string, any>;

/** Open WebUI's answer to one API call, signed in with `token`. */
async function call(method: string, apiPath: string, token?: string, body?: unknown) {
    const response = await fetch(`${ui}${apiPath}`, {
        method,
        headers: {
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(120_000),
    });
    const text = await response.text();
    let json: any;
    try {
        json = JSON.parse(text);
    } catch {
        json = text;
    }
    return { status: response.status, json };
}

async function signIn(email = admin.email, password = admin.password) {
    return call("POST", "/api/v1/auths/signin", undefined, { email, password });
}

async function adminToken(): Promise<string> {
    const { status, json } = await signIn();
    if (status !== 200) throw new Error(`admin sign-in: HTTP ${status} ${JSON.stringify(json)}`);
    return json.token;
}

/** The function as Open WebUI exports it, or undefined. */
async function installed(token: string, id = "route_by_content") {
    const { json } = await call("GET", "/api/v1/functions/export?include_valves=true", token);
    return (json as { id: string; content: string; is_active: boolean; is_global: boolean; valves: object }[]).find(
        (f) => f.id === id,
    );
}

function declared(typeSuffix: string, name: string): DeclaredResource {
    const found = program.resources.find(
        (r) => r.type.endsWith(typeSuffix) && (r.inputs.name === name || r.name === name),
    );
    if (!found) throw new Error(`the program declares no ${typeSuffix} ${name}`);
    return found;
}

/** The declared routing filter's inputs, pointed at the Open WebUI container, with the test's secret. */
function filterArgs(config = program): OpenWebUIFunctionArgs {
    const inputs = config.ofType(":OpenWebUIFunction")[0].inputs as unknown as OpenWebUIFunctionArgs;
    return { ...inputs, url: ui, adminPassword: SECRET };
}

/** The OpenWebUIFunction provider as the engine runs it: serialized, in a fresh process. */
async function serializedFilter(args: OpenWebUIFunctionArgs) {
    // Registered under mocks of its own: evaluating the program installs others.
    const registrations = recordRegistrations();
    const resource = new OpenWebUIFunction(`routing-filter-${running.length}`, args);
    const { inputs } = await registrations.registered(resource);
    const { __provider: providerText, ...registered } = inputs;
    const provider = await SerializedProvider.load(providerText);
    running.push(provider);
    const { inputs: checked, failures } = await provider.call("check", {}, asEngineSendsThem(registered).plain);
    expect(failures).toEqual([]);
    return { provider, inputs: checked as Record<string, any> };
}

/** One chat through Open WebUI's own API, non-streamed. */
async function chat(token: string, model: string, content: string) {
    const { status, json } = await call("POST", "/api/chat/completions", token, {
        model,
        messages: [{ role: "user", content }],
        stream: false,
    });
    if (status !== 200) throw new Error(`chat via Open WebUI: HTTP ${status} ${JSON.stringify(json)}`);
    return json as { model: string; choices: { message: { content: string } }[] };
}

/** Chat completions the router logged as coming from Open WebUI. */
function routerChatsFromUI(): number {
    const log = containerLog(NAMES.router);
    return log.split("\n").filter((l) => l.includes(`${uiAddress}:`) && l.includes('"POST /v1/chat/completions'))
        .length;
}

/** Starts the declared Open WebUI in the watched namespace and waits for its health endpoint. */
async function startOpenWebUI(): Promise<number> {
    runDeclared(declared(":Container", "open-webui"), {
        dockerName: NAMES.ui,
        network: `container:${NAMES.namespace}`,
        secret: SECRET,
    });
    return waitForHttp(`${ui}/health`, START_SECONDS, NAMES.ui);
}

beforeAll(async () => {
    removeDockerObjects(Object.values(NAMES), [NETWORK]);
    for (const image of [E2E_IMAGES.ollama, E2E_IMAGES.litellm, E2E_IMAGES.openWebUI]) ensureImage(image);
    dataDir = mkdtempSync(path.join(tmpdir(), `${PREFIX}data-`));
    program = await evaluate(stackConfig(dataDir));

    // The tiny models go into the Ollama container's data folder through the real Ollama on loopback.
    const loader = startOllama(MODEL_LOADING_PORT, path.join(dataDir, "ollama"));
    try {
        for (const model of ["tiny-a", "tiny-b"]) loadTinyModel(MODEL_LOADING_PORT, model);
    } finally {
        stopPeers(loader);
    }

    docker("network", "create", "--internal", NETWORK);
    runDeclared(declared(":Container", "ollama"), { dockerName: NAMES.ollama, network: NETWORK, secret: SECRET });
    await waitForHttp(`http://${addressOf(NAMES.ollama)}:${OLLAMA_CONTAINER_PORT}/api/version`, 60, NAMES.ollama);
    runDeclared(declared(":Container", "litellm"), { dockerName: NAMES.router, network: NETWORK, secret: SECRET });
    await waitForHttp(
        `http://${addressOf(NAMES.router)}:${LITELLM_CONTAINER_PORT}/health/readiness`,
        START_SECONDS,
        NAMES.router,
    );

    docker(
        "run",
        "-d",
        "--name",
        NAMES.namespace,
        "--network",
        NETWORK,
        "--network-alias",
        "open-webui",
        "--entrypoint",
        "sleep",
        E2E_IMAGES.openWebUI,
        "infinity",
    );
    watch = await NetworkWatch.of(NAMES.namespace);
    uiAddress = addressOf(NAMES.namespace);
    ui = `http://${uiAddress}:${OPEN_WEBUI_CONTAINER_PORT}`;
    const seconds = await startOpenWebUI();
    process.stderr.write(`[peers] Open WebUI healthy ${seconds.toFixed(1)}s after its container started\n`);
    admin = { email: String(filterArgs().adminEmail), password: SECRET };
}, 900_000);

afterAll(() => {
    running.splice(0).forEach((provider) => provider.stop());
    watch?.stop();
    removeDockerObjects(Object.values(NAMES), [NETWORK]);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe("the real Open WebUI as the stack runs it", () => {
    it("has the generated admin account, and sign-up stays off", async () => {
        const signedIn = await signIn();
        expect(signedIn.status).toBe(200);
        expect(signedIn.json).toMatchObject({ email: admin.email, role: "admin" });
        expect((await signIn(admin.email, `${SECRET}-wrong`)).status).toBe(400);
        const stranger = await call("POST", "/api/v1/auths/signup", undefined, {
            email: "stranger@example.com",
            password: "Stranger-password-1",
            name: "stranger",
        });
        expect(stranger.status).toBe(403);
    });

    it("lists the router's groups and auto as its models", async () => {
        const { json } = await call("GET", "/api/models", await adminToken());
        expect((json.data as { id: string }[]).map((m) => m.id).sort()).toEqual(["auto", "code", "fast"]);
    });

    it("answers a chat through the router", async () => {
        const before = routerChatsFromUI();
        const answer = await chat(await adminToken(), "fast", "hello");
        expect(answer.choices[0].message.content.length).toBeGreaterThan(0);
        expect(routerChatsFromUI()).toBe(before + 1);
    });

    it("embeds documents with the stack's Ollama (openWebUI.embeddingModel)", async () => {
        const { status, json } = await call("POST", "/api/v1/retrieval/process/text", await adminToken(), {
            name: "note",
            content: "The stack keeps its documents' embeddings in its own vector store.",
        });
        expect({ status, json }).toMatchObject({ status: 200, json: { status: true } });
        expect(containerLog(NAMES.ollama)).toMatch(/POST\s+"\/api\/embed"/);
        expect(watch.connections()).toContain(`${addressOf(NAMES.ollama)} ${OLLAMA_CONTAINER_PORT}`);
    });
});

describe("OpenWebUIFunction against the real Open WebUI", () => {
    it("installs the routing filter, switched on and attached to auto, and chats for auto take its route", async () => {
        const { provider, inputs } = await serializedFilter(filterArgs());
        const { id, outs } = await provider.call("create", inputs);
        expect(provider.stdout).toContain("OpenWebUIFunction route_by_content: installed");
        expect(outs).toMatchObject({ isActive: true, type: "filter", global: false, models: ["auto"] });

        const token = await adminToken();
        expect(await installed(token)).toMatchObject({
            content: inputs.content,
            is_active: true,
            is_global: false,
            valves: { priority: 0, show_status: true, use_embeddings: false },
        });
        const entry = await call("GET", "/api/v1/models/model?id=auto", token);
        expect(entry.json.meta.filterIds).toEqual(["route_by_content"]);

        const before = routerChatsFromUI();
        expect((await chat(token, "auto", "write a python function")).model).toBe("code");
        expect((await chat(token, "auto", "hello there")).model).toBe("fast");
        expect(routerChatsFromUI()).toBe(before + 2);
        expect(containerLog(NAMES.ui)).toContain(
            'routing (Open WebUI filter): auto -> code (route code: matched keyword "python", keyword "function")',
        );

        expect(await provider.call("read", id, outs)).toEqual({ id, props: outs });
        expect(await provider.call("diff", id, outs, inputs)).toEqual({ changes: false, replaces: [] });
        state = outs;
    });

    it("follows a change of routes and valves, and makes the filter global on request", async () => {
        const token = await adminToken();
        const { provider, inputs: old } = await serializedFilter(filterArgs());
        const current = state;

        const changedProgram = await evaluate(stackConfig(dataDir, ["python", "function", "rust"]));
        const { inputs: news } = await serializedFilter({
            ...filterArgs(changedProgram),
            valves: { priority: 3, show_status: false, use_embeddings: false },
        });
        expect(await provider.call("diff", "route_by_content", current, news)).toEqual({ changes: true, replaces: [] });
        const { outs: updated } = await provider.call("update", "route_by_content", current, news);
        expect(updated.content).toBe(news.content);
        expect(updated.content).toContain('"rust"');
        expect((await chat(token, "auto", "a rust question")).model).toBe("code");
        expect((await installed(token))!.valves).toEqual({ priority: 3, show_status: false, use_embeddings: false });

        const { outs: global } = await provider.call("update", "route_by_content", updated, {
            ...news,
            global: true,
            models: [],
        });
        expect(global).toMatchObject({ global: true, models: [] });
        expect((await installed(token))!.is_global).toBe(true);
        // The entry it created for auto only to attach the filter is gone again.
        expect((await call("GET", "/api/v1/models/model?id=auto", token)).status).toBe(404);
        expect((await chat(token, "auto", "write a python function")).model).toBe("code");

        const { outs: back } = await provider.call("update", "route_by_content", global, old);
        expect(back).toMatchObject({ global: false, models: ["auto"], content: old.content });
        state = back;
    });

    it("reports a hand edit as drift on refresh, and the next update puts the filter back", async () => {
        const token = await adminToken();
        const { provider, inputs } = await serializedFilter(filterArgs());
        // A plain up: nothing to do.
        expect(await provider.call("diff", "route_by_content", state, inputs)).toEqual({
            changes: false,
            replaces: [],
        });
        const before = { id: "route_by_content", outs: state };

        // An admin edits the source, switches the filter off and detaches it from auto in the admin panel.
        const edited = `${inputs.content}\n# changed by hand\n`;
        const saved = await call("POST", "/api/v1/functions/id/route_by_content/update", token, {
            id: "route_by_content",
            name: inputs.name,
            content: edited,
            meta: { description: inputs.description },
        });
        expect(saved.status).toBe(200);
        expect((await call("POST", "/api/v1/functions/id/route_by_content/toggle", token)).json.is_active).toBe(false);
        const entry = (await call("GET", "/api/v1/models/model?id=auto", token)).json;
        await call("POST", "/api/v1/models/model/update", token, { ...entry, meta: { ...entry.meta, filterIds: [] } });

        const { props: refreshed } = await provider.call("read", before.id, before.outs);
        expect(refreshed).toMatchObject({ content: edited, isActive: false, models: [] });
        expect(await provider.call("diff", before.id, refreshed, inputs)).toEqual({ changes: true, replaces: [] });
        const { outs } = await provider.call("update", before.id, refreshed, inputs);
        expect(outs).toMatchObject({ content: inputs.content, isActive: true, models: ["auto"] });
        expect(await installed(token)).toMatchObject({ content: inputs.content, is_active: true });

        // Removed by hand: refresh drops it from the state, and the next up installs it again.
        await call("DELETE", "/api/v1/functions/id/route_by_content/delete", token);
        expect(await provider.call("read", before.id, outs)).toEqual({ id: "" });
        state = (await provider.call("create", inputs)).outs;
        expect(provider.stdout).toContain("OpenWebUIFunction route_by_content: installed, valves");
        expect(await installed(token)).toBeDefined();
    });

    it("keeps users, chats and the function in the data folder across a replaced container", async () => {
        const token = await adminToken();
        const adminId = (await signIn()).json.id;
        const kept = await call("POST", "/api/v1/chats/new", token, {
            chat: { title: "kept across containers", messages: [] },
        });
        expect(kept.status).toBe(200);
        const { provider, inputs } = await serializedFilter(filterArgs());
        const id = "route_by_content";
        const before = state;

        docker("rm", "-f", NAMES.ui);
        const seconds = await startOpenWebUI();
        process.stderr.write(
            `[peers] the replacement Open WebUI healthy ${seconds.toFixed(1)}s after its container started\n`,
        );

        const again = await signIn();
        expect(again.json.id).toBe(adminId);
        expect((await call("GET", `/api/v1/chats/${kept.json.id}`, again.json.token)).json.title).toBe(
            "kept across containers",
        );
        const { props: after } = await provider.call("read", id, before);
        expect(after).toMatchObject({
            isActive: true,
            models: ["auto"],
            createdAt: before.createdAt,
            content: inputs.content,
        });
        // A new holder (the replaced container) makes the next up check again: nothing to do.
        const { outs } = await provider.call("update", id, after, { ...inputs, holder: "replaced" });
        expect(outs.createdAt).toBe(before.createdAt);
        expect(provider.stdout).toContain("already as configured");
        state = outs;
    });

    it("removes the function and the entry it created for auto on delete", async () => {
        const token = await adminToken();
        const { provider } = await serializedFilter(filterArgs());
        await provider.call("delete", "route_by_content", state);
        expect(provider.stdout).toContain("removed from Open WebUI");
        expect(await installed(token)).toBeUndefined();
        expect((await call("GET", "/api/v1/models/model?id=auto", token)).status).toBe(404);
        // Without the filter, the router's own hook routes auto.
        const before = containerLog(NAMES.router).split("routing: auto -> code").length;
        expect((await chat(token, "auto", "write a python function")).choices).toHaveLength(1);
        expect(containerLog(NAMES.router).split("routing: auto -> code").length).toBe(before + 1);
    });
});

describe("Open WebUI without the internet", () => {
    it("asked nothing of DNS but the stack's containers, and connected only to them and itself", async () => {
        const token = await adminToken();
        expect((await call("GET", "/api/version/updates", token)).json).toEqual({
            current: "0.12.4",
            latest: "0.12.4",
        });
        const stack = [addressOf(NAMES.ollama), addressOf(NAMES.router)];
        const questions = watch.dnsQuestions();
        const connections = watch.connections();
        process.stderr.write(
            `[peers] Open WebUI, two starts and every test above: DNS ${JSON.stringify([...new Set(questions)])}, connections ${JSON.stringify([...new Set(connections)])}\n`,
        );
        expect(questions.filter((name) => !["ollama", "litellm"].includes(name))).toEqual([]);
        const own = /^(127\.0\.0\.1|::1) /;
        expect(connections.filter((c) => !own.test(c) && !stack.includes(c.split(" ")[0]))).toEqual([]);
        expect(connections).toContain(`${addressOf(NAMES.router)} ${LITELLM_CONTAINER_PORT}`);

        // The watcher does see a lookup of a name on the internet made from that namespace.
        docker("exec", "-d", NAMES.ui, "python3", "-c", "import socket; socket.getaddrinfo('huggingface.co', 443)");
        await until(() => watch.dnsQuestions().includes("huggingface.co"), 10, "the watcher to see huggingface.co");
    });
});
