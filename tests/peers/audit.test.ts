/**
 * The audit and the cloud-model guard against the real software: real Ollama 0.17.4 (one as the stack runs it,
 * with OLLAMA_NO_CLOUD=1, one without), the real LiteLLM 1.87.0 proxy on rendered configs, and the counting
 * stand-in as the remote host an Ollama cloud model points at. Ports: Ollama 11456-11457, LiteLLM 4056-4057,
 * stand-in 4059.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { AuditedContainer, bindingFindings } from "../../commands/auditContainers";
import { auditStack } from "../../commands/audit";
import { localOnlyFinding } from "../../commands/auditRouters";
import { redisAuthFinding } from "../../commands/auditNetwork";
import { ollamaEnv } from "../../model/ollama";
import { validateStackConfig } from "../../config/load";
import { OLLAMA_OPENAI_PATH, ollamaApiBases, renderRouterConfig } from "../../model/litellm";
import { listServices } from "../../targets/docker/endpoints";
import { NO_DOCKER } from "../support/operator";
import { toLoopback } from "./support/loopback";
import {
    chat,
    CloudStandIn,
    loadTinyModel,
    loopback,
    Peer,
    startCloudStandIn,
    startLiteLLM,
    startOllama,
    stopPeers,
} from "./support/peers";
import { startRedis } from "./support/redis";
import { dockerVantage } from "../../targets/docker/doorPlan";

const MASTER_KEY = "sk-ai-gateway-audit-peers-0123456789";
const PORTS = { ollama: 11456, control: 11457, router: 4056, leakyRouter: 4057, standIn: 4059, redis: 6371 };
/** A tag Ollama runs on a remote host, as ollama.com's cloud models are. */
const CLOUD_TAG = "gpt-oss:120b-cloud";

/** The stack as deployed here: one instance (the stack's Ollama, NO_CLOUD set) behind the router. */
const config = validateStackConfig({
    hosts: [
        {
            name: "box",
            docker: NO_DOCKER,
            ollama: [{ name: "ollama", port: PORTS.ollama, gpu: "none", models: ["tiny-a"] }],
        },
    ],
    groups: { fast: ["tiny-a"] },
    router: { port: PORTS.router },
    openWebUI: { enabled: false },
});
const router = listServices(config).find((s) => s.kind === "router")!;
/** The instance's api_base as the router reaches it here: the rendered container address mapped to loopback. */
const loopbackApiBases = (port: number) => ({ apiBases: { "http://ollama:11434": loopback(port) } });

let state: string;
let standIn: CloudStandIn;
const peers: Peer[] = [];

/** Registers a remote model in a real Ollama, the way ollama.com's cloud tags are: `from` a name, on `remote_host`. */
async function createRemoteModel(ollamaPort: number): Promise<void> {
    const response = await fetch(`${loopback(ollamaPort)}/api/create`, {
        method: "POST",
        body: JSON.stringify({
            model: CLOUD_TAG,
            from: "gpt-oss:120b",
            remote_host: loopback(PORTS.standIn),
            stream: false,
        }),
    });
    expect(`${response.status} ${await response.text()}`).toMatch(/^200 /);
}

beforeAll(async () => {
    state = mkdtempSync(path.join(tmpdir(), "ai-gateway-audit-"));
    standIn = await startCloudStandIn(PORTS.standIn);
    // The stack's Ollama gets exactly the environment the stack renders; the control lacks OLLAMA_NO_CLOUD.
    const stackEnv = Object.fromEntries(
        ollamaEnv(config.ollama)
            .map((e) => e.split("="))
            .filter(([key]) => key !== "OLLAMA_HOST"),
    );
    expect(stackEnv.OLLAMA_NO_CLOUD).toBe("1");
    // Ollama forwards only to the hosts in OLLAMA_REMOTES (default ollama.com): here the stand-in plays ollama.com
    // for both, so on the stack's Ollama nothing but OLLAMA_NO_CLOUD stands in the way.
    const remotes = { OLLAMA_REMOTES: "127.0.0.1" };
    peers.push(startOllama(PORTS.ollama, path.join(state, "ollama"), "127.0.0.1", { ...stackEnv, ...remotes }));
    peers.push(startOllama(PORTS.control, path.join(state, "control"), "127.0.0.1", remotes));
    for (const port of [PORTS.ollama, PORTS.control]) {
        loadTinyModel(port, "tiny-a");
        await createRemoteModel(port);
    }
    const env = { LITELLM_MASTER_KEY: MASTER_KEY };
    peers.push(
        startLiteLLM(
            toLoopback(renderRouterConfig(config, "local", dockerVantage(config)), loopbackApiBases(PORTS.ollama)),
            PORTS.router,
            path.join(state, "litellm"),
            env,
        ),
    );
    // What the finding described: a group naming a cloud tag, on an Ollama without OLLAMA_NO_CLOUD.
    peers.push(
        startLiteLLM(
            toLoopback(renderRouterConfig(config, "local", dockerVantage(config)), {
                ...loopbackApiBases(PORTS.control),
                models: { "tiny-a": CLOUD_TAG },
            }),
            PORTS.leakyRouter,
            path.join(state, "litellm-leaky"),
            env,
        ),
    );
});

afterAll(async () => {
    stopPeers(...peers);
    await standIn?.close();
    if (state) rmSync(state, { recursive: true, force: true });
});

