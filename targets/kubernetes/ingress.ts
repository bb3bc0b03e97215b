/**
 * The one way in from outside the cluster, when the operator asks for it (`kubernetes.ingress`): Open WebUI at
 * `/` and, when exposed, the router's OpenAI API (behind its key) at `/v1`. Pure.
 */
import type { types } from "@pulumi/kubernetes";
import { KubernetesConfig } from "../../config/kubernetesKeys";
import { ServiceSpec } from "../../model/services";

/** Where each exposable service is served on the Ingress's host. */
const PATHS = { openWebUI: "/", router: "/v1" } as const;

/**
 * Annotations of ingress-nginx, the most common controller (others ignore them): answers streamed as they come
 * (no buffering), Open WebUI's WebSockets, and no cut-off while a model loads or a long answer streams.
 */
export function ingressAnnotations(timeoutSeconds: number): Record<string, string> {
    return {
        "nginx.ingress.kubernetes.io/proxy-buffering": "off",
        "nginx.ingress.kubernetes.io/proxy-request-buffering": "off",
        "nginx.ingress.kubernetes.io/proxy-read-timeout": String(timeoutSeconds),
        "nginx.ingress.kubernetes.io/proxy-send-timeout": String(timeoutSeconds),
        "nginx.ingress.kubernetes.io/proxy-body-size": "64m",
    };
}

/** The Ingress's spec: a rule on its host for each exposed service, TLS when a certificate Secret is named. */
export function ingressSpec(
    ingress: NonNullable<KubernetesConfig["ingress"]>,
    services: ServiceSpec[],
): types.input.networking.v1.IngressSpec {
    const paths = ingress.expose.map((role) => {
        const service = services.find((s) => s.role === role);
        if (!service) throw new Error(`kubernetes.ingress exposes ${role}, which the stack does not deploy`);
        return {
            path: PATHS[role],
            pathType: "Prefix",
            backend: { service: { name: service.name, port: { number: service.port.service } } },
        };
    });
    return {
        ...(ingress.className ? { ingressClassName: ingress.className } : {}),
        ...(ingress.tlsSecret ? { tls: [{ hosts: [ingress.host], secretName: ingress.tlsSecret }] } : {}),
        rules: [{ host: ingress.host, http: { paths } }],
    };
}
