/**
 * Runs containers exactly as the program declares them (image, environment, command, volumes, uploaded files,
 * network aliases: the `docker.Container` inputs of an evaluated program), on a network the test chooses, with
 * the program's secret placeholder replaced by a test secret. The host reaches them at their addresses on that
 * network: a `docker network create --internal` network publishes no port.
 */
import { execFileSync, spawn, ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { DeclaredResource, SECRET_PLACEHOLDER } from "../../../commands/evaluate";
import { docker } from "../../support/testImage";

/** Pulls `ref` unless the engine has it (other suites remove the stack's images to prove their pulls). */
export function ensureImage(ref: string): void {
    try {
        docker("image", "inspect", ref);
    } catch {
        try {
            docker("pull", ref);
        } catch (err) {
            throw new Error(
                `${ref} is neither local nor pullable (${(err as Error).message.trim()}): run bash images/registry.sh start 127.0.0.1:5050 and images/build.sh`,
            );
        }
    }
}

/** Removes containers and networks by their exact names; absent ones are fine. */
export function removeDockerObjects(containers: string[], networks: string[] = []): void {
    for (const name of containers) execFileSync("docker", ["rm", "-f", "-v", name], { stdio: "ignore" });
    for (const name of networks) {
        try {
            docker("network", "rm", name);
        } catch {
            // already gone
        }
    }
}

/** Where a running container is on the network it joined (its own, or the one of the container it shares). */
export function addressOf(name: string): string {
    return docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name).trim();
}

/** How the test places one declared container. */
export interface Placement {
    /** Its Docker name (the declared one is kept as its network alias). */
    dockerName: string;
    /** The network it joins, with the declared aliases; or `container:<name>` to share another's namespace. */
    network: string;
    /** Replaces the program's secret placeholder in the environment. */
    secret: string;
}

/** Creates and starts the declared container; its uploads are copied in before it starts, as the provider does. */
export function runDeclared(container: DeclaredResource, placement: Placement): void {
    const inputs = container.inputs as {
        image: string;
        envs?: string[];
        command?: string[];
        volumes?: { hostPath: string; containerPath: string }[];
        uploads?: { file: string; content: string }[];
        networksAdvanced?: { aliases?: string[] }[];
    };
    const staging = mkdtempSync(path.join(tmpdir(), "aigw-declared-"));
    try {
        // An env file, not -e: the values stay out of every command line.
        const envFile = path.join(staging, "env");
        writeFileSync(
            envFile,
            (inputs.envs ?? []).map((e) => e.split(SECRET_PLACEHOLDER).join(placement.secret)).join("\n"),
        );
        const sharesNamespace = placement.network.startsWith("container:");
        const aliases = sharesNamespace ? [] : (inputs.networksAdvanced ?? []).flatMap((n) => n.aliases ?? []);
        docker(
            "create",
            "--name",
            placement.dockerName,
            "--network",
            placement.network,
            ...aliases.flatMap((alias) => ["--network-alias", alias]),
            "--env-file",
            envFile,
            ...(inputs.volumes ?? []).flatMap((v) => ["-v", `${v.hostPath}:${v.containerPath}`]),
            inputs.image,
            ...(inputs.command ?? []),
        );
        (inputs.uploads ?? []).forEach((upload, i) => {
            const file = path.join(staging, `upload-${i}`);
            writeFileSync(file, upload.content);
            docker("cp", file, `${placement.dockerName}:${upload.file}`);
        });
        docker("start", placement.dockerName);
    } finally {
        rmSync(staging, { recursive: true, force: true });
    }
}

/** Everything a container wrote, standard output and error interleaved as Docker kept them. */
export function containerLog(name: string): string {
    return execFileSync("sh", ["-c", 'docker logs "$0" 2>&1', name], { encoding: "utf8", maxBuffer: 64 << 20 });
}

/** Polls `url` until it answers 200, for up to `seconds`; throws with the container's last log lines. */
export async function waitForHttp(url: string, seconds: number, container: string): Promise<number> {
    const startedAt = Date.now();
    while (Date.now() - startedAt < seconds * 1000) {
        try {
            if ((await fetch(url, { signal: AbortSignal.timeout(5000) })).status === 200)
                return (Date.now() - startedAt) / 1000;
        } catch {
            // not up yet
        }
        await sleep(1000);
    }
    const log = containerLog(container).split("\n").slice(-30).join("\n");
    throw new Error(`${url} did not answer 200 within ${seconds}s; docker logs ${container}:\n${log}`);
}

/** The DNS questions and connection attempts seen by netwatch.py in a container's network namespace. */
export class NetworkWatch {
    private lines = "";
    private constructor(private readonly child: ChildProcess) {
        child.stdout!.on("data", (data) => (this.lines += data));
    }

    /** Starts watching the namespace of `container`'s main process; resolves once the watcher listens. */
    static async of(container: string): Promise<NetworkWatch> {
        const pid = docker("inspect", "-f", "{{.State.Pid}}", container).trim();
        const child = spawn("nsenter", ["-t", pid, "-n", "python3", path.join(__dirname, "netwatch.py")], {
            stdio: ["ignore", "pipe", "inherit"],
        });
        const watch = new NetworkWatch(child);
        for (let i = 0; i < 100 && !watch.lines.startsWith("watching"); i++) await sleep(50);
        if (!watch.lines.startsWith("watching"))
            throw new Error(`netwatch.py did not start in ${container}'s namespace`);
        return watch;
    }

    /** Names asked of DNS, in order. */
    dnsQuestions(): string[] {
        return this.entries("dns").map(([, name]) => name);
    }

    /** `address port` of each connection attempt, in order. */
    connections(): string[] {
        return this.entries("connect").map(([address, port]) => `${address} ${port}`);
    }

    stop(): void {
        this.child.kill();
    }

    private entries(kind: string): [string, string][] {
        return this.lines
            .split("\n")
            .filter((line) => line.startsWith(`${kind} `))
            .map((line) => line.split(" ").slice(1) as [string, string]);
    }
}
