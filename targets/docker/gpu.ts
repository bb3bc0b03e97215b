/**
 * The GPU checks of a host, shared by `pulumi up` (a preflight before any image or model is pulled, and a
 * check that Ollama really found the GPU after it started) and `npm run doctor`, so the two never disagree.
 *
 * A small shell script runs on the host (locally, or over SSH for an `ssh://` endpoint) and prints what it
 * finds, section by section; the pure functions here read that answer and judge it against the stack config.
 */
import type { GpuRequest, HostConfig, OllamaInstanceConfig } from "../../config/stackKeys";

/** What the GPU checks read of a host's config: its name, Docker endpoint and the GPU request of each instance. */
export type GpuHost = Pick<HostConfig, "name" | "docker"> & { ollama: Pick<OllamaInstanceConfig, "name" | "gpu">[] };

/** What makes Docker's `--gpus` / deviceRequests work, and the commands that set it up. */
export const GPU_FIX =
    "install the NVIDIA Container Toolkit (https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/install-guide.html), " +
    "then: sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker " +
    '(or give the instances gpu: "none" to run on CPU)';

/** Marks the start of each section of the probe's answer. */
const SECTION = "### aigw:";

/**
 * Runs on the host with `sh -s`. Prints the Docker runtimes as Docker reports them, the CDI spec files
 * that describe NVIDIA GPUs in the engine's CDI folders (Docker 25+), and `nvidia-smi -L`, each after its
 * section line; a command that fails leaves its error output and an `exit <status>` line there instead.
 */
export const GPU_PROBE_SCRIPT = [
    `echo '${SECTION}runtimes'`,
    `docker info --format '{{json .Runtimes}}' 2>&1 || echo "exit $?"`,
    `echo '${SECTION}cdi'`,
    `for dir in $(docker info --format '{{range .CDISpecDirs}}{{.}} {{end}}' 2>/dev/null); do`,
    `  grep -l 'nvidia.com/gpu' "$dir"/*.yaml "$dir"/*.yml "$dir"/*.json 2>/dev/null`,
    `done`,
    `echo '${SECTION}gpus'`,
    `nvidia-smi -L 2>&1 || echo "exit $?"`,
    `echo '${SECTION}end'`,
    "",
].join("\n");

/** One GPU as `nvidia-smi -L` lists it. */
export interface GpuDevice {
    /** Index, as Docker's device ids and `CUDA_VISIBLE_DEVICES` count them. */
    index: string;
    /** Product name, e.g. `NVIDIA GeForce RTX 4090`. */
    name: string;
    /** `GPU-…` UUID, the other form of a device id. */
    uuid: string;
}

/** What the probe found on a host. */
export interface GpuFacts {
    /** Docker's runtimes (`runc`, `nvidia`, …), or why `docker info` failed. */
    runtimes: string[] | { error: string };
    /** CDI spec files that describe NVIDIA GPUs. */
    cdiSpecs: string[];
    /** The host's GPUs, or why `nvidia-smi` failed. */
    gpus: GpuDevice[] | { error: string };
}

/** The sections of the probe's answer by name; undefined when the answer is not the probe's at all. */
function sections(answer: string): Map<string, string[]> | undefined {
    const found = new Map<string, string[]>();
    let current: string[] | undefined;
    for (const line of answer.split(/\r?\n/)) {
        if (line.startsWith(SECTION)) found.set(line.slice(SECTION.length).trim(), (current = []));
        else current?.push(line);
    }
    return found.has("end") ? found : undefined;
}

/** The error a failed command left in its section: its output without the `exit <status>` line. */
function failure(lines: string[]): { error: string } | undefined {
    const meaningful = lines.map((l) => l.trim()).filter(Boolean);
    const exit = meaningful.findIndex((l) => /^exit \d+$/.test(l));
    if (exit < 0) return undefined;
    const output = meaningful.filter((_, i) => i !== exit).join(" ");
    return { error: output || meaningful[exit] };
}

