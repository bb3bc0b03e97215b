/**
 * `npm run audit -- --stack <name> [--json] [--probe-addresses <a,b>] [--dir <folder>]`
 *
 * The final audit of a deployed stack, one verdict per rule and subject:
 * - bind-address: every published port of every container is on the host's bind address only, and only the
 *   door publishes the ports of the services behind it (and, with remote access, its HTTPS front on that address);
 * - ollama-not-beyond: no Ollama instance answers on any other address of this machine;
 * - auth: the routers and Qdrant refuse calls without a key or with a wrong one, Open WebUI without a session,
 *   a published Redis without its password;
 * - secrets: no key or password is empty, short or a well-known default;
 * - cloud-key: only the cloud router (4001) holds the cloud key, by its variable or its value;
 * - local-only-router: every replica of the local router (4000) lists only the config's groups, each deployment
 *   an Ollama model (never a cloud tag) at one of the stack's Ollama instances;
 * - routes: every replica of every router (4000 and 4001) refuses a canary request to LiteLLM's provider
 *   pass-through routes, which would forward it to the provider whatever the model list says;
 * - no-cloud-models: no Ollama instance holds a model that runs on a remote host;
 * - images-pinned: every container (Redis and the doors too) runs the pinned image the config names;
 * - no-egress: the routers on 4000, Open WebUI, Qdrant and Redis are on internal networks only, and from inside
 *   each router and Open WebUI a connection to an address beyond the stack fails: a listener this audit opens on
 *   the Docker host's address on the stack's ordinary network, which any container with a route out reaches
 *   (and on the host's address on the internal network, if it has one there);
 * - one-door and tls, with remote access on (commands/auditRemote.ts): only the door answers on the remote-access
 *   address, and what it serves there verifies against the stack's CA, over TLS 1.2 or newer, far from its end.
 * Exit 1 when any rule fails, and an answer the audit cannot read fails its own rule only. The router's key comes
 * from `AIGW_MASTER_KEY` or the stack's outputs.
 */
import * as os from "node:os";
import { Server, createServer, connect, isIP } from "node:net";
import { sameAddress } from "../config/addresses";
import { NETWORK_NAME, serviceUrl } from "../targets/docker/containers";
import { INTERNAL_NETWORK_NAME, doorPublishedPorts, dockerVantage } from "../targets/docker/doorPlan";
import { doorContainerName, hasDoor } from "../model/plan";
import { remoteAccessListeners } from "../targets/docker/doorHttps";
import { CLOUD_API_KEY_ENV, REDIS_CONTAINER, REDIS_PASSWORD_ENV, nonLocalReason, ollamaApiBases } from "../model/litellm";
import { CLOUD_GROUP, RESERVED_GROUPS } from "../config/serviceKeys";
import { HostConfig, StackConfig } from "../config/stackKeys";
import { isOllamaCloudModel, isPinnedImage } from "../config/primitives";
import { needsRedis, placements, redisPublished } from "../model/plan";
import { GatewayService, authHeaders, listServices, refusesCall } from "../targets/docker/endpoints";
import { Command, CommandIO, REPORT_OPTIONS, UsageError, loadDockerStack, parseCommandArgs, runWhenMain } from "./cli";
import { StackContainers, execInContainer, imageTags, inspectNetworks, inspectStackContainers } from "./docker";
import { acceptsConnections, errorMessage, oneLine, request } from "./http";
import { remoteAccessAuditFindings, remoteAccessCa } from "./auditRemote";
import { StackKeys } from "./keys";
import { Finding, findingFor, reportFindings } from "./findings";

const USAGE = "usage: npm run audit -- --stack <name> [--json] [--probe-addresses <a,b>] [--dir <folder>]";

/** Values that ship as examples or defaults in the services' docs and images. */
export const DEFAULT_SECRETS = ["sk-1234", "t0p-s3cr3t", "admin", "password", "changeme", "secret", "qdrant"];
const MIN_SECRET_LENGTH = 16;

/** Why a secret is unfit, or undefined when it is fine. */
export function secretProblem(value: string | undefined): string | undefined {
    if (!value) return "is empty";
    if (DEFAULT_SECRETS.includes(value.toLowerCase())) return "is a well-known default";
    if (value.length < MIN_SECRET_LENGTH) return `is only ${value.length} characters long`;
    return undefined;
}

