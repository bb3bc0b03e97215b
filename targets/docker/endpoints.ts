/**
 * Every service a validated stack config deploys, as the operator commands (status, wait, smoke, audit,
 * doctor, ask-code) see it from the operator's machine: where it runs, how to probe it, what protects it.
 * Pure: the same config always gives the same list, so the commands agree with what `pulumi up` deploys.
 */
import { HostConfig, StackConfig } from "../../config/stackKeys";
import { PROJECT } from "../../config/primitives";
import { placements, routerContainerName } from "../../model/plan";
import { ServiceRole, describeServices } from "../../model/services";
import { serviceUrl } from "./containers";
import { dockerVantage } from "./doorPlan";

/** What a service is; decides its probes and its key. */
export type ServiceKind = Exclude<ServiceRole, "redis">;

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

/** What a kind of service answers without a key, and what protects the rest of its API. */
const PROTECTION: Record<ServiceKind, Pick<GatewayService, "version" | "auth" | "sessionProtectedPath">> = {
    ollama: { version: { path: "/api/version", field: "version" } },
    router: { auth: { keyOutput: "masterKey", header: "bearer", protectedPath: "/v1/models" } },
    cloudRouter: { auth: { keyOutput: "cloudMasterKey", header: "bearer", protectedPath: "/v1/models" } },
    qdrant: {
        version: { path: "/", field: "version" },
        auth: { keyOutput: "qdrantApiKey", header: "api-key", protectedPath: "/collections" },
    },
    openWebUI: { version: { path: "/api/version", field: "version" }, sessionProtectedPath: "/api/models" },
};

/**
 * Every service of the stack with a port of its own on its host, as the Docker target deploys them
 * (model/services.ts): the Ollama instances, every replica of the routers, the cloud router, Qdrant, Open WebUI.
 */
export function listServices(config: StackConfig): GatewayService[] {
    const hostNamed = (name: string) => config.hosts.find((h) => h.name === name)!;
    const placed = placements(config);
    return describeServices(config, (hostName) => dockerVantage(config, hostName)).flatMap((spec) => {
        if (spec.role === "redis") return [];
        const kind = spec.role;
        const host = hostNamed(spec.host);
        return Array.from({ length: spec.replicas }, (_, replica) => {
            const port = spec.port.service + replica;
            return {
                kind,
                containerName: kind === "router" ? routerContainerName(placed.routers, spec.host, replica) : spec.name,
                host,
                port,
                portConfigKey: `${PROJECT}:${spec.port.configKey}`,
                url: serviceUrl(host, port),
                healthPath: spec.probe!.path,
                ...PROTECTION[kind],
                image: spec.image,
                secretEnv: spec.env.flatMap((variable) => ("secret" in variable ? [variable.name] : [])),
            };
        });
    });
}

/** Whether the service is one of the routers: a replica of the local one, or the cloud router on 4001. */
export function isRouter(service: Pick<GatewayService, "kind">): boolean {
    return service.kind === "router" || service.kind === "cloudRouter";
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