/** Runtime names from `docker info --format '{{json .Runtimes}}'`: `{"nvidia":{"path":"nvidia-container-runtime"},…}`. */
export function parseRuntimes(json: string): string[] {
    const parsed: unknown = JSON.parse(json);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
        throw new Error(`not a runtime map: ${json}`);
    return Object.keys(parsed);
}

/** GPUs from `nvidia-smi -L`: `GPU 0: NVIDIA GeForce RTX 4090 (UUID: GPU-…)`; MIG lines below a GPU are left out. */
export function parseNvidiaSmiList(text: string): GpuDevice[] {
    const devices: GpuDevice[] = [];
    for (const line of text.split(/\r?\n/)) {
        const match = /^GPU (\d+): (.+?) \(UUID: (GPU-[0-9a-fA-F-]+)\)\s*$/.exec(line);
        if (match) devices.push({ index: match[1], name: match[2], uuid: match[3] });
    }
    return devices;
}

/** Reads the probe's answer; a garbled or missing answer (SSH refused, no shell) is an error with its text. */
export function parseGpuProbe(answer: string): GpuFacts | { error: string } {
    const found = sections(answer);
    if (!found) return { error: answer.trim().split(/\r?\n/).filter(Boolean).join(" ") || "no answer" };
    const runtimeLines = found.get("runtimes") ?? [];
    const gpuLines = found.get("gpus") ?? [];
    let runtimes: GpuFacts["runtimes"];
    try {
        runtimes = failure(runtimeLines) ?? parseRuntimes(runtimeLines.join("\n"));
    } catch {
        runtimes = { error: runtimeLines.join(" ").trim() };
    }
    return {
        runtimes,
        cdiSpecs: (found.get("cdi") ?? []).map((l) => l.trim()).filter(Boolean),
        gpus: failure(gpuLines) ?? parseNvidiaSmiList(gpuLines.join("\n")),
    };
}

/** The instances of a host that ask for a GPU, with the config key of each request. */
export function gpuRequests(host: GpuHost, hostIndex: number): { instance: string; gpu: GpuRequest; key: string }[] {
    return host.ollama.flatMap((instance, i) =>
        instance.gpu === "none"
            ? []
            : [{ instance: instance.name, gpu: instance.gpu, key: `ai-gateway:hosts[${hostIndex}].ollama[${i}].gpu` }],
    );
}

/** Whether any Ollama instance of the host asks for a GPU: only such a host gets the GPU checks. */
export function wantsGpu(host: GpuHost): boolean {
    return host.ollama.some((instance) => instance.gpu !== "none");
}

/** Only what the host check reads, so that nothing else (ports, models) makes it run again. */
export function gpuHost(host: GpuHost): GpuHost {
    return { name: host.name, docker: host.docker, ollama: host.ollama.map(({ name, gpu }) => ({ name, gpu })) };
}

/** The verdict on one host: a summary when it can run its GPU instances, else the one line that says why not. */
export type GpuVerdict = { ok: true; summary: string } | { ok: false; problem: string };

function describeGpus(gpus: GpuDevice[]): string {
    return gpus.map((g) => `${g.index}: ${g.name}, ${g.uuid}`).join("; ");
}

