/**
 * Claim 15 of the real-services suite: the routers' allowlist of routes, on the real LiteLLM 1.87.0 proxy started
 * on the configs the program renders for 4000 and 4001, and a control: the 4000 config without its
 * `allowed_routes`. Every outbound request of the three goes through the stand-in internet
 * (support/standInInternet.ts), which records what would have left; the stack's Ollama and the cloud provider are
 * OpenAI-compatible stand-ins on loopback. Ports: stand-in internet 24600, Ollama stand-in 24601, cloud stand-in
 * 24602, routers 24610 (control), 24611 (4000) and 24612 (4001).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parseDocument } from "yaml";
import { CANARY_ROUTES, routesFinding } from "../../commands/auditRouters";
import { validateStackConfig } from "../../config/load";
import { ROUTER_ALLOWED_ROUTES, renderRouterConfig } from "../../model/litellm";
import { isRouter, listServices } from "../../targets/docker/endpoints";
import { NO_DOCKER } from "../support/operator";
import { toLoopback } from "./support/loopback";
import { chat, CloudStandIn, loopback, Peer, startCloudStandIn, startLiteLLM, stopPeers } from "./support/peers";
import { StandInInternet, standInEnv, startStandInInternet } from "./support/standInInternet";
import { dockerVantage } from "../../targets/docker/doorPlan";

const MASTER_KEY = "sk-ai-gateway-routes-peers-0123456789";
const CLOUD_KEY = "sk-cloud-stand-in";
const PORTS = { internet: 24600, ollama: 24601, cloud: 24602, control: 24610, router: 24611, cloudRouter: 24612 };

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
    cloud: { enabled: true, port: PORTS.cloudRouter },
    cloudApiKey: CLOUD_KEY,
    openWebUI: { enabled: false },
});

/** One provider pass-through family: a request to it, with a prompt only it carries, and where LiteLLM sends it. */
interface Family {
    /** The family, as its prompt names it. */
    name: string;
    route: string;
    /** The host LiteLLM 1.87.0 forwards it to, as the stand-in internet sees the tunnel. */
    provider: string;
    body: unknown;
    /** Headers beyond the master key (Langfuse's route reads its key from Basic auth). */
    headers?: Record<string, string>;
}

const prompt = (family: string) => `a prompt for ${family} that must not leave the host`;

/** The families the review found open, and Langfuse's, which forwards too. */
const FAMILIES: Family[] = [
    {
        name: "anthropic",
        route: "/anthropic/v1/messages",
        provider: "api.anthropic.com:443",
        body: { model: "claude-3-5", max_tokens: 5, messages: [{ role: "user", content: prompt("anthropic") }] },
        // A client's own Anthropic key: LiteLLM forwards it too.
        headers: { "x-api-key": "sk-ant-the-clients-own" },
    },
    {
        name: "cohere",
        route: "/cohere/v2/chat",
        provider: "api.cohere.com:443",
        body: { model: "command-r", messages: [{ role: "user", content: prompt("cohere") }] },
    },
    {
        name: "mistral",
        route: "/mistral/v1/chat/completions",
        provider: "api.mistral.ai:443",
        body: { model: "mistral-small", messages: [{ role: "user", content: prompt("mistral") }] },
    },
    {
        name: "assemblyai",
        route: "/assemblyai/v2/transcript",
        provider: "api.assemblyai.com:443",
        body: { audio_url: "https://example.invalid/a.mp3", prompt: prompt("assemblyai") },
    },
    {
        name: "vertex_ai",
        route: "/vertex_ai/v1/projects/p/locations/us-central1/publishers/google/models/gemini-pro:generateContent",
        provider: "us-central1-aiplatform.googleapis.com:443",
        body: { contents: [{ role: "user", parts: [{ text: prompt("vertex_ai") }] }] },
    },
    {
        name: "vector_stores",
        route: "/v1/vector_stores",
        provider: "api.openai.com:443",
        body: { name: prompt("vector_stores") },
    },
    {
        name: "containers",
        route: "/v1/containers",
        provider: "api.openai.com:443",
        body: { name: prompt("containers") },
    },
    {
        name: "realtime",
        route: "/v1/realtime/client_secrets",
        provider: "api.openai.com:443",
        body: { session: { type: "realtime", model: "gpt-realtime", instructions: prompt("realtime") } },
    },
    {
        name: "langfuse",
        route: "/langfuse/api/public/ingestion",
        provider: "cloud.langfuse.com:443",
        body: { batch: [{ type: "trace-create", body: { input: prompt("langfuse") } }] },
        headers: { authorization: `Basic ${Buffer.from(`pk-lf-any:${MASTER_KEY}`).toString("base64")}` },
    },
];

