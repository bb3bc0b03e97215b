/**
 * `npm run doctor -- --stack <name> [--json] [--dir <folder>]`
 *
 * Before the first `up`: is Docker reachable on every host, and recent enough to keep the stack's ports off the
 * LAN; does a host whose instances ask for a GPU
 * have the NVIDIA runtime or CDI (with the exact fix when not); are the stack's ports free; is there
 * disk space under each data directory for the models; is the Pulumi CLI there. On Kubernetes: the cluster, by the
 * preflight `up` runs, and the Pulumi CLI. Exit 1 when a check fails.
 */
import { existsSync, statfsSync } from "node:fs";
import * as path from "node:path";
import { gpuHost, wantsGpu } from "../targets/docker/gpu";
import { hostModelEstimates } from "../model/modelSize";
import { doorContainerName, hasDoor } from "../model/plan";
import { HostConfig, StackConfig } from "../config/stackKeys";
import { PROJECT } from "../config/primitives";
import { GatewayService, listServices } from "../targets/docker/endpoints";
import { INSTALL_HINT, PULUMI_CLI_VERSION, findPulumiCli, installRoot } from "./automation";
import { Command, CommandIO, REPORT_OPTIONS, loadStack, parseCommandArgs, runWhenMain } from "./cli";
import { DockerUnreachable, engineVersion, inspectStackContainers } from "./docker";
import { judgeEngine } from "./dockerVersion";
import { remoteAccessFindings } from "./doctorRemote";
import { Finding, findingFor, reportFindings } from "./findings";
import { runGpuCheck } from "./gpuCheck";
import { tryListen } from "./http";
import { preflightProblems } from "../providers/kubernetesChecks";
import { preflightArgs } from "../targets/kubernetes/preflight";

const USAGE = "usage: npm run doctor -- --stack <name> [--json] [--dir <folder>]";

/** A host whose Docker socket is local is this machine: its ports and disk can be checked from here. */
function isLocal(host: HostConfig): boolean {
    return host.docker.startsWith("unix://");
}

function gigabytes(bytes: number): string {
    return `${(bytes / 1e9).toFixed(1)} GB`;
}

async function hostFindings(host: HostConfig, index: number): Promise<Finding[]> {
    const docker = findingFor("docker", host.name);
    const gpu = findingFor("gpu", host.name);
    try {
        const version = await engineVersion(host.docker);
        const engine = judgeEngine(version, host.name);
        const findings = [
            docker("pass", `Docker ${version} answers at ${host.docker}`),
            findingFor("docker-version", host.name)(engine.verdict, engine.detail),
        ];
        if (!wantsGpu(host)) return [...findings, gpu("pass", 'not needed: every Ollama instance has gpu: "none"')];
        // The very check `pulumi up` runs before it pulls anything onto the host.
        const verdict = await runGpuCheck({ check: "host", host: gpuHost(host), hostIndex: index });
        return [...findings, verdict.ok ? gpu("pass", verdict.summary) : gpu("fail", verdict.problem)];
    } catch (err) {
        if (!(err instanceof DockerUnreachable)) throw err;
        const fix = isLocal(host)
            ? "start Docker (sudo systemctl start docker)"
            : `check ${PROJECT}:hosts[${index}].docker and SSH access`;
        return [
            docker("fail", `${err.message}: ${fix}`),
            ...(wantsGpu(host) ? [gpu("fail", "cannot check: Docker does not answer")] : []),
        ];
    }
}

async function portFindings(config: StackConfig, services: GatewayService[]): Promise<Finding[]> {
    // The doors publish the ports of the services behind them: a port one holds is the stack's own too.
    const doors = config.hosts
        .filter((h) => hasDoor(config, h.name))
        .map((host) => ({ containerName: doorContainerName(config, host.name), host }));
    const containers = await inspectStackContainers([...services, ...doors]);
    return Promise.all(
        services.map(async (service) => {
            const finding = findingFor("port", `${service.containerName} ${service.port}`);
            const { host } = service;
            if (!isLocal(host)) return finding("skip", `remote host ${host.name}: the preview of up checks it there`);
            const address = host.bindAddress;
            const problem = await tryListen(address, service.port);
            if (problem === undefined) return finding("pass", `${address}:${service.port} is free`);
            const own = [service, ...doors.filter((d) => d.host.name === host.name)]
                .map((c) => containers.found.get(c.containerName))
                .find((facts) => facts?.ports.some((p) => p.hostPort === service.port));
            if (problem === "EADDRINUSE" && own)
                return finding("pass", `in use by this stack's own container ${own.name} (up replaces it)`);
            if (problem === "EADDRINUSE")
                return finding(
                    "fail",
                    `${address}:${service.port} is in use: change ${service.portConfigKey} or stop what listens there (ss -ltnp | grep :${service.port})`,
                );
            if (problem === "EADDRNOTAVAIL")
                return finding("fail", `${address} is not an address of this machine: fix the host's bindAddress`);
            if (problem === "EACCES")
                return finding("skip", `port ${service.port} needs root to test; Docker binds it itself`);
            return finding("fail", `cannot listen on ${address}:${service.port}: ${problem}`);
        }),
    );
}

