import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { gpuCheckCommand, gpuHost } from "./gpu";
import { HostConfig } from "../../config/stackKeys";

export interface GpuPreflightArgs {
    /** The host whose Ollama instances ask for a GPU. */
    host: HostConfig;
    /** Index of the host in `ai-gateway:hosts`, to name the config key of a GPU request the host cannot meet. */
    hostIndex: number;
}

/**
 * Before anything is pulled onto a GPU host: Docker there has the NVIDIA runtime or a CDI spec, and the GPUs
 * the instances ask for exist. The probe runs on the host (a local shell for the local socket, SSH with the
 * Docker endpoint's user and host otherwise) and the shared judge (targets/docker/gpu.ts, the same as `doctor`'s)
 * decides; a failure stops this host's `up` with one line naming the host, what is missing and the fix.
 */
export class GpuPreflight extends pulumi.ComponentResource {
    /** What the check found, once it passed; the host's images depend on it. */
    public readonly check: command.local.Command;

    constructor(name: string, args: GpuPreflightArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aigateway:host:GpuPreflight", name, {}, opts);
        this.check = new command.local.Command(
            name,
            gpuCheckCommand({ check: "host", host: gpuHost(args.host), hostIndex: args.hostIndex }),
            { parent: this },
        );
        this.registerOutputs({ summary: this.check.stdout });
    }
}
