/**
 * Claim 7 of the real-services suite: a stack of three hosts behind real LiteLLM 1.87.0 routers. Loopback
 * addresses stand for the hosts: h1 (the router host) is 127.0.0.1, h2 is 127.0.0.2, h3 is 127.0.0.3, each
 * running real Ollama 0.17.4 servers. The stack config gives h2 and h3 LAN addresses (the config refuses
 * loopback for a host the router reaches from elsewhere); `toLoopback` maps the rendered `api_base`s to the
 * loopback stand-ins, like every address of the suite. Router replicas share Debian's real redis-server.
 * Ports: Ollama 11470-11473, routers 4070-4077, Redis 6370. The tests run in order: the second stops h3, the
 * Redis ones replace its instances with stand-ins that fail every chat.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { OLLAMA_OPENAI_PATH, ollamaEndpoints, REDIS_PASSWORD_ENV, renderRouterConfig } from "../../model/litellm";
import { validateStackConfig } from "../../config/load";
import { StackConfig } from "../../config/stackKeys";
import { LocalServer, sendJson, startHttpServer } from "../support/httpServer";
import { toLoopback } from "./support/loopback";
import {
    Answer,
    answeredBy,
    chat,
    loadTinyModel,
    loopback,
    Peer,
    startLiteLLM,
    startOllama,
    stopPeers,
} from "./support/peers";
import { redisCli, RedisPeer, startRedis } from "./support/redis";
import { dockerVantage } from "../../targets/docker/doorPlan";

const MASTER_KEY = "sk-ai-gateway-peers-test";
const REDIS_PASSWORD = "peers-redis-password";
const PORTS = { router: 4070, replicas: [4072, 4073], control: [4076, 4077], redis: 6370 };
/** The loopback address that stands for each host. */
const ADDRESS: Record<string, string> = { h1: "127.0.0.1", h2: "127.0.0.2", h3: "127.0.0.3" };

/** `fast` spans h2 and h3, `code` spans h1 and h3; h3 has two instances. `replicas` routers on h1. */
const stack = (replicas: number) =>
    validateStackConfig({
        hosts: [
            { name: "h1", ollama: [{ name: "ollama", port: 11470, gpu: "none", models: ["tiny-b"] }] },
            {
                name: "h2",
                bindAddress: "10.8.0.12",
                ollama: [{ name: "h2-ollama", port: 11471, gpu: "none", models: ["tiny-a"] }],
            },
            {
                name: "h3",
                bindAddress: "10.8.0.13",
                ollama: [
                    { name: "h3-ollama", port: 11472, gpu: "none", models: ["tiny-a"] },
                    { name: "h3-ollama-2", port: 11473, gpu: "none", models: ["tiny-b"] },
                ],
            },
        ],
        groups: { fast: ["tiny-a"], code: ["tiny-b"] },
        // Longer than the tests take once an instance is cooled down, so no cooldown ends midway.
        router: { replicas, cooldownSeconds: 60 },
    });
const single = stack(1);
const replicated = stack(2);

/** Every instance as the router on h1 addresses it, and the loopback URL of the process that stands for it. */
const endpoints = ollamaEndpoints(single, dockerVantage(single, "h1")).map((e) => ({
    ...e,
    url: loopback(e.instance.port, ADDRESS[e.host.name]),
}));
const apiBases = Object.fromEntries(endpoints.map((e) => [e.apiBase, e.url]));
const h3 = endpoints.filter((e) => e.host.name === "h3");

let state: string;
const ollamas: Peer[] = [];
const routers: Peer[] = [];
let redis: RedisPeer | undefined;
let router: string;

/** Starts a real LiteLLM on the router config rendered for `config`, pointed at the loopback hosts. */
function startRouter(config: StackConfig, port: number, name: string): Peer {
    const text = toLoopback(renderRouterConfig(config, "local", dockerVantage(config, "h1")), {
        apiBases,
        redis: { host: "127.0.0.1", port: PORTS.redis },
    });
    const env = { LITELLM_MASTER_KEY: MASTER_KEY, [REDIS_PASSWORD_ENV]: REDIS_PASSWORD };
    const peer = startLiteLLM(text, port, path.join(state, name), env);
    routers.push(peer);
    return peer;
}

