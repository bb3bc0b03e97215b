/**
 * Every service a validated stack config deploys, as the operator commands (status, wait, smoke, audit,
 * doctor, ask-code) see it from the operator's machine: where it runs, how to probe it, what protects it.
 * Pure: the same config always gives the same list, so the commands agree with what `pulumi up` deploys.
 */
import { serviceUrl } from "./containers";
import { CLOUD_API_KEY_ENV, MASTER_KEY_ENV } from "../../model/litellm";
import { CONTAINER_NAMES, placements, routerContainerName } from "../../model/plan";
import { HostConfig, StackConfig } from "../../config/stackKeys";
import { PROJECT } from "../../config/primitives";

/** What a service is; decides its probes and its key. */
export type ServiceKind = "ollama" | "router" | "cloudRouter" | "openWebUI" | "qdrant";

/** The stack output that holds the key a client must send, and the header that carries it. */
export interface ServiceAuth {
    /** Stack output with the key (`masterKey`, `cloudMasterKey`, `qdrantApiKey`). */
    keyOutput: "masterKey" | "cloudMasterKey" | "qdrantApiKey";
    /** How the key is sent: `Authorization: Bearer <key>` or Qdrant's `api-key: <key>`. */
    header: "bearer" | "api-key";
}

/** One deployed service, seen from the machine that runs the operator commands. */
export interface GatewayService {
    /** What the service is. */
    kind: ServiceKind;
    /** Container name, unique in the stack (`ollama`, `litellm`, `litellm-cloud`, `open-webui`, `qdrant`). */
    containerName: string;
    /** The host that runs it. */
    host: HostConfig;
    /** Published port on the host's bind address. */
    port: number;
    /** The config key of that port, named when it is taken or wrong. */
    portConfigKey: string;
    /** Base URL from the operator's machine, without a trailing slash. */
    url: string;
    /** Cheap, unauthenticated GET that answers 200 once the service is ready. */
    healthPath: string;
    /**
     * Unauthenticated GET whose JSON answer holds the version, and the field that has it; none for LiteLLM 1.87.0,
     * whose public /health/readiness says only `{"status","db"}` (its version is on an authenticated route).
     */
    version?: { path: string; field: string };
    /** Pinned image reference the container must run. */
    image: string;
    /**
     * The key that protects the API, and a path that must refuse a call without it.
     * Ollama has no authentication (it must stay on the bind address); Open WebUI uses sessions.
     */
    auth?: ServiceAuth & { protectedPath: string };
    /** Path that Open WebUI refuses without a signed-in session (it has no static key). */
    sessionProtectedPath?: string;
    /** Environment variables of the container that hold secrets: none may be empty or a known default. */
    secretEnv: string[];
}

/** Every service of the stack, in deployment order: Ollama instances, routers, Qdrant, Open WebUI. */
export function listServices(config: StackConfig): GatewayService[] {
    const placed = placements(config);
    const hostNamed = (name: string) => config.hosts.find((h) => h.name === name)!;
    const at = (host: HostConfig, port: number, portKey: string) => ({
        host,
        port,
        url: serviceUrl(host, port),
        portConfigKey: `${PROJECT}:${portKey}`,
    });

    const services: GatewayService[] = config.hosts.flatMap((host, hostIndex) =>
        host.ollama.map((instance, i) => ({
            kind: "ollama" as const,
            containerName: instance.name,
            ...at(host, instance.port, `hosts[${hostIndex}].ollama[${i}].port`),
            healthPath: "/api/version",
            version: { path: "/api/version", field: "version" },
            image: config.images.ollama,
            secretEnv: [],
        })),
    );
    const router = (
        kind: "router" | "cloudRouter",
        hostName: string,
        containerName: string,
        port: number,
        portKey: string,
    ) => ({
        kind,
        containerName,
        ...at(hostNamed(hostName), port, portKey),
        healthPath: "/health/readiness",
        image: config.images.litellm,
        auth: {
            keyOutput: kind === "router" ? ("masterKey" as const) : ("cloudMasterKey" as const),
            header: "bearer" as const,
            protectedPath: "/v1/models",
        },
        secretEnv: kind === "router" ? [MASTER_KEY_ENV] : [MASTER_KEY_ENV, CLOUD_API_KEY_ENV],
    });
    // Every replica on every router host; the first is the one clients and the cloud router sit beside.
    for (const hostName of placed.routers)
        for (let replica = 0; replica < config.router.replicas; replica++)
            services.push(
                router(
                    "router",
                    hostName,
                    routerContainerName(placed.routers, hostName, replica),
                    config.router.port + replica,
                    "router.port",
                ),
            );
    if (config.cloud.enabled)
        services.push(
            router("cloudRouter", placed.router, CONTAINER_NAMES.cloudRouter, config.cloud.port, "cloud.port"),
        );
    if (config.qdrant.enabled)
        services.push({
            kind: "qdrant",
            containerName: CONTAINER_NAMES.qdrant,
            ...at(hostNamed(placed.qdrant), config.qdrant.port, "qdrant.port"),
            healthPath: "/readyz",
            version: { path: "/", field: "version" },
            image: config.images.qdrant,
            auth: { keyOutput: "qdrantApiKey", header: "api-key", protectedPath: "/collections" },
            secretEnv: ["QDRANT__SERVICE__API_KEY"],
        });
    if (config.openWebUI.enabled)
        services.push({
            kind: "openWebUI",
            containerName: CONTAINER_NAMES.openWebUI,
            ...at(hostNamed(placed.openWebUI), config.openWebUI.port, "openWebUI.port"),
            healthPath: "/health",
            version: { path: "/api/version", field: "version" },
            image: config.images.openWebUI,
            sessionProtectedPath: "/api/models",
            secretEnv: ["WEBUI_SECRET_KEY", "WEBUI_ADMIN_PASSWORD", "OPENAI_API_KEY"],
        });
    return services;
}

/** The first service of a kind: for the router, the first replica on the first router host. */
export function serviceOfKind(
    services: GatewayService[],
    kind: Exclude<ServiceKind, "ollama">,
): GatewayService | undefined {
    return services.find((s) => s.kind === kind);
}

/** Headers that authenticate a call with `key` to a service protected as `auth` says. */
export function authHeaders(auth: Pick<ServiceAuth, "header">, key: string): Record<string, string> {
    return auth.header === "bearer" ? { authorization: `Bearer ${key}` } : { "api-key": key };
}

/**
 * Whether an answer refuses the call: 401 or 403; from LiteLLM also its 400 "No connected db.", its answer to
 * any key but the master key when it has no key database (error type no_db_connection, LiteLLM 1.87.0
 * proxy/auth/user_api_key_auth.py), which is how the stack runs it.
 */
export function refusesCall(kind: ServiceKind, status: number, body: string): boolean {
    if (status === 401 || status === 403) return true;
    if (status !== 400 || (kind !== "router" && kind !== "cloudRouter")) return false;
    try {
        return (JSON.parse(body) as { error?: { type?: string } }).error?.type === "no_db_connection";
    } catch {
        return false;
    }
}
