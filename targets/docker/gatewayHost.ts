import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { NETWORK_NAME, stackLabels } from "./containers";
import { INTERNAL_NETWORK_NAME } from "./doorPlan";
import { wantsGpu } from "./gpu";
import { HostConfig } from "../../config/stackKeys";
import { GpuPreflight } from "./gpuPreflight";

/** The images a host may run, by the service that uses them. */
export type ImageRole = "ollama" | "litellm" | "openWebUI" | "qdrant" | "redis" | "door";

export interface GatewayHostArgs {
    /** The host's validated config: its Docker endpoint above all. */
    host: HostConfig;
    /** Index of the host in `ai-gateway:hosts`, for config keys in messages. */
    hostIndex: number;
    /** Pinned image references of the services this host runs; only these are pulled onto it. */
    images: Partial<Record<ImageRole, string>>;
    /** The host runs services that must not reach beyond the stack: it gets the internal network (and a door). */
    internalNetwork: boolean;
    /** The id of the stack's state, for the state label of its networks (targets/docker/containers.ts). */
    stateId: pulumi.Input<string>;
}

/**
 * One Docker host: the provider every resource of the host is created through, its networks (the ordinary
 * one with a route out, and where needed the internal one without), and the images its containers run. The
 * services are created with this host's provider. On a host whose instances ask for a GPU, the images are
 * pulled only after the GPU preflight passed.
 */
export class GatewayHost extends pulumi.ComponentResource {
    /** The host's validated config. */
    public readonly config: HostConfig;
    /** Docker provider of this host; pass it as `providers: { docker }` to the services on it. */
    public readonly provider: docker.Provider;
    /** Name of the network with a route out: Ollama, the cloud router and the door. */
    public readonly networkName: pulumi.Output<string>;
    /** Name of the network with no route out (`internal: true`): the routers, Open WebUI, Qdrant, Redis. */
    public readonly internalNetworkName?: pulumi.Output<string>;
    /** Image id per role, for `image:` of containers (an id, so an unchanged image never replaces them). */
    public readonly imageIds: Partial<Record<ImageRole, pulumi.Output<string>>>;

    constructor(name: string, args: GatewayHostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aigateway:host:GatewayHost", name, {}, opts);
        this.config = args.host;
        this.provider = new docker.Provider(name, { host: args.host.docker }, { parent: this });
        const childOpts = { parent: this, provider: this.provider };
        // A network's labels cannot change without replacing it, which its fixed name and attached containers
        // forbid: a network made before the state label keeps its labels (it is in the state, never an orphan).
        const networkOpts = { ...childOpts, ignoreChanges: ["labels"] };
        const labels = stackLabels(pulumi.getStack(), args.stateId);
        const network = new docker.Network(
            `${name}-network`,
            { name: NETWORK_NAME, driver: "bridge", attachable: false, labels },
            networkOpts,
        );
        this.networkName = network.name;
        if (args.internalNetwork)
            this.internalNetworkName = new docker.Network(
                `${name}-internal-network`,
                {
                    name: INTERNAL_NETWORK_NAME,
                    driver: "bridge",
                    // No route beyond the bridge: only the containers on it reach each other.
                    internal: true,
                    // And no address of the host on it either, so that nothing the host serves on every address
                    // (sshd, a proxy) answers the containers here: Docker would give the bridge the gateway's.
                    options: { "com.docker.network.bridge.inhibit_ipv4": "true" },
                    attachable: false,
                    labels,
                },
                networkOpts,
            ).name;
        const preflight = wantsGpu(args.host)
            ? new GpuPreflight(
                  `${name}-gpu-preflight`,
                  { host: args.host, hostIndex: args.hostIndex },
                  { parent: this },
              )
            : undefined;
        this.imageIds = {};
        for (const [role, ref] of Object.entries(args.images) as [ImageRole, string][]) {
            // keepLocally: destroying the stack should not throw away multi-GB images a re-deploy needs again.
            const image = new docker.RemoteImage(
                `${name}-${role}-image`,
                { name: ref, keepLocally: true },
                { ...childOpts, dependsOn: preflight ? [preflight.check] : [] },
            );
            this.imageIds[role] = image.imageId;
        }
        this.registerOutputs({
            networkName: this.networkName,
            internalNetworkName: this.internalNetworkName,
            imageIds: this.imageIds,
        });
    }
}
