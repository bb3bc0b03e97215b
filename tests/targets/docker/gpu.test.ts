import { execFileSync } from "node:child_process";
import {
    GPU_FIX,
    GPU_PROBE_SCRIPT,
    GpuHost,
    gpuCheckCommand,
    hostShell,
    judgeGpuHost,
    judgeOllamaCompute,
    parseGpuProbe,
    parseInferenceCompute,
    parseNvidiaSmiList,
    parseRuntimes,
} from "../../../targets/docker/gpu";

// What the commands print on real hosts (docker info 20.10 here and 27.x with the toolkit, nvidia-smi 550).
const RUNC_ONLY =
    '{"io.containerd.runc.v2":{"path":"runc"},"io.containerd.runtime.v1.linux":{"path":"runc"},"runc":{"path":"runc"}}';
const WITH_NVIDIA =
    '{"io.containerd.runc.v2":{"path":"runc","status":{"org.opencontainers.runtime-spec.features":"{\\"ociVersionMin\\":\\"1.0.0\\"}"}},' +
    '"nvidia":{"path":"nvidia-container-runtime"},"runc":{"path":"runc","status":{}}}';
const ONE_GPU = "GPU 0: NVIDIA GeForce RTX 4090 (UUID: GPU-5a0bb7b4-1b2c-3d4e-5f60-718293a4b5c6)";
const TWO_GPUS_WITH_MIG = [
    "GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-8e6d1c0a-74f5-2b3c-91d2-0a1b2c3d4e5f)",
    "  MIG 3g.20gb     Device  0: (UUID: MIG-1f2e3d4c-5b6a-5789-90ab-cdef01234567)",
    "GPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-2c3d4e5f-6a7b-8c9d-0e1f-2a3b4c5d6e7f)",
].join("\n");
const NO_DRIVER =
    "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.";

function probeAnswer(parts: { runtimes: string; cdi?: string[]; gpus: string }): string {
    return [
        "### aigw:runtimes",
        parts.runtimes,
        "### aigw:cdi",
        ...(parts.cdi ?? []),
        "### aigw:gpus",
        parts.gpus,
        "### aigw:end",
        "",
    ].join("\n");
}

const host = (gpu: GpuHost["ollama"][number]["gpu"], docker = "unix:///var/run/docker.sock"): GpuHost => ({
    name: "gpu",
    docker,
    ollama: [
        { name: "ollama", gpu },
        { name: "ollama-cpu", gpu: "none" },
    ],
});

describe("reading the answers", () => {
    it("reads Docker's runtimes, old and new formats", () => {
        expect(parseRuntimes(RUNC_ONLY)).toEqual(["io.containerd.runc.v2", "io.containerd.runtime.v1.linux", "runc"]);
        expect(parseRuntimes(WITH_NVIDIA)).toEqual(["io.containerd.runc.v2", "nvidia", "runc"]);
        expect(() => parseRuntimes("null")).toThrow("not a runtime map: null");
    });

    it("reads nvidia-smi -L: index, name and UUID of each GPU, MIG instances left out", () => {
        expect(parseNvidiaSmiList(TWO_GPUS_WITH_MIG)).toEqual([
            { index: "0", name: "NVIDIA A100-SXM4-40GB", uuid: "GPU-8e6d1c0a-74f5-2b3c-91d2-0a1b2c3d4e5f" },
            { index: "1", name: "NVIDIA A100-SXM4-40GB", uuid: "GPU-2c3d4e5f-6a7b-8c9d-0e1f-2a3b4c5d6e7f" },
        ]);
        expect(parseNvidiaSmiList("")).toEqual([]);
    });

    it("reads the probe's sections, with the error of a command that failed", () => {
        expect(
            parseGpuProbe(probeAnswer({ runtimes: RUNC_ONLY, gpus: "/bin/sh: 8: nvidia-smi: not found\nexit 127" })),
        ).toEqual({
            runtimes: ["io.containerd.runc.v2", "io.containerd.runtime.v1.linux", "runc"],
            cdiSpecs: [],
            gpus: { error: "/bin/sh: 8: nvidia-smi: not found" },
        });
        expect(
            parseGpuProbe(
                probeAnswer({
                    runtimes:
                        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\nexit 1",
                    gpus: ONE_GPU,
                }),
            ),
        ).toMatchObject({
            runtimes: {
                error: "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
            },
        });
        expect(parseGpuProbe("ssh: connect to host gpu1 port 22: Connection refused\n")).toEqual({
            error: "ssh: connect to host gpu1 port 22: Connection refused",
        });
    });

    it("reads the compute devices Ollama 0.17 logs after its GPU discovery", () => {
        const log = [
            'time=2026-11-22T10:00:00.100Z level=INFO source=routes.go:1718 msg="Listening on [::]:11434 (version 0.17.4)"',
            'time=2026-11-22T10:00:00.101Z level=INFO source=runner.go:67 msg="discovering available GPUs..."',
            'time=2026-11-22T10:00:01.512Z level=INFO source=types.go:42 msg="inference compute" id=GPU-5a0bb7b4-1b2c-3d4e-5f60-718293a4b5c6 filter_id="" library=CUDA compute=8.9 name=CUDA0 description="NVIDIA GeForce RTX 4090" libdirs=ollama,cuda_v12 driver=12.8 pci_id=0000:01:00.0 type=discrete total="24.0 GiB" available="23.5 GiB"',
        ].join("\n");
        expect(parseInferenceCompute(log)).toEqual([
            { id: "GPU-5a0bb7b4-1b2c-3d4e-5f60-718293a4b5c6", library: "CUDA", description: "NVIDIA GeForce RTX 4090" },
        ]);
    });
});