beforeAll(() => {
    state = mkdtempSync(path.join(tmpdir(), "ai-gateway-peers-"));
    for (const e of endpoints) {
        const address = ADDRESS[e.host.name];
        ollamas.push(startOllama(e.instance.port, path.join(state, e.instance.name), address));
        for (const model of e.instance.models) loadTinyModel(e.instance.port, model, model, address);
    }
    router = startRouter(single, PORTS.router, "litellm").url;
});

afterAll(async () => {
    stopPeers(...routers, ...ollamas, ...(redis ? [redis] : []));
    await Promise.all(sick.map((s) => s.server.close()));
    rmSync(state, { recursive: true, force: true });
});

/** One token is enough to prove a path answers. */
const ask = (url: string, model: string) => chat({ url, model, key: MASTER_KEY, extra: { max_tokens: 1 } });
/** The host that answered, from the base URL LiteLLM reports. */
const hostOf = (answer: Answer) => endpoints.find((e) => e.url === answeredBy(answer))?.host.name;

describe("claim 7: several hosts behind one real router", () => {
    it("spreads 40 requests for fast, served on h2 and h3, over both hosts", async () => {
        const counts: Record<string, number> = { h2: 0, h3: 0 };
        for (let i = 0; i < 40; i++) {
            const answer = await ask(router, "fast");
            expect(answer.status).toBe(200);
            counts[hostOf(answer) as string]++;
        }
        console.log(`claim 7: 40 requests for fast landed ${JSON.stringify(counts)}`);
        // One instance per host: simple-shuffle's Binomial(40, 0.5) falls in 8..32 with probability 0.9998.
        expect(Object.keys(counts)).toEqual(["h2", "h3"]);
        for (const count of Object.values(counts)) expect(count).toBeGreaterThanOrEqual(8);
        for (const count of Object.values(counts)) expect(count).toBeLessThanOrEqual(32);
    });

    it("stops every instance of h3 mid-run: no request fails, and the other hosts answer", async () => {
        const answers: Answer[] = [];
        for (let i = 0; i < 40; i++) {
            if (i === 8) stopPeers(...ollamas.filter((o) => h3.some((e) => e.url === o.url)));
            answers.push(await ask(router, i % 2 === 0 ? "fast" : "code"));
        }
        expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
        const after = answers.slice(8);
        expect(after.map(hostOf)).toEqual(after.map((_, i) => (i % 2 === 0 ? "h2" : "h1")));
        const retried = after.filter((a) => Number(a.headers["x-litellm-attempted-retries"] ?? 0) > 0);
        console.log(`claim 7: h3 stopped; ${retried.length} of ${after.length} requests after it were retried`);
    });
});

/** A stand-in for an h3 instance whose model runner crashed: Ollama's 500 on every chat, counted. */
interface SickInstance {
    server: LocalServer;
    chats: number;
}
const sick: SickInstance[] = [];
const sickChats = () => sick.reduce((sum, s) => sum + s.chats, 0);
const RUNNER_CRASHED = "llama runner process has terminated: exit status 2";

async function startSickInstances(): Promise<void> {
    for (const e of h3) {
        const instance = { chats: 0 } as SickInstance;
        instance.server = await startHttpServer(
            (req, res) => {
                instance.chats++;
                // Ollama words its errors one way on its own API and the OpenAI way on /v1.
                sendJson(
                    res,
                    500,
                    req.url?.startsWith("/v1/")
                        ? { error: { message: RUNNER_CRASHED, type: "api_error", param: null, code: null } }
                        : { error: RUNNER_CRASHED },
                );
            },
            e.instance.port,
            ADDRESS.h3,
        );
        sick.push(instance);
    }
}

/**
 * Bound on the learning phase. LiteLLM cools a deployment down once over half of its requests in the last minute
 * failed, counting at least 5: here that took 16-40 requests for both of h3's instances.
 */