/** Sends one family's request with the master key; resolves to the status and body. */
async function send(url: string, family: Family): Promise<{ status: number; body: string }> {
    const response = await fetch(`${url}${family.route}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${MASTER_KEY}`, ...family.headers },
        body: JSON.stringify(family.body),
        signal: AbortSignal.timeout(60_000),
    });
    return { status: response.status, body: await response.text() };
}

let state: string;
let internet: StandInInternet;
let ollama: CloudStandIn;
let cloud: CloudStandIn;
const peers: Peer[] = [];
const [control, router, cloudRouter] = [PORTS.control, PORTS.router, PORTS.cloudRouter].map((p) => loopback(p));

/** The rendered config of `variant` with its deployments on the stand-ins; `without` drops allowed_routes. */
function configText(variant: "local" | "cloud", without = false): string {
    const text = toLoopback(renderRouterConfig(config, variant, dockerVantage(config)), {
        apiBases: { "http://ollama:11434": loopback(PORTS.ollama) },
        cloudApiBase: cloud.apiBase,
    });
    if (!without) return text;
    const doc = parseDocument(text);
    expect(doc.deleteIn(["general_settings", "allowed_routes"])).toBe(true);
    return doc.toString({ lineWidth: 0 });
}

beforeAll(async () => {
    state = mkdtempSync(path.join(tmpdir(), "ai-gateway-routes-"));
    internet = await startStandInInternet(PORTS.internet, state);
    ollama = await startCloudStandIn(PORTS.ollama);
    cloud = await startCloudStandIn(PORTS.cloud);
    // The same environment for all three: only the config differs.
    const env = { LITELLM_MASTER_KEY: MASTER_KEY, CLOUD_API_KEY: CLOUD_KEY, ...standInEnv(internet) };
    for (const [text, port, name] of [
        [configText("local", true), PORTS.control, "control"],
        [configText("local"), PORTS.router, "local"],
        [configText("cloud"), PORTS.cloudRouter, "cloud"],
    ] as const)
        peers.push(startLiteLLM(text, port, path.join(state, `litellm-${name}`), env));
});

afterAll(async () => {
    stopPeers(...peers);
    await Promise.all([internet?.close(), ollama?.close(), cloud?.close()]);
    if (state) rmSync(state, { recursive: true, force: true });
});

