/**
 * Claims 2-5 of the real-services suite: the real LiteLLM 1.87.0 proxy, started on the configs the program
 * renders for a two-instance stack (router on 4000 and cloud-fallback router on 4001), in front of two real
 * Ollama 0.17.4 servers with tiny models, and the counting cloud stand-in. Ports: Ollama 11460-11461, routers
 * 4060 (local) and 4061 (cloud), stand-in 4069. The tests run in order: the last ones stop the backends.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { renderRouterConfig } from "../../model/litellm";
import { validateStackConfig } from "../../config/load";
import { failedOver } from "./support/load";
import { toLoopback } from "./support/loopback";
import {
    Answer,
    chat,
    CloudStandIn,
    listedModels,
    answeredBy,
    loadTinyModel,
    loopback,
    p50,
    Peer,
    startCloudStandIn,
    startLiteLLM,
    startOllama,
    stopPeers,
} from "./support/peers";
import { dockerVantage } from "../../targets/docker/doorPlan";

const MASTER_KEY = "sk-ai-gateway-peers-test";
const PORTS = { ollama: 11460, ollama2: 11461, router: 4060, cloudRouter: 4061, standIn: 4069 };
const FIRST = loopback(PORTS.ollama);
const SECOND = loopback(PORTS.ollama2);

/** The example cpu stack's shape with the tiny models: `fast` on both instances, `code` on the first only. */
const config = validateStackConfig({
    hosts: [
        {
            name: "box",
            ollama: [
                { name: "ollama", port: PORTS.ollama, gpu: "none", models: ["tiny-a", "tiny-b"] },
                { name: "ollama-2", port: PORTS.ollama2, gpu: "none", models: ["tiny-a"] },
            ],
        },
    ],
    groups: { fast: ["tiny-a"], code: ["tiny-b"] },
    router: { fallbacks: { code: ["fast"] } },
    cloud: { enabled: true },
    cloudApiKey: "sk-cloud-stand-in",
});

let state: string;
let standIn: CloudStandIn;
let first: Peer;
let second: Peer;
const routers: Peer[] = [];
let router: string;
let cloudRouter: string;

beforeAll(async () => {
    state = mkdtempSync(path.join(tmpdir(), "ai-gateway-peers-"));
    standIn = await startCloudStandIn(PORTS.standIn);
    first = startOllama(PORTS.ollama, path.join(state, "ollama"));
    second = startOllama(PORTS.ollama2, path.join(state, "ollama-2"));
    for (const model of ["tiny-a", "tiny-b"]) loadTinyModel(PORTS.ollama, model);
    loadTinyModel(PORTS.ollama2, "tiny-a");
    const mapping = {
        apiBases: { "http://ollama:11434": FIRST, "http://ollama-2:11434": SECOND },
        cloudApiBase: standIn.apiBase,
    };
    const env = { LITELLM_MASTER_KEY: MASTER_KEY, CLOUD_API_KEY: "sk-cloud-stand-in" };
    for (const [variant, port] of [
        ["local", PORTS.router],
        ["cloud", PORTS.cloudRouter],
    ] as const) {
        const text = toLoopback(renderRouterConfig(config, variant, dockerVantage(config)), mapping);
        routers.push(startLiteLLM(text, port, path.join(state, `litellm-${variant}`), env));
    }
    [router, cloudRouter] = routers.map((r) => r.url);
});

afterAll(async () => {
    stopPeers(...routers, first, second);
    await standIn?.close();
    rmSync(state, { recursive: true, force: true });
});

/** One token is enough to prove a path answers, and keeps the tiny models' CPU time out of the timings. */
const ask = (url: string, model: string, extra: Record<string, unknown> = {}) =>
    chat({ url, model, key: MASTER_KEY, extra: { max_tokens: 1, ...extra } });
const content = (answer: Answer) =>
    (JSON.parse(answer.body) as { choices: { message: { content: string } }[] }).choices[0].message.content;
const apiBase = answeredBy;

describe("claim 1: the real LiteLLM accepts the rendered configs of the test stack", () => {
    it("lists exactly the groups on 4000, and the groups plus the cloud deployment on 4001", async () => {
        expect(await listedModels(router, MASTER_KEY)).toEqual(["code", "fast"]);
        expect(await listedModels(cloudRouter, MASTER_KEY)).toEqual(["cloud", "code", "fast"]);
    });
});