describe("Ollama cloud models", () => {
    it("leave the host through router 4000 from an Ollama without OLLAMA_NO_CLOUD", async () => {
        const before = standIn.requests;
        const answer = await chat({
            url: loopback(PORTS.leakyRouter),
            model: "fast",
            key: MASTER_KEY,
            extra: { max_tokens: 1 },
        });
        expect(answer.status).not.toBe(401);
        expect(standIn.requests).toBeGreaterThan(before);
    });

    it("are refused by the stack's Ollama (OLLAMA_NO_CLOUD=1): 403, nothing reaches the remote host", async () => {
        const before = standIn.requests;
        const answer = await chat({ url: loopback(PORTS.ollama), model: CLOUD_TAG, extra: { max_tokens: 1 } });
        expect(answer.status).toBe(403);
        expect(standIn.requests).toBe(before);
    });
});

describe("npm run audit against the real router and Ollama", () => {
    it("accepts LiteLLM's real refusals: 401 without a key, 400 'No connected db.' with a wrong one", async () => {
        const findings = await auditStack(config, MASTER_KEY, ["127.0.0.2"]);
        expect(findings.filter((f) => f.rule === "auth").map((f) => [f.subject, f.verdict, f.detail])).toEqual([
            ["litellm", "pass", "GET /v1/models without a key answered 401"],
            ["litellm", "pass", "GET /v1/models with a wrong key answered 400 (No connected db.)"],
        ]);
    });

    it("sees the rendered router refuse LiteLLM's provider pass-through routes", async () => {
        const findings = await auditStack(config, MASTER_KEY, ["127.0.0.2"]);
        expect(findings.filter((f) => f.rule === "routes")).toEqual([
            {
                rule: "routes",
                subject: "litellm",
                verdict: "pass",
                detail: "refuses every canary: /anthropic/..., /vertex_ai/..., /cohere/..., /mistral/..., /assemblyai/..., /v1/vector_stores",
            },
        ]);
    });

    it("passes a router whose deployments are the stack's Ollama instances", async () => {
        const bases = [`${loopback(PORTS.ollama)}${OLLAMA_OPENAI_PATH}`];
        expect(await localOnlyFinding(config, router, MASTER_KEY, bases)).toMatchObject({
            verdict: "pass",
            detail: "serves fast, all local groups on the stack's Ollama instances",
        });
    });

    it("fails the same router against the rendered addresses: api_bases are compared, not assumed", async () => {
        const finding = await localOnlyFinding(
            config,
            router,
            MASTER_KEY,
            ollamaApiBases(config, dockerVantage(config, "box")),
        );
        expect(finding.verdict).toBe("fail");
        expect(finding.detail).toContain(
            `fast: hosted_vllm/tiny-a is reached at ${loopback(PORTS.ollama)}/v1, not at one of the stack's Ollama instances`,
        );
    });

    it("catches a group that names a cloud tag on a live router", async () => {
        const leaky = { ...router, url: loopback(PORTS.leakyRouter) };
        const bases = [`${loopback(PORTS.control)}${OLLAMA_OPENAI_PATH}`];
        expect(await localOnlyFinding(config, leaky, MASTER_KEY, bases)).toMatchObject({
            verdict: "fail",
            detail: `deployments that may leave the host: fast: hosted_vllm/${CLOUD_TAG} is an Ollama cloud model (Ollama runs it on ollama.com)`,
        });
    });

    it("catches a cloud model held by an Ollama instance", async () => {
        const findings = await auditStack(config, MASTER_KEY, ["127.0.0.2"]);
        expect(findings.find((f) => f.rule === "no-cloud-models")).toMatchObject({
            subject: "ollama",
            verdict: "fail",
            detail: `holds models that run elsewhere: ${CLOUD_TAG} → ${loopback(PORTS.standIn)}`,
        });
    });
});

describe("the audit of Redis (Debian's real redis-server)", () => {
    const redis = (port: number | undefined): AuditedContainer => ({
        containerName: "redis",
        host: config.hosts[0],
        port,
        publishes: [],
        publishesNothing: "only the routers on its own host use it",
        noEgress: true,
        image: config.images.redis,
        secretEnv: ["REDIS_PASSWORD"],
    });

    it("passes a published Redis that refuses a client without its password, fails an open one", async () => {
        const guarded = await startRedis(PORTS.redis, "aigw-audit-redis-password-0123", path.join(state, "redis"));
        peers.push(guarded);
        expect(await redisAuthFinding(redis(PORTS.redis))).toMatchObject({
            verdict: "pass",
            detail: "PING without a password answered -NOAUTH Authentication required.",
        });
        stopPeers(guarded);
        // requirepass "": Redis without a password, as its image runs by default.
        const open = await startRedis(PORTS.redis, "", path.join(state, "redis-open"));
        peers.push(open);
        expect(await redisAuthFinding(redis(PORTS.redis))).toMatchObject({
            verdict: "fail",
            detail: "PING without a password answered +PONG",
        });
    });

    it("judges an unpublished Redis by its bindings: none is right, any is wrong", () => {
        const facts = (ports: { hostIp: string; hostPort: number; containerPort: string }[]) => ({
            found: new Map([["redis", { ports } as never]]),
            unreachable: new Map(),
        });
        expect(bindingFindings([redis(undefined)], facts([]))[0]).toMatchObject({
            verdict: "pass",
            detail: "publishes no port (reached on the Docker network only)",
        });
        const published = bindingFindings(
            [redis(undefined)],
            facts([{ hostIp: "0.0.0.0", hostPort: 6379, containerPort: "6379/tcp" }]),
        );
        expect(published[0]).toMatchObject({
            verdict: "fail",
            detail: "6379/tcp published on 0.0.0.0:6379 (it must publish nothing: only the routers on its own host use it)",
        });
    });
});