/** Judges the probe's answer against the host's GPU requests. */
export function judgeGpuHost(host: GpuHost, hostIndex: number, answer: string): GpuVerdict {
    const where = `GPU preflight on host ${host.name} (${host.docker})`;
    const fail = (problem: string): GpuVerdict => ({ ok: false, problem: `${where}: ${problem}` });
    const facts = parseGpuProbe(answer);
    if ("error" in facts)
        return fail(`the host did not answer the check (${facts.error}). Fix: check ${host.docker} and SSH access`);
    if (!Array.isArray(facts.runtimes))
        return fail(
            `Docker does not answer (${facts.runtimes.error}). Fix: start Docker (sudo systemctl start docker)`,
        );
    const runtime = facts.runtimes.includes("nvidia");
    if (!runtime && facts.cdiSpecs.length === 0)
        return fail(`a GPU is requested but Docker has no nvidia runtime and no NVIDIA CDI spec. Fix: ${GPU_FIX}`);
    const via = runtime ? "the nvidia runtime" : `the CDI spec ${facts.cdiSpecs.join(", ")}`;
    if (!Array.isArray(facts.gpus))
        return fail(
            `Docker has ${via}, but nvidia-smi fails (${facts.gpus.error}). Fix: install or repair the NVIDIA driver on the host (nvidia-smi must list the GPUs), then: sudo systemctl restart docker`,
        );
    const gpus = facts.gpus;
    if (gpus.length === 0)
        return fail(
            `Docker has ${via}, but nvidia-smi -L lists no GPU. Fix: check the NVIDIA driver (nvidia-smi) on the host`,
        );
    for (const request of gpuRequests(host, hostIndex)) {
        if (typeof request.gpu === "number" && request.gpu > gpus.length)
            return fail(
                `${request.instance} asks for ${request.gpu} GPUs but the host has ${gpus.length} (${describeGpus(gpus)}). Fix: set ${request.key} to ${gpus.length} or fewer, or "all"`,
            );
        if (Array.isArray(request.gpu)) {
            const missing = request.gpu.filter((id) => !gpus.some((g) => g.index === id || g.uuid === id));
            if (missing.length > 0)
                return fail(
                    `${request.instance} asks for GPU ${missing.join(", ")}, which the host does not have (${describeGpus(gpus)}). Fix: set ${request.key} to indexes or UUIDs from nvidia-smi -L`,
                );
        }
    }
    return { ok: true, summary: `${where}: ${via}, ${gpus.length} GPU(s): ${describeGpus(gpus)}` };
}

/** A compute device Ollama reported at start (`msg="inference compute" id=… library=… description=…`). */
export interface ComputeDevice {
    /** Device id (`GPU-…`), or `cpu`. */
    id: string;
    /** Backend library: `CUDA`, `ROCm`, … or `cpu` when it found no GPU. */
    library: string;
    /** What it is, e.g. `NVIDIA GeForce RTX 4090`. */
    description: string;
}

/** The value of `key=value` or `key="quoted value"` in one slog text line. */
function logField(line: string, key: string): string | undefined {
    const match = new RegExp(`(?:^|\\s)${key}=(?:"((?:[^"\\\\]|\\\\.)*)"|(\\S*))`).exec(line);
    return match ? (match[1] ?? match[2]) : undefined;
}

/** The devices Ollama listed after its GPU discovery, from its log (`discover.LogDetails`). */
export function parseInferenceCompute(log: string): ComputeDevice[] {
    return log
        .split(/\r?\n/)
        .filter((line) => line.includes('msg="inference compute"'))
        .map((line) => ({
            id: logField(line, "id") ?? "",
            library: logField(line, "library") ?? "",
            description: logField(line, "description") ?? logField(line, "name") ?? "",
        }));
}

/** Judges an Ollama instance's log: it must have found a GPU, not fallen back to CPU. */
export function judgeOllamaCompute(host: Pick<HostConfig, "name">, instance: string, log: string): GpuVerdict {
    const where = `Ollama instance ${instance} on host ${host.name}`;
    const devices = parseInferenceCompute(log);
    const gpus = devices.filter((d) => d.library.toLowerCase() !== "cpu");
    if (gpus.length > 0)
        return { ok: true, summary: `${where} uses ${gpus.map((g) => `${g.description} (${g.library})`).join(", ")}` };
    const hint = `Fix: docker logs ${instance} | grep -i -E "cuda|gpu|nvidia", check the NVIDIA driver and toolkit (${GPU_FIX})`;
    if (devices.length === 0)
        return { ok: false, problem: `${where} did not report its compute devices after start. ${hint}` };
    // Ollama says why it found no GPU in warnings just before the CPU line: name the first one.
    const reason = log
        .split(/\r?\n/)
        .find((line) => /level=(WARN|ERROR)/.test(line) && /gpu|cuda|nvidia|nvml/i.test(line));
    const why = reason ? `: ${logField(reason, "msg") ?? reason.trim()}` : "";
    return {
        ok: false,
        problem: `${where} found no GPU and fell back to CPU (inference compute: cpu${why}). ${hint}`,
    };
}

