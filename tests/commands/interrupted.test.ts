import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import type { Stack } from "@pulumi/pulumi/automation";
import {
    describePending,
    orphans,
    recoverInterruptedRun,
    restoreCutCheckpoint,
    running,
    staleLocks,
} from "../../commands/interrupted";
import { readProcessStat } from "../../commands/processStat";
import { HostConfig } from "../../config/stackKeys";
import { docker } from "../support/testImage";

/** The shape `pulumi stack export` gives after a run killed while creating the router container. */
const interrupted = {
    resources: [
        { type: "docker:index/network:Network", id: "net-1" },
        { type: "docker:index/container:Container", id: "ollama-1" },
        { type: "pulumi-nodejs:dynamic:Resource", id: "ollama-ollama-tiny" },
    ],
    pending_operations: [
        {
            type: "creating",
            resource: {
                urn: "urn:pulumi:e2e::ai-gateway::aigateway:docker:ServiceContainer$docker:index/container:Container::litellm",
            },
        },
    ],
};

describe("recovery from an interrupted run", () => {
    it("says which operations were in flight", () => {
        expect(describePending(interrupted)).toEqual(["creating litellm (docker:index/container:Container)"]);
        expect(describePending({ resources: [] })).toEqual([]);
    });

    it("takes as orphans only the stack's labelled objects that the state does not know", () => {
        const labelled = {
            containers: [
                { id: "ollama-1", name: "ollama" },
                { id: "litellm-9", name: "litellm" },
            ],
            networks: [{ id: "net-1", name: "ai-gateway" }],
        };
        expect(orphans(interrupted, labelled)).toEqual({
            containers: [{ id: "litellm-9", name: "litellm" }],
            networks: [],
        });
    });

    it("never takes an id the state records for another kind of resource as known", () => {
        const labelled = { containers: [{ id: "ollama-ollama-tiny", name: "x" }], networks: [] };
        expect(orphans(interrupted, labelled).containers).toEqual([{ id: "ollama-ollama-tiny", name: "x" }]);
    });
});

describe("recovery on an engine where another checkout deploys a stack of the same name", () => {
    // Two checkouts (two states) of stack `stack` on one Docker engine: the other one's container is in its
    // own state, this one's orphan was created by this state's interrupted run and never recorded.
    const stack = `aigw-recovery-${process.pid}`;
    const image = "aigw-test/empty:1";
    const [ours, theirs] = ["0123456789abcdef", "fedcba9876543210"];
    const names = { theirs: `${stack}-theirs`, orphan: `${stack}-orphan` };
    const exists = (name: string) => docker("ps", "-aq", "--filter", `name=^/${name}$`).trim() !== "";
    const create = (name: string, stateId: string) =>
        docker(
            "create",
            "--name",
            name,
            "--label",
            `ai-gateway.stack=${stack}`,
            "--label",
            `ai-gateway.state=${stateId}`,
            image,
            "/never-started",
        );
    const removeAll = () => {
        for (const name of Object.values(names)) if (exists(name)) docker("rm", "-f", name);
    };

    beforeAll(() => {
        // An image with no files: the containers are created, never started.
        if (docker("images", "-q", image).trim() === "") {
            const dir = mkdtempSync(path.join(tmpdir(), "aigw-empty-image-"));
            try {
                execFileSync("tar", ["-cf", path.join(dir, "empty.tar"), "-T", "/dev/null"]);
                docker("import", path.join(dir, "empty.tar"), image);
            } finally {
                rmSync(dir, { recursive: true, force: true });
            }
        }
        removeAll();
        create(names.theirs, theirs);
        create(names.orphan, ours);
    });
    afterAll(removeAll);

    it("removes its own state's orphan and leaves the other state's container alone", async () => {
        const state = {
            resources: [
                {
                    type: "random:index/randomId:RandomId",
                    urn: `urn:pulumi:${stack}::ai-gateway::aigateway:index:AiGateway$random:index/randomId:RandomId::state-id`,
                    id: "ASNFZ4mrze8",
                    outputs: { byteLength: 8, hex: ours },
                },
            ],
            pending_operations: [
                {
                    type: "creating",
                    resource: {
                        urn: `urn:pulumi:${stack}::ai-gateway::aigateway:docker:ServiceContainer$docker:index/container:Container::${names.orphan}`,
                    },
                },
            ],
        };
        const refreshed: unknown[] = [];
        const fakeStack = {
            name: stack,
            exportStack: async () => ({ version: 3, deployment: state }),
            refresh: async (options: unknown) => void refreshed.push(options),
        } as unknown as Stack;
        const host = { name: "box", docker: "unix:///var/run/docker.sock" } as HostConfig;
        const said: string[] = [];

        await recoverInterruptedRun(
            fakeStack,
            [host],
            (line) => said.push(line),
            () => undefined,
        );

        expect(exists(names.orphan)).toBe(false);
        expect(exists(names.theirs)).toBe(true);
        expect(said).toContain(`removing what it created on host box but never recorded: ${names.orphan}`);
        expect(refreshed).toHaveLength(1);
    });
});