describe("the host preflight's verdict", () => {
    it("passes a host with the nvidia runtime and the GPUs asked for", () => {
        expect(judgeGpuHost(host(1), 0, probeAnswer({ runtimes: WITH_NVIDIA, gpus: ONE_GPU }))).toEqual({
            ok: true,
            summary:
                "GPU preflight on host gpu (unix:///var/run/docker.sock): the nvidia runtime, 1 GPU(s): 0: NVIDIA GeForce RTX 4090, GPU-5a0bb7b4-1b2c-3d4e-5f60-718293a4b5c6",
        });
    });

    it("passes a host whose Docker reaches the GPUs through a CDI spec instead of the runtime", () => {
        const verdict = judgeGpuHost(
            host("all"),
            0,
            probeAnswer({ runtimes: RUNC_ONLY, cdi: ["/etc/cdi/nvidia.yaml"], gpus: ONE_GPU }),
        );
        expect(verdict).toMatchObject({
            ok: true,
            summary: expect.stringContaining("the CDI spec /etc/cdi/nvidia.yaml, 1 GPU(s)"),
        });
    });

    it("fails a host without the runtime or CDI with the toolkit's fix: this machine's own answer", () => {
        const answer = probeAnswer({ runtimes: RUNC_ONLY, gpus: "/bin/sh: 8: nvidia-smi: not found\nexit 127" });
        expect(judgeGpuHost(host("all"), 0, answer)).toEqual({
            ok: false,
            problem: `GPU preflight on host gpu (unix:///var/run/docker.sock): a GPU is requested but Docker has no nvidia runtime and no NVIDIA CDI spec. Fix: ${GPU_FIX}`,
        });
        expect(GPU_FIX).toContain(
            "sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker",
        );
    });

    it("fails a host with the runtime but fewer GPUs than asked for, naming the key and what the host has", () => {
        expect(judgeGpuHost(host(2), 3, probeAnswer({ runtimes: WITH_NVIDIA, gpus: ONE_GPU }))).toEqual({
            ok: false,
            problem:
                "GPU preflight on host gpu (unix:///var/run/docker.sock): ollama asks for 2 GPUs but the host has 1 (0: NVIDIA GeForce RTX 4090, GPU-5a0bb7b4-1b2c-3d4e-5f60-718293a4b5c6). " +
                'Fix: set ai-gateway:hosts[3].ollama[0].gpu to 1 or fewer, or "all"',
        });
    });

    it("accepts device ids by index or UUID and names the ones the host does not have", () => {
        const answer = probeAnswer({ runtimes: WITH_NVIDIA, gpus: TWO_GPUS_WITH_MIG });
        expect(judgeGpuHost(host(["1", "GPU-8e6d1c0a-74f5-2b3c-91d2-0a1b2c3d4e5f"]), 0, answer).ok).toBe(true);
        expect(judgeGpuHost(host(["0", "2", "GPU-ffff"]), 0, answer)).toMatchObject({
            ok: false,
            problem: expect.stringMatching(
                /: ollama asks for GPU 2, GPU-ffff, which the host does not have \(0: NVIDIA A100.*\)\. Fix: set ai-gateway:hosts\[0\]\.ollama\[0\]\.gpu to indexes or UUIDs from nvidia-smi -L$/,
            ),
        });
    });

    it("fails a host with the runtime whose driver does not answer", () => {
        expect(
            judgeGpuHost(host("all"), 0, probeAnswer({ runtimes: WITH_NVIDIA, gpus: `${NO_DRIVER}\nexit 9` })),
        ).toMatchObject({
            ok: false,
            problem: expect.stringContaining(
                `Docker has the nvidia runtime, but nvidia-smi fails (${NO_DRIVER}). Fix: install or repair the NVIDIA driver`,
            ),
        });
    });

    it("fails when Docker or the host does not answer, saying which", () => {
        const down = probeAnswer({
            runtimes: "Cannot connect to the Docker daemon at unix:///var/run/docker.sock.\nexit 1",
            gpus: ONE_GPU,
        });
        expect(judgeGpuHost(host("all"), 0, down)).toMatchObject({
            ok: false,
            problem: expect.stringContaining("Docker does not answer (Cannot connect to the Docker daemon"),
        });
        const remote = host("all", "ssh://ops@gpu1:2222");
        expect(judgeGpuHost(remote, 0, "ssh: connect to host gpu1 port 2222: Connection refused")).toEqual({
            ok: false,
            problem:
                "GPU preflight on host gpu (ssh://ops@gpu1:2222): the host did not answer the check (ssh: connect to host gpu1 port 2222: Connection refused). Fix: check ssh://ops@gpu1:2222 and SSH access",
        });
    });
});

