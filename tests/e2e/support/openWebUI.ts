/**
 * Open WebUI as its users meet it: its HTTP API (sign-in, sign-up, what an account holds) and its pages in
 * Debian's headless Chromium, driven by playwright-core. No browser is downloaded: the system's is launched.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import * as path from "node:path";
import { Browser, chromium } from "playwright-core";
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

/** Debian's Chromium, headless; without its sandbox, which cannot start as root. */
export function launchChromium(): Promise<Browser> {
    return chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
    });
}