describe("locks left by a killed run", () => {
    const state = mkdtempSync(path.join(tmpdir(), "aigw-locks-"));
    const dir = path.join(state, ".pulumi", "locks", "organization", "ai-gateway", "e2e");
    const lock = (name: string, holder: object) => {
        writeFileSync(
            path.join(dir, name),
            JSON.stringify({ username: "root", timestamp: "2026-11-22T14:40:09Z", ...holder }),
        );
        return path.join(dir, name);
    };
    afterAll(() => rmSync(state, { recursive: true, force: true }));

    it("are the locks taken on this machine by a process that no longer runs, and no others", () => {
        mkdirSync(dir, { recursive: true });
        const killed = lock("a.json", { pid: 800, hostname: "vm" });
        lock("b.json", { pid: 801, hostname: "vm" }); // still running
        lock("c.json", { pid: 802, hostname: "other-machine" }); // cannot be judged from here
        const isRunning = (pid: number) => pid === 801;
        expect(staleLocks(`file://${state}`, "e2e", isRunning, "vm")).toEqual([{ file: killed, pid: 800 }]);
        expect(staleLocks(`file://${state}`, "other-stack", isRunning, "vm")).toEqual([]);
        expect(staleLocks("s3://bucket/state", "e2e", isRunning, "vm")).toEqual([]);
    });
});

describe("whether the run that holds a lock still runs", () => {
    it("is yes for a live process and no for a killed one that nothing has reaped yet", async () => {
        // The shell execs into `sleep`, which never reaps: the killed child stays a zombie, as a killed
        // Pulumi CLI does until the machine's init gets to it.
        const parent = spawn("sh", ["-c", "sleep 60 & echo $!; exec sleep 60"], {
            stdio: ["ignore", "pipe", "ignore"],
        });
        const [firstLine] = await once(parent.stdout, "data");
        const child = Number(String(firstLine).trim());
        try {
            expect(running(child)).toBe(true);
            // Until the shell has exec'd, it would reap the killed child itself (it runs late on a busy machine).
            while (readFileSync(`/proc/${parent.pid}/comm`, "utf8").trim() !== "sleep")
                await new Promise((resolve) => setTimeout(resolve, 10));
            process.kill(child, "SIGKILL");
            let state = "";
            for (let tries = 0; tries < 500 && state !== "Z"; tries++) {
                await new Promise((resolve) => setTimeout(resolve, 20));
                state = readProcessStat(child)?.state ?? "";
            }
            expect(state).toBe("Z");
            expect(running(child)).toBe(false);
            expect(running(process.pid)).toBe(true);
        } finally {
            parent.kill("SIGKILL");
        }
    });
});

describe("a checkpoint cut off by a killed run", () => {
    const state = mkdtempSync(path.join(tmpdir(), "aigw-checkpoint-"));
    const dir = path.join(state, ".pulumi", "stacks", "ai-gateway");
    const file = path.join(dir, "e2e.json");
    const backup = '{"version":3,"checkpoint":{"stack":"e2e"}}';
    afterAll(() => rmSync(state, { recursive: true, force: true }));

    it("is restored from the engine's backup, with the backup's checksum file", () => {
        mkdirSync(dir, { recursive: true });
        writeFileSync(file, ""); // what "failed to load checkpoint: EOF" reads
        writeFileSync(`${file}.attrs`, '{"md5":"of-nothing"}');
        writeFileSync(`${file}.bak`, backup);
        writeFileSync(`${file}.bak.attrs`, '{"md5":"of-the-backup"}');
        const said: string[] = [];
        expect(restoreCutCheckpoint(`file://${state}`, "e2e", (line) => said.push(line))).toBe(true);
        expect(readFileSync(file, "utf8")).toBe(backup);
        expect(readFileSync(`${file}.attrs`, "utf8")).toBe('{"md5":"of-the-backup"}');
        expect(said).toEqual([
            `the state of stack e2e was cut off by a run killed while writing it: restoring ${file}.bak`,
        ]);
    });

    it("loses a cut checksum record, which the engine cannot read past, and keeps its whole content", () => {
        writeFileSync(file, backup);
        writeFileSync(`${file}.attrs`, "");
        expect(restoreCutCheckpoint(`file://${state}`, "e2e", () => undefined)).toBe(true);
        expect(existsSync(`${file}.attrs`)).toBe(false);
        expect(readFileSync(file, "utf8")).toBe(backup);
    });

    it("is restored without a checksum record when the backup's was cut too", () => {
        writeFileSync(file, "");
        writeFileSync(`${file}.attrs`, '{"md5":"of-nothing"}');
        writeFileSync(`${file}.bak.attrs`, "");
        expect(restoreCutCheckpoint(`file://${state}`, "e2e", () => undefined)).toBe(true);
        expect(readFileSync(file, "utf8")).toBe(backup);
        expect(existsSync(`${file}.attrs`)).toBe(false);
    });

    it("is left alone when it reads whole, and elsewhere than in a file backend", () => {
        writeFileSync(file, '{"version":3,"checkpoint":{"stack":"e2e","latest":{}}}');
        expect(restoreCutCheckpoint(`file://${state}`, "e2e", () => undefined)).toBe(false);
        expect(readFileSync(file, "utf8")).toContain("latest");
        expect(restoreCutCheckpoint("s3://bucket/state", "e2e", () => undefined)).toBe(false);
    });
});