/** Single-quotes a word for `sh`. */
export function shellQuote(word: string): string {
    return /^[A-Za-z0-9_./:=@-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** How to run a script on the host: the command line and the environment it needs. */
export interface HostShell {
    /** The program and its arguments; the script goes to its standard input. */
    argv: string[];
    /** Environment for it (the local Docker endpoint). */
    env: Record<string, string>;
}

/**
 * A shell on the host behind the Docker endpoint: `sh -s` here for the local socket (with `DOCKER_HOST` set to
 * it), `ssh` with the endpoint's user, host and port for `ssh://` (the same SSH setup Docker itself uses there).
 */
export function hostShell(host: Pick<HostConfig, "docker">): HostShell {
    if (host.docker.startsWith("unix://")) return { argv: ["sh", "-s"], env: { DOCKER_HOST: host.docker } };
    const url = new URL(host.docker);
    return {
        argv: [
            "ssh",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=15",
            ...(url.username ? ["-l", decodeURIComponent(url.username)] : []),
            ...(url.port ? ["-p", url.port] : []),
            "--",
            url.hostname,
            "sh",
            "-s",
        ],
        env: {},
    };
}

/** Waits up to `seconds` for Ollama's device lines in the container's log, then prints the log. */
export function ollamaLogScript(containerName: string, seconds: number): string {
    return [
        `i=0`,
        `while :; do`,
        `  log=$(docker logs ${shellQuote(containerName)} 2>&1)`,
        `  case "$log" in *'msg="inference compute"'*) break ;; esac`,
        `  [ "$i" -ge ${seconds} ] && break`,
        `  i=$((i + 1)); sleep 1`,
        `done`,
        `printf '%s\\n' "$log"`,
        "",
    ].join("\n");
}

/** A check for the judge: the host preflight, or Ollama's devices after an instance started. */
export type GpuCheck =
    | { check: "host"; host: GpuHost; hostIndex: number }
    | { check: "ollama"; host: Pick<HostConfig, "name" | "docker">; instance: string };

/** Environment variable that hands the check to the judge. */
export const GPU_CHECK_ENV = "AIGW_GPU_CHECK";
/** Judges the host's answer on its standard input, on the machine that runs `pulumi up` (commands/gpuCheck.ts). */
export const GPU_JUDGE = "node -r ts-node/register/transpile-only commands/gpuCheck.ts";

/** The verdict of a check on the host's answer. */
export function judgeGpuCheck(request: GpuCheck, answer: string): GpuVerdict {
    return request.check === "host"
        ? judgeGpuHost(request.host, request.hostIndex, answer)
        : judgeOllamaCompute(request.host, request.instance, answer);
}

/** The script a check runs on the host. */
export function gpuCheckScript(request: GpuCheck): string {
    return request.check === "host" ? GPU_PROBE_SCRIPT : ollamaLogScript(request.instance, OLLAMA_DISCOVERY_SECONDS);
}

/** How long Ollama may take after its API answers to log the devices it found. */
export const OLLAMA_DISCOVERY_SECONDS = 60;

/**
 * The `local.Command` of a check: the script goes to a shell on the host, its answer to the judge here, which
 * prints the summary, or the one-line problem and fails. Its inputs are only what the check reads (the endpoint,
 * the GPU requests), so it runs again when they change and not on every up; a failed check is not recorded,
 * so the next up checks again.
 */
export function gpuCheckCommand(request: GpuCheck) {
    const shell = hostShell(request.host);
    return {
        create: `${shell.argv.map(shellQuote).join(" ")} 2>&1 | ${GPU_JUDGE}`,
        stdin: gpuCheckScript(request),
        environment: { ...shell.env, [GPU_CHECK_ENV]: JSON.stringify(request) },
    };
}
