/**
 * The audit's rules on the containers themselves (commands/audit.ts): where each publishes its ports
 * (bind-address), that no key or password is weak (secrets) and only the cloud router holds the cloud key
 * (cloud-key), and that each runs its pinned image (images-pinned); and the list of what they are applied to.
 */
import { sameAddress } from "../config/addresses";
import { doorPublishedPorts } from "../targets/docker/doorPlan";
import { doorContainerName, hasDoor } from "../model/plan";
import { remoteAccessListeners } from "../targets/docker/doorHttps";
import { CLOUD_API_KEY_ENV, REDIS_CONTAINER, REDIS_PASSWORD_ENV } from "../model/litellm";
import { HostConfig, StackConfig } from "../config/stackKeys";
import { isPinnedImage } from "../config/primitives";
import { needsRedis, placements, redisPublished } from "../model/plan";
import { listServices } from "../targets/docker/endpoints";
import { StackContainers, imageTags } from "./docker";
import { Finding, findingFor } from "./findings";

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

export function secretFindings(
    masterKey: string,
    services: AuditedContainer[],
    containers: StackContainers,
): Finding[] {
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

/**
 * The image each container runs is the pinned one the config names. Containers made by `up` are created
 * from the image id, whose tags say what it is; one created by hand names its reference itself.
 */
export async function imageFindings(services: AuditedContainer[], containers: StackContainers): Promise<Finding[]> {
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
