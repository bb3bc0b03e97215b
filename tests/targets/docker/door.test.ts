import { validateStackConfig } from "../../../config/load";
import { doorForwardPort, doorForwards, doorHealthPort, doorPublishedPorts } from "../../../targets/docker/doorPlan";
import { doorIdleTimeoutSeconds, doorPublished, renderDoorConfig } from "../../../targets/docker/doorConfig";
import { doorContainerName, hasDoor } from "../../../model/plan";
import { StackConfigInput } from "../../../config/stackKeys";
import { minimalConfig, problemsOf } from "../../support/stack";

/** `bind` and `server` of every listener of a door's config, in order. */
function listeners(text: string): [string, string, string][] {
    return [...text.matchAll(/^listen (\S+)\n\s+bind (\S+)\n\s+server \S+ (\S+)/gm)].map((m) => [m[1], m[2], m[3]]);
}

/** Open WebUI on a host of its own; the router, Qdrant and the embedding model on another. */
const uiApart = (overrides: Partial<StackConfigInput> = {}) =>
    validateStackConfig({
        hosts: [
            {
                name: "gpu",
                bindAddress: "10.0.0.1",
                ollama: [{ name: "ollama", port: 11434, models: ["llama3.2:3b", "nomic-embed-text:v1.5"] }],
            },
            { name: "ui", bindAddress: "fd00::2", ollama: [{ name: "ollama-ui", port: 11434, models: [] }] },
        ],
        groups: { fast: ["llama3.2:3b"] },
        openWebUI: { host: "ui", embeddingModel: "nomic-embed-text:v1.5" },
        qdrant: { enabled: true },
        ...overrides,
    });

describe("the door of a host", () => {
    it("publishes the ports of the services that have no route out, each to its container by name", () => {
        const config = validateStackConfig(minimalConfig({ qdrant: { enabled: true } }));
        expect(hasDoor(config, "box")).toBe(true);
        expect(doorContainerName(config, "box")).toBe("door");
        expect(doorPublishedPorts(config, "box")).toEqual([4000, 3000, 6333]);
        expect(doorPublished(config, "box").map((p) => p.port)).toEqual(doorPublishedPorts(config, "box"));
        expect(listeners(renderDoorConfig(config, "box")!)).toEqual([
            ["published:litellm", ":4000", "litellm:4000"],
            ["published:open-webui", ":3000", "open-webui:8080"],
            ["published:qdrant", ":6333", "qdrant:6333"],
        ]);
        expect(doorForwards(config, "box")).toEqual([]);
    });

    it("passes bytes through (TCP), follows replaced containers through Docker's DNS, and outlasts a slow answer", () => {
        const config = validateStackConfig(minimalConfig({ router: { timeoutSeconds: 7200 } }));
        const text = renderDoorConfig(config, "box")!;
        expect(text).toMatch(/^defaults\n\s+mode tcp\n/m);
        expect(text).toContain("nameserver docker 127.0.0.11:53");
        expect(text).toContain("server litellm litellm:4000 resolvers docker init-addr libc,none");
        expect(doorIdleTimeoutSeconds(config)).toBe(7260);
        expect(text).toContain("timeout server 7260s");
        expect(doorIdleTimeoutSeconds(validateStackConfig(minimalConfig()))).toBe(3600);
        expect(text).toMatch(
            /^frontend door:health\n\s+mode http\n\s+bind 127\.0\.0\.1:8404\n\s+monitor-uri \/healthz$/m,
        );
        expect(renderDoorConfig(config, "box")).toBe(text);
    });

    it("moves its health port and its forwards off any port a service behind it publishes", () => {
        const config = validateStackConfig({
            hosts: [
                { name: "a", bindAddress: "10.0.0.1", ollama: [{ name: "ollama", port: 11434 }] },
                { name: "b", bindAddress: "10.0.0.2", ollama: [{ name: "ollama-b", port: 11434 }] },
            ],
            groups: { fast: ["llama3.2:3b"] },
            router: { port: 20000 },
            openWebUI: { port: 8404 },
        });
        expect(doorHealthPort(config, "a")).toBe(8405);
        expect(doorForwards(config, "a").map((f) => [f.name, f.listen])).toEqual([["ollama-b", 20001]]);
        expect(doorForwardPort(config, "a", config.hosts[1], 11434)).toBe(20001);
    });

    it("forwards for Open WebUI on a host without a router: the router, Qdrant and the embedding instance, IPv6 too", () => {
        const config = uiApart();
        expect(hasDoor(config, "ui")).toBe(true);
        expect(doorContainerName(config, "gpu")).toBe("door");
        expect(doorContainerName(config, "ui")).toBe("door-ui");
        expect(listeners(renderDoorConfig(config, "ui")!)).toEqual([
            ["published:open-webui", ":3000", "open-webui:8080"],
            ["other-host:litellm", ":20000", "10.0.0.1:4000"],
            ["other-host:qdrant", ":20001", "10.0.0.1:6333"],
            ["other-host:ollama", ":20002", "10.0.0.1:11434"],
        ]);
        // The router's host forwards to the UI host's Ollama (its routers may use it), in brackets when IPv6.
        expect(listeners(renderDoorConfig(config, "gpu")!)).toEqual([
            ["published:litellm", ":4000", "litellm:4000"],
            ["published:qdrant", ":6333", "qdrant:6333"],
            ["other-host:ollama-ui", ":20000", "[fd00::2]:11434"],
        ]);
    });

    it("gives a host that runs only Ollama no door, and refuses to name a way out it does not hold", () => {
        const config = validateStackConfig({
            hosts: [
                { name: "a", bindAddress: "10.0.0.1", ollama: [{ name: "ollama", port: 11434 }] },
                { name: "b", bindAddress: "10.0.0.2", ollama: [{ name: "ollama-b", port: 11434 }] },
            ],
            groups: { fast: ["llama3.2:3b"] },
        });
        expect(hasDoor(config, "b")).toBe(false);
        expect(renderDoorConfig(config, "b")).toBeUndefined();
        expect(doorForwards(config, "b")).toEqual([]);
        expect(() => doorForwardPort(config, "a", config.hosts[1], 9999)).toThrow(
            "the door of host a has no forward to b:9999",
        );
    });
});

