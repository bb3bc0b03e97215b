import * as path from "node:path";
import { Readable } from "node:stream";
import { askCodeCommand } from "../../commands/askCode";
import { execute } from "../../commands/cli";
import { PROJECT_DIR } from "../../commands/stackFile";
import { FakeRouter } from "../support/fakeServices";
import { freePort } from "../support/httpServer";
import { StackFolder, runInProcess, runNode, testStackConfig } from "../support/operator";

const LOCAL_KEY = "sk-local-router-key-0123456789";
const CLOUD_KEY = "sk-cloud-router-key-0123456789";
const ANSWER = ["def add", "(a, b):", "\n    return a + b"];

describe("npx ask-code", () => {
    const folder = new StackFolder();
    let local: FakeRouter;
    let cloud: FakeRouter;
    const keys = { AIGW_MASTER_KEY: LOCAL_KEY, AIGW_CLOUD_MASTER_KEY: CLOUD_KEY };

    beforeAll(async () => {
        [local, cloud] = await Promise.all([
            FakeRouter.start({ key: LOCAL_KEY, groups: { code: "http://ollama:11434" }, answer: ANSWER }),
            FakeRouter.start({ key: CLOUD_KEY, groups: { code: "https://api.openai.com/v1" }, answer: ANSWER }),
        ]);
        folder.write("gpu", testStackConfig({ ollama: 1, router: local.server.port, cloudRouter: cloud.server.port }));
    });
    afterAll(async () => {
        await Promise.all([local.close(), cloud.close()]);
        folder.remove();
    });
    beforeEach(() => {
        local.chats.splice(0);
        cloud.chats.splice(0);
    });

    it("streams the answer of group code from the local router; nothing reaches the cloud router", async () => {
        const { code, out, err } = await runInProcess(
            askCodeCommand,
            ["--stack", "gpu", "write", "add(a, b)"],
            folder.env(keys),
        );
        expect(code).toBe(0);
        expect(out).toBe(`${ANSWER.join("")}\n`);
        expect(local.chats).toEqual([{ model: "code", stream: true, prompt: "write add(a, b)" }]);
        expect(cloud.chats).toEqual([]);
        expect(err).toMatch(
            // Durations read "850 ms" below a second and "1.2 s" above.
            /^ask-code: code via litellm \(http:\/\/ollama:11434\), first token (\d+ ms|\d+\.\d s), total (\d+ ms|\d+\.\d s)\n$/,
        );
    });

    it("prints each token as it arrives, not the whole answer at the end", async () => {
        // The router holds each token until the one before is printed (at most 10 s, so that a client that prints
        // only at the end fails here instead of hanging), then waits 150 ms: what the machine's speed cannot change
        // is the order of sending and printing, and that each token is printed at least 150 ms after the one before.
        const events: string[] = [];
        const arrivals: number[] = [];
        let err = "";
        const io = {
            out: (text: string) => {
                arrivals.push(Date.now());
                events.push(`printed ${JSON.stringify(text)}`);
            },
            err: (text: string) => void (err += text),
            env: folder.env(keys),
            stdin: Readable.from([]),
        };
        const printed = async (count: number) => {
            for (const end = Date.now() + 10_000; arrivals.length < count && Date.now() < end;)
                await new Promise((resolve) => setTimeout(resolve, 5));
        };
        const slow = await FakeRouter.start({
            key: LOCAL_KEY,
            groups: { code: "http://ollama:11434" },
            answer: ANSWER,
            tokenDelayMs: 150,
            beforeToken: (index) => printed(index),
            sentToken: (index) => void events.push(`sent ${JSON.stringify(ANSWER[index])}`),
        });
        try {
            folder.write("slow", testStackConfig({ ollama: 1, router: slow.server.port }));
            expect(await execute(askCodeCommand, ["--stack", "slow", "hi"], io)).toBe(0);
            // Three tokens, each printed before the next was sent; then the final newline.
            expect(events).toEqual([
                ...ANSWER.flatMap((token) => [`sent ${JSON.stringify(token)}`, `printed ${JSON.stringify(token)}`]),
                'printed "\\n"',
            ]);
            expect(arrivals[1] - arrivals[0]).toBeGreaterThanOrEqual(100);
            expect(arrivals[2] - arrivals[1]).toBeGreaterThanOrEqual(100);
            // The first token's time is taken when it arrives: the whole answer took two more 150 ms waits
            // (less the rounding of "1.2 s").
            const [, first, total] = err.match(/first token (.+), total (.+)\n$/)!;
            const ms = (duration: string) =>
                duration.endsWith(" ms") ? parseFloat(duration) : parseFloat(duration) * 1000;
            expect(ms(total) - ms(first)).toBeGreaterThanOrEqual(300 - 100);
        } finally {
            await slow.close();
        }
    });

    it("with FINAL_CHECK=1 uses the cloud-fallback router and its key", async () => {
        const { code, out, err } = await runInProcess(
            askCodeCommand,
            ["--stack", "gpu", "hi"],
            folder.env({ ...keys, FINAL_CHECK: "1" }),
        );
        expect(code).toBe(0);
        expect(out).toBe(`${ANSWER.join("")}\n`);
        expect(cloud.chats).toHaveLength(1);
        expect(local.chats).toEqual([]);
        expect(err).toContain("via litellm-cloud (https://api.openai.com/v1)");
    });

    it.each([
        {
            why: "the stack has no cloud-fallback router",
            cloudRouter: undefined,
            message: (stack: string) =>
                `FINAL_CHECK=1 uses the cloud-fallback router (port 4001), which stack ${stack} does not deploy: ` +
                "set ai-gateway:cloud.enabled: true and the secret cloudApiKey, then npm run up, or unset FINAL_CHECK",
        },
        {
            why: "the cloud-fallback router is not running",
            cloudRouter: "absent",
            message: (stack: string, port: number) =>
                `router litellm-cloud at http://127.0.0.1:${port} is not running (connection refused): ` +
                `deploy it with npm run up -- --stack ${stack}, or see npm run status -- --stack ${stack}`,
        },
    ])(
        "with FINAL_CHECK=1 fails clearly when $why, and never uses the local router",
        async ({ cloudRouter, message }) => {
            const absent = await freePort();
            const stack = folder.write(
                `final-${cloudRouter ?? "none"}`,
                testStackConfig({
                    ollama: 1,
                    router: local.server.port,
                    cloudRouter: cloudRouter ? absent : undefined,
                }),
            );
            const env = folder.env({ ...keys, FINAL_CHECK: "1" });
            const { code, err } = await runInProcess(askCodeCommand, ["--stack", stack, "hi"], env);
            expect(code).toBe(1);
            expect(err).toBe(`ask-code: ${message(stack, absent)}\n`);
            expect(local.chats).toEqual([]);
        },
    );

    it("says the key was refused when it is wrong", async () => {
        const { code, err } = await runInProcess(
            askCodeCommand,
            ["--stack", "gpu", "hi"],
            folder.env({ AIGW_MASTER_KEY: "sk-wrong" }),
        );
        expect(code).toBe(1);
        expect(err).toMatch(
            /^ask-code: router litellm at http:\/\/127\.0\.0\.1:\d+ refused the key \(HTTP 400: No connected db\.\): check AIGW_MASTER_KEY\n$/,
        );
    });

    it("needs a prompt, from the arguments or stdin", async () => {
        const { code, err } = await runInProcess(askCodeCommand, ["--stack", "gpu"], folder.env(keys));
        expect(code).toBe(2);
        expect(err).toContain("ask-code: no prompt given\nusage: npx ask-code");
        const piped = await runInProcess(askCodeCommand, ["--stack", "gpu"], folder.env(keys), "fix this\nbug\n");
        expect(piped.code).toBe(0);
        expect(local.chats.map((c) => c.prompt)).toEqual(["fix this\nbug\n"]);
    });

    it("runs as npx ask-code through its bin shim, reading the prompt from stdin", async () => {
        const { code, out, err } = await runNode(
            [path.join(PROJECT_DIR, "bin", "ask-code.js"), "--stack", "gpu"],
            folder.env(keys),
            "write add(a, b)",
        );
        expect(err).toContain("ask-code: code via litellm");
        expect(code).toBe(0);
        expect(out).toBe(`${ANSWER.join("")}\n`);
        expect(local.chats).toEqual([{ model: "code", stream: true, prompt: "write add(a, b)" }]);
    });
});
