/**
 * status, audit and doctor against real containers on the real Docker engine: the stack's services run as
 * containers of a local image (the fake services, see support/testImage.ts) on the stack's two networks, as
 * `up` creates them: Ollama on both, publishing its port; the router, Open WebUI and Qdrant on the internal one
 * only, their ports published by a door on both; their secrets in the environment.
 */
import { auditCommand } from "../../commands/audit";
import { doctorCommand } from "../../commands/doctor";
import { statusCommand } from "../../commands/status";
import { ROUTER_ALLOWED_ROUTES } from "../../model/litellm";
import { freePort } from "../support/httpServer";
import { StackFolder, runInProcess, testStackConfig } from "../support/operator";
import { buildFakeServicesImage, docker } from "../support/testImage";

const IMAGE = "aigw-test/fake-services:1";
const UNPINNED = "aigw-test/fake-services:latest";
const LABEL = "aigw-test=commands";
const MASTER_KEY = "sk-containers-test-0123456789abcdef";
const QDRANT_KEY = "qdrant-containers-test-0123456789";
/** Open WebUI's secrets as the stack gives them: its own, the router's key and, with Qdrant, Qdrant's key. */
const OPEN_WEBUI_ENV = [
    "WEBUI_SECRET_KEY=0123456789abcdef0123",
    "WEBUI_ADMIN_PASSWORD=Adm1n-0123456789-pw",
    `OPENAI_API_KEY=${MASTER_KEY}`,
    `QDRANT_API_KEY=${QDRANT_KEY}`,
];
const OLLAMA = "aigwt-ollama";
const CONTAINERS = [OLLAMA, "litellm", "open-webui", "qdrant"];
/** The stack's networks, by the names `up` gives them: the audit reads them by name. */
const EGRESS = "ai-gateway";
const INTERNAL = "ai-gateway-internal";

/** Fixed names are the stack's own; a container of that name that a test did not make is left alone. */
function removeTestContainers(): void {
    const ours = docker("ps", "-aq", "--filter", `label=${LABEL}`).split("\n").filter(Boolean);
    if (ours.length > 0) docker("rm", "-f", ...ours);
    const ourNetworks = docker("network", "ls", "-q", "--filter", `label=${LABEL}`).split("\n").filter(Boolean);
    if (ourNetworks.length > 0) docker("network", "rm", ...ourNetworks);
    for (const name of [...CONTAINERS, "door"]) {
        const other = docker("ps", "-aq", "--filter", `name=^/${name}$`).trim();
        if (other)
            throw new Error(
                `a container named ${name} exists that this test did not create: remove it to run this test`,
            );
    }
    for (const name of [EGRESS, INTERNAL])
        if (docker("network", "ls", "-q", "--filter", `name=^${name}$`).trim())
            throw new Error(`a network named ${name} exists that this test did not create: remove it to run this test`);
}