describe("Ollama's devices after start", () => {
    const cpuLog = [
        'time=2026-11-22T10:00:00.101Z level=INFO source=runner.go:67 msg="discovering available GPUs..."',
        'time=2026-11-22T10:00:00.230Z level=WARN source=cuda_common.go:60 msg="unable to load cuda driver library" library=/usr/lib/x86_64-linux-gnu/libcuda.so.1 error="libcuda.so.1: cannot open shared object file"',
        'time=2026-11-22T10:00:00.231Z level=INFO source=types.go:60 msg="inference compute" id=cpu library=cpu compute="" name=cpu description=cpu libdirs=ollama driver="" pci_id="" type="" total="23.4 GiB" available="20.1 GiB"',
    ].join("\n");

    it("passes when Ollama found a GPU", () => {
        const log =
            'level=INFO source=types.go:42 msg="inference compute" id=GPU-1 filter_id="" library=CUDA compute=8.9 name=CUDA0 description="NVIDIA GeForce RTX 4090" libdirs=ollama,cuda_v12';
        expect(judgeOllamaCompute({ name: "gpu" }, "ollama", log)).toEqual({
            ok: true,
            summary: "Ollama instance ollama on host gpu uses NVIDIA GeForce RTX 4090 (CUDA)",
        });
    });

    it("fails a fallback to CPU with Ollama's own reason", () => {
        expect(judgeOllamaCompute({ name: "gpu" }, "ollama", cpuLog)).toMatchObject({
            ok: false,
            problem: expect.stringMatching(
                /^Ollama instance ollama on host gpu found no GPU and fell back to CPU \(inference compute: cpu: unable to load cuda driver library\)\. Fix: docker logs ollama/,
            ),
        });
    });

    it("fails when Ollama never reported its devices", () => {
        expect(judgeOllamaCompute({ name: "gpu" }, "ollama", "Error: No such container: ollama\n")).toMatchObject({
            ok: false,
            problem: expect.stringContaining(
                "Ollama instance ollama on host gpu did not report its compute devices after start.",
            ),
        });
    });
});

describe("where the checks run", () => {
    it("runs a local shell for the local socket, SSH with the endpoint's user, host and port otherwise", () => {
        expect(hostShell({ docker: "unix:///run/user/1000/docker.sock" })).toEqual({
            argv: ["sh", "-s"],
            env: { DOCKER_HOST: "unix:///run/user/1000/docker.sock" },
        });
        expect(hostShell({ docker: "ssh://ops@gpu1.lan:2222" }).argv).toEqual([
            "ssh",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=15",
            "-l",
            "ops",
            "-p",
            "2222",
            "--",
            "gpu1.lan",
            "sh",
            "-s",
        ]);
        expect(hostShell({ docker: "ssh://gpu2" }).argv.slice(-4)).toEqual(["--", "gpu2", "sh", "-s"]);
    });

    it("reads only the endpoint and the GPU requests, so nothing else makes the preflight run again", () => {
        const command = gpuCheckCommand({ check: "host", host: host(2, "ssh://ops@gpu1"), hostIndex: 0 });
        expect(command.create).toBe(
            "ssh -o BatchMode=yes -o ConnectTimeout=15 -l ops -- gpu1 sh -s 2>&1 | node -r ts-node/register/transpile-only commands/gpuCheck.ts",
        );
        expect(command.stdin).toBe(GPU_PROBE_SCRIPT);
        expect(JSON.parse(command.environment.AIGW_GPU_CHECK)).toEqual({
            check: "host",
            hostIndex: 0,
            host: {
                name: "gpu",
                docker: "ssh://ops@gpu1",
                ollama: [
                    { name: "ollama", gpu: 2 },
                    { name: "ollama-cpu", gpu: "none" },
                ],
            },
        });
    });

    it("the probe runs in a real sh against this machine's Docker and says what it found", () => {
        const answer = execFileSync("sh", ["-s"], { input: GPU_PROBE_SCRIPT, encoding: "utf8" });
        const facts = parseGpuProbe(answer);
        const runtimes = JSON.parse(
            execFileSync("docker", ["info", "--format", "{{json .Runtimes}}"], { encoding: "utf8" }),
        );
        expect(facts).toMatchObject({ runtimes: Object.keys(runtimes) });
    });
});