/**
 * Addresses of this machine other than `bindAddress` on which Ollama must not answer: every interface
 * address, and another loopback address (a port published on all addresses answers there too).
 */
export function otherLocalAddresses(bindAddress: string): string[] {
    const interfaces = Object.values(os.networkInterfaces()).flatMap((list) => list ?? []);
    const addresses = interfaces.filter((i) => !i.address.startsWith("fe80:")).map((i) => i.address);
    return [...new Set([...addresses, "127.0.0.2"])].filter((a) => !sameAddress(a, bindAddress));
}

/** A container the audit checks: a service, Redis (which speaks no HTTP), or a host's door. */
export interface AuditedContainer {
    /** Container name. */
    containerName: string;
    /** The host that runs it. */
    host: HostConfig;
    /** The port it is reached at on the host's bind address (its own or the door's); undefined when none. */
    port?: number;
    /** The ports the container itself publishes on the bind address: none for a service behind the door. */
    publishes: number[];
    /** Why it publishes nothing, when it publishes nothing. */
    publishesNothing?: string;
    /** What it publishes on the remote-access address: the door that serves remote access, its HTTPS front. */
    publishesRemote?: { address: string; port: number }[];
    /** It must have no route out (internal networks only). */
    noEgress: boolean;
    /** Its image has Python, so the egress probe runs inside it (the LiteLLM and Open WebUI images). */
    probed?: boolean;
    /** Pinned image reference it must run. */
    image: string;
    /** Environment variables that hold secrets. */
    secretEnv: string[];
}

/** The services behind the door: on the internal network only, their ports published by the door. */
const BEHIND_DOOR = ["router", "openWebUI", "qdrant"];

/** Redis, when routers share state: on the first router host, reached through the door by routers on other hosts. */
export function redisContainer(config: StackConfig): AuditedContainer | undefined {
    if (!needsRedis(config)) return undefined;
    return {
        containerName: REDIS_CONTAINER,
        host: config.hosts.find((h) => h.name === placements(config).router)!,
        port: redisPublished(config) ? config.router.redisPort : undefined,
        publishes: [],
        publishesNothing: redisPublished(config)
            ? "the door publishes its port"
            : "only the routers on its own host use it",
        noEgress: true,
        image: config.images.redis,
        secretEnv: [REDIS_PASSWORD_ENV],
    };
}

/** Every container of the stack as the audit checks it: the services, Redis, and each host's door. */
export function auditedContainers(config: StackConfig): AuditedContainer[] {
    const services: AuditedContainer[] = listServices(config).map((s) => {
        const behindDoor = BEHIND_DOOR.includes(s.kind);
        return {
            containerName: s.containerName,
            host: s.host,
            port: s.port,
            publishes: behindDoor ? [] : [s.port],
            publishesNothing: behindDoor ? "the door publishes its port" : undefined,
            noEgress: behindDoor,
            probed: s.kind === "router" || s.kind === "openWebUI",
            image: s.image,
            secretEnv: s.secretEnv,
        };
    });
    const redis = redisContainer(config);
    const doors: AuditedContainer[] = config.hosts
        .filter((h) => hasDoor(config, h.name))
        .map((host) => ({
            containerName: doorContainerName(config, host.name),
            host,
            publishes: doorPublishedPorts(config, host.name),
            publishesRemote: remoteAccessListeners(config, host.name).map(({ address, port }) => ({ address, port })),
            noEgress: false,
            image: config.images.door,
            secretEnv: [],
        }));
    return [...services, ...(redis ? [redis] : []), ...doors];
}

