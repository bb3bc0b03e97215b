import { renderDoorConfig } from "../../../targets/docker/doorConfig";
import { REMOTE_ACCESS_PEM } from "../../../targets/docker/doorHttps";
import { validateStackConfig } from "../../../config/load";
import { minimalConfig } from "../../support/stack";
import { doorToLoopback } from "./door";

const config = validateStackConfig(
    minimalConfig({ remoteAccess: { address: "192.0.2.10", expose: ["openWebUI", "router"] } } as object),
);
const rendered = renderDoorConfig(config, "box")!;
const where = {
    ports: { 8404: 18404, 4000: 14000, 3000: 13000, 443: 8443 },
    servers: { "litellm:4000": "127.0.0.1:4082", "open-webui:8080": "127.0.0.1:9" },
    pemFile: "/tmp/door/server.pem",
};

describe("doorToLoopback: the rendered door config moved onto loopback", () => {
    const moved = doorToLoopback(rendered, where);

    it("binds every listener on loopback, points every service at its peer, and serves the test's certificate", () => {
        expect([...moved.matchAll(/^\s+bind (\S+)/gm)].map((m) => m[1])).toEqual([
            "127.0.0.1:18404",
            "127.0.0.1:14000",
            "127.0.0.1:13000",
            "127.0.0.1:8443",
        ]);
        expect([...moved.matchAll(/^\s+server (\S+) (.*)$/gm)].map((m) => [m[1], m[2]])).toEqual([
            ["litellm", "127.0.0.1:4082"],
            ["open-webui", "127.0.0.1:9"],
            ["open-webui", "127.0.0.1:9"],
            ["litellm", "127.0.0.1:4082"],
        ]);
        expect(moved).toContain(`ssl crt /tmp/door/server.pem ssl-min-ver TLSv1.2`);
        expect(moved).not.toContain(REMOTE_ACCESS_PEM);
        expect(moved).not.toContain("resolvers docker");
    });

    it("changes nothing else: every other line is the rendered one", () => {
        const lines = rendered.split("\n");
        // Docker's DNS, from its header to the blank line that ends it, has no use on loopback.
        const resolvers = lines.indexOf("resolvers docker");
        lines.splice(resolvers, lines.indexOf("", resolvers) - resolvers + 1);
        const others = (text: string[]) => text.filter((line) => !/^\s+(bind|server) /.test(line));
        expect(others(moved.split("\n"))).toEqual(others(lines));
        expect(moved).toMatch(/^defaults\n\s+mode tcp\n/m);
    });

    it("refuses a listener or a service it has no place for", () => {
        const { 443: _, ...without443 } = where.ports;
        expect(() => doorToLoopback(rendered, { ...where, ports: without443 })).toThrow(
            "the door's listener 443 has no place on loopback",
        );
        expect(() => doorToLoopback(rendered, { ...where, servers: { "litellm:4000": "127.0.0.1:4082" } })).toThrow(
            "the door's service open-webui:8080 has no place on loopback",
        );
    });
});
