/**
 * What the e2e suites share around a deployed stack: the images' local registry, the prerequisites checked
 * in one line each, the Docker objects a stack left on this machine, and the phase lines CI prints.
 */
import { execFileSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import * as path from "node:path";
import { STACK_LABEL } from "../../../targets/docker/containers";
import { PROJECT_DIR } from "../../../commands/stackFile";
import type { PathStep } from "../../../commands/startOrder";
import type { StepTiming } from "../../../commands/up";
import { OLLAMA_BIN } from "../../peers/support/peers";
import { DeployFolder, Run } from "./deployFolder";

/** The registry the stack's images are pushed to by images/build.sh and pulled from by `docker.RemoteImage`. */
export const IMAGE_REGISTRY = process.env.AIGW_IMAGES_REGISTRY ?? "127.0.0.1:5050";

/** The images the e2e stacks deploy, as images/build.sh pushes them (the stack's `images.*` keys). */
export const E2E_IMAGES = {
    ollama: `${IMAGE_REGISTRY}/ai-gateway/ollama:0.17.4`,
    litellm: `${IMAGE_REGISTRY}/ai-gateway/litellm:1.87.0`,
    openWebUI: `${IMAGE_REGISTRY}/ai-gateway/open-webui:0.12.4`,
    redis: `${IMAGE_REGISTRY}/ai-gateway/redis:7.0.15`,
    door: `${IMAGE_REGISTRY}/ai-gateway/haproxy:2.6.12`,
};

const IMAGES_DIR = path.join(PROJECT_DIR, "images");

/** One line on stderr per phase, with its time: what CI's log shows of the run. */
export function phase(name: string, seconds: number, detail = ""): void {
    process.stderr.write(`[e2e] ${name}: ${seconds.toFixed(1)}s${detail ? ` (${detail})` : ""}\n`);
}

/** The steps of a run, one line each in the order they ended: when each started and ended, from the run's start. */
export function printTimeline(run: string, steps: StepTiming[]): void {
    const lines = steps.map(
        (step) =>
            `[e2e]   ${step.startedAt.toFixed(1).padStart(6)}s → ${step.endedAt.toFixed(1).padStart(6)}s  ${step.op} ${step.name} (${step.type})`,
    );
    process.stderr.write(`[e2e] ${run}, step by step (start → end):\n${lines.join("\n")}\n`);
}

/** The critical path of a run, link by link, with what each waited between the end of the one before and its start. */
export function printCriticalPath(run: string, path: PathStep[]): void {
    const lines = path.map((step, i) => {
        const waited = i === 0 ? step.start : step.start - path[i - 1].end;
        return `[e2e]   ${step.name}: ${step.start.toFixed(1)}s → ${step.end.toFixed(1)}s (${(step.end - step.start).toFixed(1)}s, after ${waited.toFixed(1)}s waiting)`;
    });
    process.stderr.write(
        `[e2e] ${run}, critical path (the render's edges, the measured times):\n${lines.join("\n")}\n`,
    );
}

/** Runs `fn`, then prints its phase line. */
export async function timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    try {
        return await fn();
    } finally {
        phase(name, (Date.now() - started) / 1000);
    }
}

/** Debian's Chromium, which the browser suite drives (tests/prepare.sh installs it). */
export const CHROMIUM = process.env.AIGW_CHROMIUM ?? "/usr/bin/chromium";

/**
 * Throws one line naming what is missing and how to get it, for each prerequisite the suite cannot do
 * without: the Pulumi CLI and a Docker engine always, with `needsPeers` the Ollama that peers/install.sh
 * builds, and with `needsBrowser` Debian's Chromium.
 */
export function requirePrerequisites(needsPeers = true, needsBrowser = false): void {
    const missing: string[] = [];
    const has = (command: string, args: string[]) => {
        try {
            execFileSync(command, args, { stdio: "ignore" });
            return true;
        } catch {
            return false;
        }
    };
    if (!has("pulumi", ["version"]))
        missing.push(
            'the Pulumi CLI is not on PATH (on this machine: export PATH="$(bash ../shared/engine/install.sh):$PATH")',
        );
    if (!has("docker", ["info"])) missing.push("no Docker engine answers (docker info)");
    if (needsPeers && !existsSync(OLLAMA_BIN)) missing.push(`${OLLAMA_BIN} is missing: run peers/install.sh first`);
    if (needsBrowser && !existsSync(CHROMIUM))
        missing.push(`${CHROMIUM} is missing: run tests/prepare.sh (apt-get install chromium)`);
    if (missing.length > 0) throw new Error(`e2e prerequisites missing: ${missing.join("; ")}`);
}

/**
 * Builds `ref` again with one label more, so it is another image (a new id, the same layers), and pushes it
 * to the registry as `ref` with `-<suffix>` appended to its tag: what an upgrade of the image looks like to
 * the stack, in a second. Resolves to the new reference. Remove its local copy when done (`removeLocalImages`):
 * while an image built on `ref` is there, Docker refuses to remove `ref`, which the lifecycle suite does.
 */
export function pushImageVariant(ref: string, suffix: string): string {
    const variant = `${ref}-${suffix}`;
    removeLocalImages([variant]); // one a failed run left
    if (!localImageExists(ref)) execFileSync("docker", ["pull", ref], { stdio: "ignore" });
    execFileSync(
        "docker",
        ["build", "--quiet", "--label", `org.ai-gateway.e2e-variant=${suffix}`, "-t", variant, "-"],
        {
            input: `FROM ${ref}\n`,
            stdio: ["pipe", "ignore", "pipe"],
        },
    );
    execFileSync("docker", ["push", variant], { stdio: "ignore" });
    return variant;
}

