/**
 * The GPU checks on a host, run the same way by `pulumi up` and by `npm run doctor`.
 *
 * `pulumi up` runs `<shell on the host> 2>&1 | node -r ts-node/register/transpile-only commands/gpuCheck.ts`
 * (targets/docker/gpu.ts builds the command): this file, run as a program, reads the host's answer on its standard
 * input and the check from `AIGW_GPU_CHECK`, prints the summary, or prints the one-line problem to stderr and
 * exits 1, which fails that resource and so the `up` of that host. `doctor` runs the same script through
 * `runOnHost` and the same judge in-process.
 */
import { spawn } from "node:child_process";
import { GPU_CHECK_ENV, GpuCheck, GpuVerdict, gpuCheckScript, hostShell, judgeGpuCheck } from "../targets/docker/gpu";
import { HostConfig } from "../config/stackKeys";

/** Runs a script with a shell on the host behind the Docker endpoint; resolves to its output, stderr included. */
export function runOnHost(host: Pick<HostConfig, "docker">, script: string, timeoutMs = 120_000): Promise<string> {
    const shell = hostShell(host);
    return new Promise((resolve) => {
        const child = spawn(shell.argv[0], shell.argv.slice(1), {
            env: { ...process.env, ...shell.env },
            stdio: ["pipe", "pipe", "pipe"],
            timeout: timeoutMs,
        });
        let output = "";
        child.stdout.on("data", (chunk) => (output += chunk));
        child.stderr.on("data", (chunk) => (output += chunk));
        child.on("error", (err) => resolve(`${output}${err.message}\n`));
        child.on("close", () => resolve(output));
        child.stdin.end(script);
    });
}

/** Runs a check on the host and judges the answer: what doctor reports. */
export async function runGpuCheck(request: GpuCheck): Promise<GpuVerdict> {
    return judgeGpuCheck(request, await runOnHost(request.host, gpuCheckScript(request)));
}

async function readStdin(): Promise<string> {
    let text = "";
    for await (const chunk of process.stdin) text += chunk;
    return text;
}

if (require.main === module) {
    readStdin().then((answer) => {
        const verdict = judgeGpuCheck(JSON.parse(process.env[GPU_CHECK_ENV] ?? "null") as GpuCheck, answer);
        if (verdict.ok) process.stdout.write(`${verdict.summary}\n`);
        else {
            process.stderr.write(`${verdict.problem}\n`);
            process.exitCode = 1;
        }
    });
}