describe("claim 2: every group answers through the router with the master key; without it, refused", () => {
    it.each(["fast", "code"])("%s answers on 4000 and on 4001 from Ollama, streamed and not", async (group) => {
        for (const url of [router, cloudRouter]) {
            const answer = await ask(url, group);
            expect(answer.status).toBe(200);
            expect(content(answer).length).toBeGreaterThan(0);
            const streamed = await ask(url, group, { stream: true });
            expect(streamed.status).toBe(200);
            expect(streamed.body).toContain("data: [DONE]");
        }
        expect(standIn.requests).toBe(0);
    });

    it("refuses a request without a key (401) and with a wrong key (400 'No connected db.': no key database)", async () => {
        const noKey = await chat({ url: router, model: "fast" });
        expect(noKey.status).toBe(401);
        const wrongKey = await chat({ url: router, model: "fast", key: "sk-wrong" });
        expect(wrongKey.status).toBe(400);
        expect(wrongKey.body).toContain("No connected db.");
    });
});

describe("claim 3: load balancing", () => {
    it("spreads 40 requests for fast over both instances, within simple-shuffle's random spread", async () => {
        const counts: Record<string, number> = { [FIRST]: 0, [SECOND]: 0 };
        for (let i = 0; i < 40; i++) {
            const answer = await ask(router, "fast");
            expect(answer.status).toBe(200);
            counts[apiBase(answer) as string]++;
        }
        console.log(`claim 3: 40 requests for fast landed ${JSON.stringify(counts)}`);
        // simple-shuffle picks uniformly: Binomial(40, 0.5) falls in 8..32 with probability 0.9998.
        expect(Object.keys(counts)).toEqual([FIRST, SECOND]);
        for (const count of Object.values(counts)) expect(count).toBeGreaterThanOrEqual(8);
        for (const count of Object.values(counts)) expect(count).toBeLessThanOrEqual(32);
    });
});

describe("claim 4: fallback", () => {
    it("kills one instance mid-run: no request fails, and a failover adds little latency", async () => {
        const answers: Answer[] = [];
        for (let i = 0; i < 30; i++) {
            if (i === 6) stopPeers(second);
            answers.push(await ask(router, "fast"));
        }
        expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
        const after = answers.slice(6);
        expect(after.map(apiBase)).toEqual(after.map(() => FIRST));
        // The requests after the kill that were first sent to the dead instance carry LiteLLM's retry or
        // fallback count; the others went straight to the live one.
        const retried = after.filter(failedOver);
        const direct = after.filter((a) => !retried.includes(a));
        console.log(
            `claim 4: ${retried.length} of ${after.length} requests after the kill failed over; ` +
                `p50 ${p50(retried.map((a) => a.ms)).toFixed(0)} ms vs ${p50(direct.map((a) => a.ms)).toFixed(0)} ms direct`,
        );
        expect(retried.length).toBeGreaterThan(0);
    });

    it("removes code's only model: the configured fallback group fast answers", async () => {
        const removed = await fetch(`${FIRST}/api/delete`, {
            method: "DELETE",
            body: JSON.stringify({ model: "tiny-b" }),
        });
        expect(removed.status).toBe(200);
        const answer = await ask(router, "code");
        expect(answer.status).toBe(200);
        expect(answer.headers["x-litellm-model-group"]).toBe("fast");
        expect(answer.headers["x-litellm-attempted-fallbacks"]).toBe("1");
        expect(apiBase(answer)).toBe(FIRST);
    });
});

describe("claim 5: the cloud rule", () => {
    it("with every local backend down, 4000 fails without a request to the cloud; 4001 answers from it", async () => {
        stopPeers(first);
        for (const group of ["fast", "code"]) {
            const local = await ask(router, group);
            // A backend error, or 429 "no deployments available" once LiteLLM has put every instance on cooldown.
            expect(local.status === 429 || local.status >= 500).toBe(true);
        }
        expect(standIn.requests).toBe(0);

        for (const group of ["fast", "code"]) {
            const cloud = await ask(cloudRouter, group);
            expect(cloud.status).toBe(200);
            expect(content(cloud)).toBe(standIn.answer);
            expect(cloud.headers["x-litellm-model-group"]).toBe("cloud");
        }
        expect(standIn.requests).toBeGreaterThanOrEqual(2);
    });
});
