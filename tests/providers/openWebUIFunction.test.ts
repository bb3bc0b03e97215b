/**
 * The pure parts of OpenWebUIFunction: the request bodies it sends to Open WebUI 0.12.4's model API, its check
 * and diff, and what refresh and destroy do when Open WebUI does not answer. Its calls to a real Open WebUI are
 * proven in tests/peers/openWebUI.test.ts.
 */
import { freePort, sendJson, startHttpServer } from "../support/httpServer";
import {
    ModelEntry,
    attachedForm,
    canonical,
    changedInputs,
    detachedForm,
    isOnlyAttachment,
    newEntryForm,
    openWebUIFunctionProvider as provider,
} from "../../providers/openWebUIFunction";

const inputs = {
    url: "http://127.0.0.1:3000",
    adminEmail: "admin@ai-gateway.local",
    adminPassword: "secret-password",
    functionId: "route_by_content",
    name: "Route by content (ai-gateway)",
    content: '"""\ntitle: x\n"""\nclass Filter:\n    pass\n',
    valves: { priority: 0, show_status: true },
    models: ["auto"],
};

/** What `GET /api/v1/models/model?id=auto` answered for an entry an admin edited (Open WebUI 0.12.4). */
const editedEntry: ModelEntry = {
    id: "auto",
    name: "Auto (routed)",
    base_model_id: null,
    meta: { profile_image_url: null, description: "picks a group", capabilities: null, filterIds: ["other_filter"] },
    params: { temperature: 0.2 },
};

describe("OpenWebUIFunction's model bodies", () => {
    it("creates an entry for a model that has none, carrying only the filter", () => {
        expect(newEntryForm("auto", "route_by_content")).toEqual({
            id: "auto",
            name: "auto",
            base_model_id: null,
            meta: { filterIds: ["route_by_content"] },
            params: {},
        });
    });

    it("adds and removes its id in an existing entry, keeping everything an admin set", () => {
        const attached = attachedForm(editedEntry, "route_by_content");
        expect(attached).toEqual({
            ...editedEntry,
            meta: { ...editedEntry.meta, filterIds: ["other_filter", "route_by_content"] },
        });
        expect(attachedForm(attached, "route_by_content")).toEqual(attached);
        expect(detachedForm(attached, "route_by_content")).toEqual(editedEntry);
    });

    it("removes an entry on detach only when it does nothing but attach the function", () => {
        const created = {
            ...newEntryForm("auto", "route_by_content"),
            meta: { profile_image_url: null, filterIds: ["route_by_content"] },
            access_grants: [],
            is_active: true,
        };
        expect(isOnlyAttachment(created, "route_by_content")).toBe(true);
        expect(isOnlyAttachment({ ...created, meta: { filterIds: [] } }, "route_by_content")).toBe(true);
        expect(isOnlyAttachment({ ...created, name: "Auto" }, "route_by_content")).toBe(false);
        expect(isOnlyAttachment({ ...created, params: { temperature: 1 } }, "route_by_content")).toBe(false);
        expect(isOnlyAttachment({ ...created, access_grants: [{ principal_id: "*" }] }, "route_by_content")).toBe(
            false,
        );
        expect(isOnlyAttachment({ ...created, is_active: false }, "route_by_content")).toBe(false);
        expect(isOnlyAttachment(attachedForm(editedEntry, "route_by_content"), "route_by_content")).toBe(false);
    });
});