describe("LiteLLM's provider pass-through routes", () => {
    it("without allowed_routes (the control), forward every family to its provider, prompt and master key included", async () => {
        for (const family of FAMILIES) {
            const before = internet.received.length;
            const answer = await send(control, family);
            const reached = internet.received.slice(before);
            expect({ route: family.route, reached: reached.map((r) => r.host) }).toEqual({
                route: family.route,
                reached: [family.provider],
            });
            expect(reached[0].body).toContain(prompt(family.name));
            // The stand-in's answer comes back to the client (containers: LiteLLM cannot parse it, but it was sent).
            expect(answer.status).toBe(family.route === "/v1/containers" ? 500 : 200);
        }
        // What the review saw: Anthropic's and Vertex's requests carry the router's master key, Anthropic's the
        // client's own key as well.
        const at = (provider: string) => internet.received.find((r) => r.host === provider)!;
        expect(at("api.anthropic.com:443").headers).toMatchObject({
            authorization: `Bearer ${MASTER_KEY}`,
            "x-api-key": "sk-ant-the-clients-own",
        });
        expect(at("us-central1-aiplatform.googleapis.com:443").headers.authorization).toBe(`Bearer ${MASTER_KEY}`);
    });

    it.each([
        ["4000", router],
        ["4001", cloudRouter],
    ])("are refused by the rendered %s router with 403, and nothing reaches the internet", async (_name, url) => {
        const [received, tunnels] = [internet.received.length, internet.tunnels.length];
        for (const family of FAMILIES) {
            const answer = await send(url, family);
            expect({ route: family.route, status: answer.status, body: JSON.parse(answer.body) }).toEqual({
                route: family.route,
                status: 403,
                body: {
                    error: {
                        message: `Access forbidden: Route ${family.route} not allowed`,
                        type: "auth_error",
                        param: "None",
                        code: "403",
                    },
                },
            });
        }
        expect(internet.received.length).toBe(received);
        expect(internet.tunnels.length).toBe(tunnels);
    });
});

describe("the allowed routes", () => {
    it.each([
        ["4000", router],
        ["4001", cloudRouter],
    ])(
        "all answer on the %s router with the master key: chat streamed and not, models, deployments, health",
        async (_name, url) => {
            const [received, tunnels] = [internet.received.length, internet.tunnels.length];
            const get = async (route: string, key?: string) => {
                const response = await fetch(`${url}${route}`, {
                    headers: key ? { authorization: `Bearer ${key}` } : {},
                });
                return { status: response.status, body: await response.text() };
            };
            const listsFast = async (route: string) =>
                expect(JSON.parse((await get(route, MASTER_KEY)).body).data.map((m: { id: string }) => m.id)).toContain(
                    "fast",
                );
            /** One check per allowed route: a route added to the list needs its own here. */
            const checks: Record<string, () => Promise<void>> = {
                "/v1/chat/completions": async () => {
                    const plain = await chat({ url, model: "fast", key: MASTER_KEY, extra: { max_tokens: 5 } });
                    expect(JSON.parse(plain.body).choices[0].message.content).toBe(ollama.answer);
                    const streamed = await chat({ url, model: "fast", key: MASTER_KEY, extra: { stream: true } });
                    expect(streamed.status).toBe(200);
                    expect(streamed.body).toContain(ollama.answer);
                    expect(streamed.body.trim().endsWith("data: [DONE]")).toBe(true);
                },
                // What an OpenAI client given the router's URL without /v1 calls.
                "/chat/completions": async () => {
                    const response = await fetch(`${url}/chat/completions`, {
                        method: "POST",
                        headers: { "content-type": "application/json", authorization: `Bearer ${MASTER_KEY}` },
                        body: JSON.stringify({ model: "fast", messages: [{ role: "user", content: "hi" }] }),
                    });
                    expect(JSON.parse(await response.text()).choices[0].message.content).toBe(ollama.answer);
                },
                "/v1/models": () => listsFast("/v1/models"),
                "/models": () => listsFast("/models"),
                "/model/info": async () =>
                    expect(JSON.parse((await get("/model/info", MASTER_KEY)).body).data.length).toBeGreaterThan(0),
                "/health/liveliness": async () =>
                    expect(await get("/health/liveliness")).toEqual({ status: 200, body: '"I\'m alive!"' }),
                "/health/readiness": async () => expect((await get("/health/readiness")).status).toBe(200),
            };
            expect(Object.keys(checks).sort()).toEqual([...ROUTER_ALLOWED_ROUTES].sort());
            for (const check of Object.values(checks)) await check();
            // The list is compared whole: the same handler under another path, /health (a call to every model) and
            // the other model routes are refused.
            const refused = [
                ["GET", "/v1/model/info"],
                ["GET", "/health"],
                ["POST", "/v1/messages"],
                ["POST", "/v1/responses"],
                ["POST", "/v1/embeddings"],
            ];
            for (const [method, route] of refused) {
                const response = await fetch(`${url}${route}`, {
                    method,
                    headers: { "content-type": "application/json", authorization: `Bearer ${MASTER_KEY}` },
                    body: method === "POST" ? JSON.stringify({ model: "fast", input: "hi", max_tokens: 5 }) : undefined,
                });
                expect({ route, status: response.status }).toEqual({ route, status: 403 });
            }
            expect(internet.received.length).toBe(received);
            expect(internet.tunnels.length).toBe(tunnels);
        },
    );
});