const MAX_LEARNING = 60;
const ASKED_AFTERWARDS = 12;

/**
 * Sends requests (fast and code in turn) to replica `learner` until `learned()`, at most MAX_LEARNING, then
 * ASKED_AFTERWARDS requests to `other`, which has served nothing yet. Every answer must be a 200. Returns the
 * requests the learning took, the chats the sick instances got from each replica, and the cooldowns in Redis.
 */
async function learnThenAskOther(learner: string, other: string, learned: () => boolean) {
    let learning = 0;
    const before = sickChats();
    do {
        expect((await ask(learner, learning % 2 === 0 ? "fast" : "code")).status).toBe(200);
        learning++;
    } while (!learned() && learning < MAX_LEARNING);
    const fromLearner = sickChats() - before;
    for (let i = 0; i < ASKED_AFTERWARDS; i++) {
        expect((await ask(other, i % 2 === 0 ? "fast" : "code")).status).toBe(200);
    }
    return { learning, fromLearner, fromOther: sickChats() - before - fromLearner };
}

/** LiteLLM's Redis keys for the cooldowns of h3's deployments, by the ids the rendered config gives them. */
const h3CooldownKeys = () =>
    (
        parse(renderRouterConfig(replicated, "local", dockerVantage(replicated, "h1"))) as {
            model_list: { litellm_params: { api_base: string }; model_info: { id: string } }[];
        }
    ).model_list
        .filter((d) => h3.some((e) => `${e.apiBase}${OLLAMA_OPENAI_PATH}` === d.litellm_params.api_base))
        .map((d) => `deployment:${d.model_info.id}:cooldown`);

describe("claim 7: router replicas share cooldowns through Redis", () => {
    const keys = h3CooldownKeys();
    const inRedis = () => Number(redisCli(redis!, "EXISTS", ...keys));

    beforeAll(async () => {
        await startSickInstances();
        redis = await startRedis(PORTS.redis, REDIS_PASSWORD, path.join(state, "redis"));
    });

    it("renders the Redis settings only when there is more than one router", () => {
        type Settings = { router_settings: Record<string, unknown> };
        const settings = (config: StackConfig) =>
            (parse(renderRouterConfig(config, "local", dockerVantage(config, "h1"))) as Settings).router_settings;
        expect(settings(replicated)).toMatchObject({
            redis_host: "redis",
            redis_port: 6379,
            redis_password: `os.environ/${REDIS_PASSWORD_ENV}`,
        });
        expect(Object.keys(settings(single)).filter((key) => key.startsWith("redis"))).toEqual([]);
    });

    it("what one replica learns about a failing instance, the other honours through Redis", async () => {
        const [first, second] = PORTS.replicas.map((port, i) => startRouter(replicated, port, `litellm-${i + 1}`));
        const run = await learnThenAskOther(first.url, second.url, () => inRedis() === keys.length);
        const ttls = keys.map((key) => Number(redisCli(redis!, "TTL", key)));
        console.log(`claim 7: with Redis: ${JSON.stringify(run)}, cooldown TTLs ${ttls} s`);
        expect(inRedis()).toBe(keys.length);
        for (const ttl of ttls) expect(ttl).toBeGreaterThan(0);
        expect(run.fromOther).toBe(0);
        stopPeers(first, second);
    });

    it("control: the same replicas without Redis: the other still sends to the failing instances", async () => {
        const [first, second] = PORTS.control.map((port, i) => startRouter(single, port, `litellm-control-${i + 1}`));
        // Without Redis there is nothing to read: the learner has learned once 8 requests in a row spared h3.
        let quiet = 0;
        let seen = sickChats();
        const learned = () => {
            quiet = sickChats() === seen ? quiet + 1 : 0;
            seen = sickChats();
            return quiet === 8;
        };
        const run = await learnThenAskOther(first.url, second.url, learned);
        console.log(`claim 7: without Redis: ${JSON.stringify(run)}`);
        expect(quiet).toBe(8);
        expect(run.fromOther).toBeGreaterThan(0);
        stopPeers(first, second);
    });
});