/** The nearest folder of `dir` that exists: the data directory itself is created by the first up. */
function existingAncestor(dir: string): string {
    let current = path.resolve(dir);
    while (!existsSync(current)) current = path.dirname(current);
    return current;
}

export function diskFindings(config: StackConfig): Finding[] {
    return config.hosts.map((host) => {
        const finding = findingFor("disk", `${host.name} ${host.dataDir}`);
        const estimates = hostModelEstimates(host);
        const needed = estimates.reduce((sum, e) => sum + e.bytes, 0);
        const guessed = estimates.filter((e) => !e.fromTag).map((e) => e.model);
        const basis = `${estimates.length} model copies need about ${gigabytes(needed)}${guessed.length ? ` (size assumed for ${guessed.join(", ")})` : ""}`;
        if (!isLocal(host))
            return finding("skip", `remote host ${host.name}: ${basis}; check df -h ${host.dataDir} there`);
        const stats = statfsSync(existingAncestor(host.dataDir));
        const free = stats.bavail * stats.bsize;
        if (free < needed)
            return finding(
                "fail",
                `${basis}, but only ${gigabytes(free)} is free under ${host.dataDir}: free space or move dataDir`,
            );
        return finding("pass", `${basis}; ${gigabytes(free)} free`);
    });
}

async function pulumiFinding(env: NodeJS.ProcessEnv): Promise<Finding> {
    const finding = findingFor("pulumi", "cli");
    const cli = await findPulumiCli(env);
    if (cli) return finding("pass", `pulumi ${cli.version ?? "(version unknown)"} at ${cli.command}`);
    return finding(
        "warn",
        `not installed: npm run up installs ${PULUMI_CLI_VERSION} into ${installRoot(env)} on first use (a download); without internet, ${INSTALL_HINT}`,
    );
}

/** A Kubernetes stack's cluster, checked by the very preflight `up` runs before it creates anything. */
async function clusterFindings(config: StackConfig, stack: string): Promise<Finding[]> {
    const args = preflightArgs(config, stack);
    const finding = findingFor("cluster", `namespace ${args.namespace}`);
    const problems = await preflightProblems(args);
    if (problems.length > 0) return problems.map((problem) => finding("fail", problem));
    const gpus = args.gpu.asks.reduce((sum, ask) => sum + ask.count, 0);
    return [
        finding(
            "pass",
            `the cluster answers, the namespace can be used, the classes the stack names exist` +
                (gpus > 0 ? `, and its GPU nodes have the ${gpus} ${args.gpu.resource} the instances ask for` : ""),
        ),
    ];
}

export const doctorCommand: Command = {
    name: "doctor",
    usage: USAGE,
    async run(argv: string[], io: CommandIO): Promise<number> {
        const { values } = parseCommandArgs(argv, REPORT_OPTIONS);
        const stack = loadStack(values, io.env);
        if (stack.config.target === "kubernetes") {
            const [cluster, pulumi] = await Promise.all([
                clusterFindings(stack.config, stack.name),
                pulumiFinding(io.env),
            ]);
            return reportFindings(io, "doctor", stack.name, [...cluster, pulumi], values.json);
        }
        const [hosts, ports, remote, pulumi] = await Promise.all([
            Promise.all(stack.config.hosts.map(hostFindings)),
            portFindings(stack.config, listServices(stack.config)),
            remoteAccessFindings(stack.config),
            pulumiFinding(io.env),
        ]);
        const findings = [...hosts.flat(), ...ports, ...remote, ...diskFindings(stack.config), pulumi];
        return reportFindings(io, "doctor", stack.name, findings, values.json);
    },
};

runWhenMain(module, doctorCommand);