describe("the door's config keys", () => {
    it("takes a pinned image for the door, refuses an unpinned one, and keeps its names from Ollama instances", () => {
        expect(validateStackConfig(minimalConfig()).images.door).toBe("haproxy:2.6.12");
        expect(
            validateStackConfig(minimalConfig({ images: { door: "127.0.0.1:5050/ai-gateway/haproxy:2.6.12" } })).images
                .door,
        ).toBe("127.0.0.1:5050/ai-gateway/haproxy:2.6.12");
        expect(problemsOf(minimalConfig({ images: { door: "haproxy:latest" } }))).toEqual([
            'ai-gateway:images.door: "haproxy:latest" is not a pinned image (use "name:version" or "name@sha256:...", never "latest" or no tag)',
        ]);
        expect(
            problemsOf(minimalConfig({ hosts: [{ name: "box", ollama: [{ name: "door", port: 11434 }] }] })),
        ).toContainEqual(
            'ai-gateway:hosts[0].ollama[0].name: "door" is already the name of the door on host box (every container of the stack needs a name of its own: rename the instance)',
        );
        // door-<host> is the door of another host: on a second host with a router it collides.
        expect(
            problemsOf(
                minimalConfig({
                    hosts: [
                        { name: "a", ollama: [{ name: "door-b", port: 11434 }] },
                        { name: "b", bindAddress: "10.0.0.2", ollama: [{ name: "ollama-b", port: 11434 }] },
                    ],
                    router: { hosts: ["a", "b"] },
                }),
            ),
        ).toContainEqual(
            'ai-gateway:hosts[1].name: "b" gives the door on host b the container name door-b, already the name of the Ollama instance hosts[0].ollama[0] (every container of the stack needs a name of its own: rename the host)',
        );
    });
});