/** Ports published anywhere but on the bind address, or ports beyond the container's own. */
export function bindingFindings(services: AuditedContainer[], containers: StackContainers): Finding[] {
    return services.map((service) => {
        const finding = findingFor("bind-address", service.containerName);
        const unreachable = containers.unreachable.get(service.host.docker);
        if (unreachable) return finding("fail", `cannot check: ${unreachable}`);
        const facts = containers.found.get(service.containerName);
        if (!facts) return finding("fail", `no container ${service.containerName} on host ${service.host.name}`);
        const bind = service.host.bindAddress;
        // Its own ports on the bind address, and the door's HTTPS front on the remote-access address.
        const allowedPorts = [
            ...service.publishes.map((port) => ({ address: bind, port })),
            ...(service.publishesRemote ?? []),
        ];
        const published = (p: { hostIp: string; hostPort: number }, a: { address: string; port: number }) =>
            p.hostIp !== "" && sameAddress(p.hostIp, a.address) && p.hostPort === a.port;
        const wrong = facts.ports.filter((p) => !allowedPorts.some((a) => published(p, a)));
        const allowed = allowedPorts.map((a) => `${a.address}:${a.port}`).join(", ");
        if (wrong.length > 0)
            return finding(
                "fail",
                wrong
                    .map((p) => `${p.containerPort} published on ${p.hostIp || "every address"}:${p.hostPort}`)
                    .join(", ") +
                    (allowedPorts.length === 0
                        ? ` (it must publish nothing: ${service.publishesNothing})`
                        : ` (only ${allowed} ${allowedPorts.length === 1 ? "is" : "are"} allowed)`),
            );
        if (allowedPorts.length === 0)
            return finding(
                "pass",
                service.port === undefined
                    ? "publishes no port (reached on the Docker network only)"
                    : `publishes no port (the door publishes ${bind}:${service.port})`,
            );
        const missing = allowedPorts.filter((a) => !facts.ports.some((p) => published(p, a)));
        if (missing.length > 0)
            return finding("fail", `does not publish ${missing.map((a) => `${a.address}:${a.port}`).join(", ")}`);
        return finding("pass", `published on ${allowed} only`);
    });
}

async function ollamaBeyondFindings(services: GatewayService[], probeAddresses?: string[]): Promise<Finding[]> {
    return Promise.all(
        services
            .filter((s) => s.kind === "ollama")
            .map(async (service) => {
                const finding = findingFor("ollama-not-beyond", service.containerName);
                if (!service.host.docker.startsWith("unix://"))
                    return finding(
                        "skip",
                        `remote host ${service.host.name}: only its port bindings are checked from here`,
                    );
                const addresses = (probeAddresses ?? otherLocalAddresses(service.host.bindAddress)).filter(
                    (a) => !sameAddress(a, service.host.bindAddress),
                );
                const answered = (
                    await Promise.all(
                        addresses.map(async (a) => ((await acceptsConnections(a, service.port)) ? a : undefined)),
                    )
                ).filter((a): a is string => a !== undefined);
                if (answered.length > 0)
                    return finding("fail", `port ${service.port} answers on ${answered.join(", ")}`);
                return finding(
                    "pass",
                    `port ${service.port} not reachable on ${addresses.join(", ") || "(no other address)"}`,
                );
            }),
    );
}

/** Calls that must be refused (401/403): no key, a wrong key; for Open WebUI, no session. */
async function authFindings(services: GatewayService[]): Promise<Finding[]> {
    const attempts = services.flatMap((service) => {
        if (service.auth)
            return [
                { service, path: service.auth.protectedPath, headers: {}, what: "without a key" },
                {
                    service,
                    path: service.auth.protectedPath,
                    headers: authHeaders(service.auth, "sk-aigw-audit-wrong-key"),
                    what: "with a wrong key",
                },
            ];
        if (service.sessionProtectedPath)
            return [{ service, path: service.sessionProtectedPath, headers: {}, what: "without a session" }];
        return [];
    });
    return Promise.all(
        attempts.map(async ({ service, path, headers, what }) => {
            const answer = await request(`${service.url}${path}`, { headers });
            const refused = answer.status !== undefined && refusesCall(service.kind, answer.status, answer.body);
            const seen =
                answer.status === undefined
                    ? `cannot check: ${answer.problem}`
                    : `GET ${path} ${what} answered ${answer.status}` +
                      (answer.status === 400 && refused ? ` (${errorMessage(answer.body)})` : "");
            return findingFor("auth", service.containerName)(refused ? "pass" : "fail", seen);
        }),
    );
}

function secretFindings(masterKey: string, services: AuditedContainer[], containers: StackContainers): Finding[] {
    const keyProblem = secretProblem(masterKey);
    const findings: Finding[] = [
        {
            rule: "secrets",
            subject: "masterKey",
            verdict: keyProblem ? "fail" : "pass",
            detail: keyProblem ? `the router key ${keyProblem}` : "set, not a default",
        },
    ];
    for (const service of services.filter((s) => s.secretEnv.length > 0)) {
        const facts = containers.found.get(service.containerName);
        // Without the container there is nothing to read; bind-address already fails for it.
        if (!facts) continue;
        const env = envOf(facts);
        const problems = service.secretEnv.flatMap((name) => {
            const problem = secretProblem(env.get(name));
            return problem ? [`${name} ${problem}`] : [];
        });
        findings.push({
            rule: "secrets",
            subject: service.containerName,
            verdict: problems.length > 0 ? "fail" : "pass",
            detail: problems.length > 0 ? problems.join(", ") : `${service.secretEnv.join(", ")} set, none a default`,
        });
    }
    return findings;
}

