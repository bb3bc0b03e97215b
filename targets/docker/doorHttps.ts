/**
 * The door's HTTPS front for other devices (`ai-gateway:remoteAccess`): the part of the door's haproxy.cfg that
 * ends TLS on the remote-access address and serves Open WebUI at `/` and the router's OpenAI API at `/v1`, and
 * the ports the door publishes there. Pure, like the rest of the door's config (targets/docker/doorConfig.ts).
 *
 * These listeners are HTTP (`mode http`), where the door's others are TCP: it must read the path to pick the
 * service, and it sets the response headers a browser on the LAN should get (HSTS, no server banner). HAProxy
 * forwards bodies as they arrive, so streamed answers pass unbuffered, and switches a WebSocket upgrade (Open
 * WebUI's) to a tunnel.
 */
import { OPEN_WEBUI_CONTAINER_PORT } from "../../model/openWebUI";
import { doorForwards, doorHealthPort, doorPublishedPorts, freePort } from "./doorPlan";
import { LITELLM_CONTAINER_PORT } from "../../model/litellm";
import { urlHost } from "../../model/addressing";
import { CONTAINER_NAMES, placements, remoteAccessHost, routerContainerName } from "../../model/plan";
import { HTTP_REDIRECT_PORT, RemoteAccessConfig } from "../../config/remoteAccessKeys";
import type { StackConfig } from "../../config/stackKeys";

/** The certificate chain and private key the HTTPS front serves, in one file as HAProxy reads it. */
export const REMOTE_ACCESS_PEM = "/usr/local/etc/haproxy/remote-access.pem";
/**
 * TLS 1.2's cipher suites: Mozilla's "intermediate" list, forward secret and authenticated (AES-GCM, ChaCha20) only;
 * TLS 1.3's are OpenSSL's, all of that kind.
 */
export const TLS12_CIPHERS = [
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");
/** HSTS for a year, for the hostnames only: browsers ignore it for an address, and so no subdomains either. */
export const HSTS = "max-age=31536000";
/** The path under which the router's OpenAI API is served: clients take `https://<name>/v1` as their base URL. */
export const ROUTER_PATH = "/v1";

/** A port the door publishes on the remote-access address. */
export interface RemoteListener {
    /** HTTPS, or the plain HTTP that only redirects. */
    kind: "https" | "http-redirect";
    /** The address it is published on. */
    address: string;
    /** Its port there. */
    port: number;
    /** The port the door listens on inside its container: the same, unless one of its other listeners has it. */
    listen: number;
    /** The config key that sets the port. */
    configKey: string;
}

/** What the door of `hostName` publishes on the remote-access address: none unless it serves remote access. */
export function remoteAccessListeners(config: StackConfig, hostName: string): RemoteListener[] {
    const remote = config.remoteAccess;
    if (!remote || remoteAccessHost(config) !== hostName) return [];
    const taken = new Set([
        ...doorPublishedPorts(config, hostName),
        doorHealthPort(config, hostName),
        ...doorForwards(config, hostName).map((f) => f.listen),
    ]);
    const listener = (kind: RemoteListener["kind"], port: number, configKey: string): RemoteListener => {
        const listen = freePort(port, taken);
        taken.add(listen);
        return { kind, address: remote.address, port, listen, configKey };
    };
    return [
        listener("https", remote.port, "ai-gateway:remoteAccess.port"),
        ...(remote.httpRedirect
            ? [listener("http-redirect", HTTP_REDIRECT_PORT, "ai-gateway:remoteAccess.httpRedirect")]
            : []),
    ];
}

/** The URL other devices open: the first hostname (else the address), and the port unless it is 443. */
export function remoteAccessUrl(remote: RemoteAccessConfig): string {
    const name = remote.hostnames[0] ?? urlHost(remote.address);
    return `https://${name}${remote.port === 443 ? "" : `:${remote.port}`}/`;
}

/** The lines of the door's haproxy.cfg for remote access on `hostName`; none when its door does not serve it. */
export function renderDoorHttps(config: StackConfig, hostName: string, idleSeconds: number): string[] {
    const listeners = remoteAccessListeners(config, hostName);
    const remote = config.remoteAccess;
    if (!remote || listeners.length === 0) return [];
    const https = listeners.find((l) => l.kind === "https")!;
    const redirect = listeners.find((l) => l.kind === "http-redirect");
    const serves = (service: "openWebUI" | "router") => remote.expose.includes(service);
    const server = (name: string, port: number) =>
        `    server ${name} ${name}:${port} resolvers docker init-addr libc,none`;
    const placed = placements(config);
    const routers = Array.from({ length: config.router.replicas }, (_, replica) =>
        routerContainerName(placed.routers, hostName, replica),
    );

    const lines = [
        "",
        `# ${remoteAccessUrl(remote)} for other devices (remoteAccess), published on ${urlHost(https.address)}:${https.port}: TLS ends here`,
        "frontend remote-access:https",
        "    mode http",
        `    bind :${https.listen} ssl crt ${REMOTE_ACCESS_PEM} ssl-min-ver TLSv1.2 ciphers ${TLS12_CIPHERS} no-tls-tickets alpn h2,http/1.1`,
        // A client gets 30 s to send its request's headers: a slow one cannot hold connections open for an hour.
        "    timeout http-request 30s",
        // Streamed answers are many small writes: each goes out as it comes, never held back for more (MSG_MORE).
        "    option http-no-delay",
        "    option forwardfor",
        "    http-request set-header X-Forwarded-Proto https",
        "    http-request set-var(txn.host) req.hdr(host),field(1,:),lower",
        ...(serves("router")
            ? [`    use_backend remote-access:router if { path ${ROUTER_PATH} } || { path_beg ${ROUTER_PATH}/ }`]
            : []),
        serves("openWebUI")
            ? "    default_backend remote-access:open-webui"
            : '    http-request return status 404 content-type text/plain string "not found\\n"',
        // No banner: the services' own (uvicorn) would name the software behind the door.
        "    http-response del-header server",
        "    http-response del-header x-powered-by",
        ...(remote.hostnames.length > 0
            ? [
                  `    http-response set-header Strict-Transport-Security "${HSTS}" if { var(txn.host) -m str ${remote.hostnames.join(" ")} }`,
              ]
            : []),
    ];
    if (serves("openWebUI"))
        lines.push(
            "",
            "backend remote-access:open-webui",
            "    mode http",
            // Open WebUI's WebSocket, once upgraded, is a tunnel: it may stay quiet as long as any connection here.
            `    timeout tunnel ${idleSeconds}s`,
            server(CONTAINER_NAMES.openWebUI, OPEN_WEBUI_CONTAINER_PORT),
        );
    if (serves("router"))
        lines.push(
            "",
            "backend remote-access:router",
            "    mode http",
            ...routers.map((name) => server(name, LITELLM_CONTAINER_PORT)),
        );
    if (redirect)
        lines.push(
            "",
            `# http://${urlHost(redirect.address)}:${redirect.port}: only a redirect to HTTPS (remoteAccess.httpRedirect)`,
            "frontend remote-access:http",
            "    mode http",
            `    bind :${redirect.listen}`,
            "    timeout http-request 30s",
            // The name the client asked for, without its port, then the HTTPS port unless it is HTTPS's own.
            `    http-request redirect code 301 location https://%[req.hdr(host),regsub(:[0-9]+$,)]${https.port === 443 ? "" : `:${https.port}`}%[url]`,
        );
    return lines;
}
