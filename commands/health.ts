/**
 * Is a service healthy, how fast does it answer, which version runs: what `status` shows and `wait`
 * waits for. Only the services' cheap, unauthenticated probes are used (never LiteLLM's `/health`,
 * which sends a request to every model).
 */
import { GatewayService } from "../targets/docker/endpoints";
import { jsonField, request } from "./http";

/** One service's health probe. */
export interface ServiceHealth {
    /** Whether the health endpoint answered 200. */
    healthy: boolean;
    /** HTTP status of the health endpoint, when it answered. */
    status?: number;
    /** Milliseconds the health endpoint took. */
    latencyMs: number;
    /** The version the service reports, when it does. */
    version?: string;
    /** Why it is not healthy: `connection refused`, `HTTP 503`, ... */
    problem?: string;
}

/** Probes the health endpoint, then the version endpoint when the service has another one. */
export async function probeService(service: GatewayService, timeoutMs = 5000): Promise<ServiceHealth> {
    const health = await request(`${service.url}${service.healthPath}`, { timeoutMs });
    if (health.status !== 200) {
        return {
            healthy: false,
            status: health.status,
            latencyMs: health.latencyMs,
            problem: health.problem ?? `HTTP ${health.status}`,
        };
    }
    const { version } = service;
    const versionBody =
        version === undefined || version.path === service.healthPath
            ? health.body
            : (await request(`${service.url}${version.path}`, { timeoutMs })).body;
    return {
        healthy: true,
        status: health.status,
        latencyMs: health.latencyMs,
        version: version && jsonField(versionBody, version.field),
    };
}