/** A container's environment as name → value. */
function envOf(facts: { env: string[] }): Map<string, string> {
    return new Map(facts.env.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
}

/**
 * Only the cloud router holds the cloud key: no other container has its variable or its value under any name
 * (with cloud off, none has it at all). The key's value is never printed, only where it was found.
 */
export function cloudKeyFindings(
    config: StackConfig,
    services: AuditedContainer[],
    containers: StackContainers,
): Finding[] {
    const cloudRouter = services.find((s) => s.secretEnv.includes(CLOUD_API_KEY_ENV));
    const cloudFacts = cloudRouter && containers.found.get(cloudRouter.containerName);
    const cloudKey = cloudFacts ? envOf(cloudFacts).get(CLOUD_API_KEY_ENV) : undefined;
    return services.flatMap((service) => {
        const facts = containers.found.get(service.containerName);
        // Without the container there is nothing to read; bind-address already fails for it.
        if (!facts) return [];
        const finding = findingFor("cloud-key", service.containerName);
        const env = envOf(facts);
        if (service === cloudRouter)
            return cloudKey
                ? [finding("pass", `holds the cloud key (${CLOUD_API_KEY_ENV}): the only container that may`)]
                : [finding("fail", `cloud is enabled, but ${CLOUD_API_KEY_ENV} is empty or missing`)];
        const holders = [...env].filter(
            ([name, value]) => name === CLOUD_API_KEY_ENV || (cloudKey && value === cloudKey),
        );
        if (holders.length > 0)
            return [
                finding(
                    "fail",
                    `holds the cloud key in ${holders.map(([name]) => name).join(", ")}: only ${cloudRouter?.containerName ?? "the cloud router"} may${config.cloud.enabled ? "" : ", and cloud is off"}`,
                ),
            ];
        return [finding("pass", "holds no cloud key")];
    });
}

/** A JSON body, or undefined when it is not JSON: a wrong answer fails its rule, it never stops the audit. */
function readJson<T>(body: string): T | undefined {
    try {
        return JSON.parse(body) as T;
    } catch {
        return undefined;
    }
}

/** What an answer that is not the JSON expected looked like, shortened. */
function unreadable(body: string): string {
    return `something that is not the JSON expected: ${oneLine(body, 80) || "(empty answer)"}`;
}

/**
 * The canary of the `routes` rule: provider pass-through routes of LiteLLM 1.87.0 that, on a router without
 * `allowed_routes`, forward a request with the router's key to api.anthropic.com, us-central1-aiplatform.googleapis.com,
 * api.cohere.com, api.mistral.ai, api.assemblyai.com and api.openai.com (tests/peers/routes.test.ts).
 */
export const CANARY_ROUTES: readonly string[] = [
    "/anthropic/v1/messages",
    "/vertex_ai/v1/projects/p/locations/us-central1/publishers/google/models/gemini-pro:generateContent",
    "/cohere/v2/chat",
    "/mistral/v1/chat/completions",
    "/assemblyai/v2/transcript",
    "/v1/vector_stores",
];

/**
 * The canary carries a key no router holds, so that even a router without the wall forwards nothing: Anthropic's
 * and Vertex's pass-through send the caller's key along, and the audit's would be the master key. LiteLLM checks
 * `allowed_routes` before it reads the key, so a router with the wall still answers 403 `Route ... not allowed`,
 * while one without it answers as its key check does (400 `No connected db.`).
 */
export const CANARY_KEY = "sk-aigw-audit-canary-not-a-key";
const CANARY_BODY = {
    model: "ai-gateway-audit-canary",
    max_tokens: 1,
    messages: [{ role: "user", content: "ai-gateway audit canary: the router must refuse this route" }],
};

/** Why one canary answer is not a refusal of its route, or undefined when it is one. */
function canaryProblem(answer: { status?: number; body: string; problem?: string }): string | undefined {
    if (answer.status === undefined) return `cannot check: ${answer.problem}`;
    if (answer.status === 404) return undefined;
    const message = errorMessage(answer.body);
    if (answer.status === 403 && / not allowed/.test(message)) return undefined;
    if (answer.status === 400 || answer.status === 401)
        return `answered ${answer.status} (${message}): the route is served, only the key was refused`;
    return `answered ${answer.status} (${message})`;
}

/**
 * A router refuses LiteLLM's provider pass-through routes: each canary answers 404 (no such route) or 403 `Route
 * ... not allowed` (the router's `allowed_routes`). Anything else fails: a 2xx, an auth refusal (the route is
 * served, and a client with the key reaches the provider), an answer that is not LiteLLM's, or none.
 */
export async function routesFinding(router: GatewayService): Promise<Finding> {
    const finding = findingFor("routes", router.containerName);
    const answers = await Promise.all(
        CANARY_ROUTES.map(async (route) => {
            const answer = await request(`${router.url}${route}`, {
                method: "POST",
                headers: authHeaders(router.auth!, CANARY_KEY),
                json: CANARY_BODY,
            });
            return { route, problem: canaryProblem(answer) };
        }),
    );
    const open = answers.filter((a) => a.problem !== undefined);
    if (open.length > 0)
        return finding(
            "fail",
            `provider pass-through routes not refused: ${open.map((a) => `POST ${a.route} ${a.problem}`).join("; ")}`,
        );
    return finding("pass", `refuses every canary: ${CANARY_ROUTES.map(family).join(", ")}`);
}

/** The pass-through family a canary route belongs to: its first segment, or the OpenAI-style route itself. */
function family(route: string): string {
    return route.startsWith("/v1/") ? route : `/${route.split("/")[1]}/...`;
}

/**
 * A local router's live model list and deployments hold only the config's groups, each served by one of the
 * stack's Ollama instances (`apiBases`), never by an Ollama cloud tag.
 */
export async function localOnlyFinding(
    config: StackConfig,
    router: GatewayService,
    masterKey: string,
    apiBases: string[],
): Promise<Finding> {
    const finding = findingFor("local-only-router", router.containerName);
    const headers = authHeaders(router.auth!, masterKey);
    const models = await request(`${router.url}/v1/models`, { headers });
    if (models.status !== 200)
        return finding(
            "fail",
            `cannot list models: ${models.problem ?? `HTTP ${models.status}: ${errorMessage(models.body)}`}`,
        );
    const listed = readJson<{ data?: { id: string }[] }>(models.body);
    if (!Array.isArray(listed?.data))
        return finding("fail", `cannot read its model list: GET /v1/models answered ${unreadable(models.body)}`);
    const ids = listed.data.map((m) => m.id);
    const groups = Object.keys(config.groups);
    // `auto` (routing by content) is the router's own name for its local groups; `cloud` never belongs here.
    const allowed = [...groups, ...RESERVED_GROUPS.filter((name) => name !== CLOUD_GROUP)];
    const foreign = ids.filter((id) => !allowed.includes(id));
    if (foreign.length > 0) return finding("fail", `serves models that are not local groups: ${foreign.join(", ")}`);
    // The deployments behind the names: each must be one of our Ollama instances, as the rendered config promises.
    const info = await request(`${router.url}/model/info`, { headers });
    if (info.status !== 200)
        return finding(
            "fail",
            `cannot read its deployments: ${info.problem ?? `GET /model/info: HTTP ${info.status}: ${errorMessage(info.body)}`}`,
        );
    type Deployment = { model_name: string; litellm_params?: { model?: string; api_base?: string } };
    const deployments = readJson<{ data?: Deployment[] }>(info.body)?.data;
    if (!Array.isArray(deployments))
        return finding("fail", `cannot read its deployments: GET /model/info answered ${unreadable(info.body)}`);
    const remote = deployments.flatMap((d) => {
        const reason = nonLocalReason(d.litellm_params ?? {}, apiBases);
        return reason ? [`${d.model_name}: ${reason}`] : [];
    });
    if (remote.length > 0) return finding("fail", `deployments that may leave the host: ${remote.join("; ")}`);
    return finding("pass", `serves ${ids.join(", ") || "nothing"}, all local groups on the stack's Ollama instances`);
}

/** No Ollama instance holds a model that runs elsewhere (a remote host, e.g. the :cloud / -cloud tags). */
async function ollamaCloudFindings(services: GatewayService[]): Promise<Finding[]> {
    return Promise.all(
        services
            .filter((s) => s.kind === "ollama")
            .map(async (service) => {
                const finding = findingFor("no-cloud-models", service.containerName);
                const tags = await request(`${service.url}/api/tags`);
                if (tags.status !== 200)
                    return finding("fail", `cannot list its models: ${tags.problem ?? `HTTP ${tags.status}`}`);
                type Model = { name: string; remote_host?: string };
                const models = readJson<{ models?: Model[] }>(tags.body)?.models;
                if (!Array.isArray(models))
                    return finding("fail", `cannot read its models: GET /api/tags answered ${unreadable(tags.body)}`);
                const remote = models.filter((m) => m.remote_host || isOllamaCloudModel(m.name));
                if (remote.length > 0)
                    return finding(
                        "fail",
                        `holds models that run elsewhere: ${remote.map((m) => `${m.name} → ${m.remote_host ?? "ollama.com"}`).join(", ")}`,
                    );
                return finding("pass", `${models.length} models, all on the instance itself`);
            }),
    );
}

/** Redis refuses a client without its password, or is not published at all. */
export async function redisAuthFinding(redis: AuditedContainer): Promise<Finding> {
    const finding = findingFor("auth", redis.containerName);
    if (redis.port === undefined) return finding("skip", "not published: only the routers on its host reach it");
    const url = new URL(serviceUrl(redis.host, redis.port));
    const answer = await redisPing(url.hostname.replace(/^\[(.*)\]$/, "$1"), redis.port);
    if (answer.startsWith("-NOAUTH")) return finding("pass", `PING without a password answered ${answer}`);
    return finding("fail", `PING without a password answered ${answer || "nothing"}`);
}

/** Sends Redis's inline PING and returns the first line of the answer, or what went wrong. */
function redisPing(host: string, port: number, timeoutMs = 3000): Promise<string> {
    return new Promise((resolve) => {
        let answer = "";
        const socket = connect({ host, port });
        const done = (line: string) => {
            socket.destroy();
            resolve(line);
        };
        socket.setTimeout(timeoutMs, () => done(`no answer in ${timeoutMs} ms`));
        socket.on("connect", () => socket.write("PING\r\n"));
        socket.on("data", (chunk) => {
            answer += chunk.toString("utf8");
            if (answer.includes("\r\n")) done(answer.slice(0, answer.indexOf("\r\n")));
        });
        socket.on("error", (err) => done(`cannot connect: ${err.message}`));
        socket.on("end", () => done(answer.trim()));
    });
}

/**
 * The image each container runs is the pinned one the config names. Containers made by `up` are created
 * from the image id, whose tags say what it is; one created by hand names its reference itself.
 */
async function imageFindings(services: AuditedContainer[], containers: StackContainers): Promise<Finding[]> {
    const tagsByEndpoint = new Map<string, Map<string, string[]>>();
    for (const endpoint of new Set(services.map((s) => s.host.docker))) {
        if (containers.unreachable.has(endpoint)) continue;
        const ids = services
            .filter((s) => s.host.docker === endpoint)
            .flatMap((s) => containers.found.get(s.containerName)?.imageId ?? []);
        tagsByEndpoint.set(endpoint, await imageTags(endpoint, ids));
    }
    return services.map((service) => {
        const finding = findingFor("images-pinned", service.containerName);
        if (!isPinnedImage(service.image))
            return finding("fail", `the config names ${service.image}, which is not pinned`);
        const facts = containers.found.get(service.containerName);
        if (!facts)
            return finding("fail", `cannot check the running image (no container ${service.containerName} seen)`);
        const runs = facts.imageRef.startsWith("sha256:")
            ? (tagsByEndpoint.get(service.host.docker)?.get(facts.imageId) ?? [])
            : [facts.imageRef];
        if (!runs.includes(service.image))
            return finding("fail", `runs ${runs.join(", ") || facts.imageId}, not the pinned ${service.image}`);
        return finding("pass", `runs ${service.image}`);
    });
}

/**
 * The probe run inside a container (`python -c EGRESS_PROBE <host> <port>`): one TCP connection, 3 s at most;
 * prints `connected`, or `blocked: <why>`. The LiteLLM and Open WebUI images always have Python.
 */
export const EGRESS_PROBE = [
    "import socket, sys",
    "try:",
    "    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()",
    "    print('connected')",
    "except OSError as e:",
    "    print('blocked:', e)",
].join("\n");

/** A TCP listener on `address` that counts the connections it gets; undefined when it cannot listen there. */
async function countingListener(
    address: string,
): Promise<{ server: Server; port: number; seen: () => number } | undefined> {
    let count = 0;
    const server = createServer((socket) => {
        count++;
        socket.destroy();
    });
    const listening = await new Promise<boolean>((resolve) => {
        server.once("error", () => resolve(false));
        server.listen({ host: address, port: 0 }, () => resolve(true));
    });
    if (!listening) return undefined;
    const port = (server.address() as { port: number }).port;
    return { server, port, seen: () => count };
}

/** An address beyond the stack that the egress probe tries, with a listener of this audit on it. */
interface ProbeTarget {
    /** The address and port. */
    address: string;
    port: number;
    /** What it is, in words. */
    what: string;
    /** Connections it has accepted. */
    seen: () => number;
}

/**
 * The services with no route out are on internal networks only, and from inside each that has Python (the local
 * routers and Open WebUI) a connection to an address beyond the stack fails: a listener of this audit on the
 * Docker host's own address on the stack's ordinary network (`ai-gateway`), which a container with a route out
 * reaches; and one on the host's address on each internal network, if the host has one there (the stack creates
 * them without). Only on a local engine can the audit listen on the host; on a remote one, the networks are
 * checked.
 */
export async function noEgressFindings(audited: AuditedContainer[], containers: StackContainers): Promise<Finding[]> {
    const subjects = audited.filter((c) => c.noEgress);
    const findings: Finding[] = [];
    for (const endpoint of new Set(subjects.map((s) => s.host.docker))) {
        const onHost = subjects.filter((s) => s.host.docker === endpoint);
        const fail = (detail: string) => {
            for (const s of onHost) findings.push(findingFor("no-egress", s.containerName)("fail", detail));
        };
        const unreachable = containers.unreachable.get(endpoint);
        if (unreachable) {
            fail(`cannot check: ${unreachable}`);
            continue;
        }
        const networkNames = [...new Set(onHost.flatMap((s) => containers.found.get(s.containerName)?.networks ?? []))];
        let networks: Awaited<ReturnType<typeof inspectNetworks>>;
        try {
            networks = await inspectNetworks(endpoint, [...networkNames, NETWORK_NAME]);
        } catch (err) {
            fail(`cannot check: ${(err as Error).message}`);
            continue;
        }
        const listeners: (ProbeTarget & { server: Server })[] = [];
        let problem: string | undefined;
        if (endpoint.startsWith("unix://")) {
            const gateway = networks.get(NETWORK_NAME)?.gateways.find((g) => isIP(g) === 4);
            const egress = gateway ? await countingListener(gateway) : undefined;
            if (egress)
                listeners.push({
                    ...egress,
                    address: gateway!,
                    what: `where this audit listens on the Docker host's address on ${NETWORK_NAME} (a container with a route out reaches it)`,
                });
            else problem = `cannot check: no address of network ${NETWORK_NAME} on this machine to listen on`;
            // The host's own address on an internal network, when it has one, answers with whatever it serves there.
            for (const name of networkNames.filter((n) => networks.get(n)?.internal)) {
                const address = networks.get(name)!.gateways.find((g) => isIP(g) === 4);
                const inside = address ? await countingListener(address) : undefined;
                if (inside)
                    listeners.push({
                        ...inside,
                        address: address!,
                        what: `the Docker host's own address on ${name}, where it serves anything it serves on every address`,
                    });
            }
        }
        try {
            for (const s of onHost) findings.push(await noEgressFinding(s, containers, networks, listeners, problem));
        } finally {
            for (const l of listeners) l.server.close();
        }
    }
    return findings;
}

async function noEgressFinding(
    container: AuditedContainer,
    containers: StackContainers,
    networks: Map<string, { internal: boolean }>,
    targets: ProbeTarget[],
    problem: string | undefined,
): Promise<Finding> {
    const finding = findingFor("no-egress", container.containerName);
    const facts = containers.found.get(container.containerName);
    if (!facts) return finding("fail", `no container ${container.containerName} on host ${container.host.name}`);
    const open = facts.networks.filter((n) => networks.get(n)?.internal !== true);
    const seen =
        open.length > 0
            ? `on ${open.join(", ")}, which ${open.length === 1 ? "has" : "have"} a route out (only ${INTERNAL_NETWORK_NAME} is allowed)`
            : `only on ${facts.networks.join(", ") || "no network"} (no route out)`;
    const verdict = open.length > 0 ? "fail" : "pass";
    if (!container.probed) return finding(verdict, seen);
    if (!container.host.docker.startsWith("unix://"))
        return finding(verdict, `${seen}; not probed: the audit cannot listen on remote host ${container.host.name}`);
    if (problem) return finding("fail", `${seen}; ${problem}`);
    const blocked: string[] = [];
    for (const target of targets) {
        let answer: string;
        const before = target.seen();
        try {
            const argv = ["python", "-c", EGRESS_PROBE, target.address, String(target.port)];
            answer = (await execInContainer(container.host.docker, container.containerName, argv)).trim();
        } catch (err) {
            return finding("fail", `${seen}; cannot check: ${(err as Error).message}`);
        }
        const where = `${target.address}:${target.port}, ${target.what}`;
        if (answer === "connected" || target.seen() > before) return finding("fail", `${seen}; connected to ${where}`);
        if (!answer.startsWith("blocked:"))
            return finding("fail", `${seen}; cannot check: the probe answered ${JSON.stringify(answer.slice(0, 200))}`);
        blocked.push(`${where}: ${answer.slice("blocked: ".length)}`);
    }
    return finding(verdict, `${seen}; cannot connect to ${blocked.join("; nor to ")}`);
}

/**
 * Applies every rule to a deployed stack. `remoteAccessCa` gives what the remote-access chain must verify against
 * (commands/auditRemote.ts remoteAccessCa).
 */
export async function auditStack(
    config: StackConfig,
    masterKey: string,
    probeAddresses?: string[],
    remoteAccessCa: () => Promise<string | true | undefined> = async () => undefined,
): Promise<Finding[]> {
    const services = listServices(config);
    const redis = redisContainer(config);
    const audited = auditedContainers(config);
    const containers = await inspectStackContainers(audited);
    // Every replica of the local router on every router host, each against the instances as its host reaches them.
    const routers = services.filter((s) => s.kind === "router");
    const [beyond, auth, redisAuth, localOnly, routes, noCloud, images, noEgress, remote] = await Promise.all([
        ollamaBeyondFindings(services, probeAddresses),
        authFindings(services),
        redis ? redisAuthFinding(redis).then((f) => [f]) : Promise.resolve([]),
        Promise.all(
            routers.map((r) =>
                localOnlyFinding(config, r, masterKey, ollamaApiBases(config, dockerVantage(config, r.host.name))),
            ),
        ),
        // Both routers: the one on 4001 would forward to the providers as readily.
        Promise.all(services.filter((s) => s.kind === "router" || s.kind === "cloudRouter").map(routesFinding)),
        ollamaCloudFindings(services),
        imageFindings(audited, containers),
        noEgressFindings(audited, containers),
        remoteAccessAuditFindings(config, remoteAccessCa),
    ]);
    return [
        ...bindingFindings(audited, containers),
        ...beyond,
        ...auth,
        ...redisAuth,
        ...secretFindings(masterKey, audited, containers),
        ...cloudKeyFindings(config, audited, containers),
        ...localOnly,
        ...routes,
        ...noCloud,
        ...images,
        ...noEgress,
        ...remote,
    ];
}

function parseAddresses(value: string | undefined): string[] | undefined {
    if (value === undefined) return undefined;
    const addresses = value
        .split(",")
        .map((a) => a.trim())
        .filter(Boolean);
    const bad = addresses.find((a) => isIP(a) === 0);
    if (bad !== undefined) throw new UsageError(`--probe-addresses: ${bad} is not an IP address`);
    return addresses;
}

export const auditCommand: Command = {
    name: "audit",
    usage: USAGE,
    async run(argv: string[], io: CommandIO): Promise<number> {
        const { values } = parseCommandArgs(argv, { ...REPORT_OPTIONS, "probe-addresses": { type: "string" } });
        const stack = loadDockerStack(values, io.env);
        const probeAddresses = parseAddresses(values["probe-addresses"]);
        const keys = new StackKeys(stack.name, io.env);
        const masterKey = await keys.require("masterKey");
        const remote = stack.config.remoteAccess;
        const findings = await auditStack(
            stack.config,
            masterKey,
            probeAddresses,
            async () => remote && remoteAccessCa(remote, (name) => keys.output(name)),
        );
        return reportFindings(io, "audit", stack.name, findings, values.json);
    },
};

runWhenMain(module, auditCommand);
