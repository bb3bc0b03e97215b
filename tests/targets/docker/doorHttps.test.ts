import { renderDoorConfig } from "../../../targets/docker/doorConfig";
import {
    REMOTE_ACCESS_PEM,
    TLS12_CIPHERS,
    remoteAccessListeners,
    remoteAccessUrl,
    renderDoorHttps,
} from "../../../targets/docker/doorHttps";
import { validateStackConfig } from "../../../config/load";
import { StackConfigInput } from "../../../config/stackKeys";
import { UI_ON_ITS_OWN_HOST, minimalConfig, withRemoteAccess } from "../../support/stack";

const withRemote = (remoteAccess: object, overrides: Partial<StackConfigInput> = {}) =>
    validateStackConfig(withRemoteAccess(remoteAccess, overrides));

/** The lines of one section (`frontend x`, `backend y`) of a rendered config, indented lines only. */
function section(text: string, header: string): string[] {
    const start = text.indexOf(`\n${header}\n`);
    if (start < 0) return [];
    const lines = text.slice(start + header.length + 2).split("\n");
    return lines
        .slice(
            0,
            lines.findIndex((line) => !line.startsWith("    ")),
        )
        .map((line) => line.trim());
}

describe("the door's HTTPS front", () => {
    it("is absent without remoteAccess: the door's config is the same as before", () => {
        const config = validateStackConfig(minimalConfig());
        expect(renderDoorHttps(config, "box", 3600)).toEqual([]);
        expect(remoteAccessListeners(config, "box")).toEqual([]);
        expect(renderDoorConfig(config, "box")).not.toContain("remote-access");
    });

    it("ends TLS 1.2+ on the address and serves Open WebUI at /, with HSTS for its names and no banner", () => {
        const config = withRemote({ address: "192.168.1.20", hostnames: ["ai.lan", "ai.home.arpa"] });
        expect(remoteAccessListeners(config, "box")).toEqual([
            {
                kind: "https",
                address: "192.168.1.20",
                port: 443,
                listen: 443,
                configKey: "ai-gateway:remoteAccess.port",
            },
        ]);
        const text = renderDoorConfig(config, "box")!;
        expect(section(text, "frontend remote-access:https")).toEqual([
            "mode http",
            `bind :443 ssl crt ${REMOTE_ACCESS_PEM} ssl-min-ver TLSv1.2 ciphers ${TLS12_CIPHERS} no-tls-tickets alpn h2,http/1.1`,
            "timeout http-request 30s",
            "option http-no-delay",
            "option forwardfor",
            "http-request set-header X-Forwarded-Proto https",
            "http-request set-var(txn.host) req.hdr(host),field(1,:),lower",
            "default_backend remote-access:open-webui",
            "http-response del-header server",
            "http-response del-header x-powered-by",
            'http-response set-header Strict-Transport-Security "max-age=31536000" if { var(txn.host) -m str ai.lan ai.home.arpa }',
        ]);
        // Open WebUI by name on the internal network; its WebSocket, once upgraded, may stay quiet as long as any connection.
        expect(section(text, "backend remote-access:open-webui")).toEqual([
            "mode http",
            "timeout tunnel 3600s",
            "server open-webui open-webui:8080 resolvers docker init-addr libc,none",
        ]);
        expect(text).not.toContain("remote-access:router");
        expect(text).not.toContain("frontend remote-access:http\n");
        expect(remoteAccessUrl(config.remoteAccess!)).toBe("https://ai.lan/");
    });

    it("serves the router's OpenAI API at /v1 over every replica, and nothing else when Open WebUI is not exposed", () => {
        const both = renderDoorConfig(
            withRemote({ address: "192.168.1.20", expose: ["openWebUI", "router"] }, { router: { replicas: 2 } }),
            "box",
        )!;
        expect(section(both, "frontend remote-access:https")).toContain(
            "use_backend remote-access:router if { path /v1 } || { path_beg /v1/ }",
        );
        expect(section(both, "backend remote-access:router")).toEqual([
            "mode http",
            "server litellm litellm:4000 resolvers docker init-addr libc,none",
            "server litellm-2 litellm-2:4000 resolvers docker init-addr libc,none",
        ]);
        const routerOnly = renderDoorConfig(withRemote({ address: "192.168.1.20", expose: ["router"] }), "box")!;
        const front = section(routerOnly, "frontend remote-access:https");
        expect(front).toContain('http-request return status 404 content-type text/plain string "not found\\n"');
        expect(front.join("\n")).not.toContain("default_backend");
        expect(routerOnly).not.toContain("backend remote-access:open-webui");
        // No hostnames: no HSTS, which browsers ignore for an address anyway.
        expect(front.join("\n")).not.toContain("Strict-Transport-Security");
    });

    it("redirects plain HTTP on port 80 to the HTTPS port, keeping the name and the path", () => {
        const on443 = renderDoorConfig(withRemote({ address: "192.168.1.20", httpRedirect: true }), "box")!;
        expect(section(on443, "frontend remote-access:http")).toEqual([
            "mode http",
            "bind :80",
            "timeout http-request 30s",
            "http-request redirect code 301 location https://%[req.hdr(host),regsub(:[0-9]+$,)]%[url]",
        ]);
        const elsewhere = withRemote({ address: "fd00::20", httpRedirect: true, port: 8443 });
        expect(section(renderDoorConfig(elsewhere, "box")!, "frontend remote-access:http")).toContain(
            "http-request redirect code 301 location https://%[req.hdr(host),regsub(:[0-9]+$,)]:8443%[url]",
        );
        expect(renderDoorConfig(elsewhere, "box")).toContain(
            "# https://[fd00::20]:8443/ for other devices (remoteAccess), published on [fd00::20]:8443",
        );
        expect(remoteAccessListeners(elsewhere, "box").map((l) => [l.kind, l.port, l.listen])).toEqual([
            ["https", 8443, 8443],
            ["http-redirect", 80, 80],
        ]);
    });

    it("listens inside the door on another port when one of its own listeners has the published one", () => {
        // 3000 is Open WebUI's port on the bind address; the door listens on it inside its container too.
        const config = withRemote({ address: "192.168.1.20", port: 3000 });
        expect(remoteAccessListeners(config, "box")).toMatchObject([{ port: 3000, listen: 3001 }]);
        expect(renderDoorConfig(config, "box")).toContain(`bind :3001 ssl crt ${REMOTE_ACCESS_PEM}`);
    });

    it("belongs to the door of its host only", () => {
        const config = validateStackConfig(withRemoteAccess({ address: "192.168.1.20" }, UI_ON_ITS_OWN_HOST));
        expect(remoteAccessListeners(config, "gpu")).toEqual([]);
        expect(renderDoorConfig(config, "gpu")).not.toContain("remote-access");
        expect(renderDoorConfig(config, "ui")).toContain("frontend remote-access:https");
    });
});