describe("the audit's routes rule on the real LiteLLM", () => {
    const [local, cloudService] = listServices(config).filter(isRouter);

    it("passes both rendered routers and fails the control, whose canary still reaches nothing", async () => {
        expect(local.url).toBe(router);
        expect(cloudService.url).toBe(cloudRouter);
        for (const service of [local, cloudService])
            expect(await routesFinding(service)).toMatchObject({ subject: service.containerName, verdict: "pass" });
        const [received, tunnels] = [internet.received.length, internet.tunnels.length];
        const finding = await routesFinding({ ...local, url: control });
        expect(finding.verdict).toBe("fail");
        for (const route of CANARY_ROUTES)
            expect(finding.detail).toContain(
                `POST ${route} answered 400 (No connected db.): the route is served, only the key was refused`,
            );
        // The canary carries no router's key: even an open router forwards nothing, the master key least of all.
        expect(internet.received.length).toBe(received);
        expect(internet.tunnels.length).toBe(tunnels);
    });
});

// Last: it calls every route, LiteLLM's public ones with their side effects included.
describe("every route LiteLLM 1.87.0 serves", () => {
    it("called with the master key and a prompt on the 4000 router, sends nothing of it to the internet", async () => {
        const spec = (await (await fetch(`${router}/openapi.json`)).json()) as {
            paths: Record<string, Record<string, unknown>>;
        };
        const marker = "a sweep prompt that must not leave the host";
        const [received, tunnels] = [internet.received.length, internet.tunnels.length];
        const served: string[] = [];
        for (const [template, methods] of Object.entries(spec.paths)) {
            const route = template.replace(/\{[^}]+\}/g, "x");
            for (const method of Object.keys(methods).map((m) => m.toUpperCase())) {
                const response = await fetch(`${router}${route}`, {
                    method,
                    headers: { "content-type": "application/json", authorization: `Bearer ${MASTER_KEY}` },
                    body: ["GET", "HEAD"].includes(method)
                        ? undefined
                        : JSON.stringify({ model: "fast", messages: [{ role: "user", content: marker }] }),
                    redirect: "manual",
                    signal: AbortSignal.timeout(30_000),
                });
                const body = await response.text();
                if (!(response.status === 403 && body.includes(`Route ${route} not allowed`)))
                    served.push(`${method} ${route} ${response.status}`);
            }
        }
        const reached = internet.received.slice(received);
        expect(
            reached.filter((r) => r.body.includes(marker) || JSON.stringify(r.headers).includes(MASTER_KEY)),
        ).toEqual([]);
        // LiteLLM's public routes check no key, so allowed_routes does not reach them: /public/litellm_blog_posts
        // would fetch LiteLLM's blog feed from docs.litellm.ai, but the routers run with LITELLM_LOCAL_BLOG_POSTS=True
        // (as start_litellm.sh does here): nothing at all goes out.
        expect(internet.tunnels.slice(tunnels)).toEqual([]);
        console.log(
            `claim 15: ${Object.keys(spec.paths).length} paths swept; answered other than "Route ... not allowed": ` +
                `${served.join(", ")}; tunnels opened: ${internet.tunnels.slice(tunnels).join(", ") || "none"}`,
        );
    });
});