describe("OpenWebUIFunction's check and diff", () => {
    it("fills in the defaults, so the state compares equal to the program", async () => {
        const { inputs: checked, failures } = await provider.check!({}, { ...inputs, models: ["b", "a", "b"] });
        expect(failures).toEqual([]);
        expect(checked).toMatchObject({ description: "", global: false, models: ["a", "b"] });
        expect(canonical({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}');
    });

    it("refuses what Open WebUI would refuse or rewrite, with the reason", async () => {
        const { failures } = await provider.check!(
            {},
            {
                ...inputs,
                url: "127.0.0.1:3000",
                functionId: "Route-By-Content",
                content: "from utils.misc import x\n",
                valves: { priority: { nested: 1 } },
            },
        );
        expect(failures!.map((f) => f.property)).toEqual(["url", "functionId", "content", "valves"]);
        expect(failures![2].reason).toContain('contains "from utils", which Open WebUI rewrites on save');
    });

    it("updates on a change of source, valves, attachment or holder, replaces on another id, and sees a hand edit", async () => {
        const { inputs: news } = await provider.check!({}, inputs);
        const state = { ...news, isActive: true, type: "filter", createdAt: 1, updatedAt: 1 };
        expect(await provider.diff!("route_by_content", state, news)).toEqual({ changes: false, replaces: [] });
        expect(changedInputs(state, { ...news, content: `${news.content}# v2\n` })).toEqual(["content"]);
        expect(changedInputs(state, { ...news, valves: { show_status: true, priority: 0 } })).toEqual([]);
        expect(changedInputs(state, { ...news, valves: { priority: 1, show_status: true } })).toEqual(["valves"]);
        expect(changedInputs(state, { ...news, global: true, models: [] })).toEqual(["global", "models"]);
        expect(changedInputs(state, { ...news, holder: "container-2 /data/openwebui" })).toEqual(["holder"]);
        expect(await provider.diff!("route_by_content", state, { ...news, functionId: "other" })).toEqual({
            changes: true,
            replaces: ["functionId"],
        });
        // What refresh reads after someone switched the filter off and detached it in the admin panel.
        const edited = { ...state, isActive: false, models: [] };
        expect((await provider.diff!("route_by_content", edited, news)).changes).toBe(true);
    });
});

describe("OpenWebUIFunction while Open WebUI does not answer", () => {
    let logged: string[];
    beforeEach(() => {
        logged = [];
        jest.spyOn(console, "log").mockImplementation((line: string) => void logged.push(line));
    });
    afterEach(() => jest.restoreAllMocks());

    async function stateAt(url: string) {
        const { inputs: news } = await provider.check!({}, { ...inputs, url });
        return { ...news, isActive: true, type: "filter", createdAt: 1, updatedAt: 1 };
    }

    it("refresh keeps the function as recorded, marked unverified, and the next up checks it", async () => {
        // Down, or between two starts of a crash loop: nothing listens at its URL.
        const url = `http://127.0.0.1:${await freePort()}`;
        const state = await stateAt(url);
        await expect(provider.read!("route_by_content", state)).resolves.toEqual({
            id: "route_by_content",
            props: { ...state, unverified: true },
        });
        expect(logged.at(-1)).toBe(
            `OpenWebUIFunction route_by_content: cannot check: Open WebUI at ${url} did not answer; kept as recorded, and the next pulumi up checks it again`,
        );
        const { inputs: news } = await provider.check!({}, { ...inputs, url });
        expect(await provider.diff!("route_by_content", { ...state, unverified: true }, news)).toEqual({
            changes: true,
            replaces: [],
        });
    });

    it("destroy goes on, saying where the function stays", async () => {
        const url = `http://127.0.0.1:${await freePort()}`;
        await expect(provider.delete!("route_by_content", await stateAt(url))).resolves.toBeUndefined();
        expect(logged.at(-1)).toBe(
            `OpenWebUIFunction route_by_content: not removed: Open WebUI at ${url} did not answer; it stays in Open WebUI's data folder (remove it under Admin Panel > Functions)`,
        );
    });

    it("refresh and destroy still fail when Open WebUI answers with an error", async () => {
        // Open WebUI 0.12.4's answer to a wrong password.
        const server = await startHttpServer((_req, res) =>
            sendJson(res, 400, {
                detail: "The email or password provided is incorrect. Please check for typos and try logging in again.",
            }),
        );
        try {
            const state = await stateAt(server.url);
            await expect(provider.read!("route_by_content", state)).rejects.toThrow(
                /^OpenWebUIFunction route_by_content: cannot refresh: OpenWebUIFunction route_by_content: signing in to .* failed: HTTP 400 The email or password provided is incorrect/,
            );
            await expect(provider.delete!("route_by_content", state)).rejects.toThrow(/failed: HTTP 400/);
        } finally {
            await server.close();
        }
    });
});