/** Starts the images' registry (idempotent); its storage holds what images/build.sh pushed. */
export function startImageRegistry(): void {
    execFileSync("bash", [path.join(IMAGES_DIR, "registry.sh"), "start", IMAGE_REGISTRY], { stdio: "ignore" });
}

export function stopImageRegistry(): void {
    execFileSync("bash", [path.join(IMAGES_DIR, "registry.sh"), "stop"], { stdio: "ignore" });
}

/**
 * Removes the local copies of `refs`, with every other tag of the same image (images/build.sh also tags each
 * with its inputs' hash), so the next `up` really downloads them from the registry.
 */
export function removeLocalImages(refs: string[]): void {
    const ids = refs
        .filter(localImageExists)
        .map((ref) =>
            execFileSync("docker", ["image", "inspect", "--format", "{{.Id}}", ref], { encoding: "utf8" }).trim(),
        );
    if (ids.length > 0) execFileSync("docker", ["image", "rm", "--force", ...new Set(ids)], { stdio: "ignore" });
}

export function localImageExists(ref: string): boolean {
    try {
        execFileSync("docker", ["image", "inspect", ref], { stdio: "ignore" });
        return true;
    } catch {
        return false;
    }
}

/** The containers (`name` to id) and networks (names) on this machine that carry the stack's label. */
export function stackObjects(stack: string): { containers: Map<string, string>; networks: string[] } {
    const list = (args: string[]) =>
        execFileSync("docker", [...args, "--filter", `label=${STACK_LABEL}=${stack}`, "--no-trunc"], {
            encoding: "utf8",
        })
            .split("\n")
            .filter(Boolean);
    const containers = new Map(
        list(["container", "ls", "--all", "--format", "{{.Names}} {{.ID}}"]).map((line) => {
            const [name, id] = line.split(" ");
            return [name, id] as [string, string];
        }),
    );
    return { containers, networks: list(["network", "ls", "--format", "{{.Name}}"]) };
}

/** The names of the containers in `after` that are not the same container in `before` (replaced or new), sorted. */
export function replacedContainers(before: Map<string, string>, after: Map<string, string>): string[] {
    return [...after.keys()].filter((name) => after.get(name) !== before.get(name)).sort();
}

/** Removes whatever the stack left on this machine: the last resort of a suite's cleanup, pass or fail. */
export function removeStackObjects(stack: string): void {
    const { containers, networks } = stackObjects(stack);
    if (containers.size > 0) execFileSync("docker", ["container", "rm", "--force", ...containers.values()]);
    if (networks.length > 0) execFileSync("docker", ["network", "rm", ...networks]);
}

/**
 * A suite's last cleanup, pass or fail: closes `servers` (the suite's own, such as a browser), destroys the
 * stack of `folder`, removes whatever it left, stops the model registry and the images' registry, and removes
 * the project copy and the `work` folder. What is undefined (a setup that failed before it) is skipped.
 */
export async function tearDownStack(
    stack: string,
    parts: {
        folder?: DeployFolder;
        models?: { stop(): Promise<void> };
        work?: string;
        servers?: ({ close(): Promise<void> } | undefined)[];
    },
): Promise<void> {
    const { folder, models, work } = parts;
    for (const server of parts.servers ?? []) await server?.close();
    if (folder) {
        const destroyed = await folder.run("destroy", ["--yes"]);
        if (destroyed.code !== 0)
            process.stderr.write(`[e2e] cleanup destroy failed:\n${destroyed.output.slice(-2000)}\n`);
    }
    removeStackObjects(stack);
    await models?.stop();
    stopImageRegistry();
    folder?.remove();
    if (work) rmSync(work, { recursive: true, force: true });
}

/** Fails with the command's last lines when it did not exit 0. */
export function expectSucceeded(run: Run, what: string): void {
    if (run.code !== 0)
        throw new Error(
            `${what} exited ${run.code} after ${run.seconds.toFixed(1)}s:\n${run.output.split("\n").slice(-40).join("\n")}`,
        );
}

/**
 * Deploys the folder's current config with `npm run up -- --yes --json` and prints its phase line with the
 * changes; fails with the output when it does not succeed.
 */
export async function upAndReport(folder: DeployFolder, what: string) {
    const run = await folder.run("up", ["--yes", "--json"]);
    expectSucceeded(run, what);
    const summary = summaryOf(run);
    phase(
        what,
        run.seconds,
        Object.entries(summary.changes)
            .map(([op, n]) => `${op} ${n}`)
            .join(", "),
    );
    return { run, summary };
}

/** The JSON summary `npm run up|preview|destroy -- --json` printed on stdout. */
export function summaryOf(run: Run): {
    succeeded: boolean;
    changes: Record<string, number>;
    durationSeconds: number;
    steps?: StepTiming[];
} {
    return JSON.parse(run.stdout);
}

/** Where caches of the e2e suite live between runs (the model registry's storage). */
export const E2E_CACHE = process.env.AIGW_E2E_CACHE ?? path.join(homedir(), ".cache", "ai-gateway-e2e");