describe("status, audit and doctor on real containers", () => {
    const folder = new StackFolder();
    let ports: { ollama: number; router: number; openWebUI: number; qdrant: number };
    let imageId: string;

    /**
     * `docker run` as `up` does it: by image id, on the internal network only with no port of its own (the door
     * publishes it), or with `publish` on the ordinary network and the internal one (Ollama, the door); secrets
     * in the environment.
     */
    function run(
        name: string,
        command: string[],
        options: { env?: string[]; image?: string; publish?: string[] } = {},
    ) {
        docker("rm", "-f", name);
        docker(
            "run",
            "-d",
            "--name",
            name,
            "--label",
            LABEL,
            "--network",
            options.publish ? EGRESS : INTERNAL,
            ...(options.publish ?? []).flatMap((p) => ["-p", p]),
            ...(options.env ?? []).flatMap((e) => ["-e", e]),
            options.image ?? imageId,
            ...command,
        );
        if (options.publish) docker("network", "connect", INTERNAL, name);
    }
    const startOllama = (extraPublish: string[] = []) =>
        run(OLLAMA, ["ollama", "11434"], { publish: [`127.0.0.1:${ports.ollama}:11434`, ...extraPublish] });
    const startQdrant = (options: { apiKey?: string; image?: string; env?: string[] }) =>
        run("qdrant", ["qdrant", "6333", JSON.stringify({ apiKey: options.apiKey })], {
            env: [`QDRANT__SERVICE__API_KEY=${options.apiKey ?? ""}`, ...(options.env ?? [])],
            image: options.image,
        });
    /** The door: each published port relayed to its service by name on the internal network. */
    const startDoor = () =>
        run(
            "door",
            [
                "door",
                `${ports.router}=litellm:4000`,
                `${ports.openWebUI}=open-webui:8080`,
                `${ports.qdrant}=qdrant:6333`,
            ],
            { publish: [ports.router, ports.openWebUI, ports.qdrant].map((p) => `127.0.0.1:${p}:${p}`) },
        );

    /** Until each published port answers: a container's process needs a moment after `docker run`. */
    async function ready(): Promise<void> {
        const deadline = Date.now() + 15_000;
        for (const port of Object.values(ports)) {
            while (
                !(await fetch(`http://127.0.0.1:${port}/`).then(
                    () => true,
                    () => false,
                ))
            ) {
                if (Date.now() > deadline) throw new Error(`port ${port} never answered`);
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
        }
    }

    beforeAll(async () => {
        removeTestContainers();
        buildFakeServicesImage(IMAGE);
        docker("tag", IMAGE, UNPINNED);
        imageId = docker("image", "inspect", "--format", "{{.Id}}", IMAGE).trim();
        ports = {
            ollama: await freePort(),
            router: await freePort(),
            openWebUI: await freePort(),
            qdrant: await freePort(),
        };
        folder.write(
            "box",
            testStackConfig(ports, {
                docker: "unix:///var/run/docker.sock",
                ollamaName: OLLAMA,
                image: IMAGE,
                dataDir: folder.dir,
            }),
        );
        docker("network", "create", "--label", LABEL, EGRESS);
        // As up creates it: internal, and no address of this machine on it.
        docker(
            "network",
            "create",
            "--label",
            LABEL,
            "--internal",
            "-o",
            "com.docker.network.bridge.inhibit_ipv4=true",
            INTERNAL,
        );
        startOllama();
        run(
            "litellm",
            [
                "router",
                "4000",
                JSON.stringify({
                    key: MASTER_KEY,
                    groups: { fast: "http://aigwt-ollama:11434/v1", code: "http://aigwt-ollama:11434/v1" },
                    allowedRoutes: ROUTER_ALLOWED_ROUTES,
                }),
            ],
            {
                env: [`LITELLM_MASTER_KEY=${MASTER_KEY}`],
            },
        );
        run("open-webui", ["openWebUI", "8080"], {
            env: OPEN_WEBUI_ENV,
        });
        startQdrant({ apiKey: QDRANT_KEY });
        startDoor();
        await ready();
    }, 90_000);

    afterAll(() => {
        removeTestContainers();
        docker("rmi", UNPINNED, IMAGE);
        folder.remove();
    });

    const env = () => folder.env({ AIGW_MASTER_KEY: MASTER_KEY });
    const audit = async () => {
        const { code, out } = await runInProcess(
            auditCommand,
            ["--stack", "box", "--json", "--probe-addresses", "127.0.0.2"],
            env(),
        );
        const findings = JSON.parse(out).findings as {
            rule: string;
            subject: string;
            verdict: string;
            detail: string;
        }[];
        return {
            code,
            find: (rule: string, subject: string) => findings.filter((f) => f.rule === rule && f.subject === subject),
            findings,
        };
    };

    it("status shows each container running next to its health", async () => {
        const { code, out } = await runInProcess(statusCommand, ["--stack", "box"], env());
        expect(code).toBe(0);
        for (const name of CONTAINERS)
            expect(out).toMatch(new RegExp(`^${name}\\s+box\\s+running\\s+ok \\(200\\)`, "m"));
    });

    it("audit passes every rule on a stack deployed as up deploys it", async () => {
        const { code, findings } = await audit();
        expect(findings.filter((f) => f.verdict !== "pass")).toEqual([]);
        expect(code).toBe(0);
        expect(new Set(findings.map((f) => f.rule))).toEqual(
            new Set([
                "bind-address",
                "ollama-not-beyond",
                "auth",
                "secrets",
                "cloud-key",
                "local-only-router",
                "routes",
                "no-cloud-models",
                "images-pinned",
                "no-egress",
            ]),
        );
        expect(findings).toContainEqual({
            rule: "ollama-not-beyond",
            subject: OLLAMA,
            verdict: "pass",
            detail: `port ${ports.ollama} not reachable on 127.0.0.2`,
        });
        // Only the door publishes the ports of the services behind it.
        expect(findings.filter((f) => f.rule === "bind-address").map((f) => [f.subject, f.detail])).toEqual([
            [OLLAMA, `published on 127.0.0.1:${ports.ollama} only`],
            ["litellm", `publishes no port (the door publishes 127.0.0.1:${ports.router})`],
            ["qdrant", `publishes no port (the door publishes 127.0.0.1:${ports.qdrant})`],
            ["open-webui", `publishes no port (the door publishes 127.0.0.1:${ports.openWebUI})`],
            [
                "door",
                `published on 127.0.0.1:${ports.router}, 127.0.0.1:${ports.openWebUI}, 127.0.0.1:${ports.qdrant} only`,
            ],
        ]);
        const gateway = docker("network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", EGRESS).trim();
        const noEgress = findings.filter((f) => f.rule === "no-egress");
        expect(noEgress.map((f) => f.subject)).toEqual(["litellm", "qdrant", "open-webui"]);
        for (const name of ["litellm", "open-webui"])
            expect(noEgress.find((f) => f.subject === name)!.detail).toMatch(
                new RegExp(
                    `^only on ${INTERNAL} \\(no route out\\); cannot connect to ${gateway.replace(/\./g, "\\.")}:\\d+, where this audit listens on the Docker host`,
                ),
            );
        expect(noEgress.find((f) => f.subject === "qdrant")!.detail).toBe(`only on ${INTERNAL} (no route out)`);
    });

    it("audit fails a router with a route out: its network, and the connection it made to the Docker host", async () => {
        docker("network", "connect", EGRESS, "litellm");
        try {
            const { code, find } = await audit();
            expect(code).toBe(1);
            expect(find("no-egress", "litellm")[0]).toMatchObject({
                verdict: "fail",
                detail: expect.stringMatching(
                    new RegExp(`^on ${EGRESS}, which has a route out \\(only ${INTERNAL} is allowed\\); connected to `),
                ),
            });
            expect(find("no-egress", "open-webui")[0].verdict).toBe("pass");
        } finally {
            docker("network", "disconnect", EGRESS, "litellm");
        }
    });

    it("audit fails a router on an internal network where this machine has an address, which it reaches", async () => {
        // Internal, but Docker gives this machine the gateway's address on it: what listens on every address answers.
        const leaky = "aigw-test-leaky";
        docker("network", "create", "--label", LABEL, "--internal", leaky);
        docker("network", "connect", leaky, "litellm");
        try {
            const gateway = docker("network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", leaky).trim();
            const { code, find } = await audit();
            expect(code).toBe(1);
            expect(find("no-egress", "litellm")[0]).toMatchObject({
                verdict: "fail",
                detail: expect.stringContaining(`(no route out); connected to ${gateway}:`),
            });
            expect(find("no-egress", "litellm")[0].detail).toContain(`the Docker host's own address on ${leaky}`);
        } finally {
            docker("network", "disconnect", leaky, "litellm");
            docker("network", "rm", leaky);
        }
    });

    it("audit fails a service that publishes its own port beside the door's", async () => {
        run("open-webui", ["openWebUI", "8080"], {
            env: OPEN_WEBUI_ENV,
            publish: [`127.0.0.2:${ports.openWebUI}:8080`],
        });
        try {
            const { code, find } = await audit();
            expect(code).toBe(1);
            expect(find("bind-address", "open-webui")[0]).toMatchObject({
                verdict: "fail",
                detail: `8080/tcp published on 127.0.0.2:${ports.openWebUI} (it must publish nothing: the door publishes its port)`,
            });
            expect(find("no-egress", "open-webui")[0]).toMatchObject({
                verdict: "fail",
                detail: expect.stringMatching(/^on ai-gateway, which has a route out .*; connected to /),
            });
        } finally {
            run("open-webui", ["openWebUI", "8080"], {
                env: OPEN_WEBUI_ENV,
            });
            await ready();
        }
    });

    it("doctor sees the ports held by the stack's own containers as fine for a re-deploy", async () => {
        const { out } = await runInProcess(doctorCommand, ["--stack", "box", "--json"], env());
        const portFindings = JSON.parse(out).findings.filter((f: { rule: string }) => f.rule === "port");
        expect(portFindings.map((f: { detail: string }) => f.detail)).toEqual([
            `in use by this stack's own container ${OLLAMA} (up replaces it)`,
            "in use by this stack's own container door (up replaces it)",
            "in use by this stack's own container door (up replaces it)",
            "in use by this stack's own container door (up replaces it)",
        ]);
        for (const finding of portFindings) expect(finding.verdict).toBe("pass");
    });

    it("audit fails an Ollama published beyond the bind address, and says where it answers", async () => {
        startOllama([`127.0.0.2:${ports.ollama}:11434`]);
        try {
            await ready();
            const { code, find } = await audit();
            expect(code).toBe(1);
            expect(find("bind-address", OLLAMA)).toEqual([
                {
                    rule: "bind-address",
                    subject: OLLAMA,
                    verdict: "fail",
                    detail: `11434/tcp published on 127.0.0.2:${ports.ollama} (only 127.0.0.1:${ports.ollama} is allowed)`,
                },
            ]);
            expect(find("ollama-not-beyond", OLLAMA)[0]).toMatchObject({
                verdict: "fail",
                detail: `port ${ports.ollama} answers on 127.0.0.2`,
            });
        } finally {
            startOllama();
            await ready();
        }
    });

    it("audit fails an open Qdrant with an empty key on an unpinned image", async () => {
        startQdrant({ image: UNPINNED });
        try {
            await ready();
            const { code, find } = await audit();
            expect(code).toBe(1);
            expect(find("images-pinned", "qdrant")[0]).toMatchObject({
                verdict: "fail",
                detail: `runs ${UNPINNED}, not the pinned ${IMAGE}`,
            });
            expect(find("secrets", "qdrant")[0]).toMatchObject({
                verdict: "fail",
                detail: "QDRANT__SERVICE__API_KEY is empty",
            });
            expect(find("auth", "qdrant").map((f) => [f.verdict, f.detail])).toEqual([
                ["fail", "GET /collections without a key answered 200"],
                ["fail", "GET /collections with a wrong key answered 200"],
            ]);
            // The rest of the stack is untouched and still passes.
            expect(find("images-pinned", "litellm")[0].verdict).toBe("pass");
        } finally {
            startQdrant({ apiKey: QDRANT_KEY });
            await ready();
        }
    });

    it("audit fails a container that holds a cloud key, naming the variable, never the value", async () => {
        startQdrant({ apiKey: QDRANT_KEY, env: ["CLOUD_API_KEY=sk-leaked-cloud-key-0123456789"] });
        try {
            await ready();
            const { code, find, findings } = await audit();
            expect(code).toBe(1);
            expect(find("cloud-key", "qdrant")).toEqual([
                {
                    rule: "cloud-key",
                    subject: "qdrant",
                    verdict: "fail",
                    detail: "holds the cloud key in CLOUD_API_KEY: only the cloud router may, and cloud is off",
                },
            ]);
            expect(find("cloud-key", "litellm")[0]).toMatchObject({ verdict: "pass", detail: "holds no cloud key" });
            expect(JSON.stringify(findings)).not.toContain("sk-leaked");
        } finally {
            startQdrant({ apiKey: QDRANT_KEY });
            await ready();
        }
    });

    it("status exits 1 when a container has stopped, showing its state", async () => {
        docker("kill", "open-webui");
        const { code, out, err } = await runInProcess(statusCommand, ["--stack", "box"], env());
        expect(code).toBe(1);
        // Docker's port proxy may still accept the connection for a moment, then drops it.
        expect(out).toMatch(/^open-webui\s+box\s+exited\s+DOWN: connection (refused|reset)/m);
        expect(out).toMatch(/^qdrant\s+box\s+running\s+ok \(200\)/m);
        expect(err).toContain("status: down: open-webui");
    });
});
