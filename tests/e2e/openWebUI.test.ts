/**
 * Open WebUI as a person uses it, on a stack the real Pulumi engine deployed (`npm run up` of a project copy,
 * images from the local registry, tiny models from the model registry): Debian's headless Chromium signs in as
 * the admin with the stack's generated password, picks `auto`, asks a coding question and sees the answer with
 * the routing filter's "Routed to code" status; a stranger cannot sign up. Then an upgrade: another Open WebUI
 * image replaces the container, and the users, the chat and the installed filter function are all still there,
 * in the browser too. Screenshots go to test-output/e2e/ (CI's artifacts).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Browser } from "playwright-core";
import { DeployFolder } from "./support/deployFolder";
import { ModelRegistry, startRegistries, withTools } from "./support/modelRegistry";
import {
    STRANGER,
    Session,
    ask,
    clearTestOutput,
    findAs,
    getAs,
    inPage,
    launchChromium,
    signIn,
    signInInBrowser,
    signUp,
    testOutput,
} from "./support/openWebUI";
import {
    E2E_IMAGES,
    phase,
    pushImageVariant,
    removeLocalImages,
    replacedContainers,
    requirePrerequisites,
    stackObjects,
    tearDownStack,
    timed,
    upAndReport,
} from "./support/stackHarness";

const STACK = "owui";
/** The stack's ports on 127.0.0.1, apart from the lifecycle suite's; the model registry's on the Docker bridge. */
const PORTS = { ollama: 21600, router: 24200, openWebUI: 23200, modelRegistry: 23280 };
const OPEN_WEBUI = `http://127.0.0.1:${PORTS.openWebUI}`;
const QUESTION = "Write a Python function that reverses a string";
const FOLLOW_UP = "Now write a Python function that checks for palindromes";
/** What the routing filter shows above the answer when the question goes to the code group. */
const ROUTED_TO_CODE = /^Routed to code: matched keyword "python", keyword "function"$/;
/** The title the filter function's frontmatter gives it (routing/filter.ts). */
const FILTER_TITLE = "title: Route by content (ai-gateway)";
/** The start of the name of every screenshot this suite leaves in the test output folder. */
const SCREENSHOTS = "open-webui-";

let folder: DeployFolder;
let models: ModelRegistry;
let browser: Browser;
let work: string;
let stackConfig: Record<string, unknown>;
let admin: { email: string; password: string };
/** The admin's account and the chat the browser step left, checked again after the upgrade. */
let adminSession: Session;
let chatId: string;
let functionBefore: FunctionState;
/** The Open WebUI image of the upgrade, once pushed. */
let upgradeImage: string | undefined;

function initialConfig(dataDir: string): Record<string, unknown> {
    const [fast, code] = [models.model(withTools("tiny-a")), models.model(withTools("tiny-b"))];
    return {
        hosts: [{ name: STACK, dataDir, ollama: [{ name: "ollama", port: PORTS.ollama, gpu: "none" }] }],
        ollama: { insecureRegistries: [models.host], flashAttention: false, numParallel: 1 },
        images: E2E_IMAGES,
        groups: { fast: [fast], code: [code] },
        router: { port: PORTS.router },
        openWebUI: { port: PORTS.openWebUI },
        routing: {
            default: "fast",
            routes: [{ name: "code", group: "code", keywords: ["python", "function"] }],
        },
    };
}

/** The routing filter as installed in Open WebUI: the function and how it is attached to `auto`. */
interface FunctionState {
    id: string;
    /** When Open WebUI created it: the same function, not one installed again. */
    createdAt: number;
    content: string;
    isActive: boolean;
    isGlobal: boolean;
    /** The filters the `auto` model names (none when Open WebUI keeps no entry for it). */
    autoFilterIds: string[];
}

async function installedFilter(session: Session): Promise<FunctionState | undefined> {
    const functions = await getAs<{ id: string; type: string }[]>(OPEN_WEBUI, session, "/api/v1/functions/");
    for (const { id } of functions.filter((f) => f.type === "filter")) {
        const fn = await getAs<{ content: string; is_active: boolean; is_global: boolean; created_at: number }>(
            OPEN_WEBUI,
            session,
            `/api/v1/functions/id/${id}`,
        );
        if (!fn.content.includes(FILTER_TITLE)) continue;
        // Open WebUI keeps an entry for `auto` only when something was set on it, such as its filters.
        const auto = await findAs<{ meta: { filterIds?: string[] } }>(
            OPEN_WEBUI,
            session,
            "/api/v1/models/model?id=auto",
        );
        return {
            id,
            createdAt: fn.created_at,
            content: fn.content,
            isActive: fn.is_active,
            isGlobal: fn.is_global,
            autoFilterIds: auto?.meta.filterIds ?? [],
        };
    }
    return undefined;
}

