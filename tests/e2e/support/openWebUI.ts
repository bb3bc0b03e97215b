/**
 * Open WebUI as its users meet it: its HTTP API (sign-in, sign-up, what an account holds) and its pages in
 * Debian's headless Chromium, driven by playwright-core. No browser is downloaded: the system's is launched.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import * as path from "node:path";
import { Browser, LaunchOptions, Page, chromium } from "playwright-core";
import { PROJECT_DIR } from "../../../commands/stackFile";
import { CHROMIUM } from "./stackHarness";

/** Where the e2e suites leave what a person would look at (screenshots): CI keeps it as an artifact. */
export const TEST_OUTPUT = path.join(PROJECT_DIR, "test-output", "e2e");

/** The path of the file `name` in the test output folder, which is created when missing. */
export function testOutput(name: string): string {
    mkdirSync(TEST_OUTPUT, { recursive: true });
    return path.join(TEST_OUTPUT, name);
}

/** Removes what an earlier run left in the test output folder under names starting with `prefix`. */
export function clearTestOutput(prefix: string): void {
    const files = existsSync(TEST_OUTPUT) ? readdirSync(TEST_OUTPUT) : [];
    for (const file of files.filter((name) => name.startsWith(prefix))) rmSync(path.join(TEST_OUTPUT, file));
}

/** An account signed in through the API: its id and its session token. */
export interface Session {
    id: string;
    token: string;
}

/** Signs in to Open WebUI at `url`; fails with the status when it refuses. */
export async function signIn(url: string, email: string, password: string): Promise<Session> {
    const response = await fetch(`${url}/api/v1/auths/signin`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email, password }),
    });
    if (response.status !== 200) throw new Error(`sign-in as ${email}: HTTP ${response.status}`);
    return (await response.json()) as Session;
}

/** Someone without an account. */
export const STRANGER = { name: "stranger", email: "stranger@example.com", password: "a-long-password-1" };

/** Asks Open WebUI at `url` to create `account` (sign-up); resolves to the HTTP status. */
export async function signUp(url: string, account: typeof STRANGER): Promise<number> {
    const response = await fetch(`${url}/api/v1/auths/signup`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(account),
    });
    return response.status;
}

/** GETs `apiPath` of Open WebUI at `url` as `session`; resolves to undefined on 404, fails unless 200 otherwise. */
export async function findAs<T>(url: string, session: Session, apiPath: string): Promise<T | undefined> {
    const response = await fetch(`${url}${apiPath}`, { headers: { authorization: `Bearer ${session.token}` } });
    const body = await response.text();
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw new Error(`GET ${apiPath}: HTTP ${response.status}: ${body.slice(0, 500)}`);
    return JSON.parse(body) as T;
}

/** As `findAs`, for what must exist. */
export async function getAs<T>(url: string, session: Session, apiPath: string): Promise<T> {
    const found = await findAs<T>(url, session, apiPath);
    if (found === undefined) throw new Error(`GET ${apiPath}: HTTP 404`);
    return found;
}

/**
 * Debian's Chromium, headless; without its sandbox, which cannot start as root. `options` may start it another
 * way (a wrapper as `executablePath`) or with another environment (`env`).
 */
export function launchChromium(options: Pick<LaunchOptions, "executablePath" | "env"> = {}): Promise<Browser> {
    return chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
        ...options,
    });
}

/** A page of its own in `browser`; on failure its screenshot is kept as `<name>-failed.png` in the test output. */
export async function inPage<T>(browser: Browser, name: string, steps: (page: Page) => Promise<T>): Promise<T> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    // Open WebUI shows its release notes to an account once, over whatever the step was about to click.
    await page.addLocatorHandler(page.getByRole("button", { name: "Okay, Let's Go!" }), (button) => button.click());
    try {
        return await steps(page);
    } catch (err) {
        await page.screenshot({ path: testOutput(`${name}-failed.png`) }).catch(() => undefined);
        throw err;
    } finally {
        await context.close();
    }
}

/** Signs in on the sign-in page of Open WebUI at `url` as `account`, then goes to `then`. */
export async function signInInBrowser(
    page: Page,
    url: string,
    account: { email: string; password: string },
    then = "/",
): Promise<void> {
    await page.goto(`${url}/auth?redirect=${encodeURIComponent(then)}`);
    await page.locator("#email").fill(account.email);
    await page.locator("#password").fill(account.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator("#chat-input").waitFor({ timeout: 120_000 });
}

/**
 * Sends `question` from the chat input and waits for its answer to be complete (a response's actions, such as
 * Regenerate, appear once it is); resolves to that response's status line and answer.
 */
export async function ask(page: Page, question: string): Promise<{ status: string; answer: string }> {
    const responses = page.locator('[id^="message-"]').filter({ has: page.locator("#response-content-container") });
    const before = await responses.count();
    await page.locator("#chat-input").fill(question);
    await page.locator("#chat-input").press("Enter");
    const response = responses.nth(before);
    await response.getByRole("button", { name: "Regenerate" }).waitFor({ timeout: 180_000 });
    // Complete, so a status line is there now or never: read without waiting.
    const statuses = await response.getByRole("button", { name: "Toggle status history" }).allInnerTexts();
    return {
        status: statuses.join("\n").trim(),
        answer: (await response.locator("#response-content-container").innerText()).trim(),
    };
}