beforeAll(async () => {
    requirePrerequisites(true, true);
    clearTestOutput(SCREENSHOTS);
    work = mkdtempSync(path.join(tmpdir(), "aigw-e2e-owui-"));
    folder = new DeployFolder(STACK);
    await timed("infrastructure (image registry, model registry, tiny models, browser)", async () => {
        models = await startRegistries(PORTS.modelRegistry, [withTools("tiny-a"), withTools("tiny-b")], work);
        browser = await launchChromium();
    });
}, 600_000);

afterAll(async () => {
    // Pass or fail, nothing stays behind: the browser, the stack, the servers, the upgrade's image.
    await tearDownStack(STACK, { folder, models, work, servers: [browser] });
    if (upgradeImage) removeLocalImages([upgradeImage]);
}, 600_000);

test("up deploys the stack with Open WebUI and its routing filter", async () => {
    stackConfig = initialConfig(path.join(work, "data"));
    folder.writeConfig(stackConfig);
    await upAndReport(folder, "up");
    const outputs = folder.outputs() as Record<string, string>;
    admin = { email: outputs.openWebUIAdminEmail, password: outputs.openWebUIAdminPassword };
    expect([...stackObjects(STACK).containers.keys()].sort()).toEqual(["door", "litellm", "ollama", "open-webui"]);
    adminSession = await signIn(OPEN_WEBUI, admin.email, admin.password);
    const filter = await installedFilter(adminSession);
    expect(filter).toBeDefined();
    expect(filter!.isActive).toBe(true);
    expect(filter!.isGlobal || filter!.autoFilterIds.includes(filter!.id)).toBe(true);
    functionBefore = filter!;
});

test("in the browser, the admin asks auto a coding question and sees it answered by the code group", async () => {
    const started = Date.now();
    const { status, answer } = await inPage(browser, `${SCREENSHOTS}chat`, async (page) => {
        await signInInBrowser(page, OPEN_WEBUI, admin);
        await page.locator("#model-selector-model-button").click();
        await page.locator("#model-search-input").fill("auto");
        await page.getByRole("option", { name: "Select auto model" }).click();
        await expect(page.locator("#model-selector-model-button").getAttribute("aria-label")).resolves.toBe(
            "Selected model: auto",
        );
        const asked = await ask(page, QUESTION);
        chatId = new URL(page.url()).pathname.split("/").pop()!;
        await page.screenshot({ path: testOutput(`${SCREENSHOTS}chat.png`) });
        return asked;
    });
    phase("browser: sign in, pick auto, ask, answer", (Date.now() - started) / 1000, status);
    expect(status).toMatch(ROUTED_TO_CODE);
    expect(answer.length).toBeGreaterThan(0);

    // The chat is stored as the admin's.
    const chats = await getAs<{ id: string }[]>(OPEN_WEBUI, adminSession, "/api/v1/chats/");
    expect(chats.map((c) => c.id)).toContain(chatId);
});

test("another user than the admin cannot sign up", async () => {
    expect(await signUp(OPEN_WEBUI, STRANGER)).toBe(403);
    await expect(signIn(OPEN_WEBUI, STRANGER.email, STRANGER.password)).rejects.toThrow(/HTTP 400/);
});

test("a new Open WebUI image replaces the container and keeps the users, the chat and the filter", async () => {
    upgradeImage = await timed("second Open WebUI image pushed", async () =>
        pushImageVariant(E2E_IMAGES.openWebUI, "b"),
    );
    const before = stackObjects(STACK).containers;
    stackConfig = { ...stackConfig, images: { ...E2E_IMAGES, openWebUI: upgradeImage } };
    folder.writeConfig(stackConfig);
    await upAndReport(folder, "up with another Open WebUI image");
    expect(replacedContainers(before, stackObjects(STACK).containers)).toEqual(["open-webui"]);

    const session = await signIn(OPEN_WEBUI, admin.email, admin.password);
    expect(session.id).toBe(adminSession.id);
    const chats = await getAs<{ id: string }[]>(OPEN_WEBUI, session, "/api/v1/chats/");
    expect(chats.map((c) => c.id)).toContain(chatId);
    expect(await installedFilter(session)).toEqual(functionBefore);

    // In the browser: the chat is there as it was, and the filter still routes a follow-up to code.
    const started = Date.now();
    const { status } = await inPage(browser, `${SCREENSHOTS}after-upgrade`, async (page) => {
        await signInInBrowser(page, OPEN_WEBUI, admin, `/c/${chatId}`);
        await page.locator("#messages-container").getByText(QUESTION).waitFor();
        const asked = await ask(page, FOLLOW_UP);
        await page.screenshot({ path: testOutput(`${SCREENSHOTS}after-upgrade.png`) });
        return asked;
    });
    phase("browser: the kept chat, a follow-up", (Date.now() - started) / 1000, status);
    expect(status).toMatch(/^Routed to code: /);
});
