import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import {
    QDRANT_HTTP_PORT,
    commonContainerArgs,
    containerHealthchecks,
    dataDirs,
    publish,
    serviceUrl,
} from "../config/containers";
import { HostConfig } from "../config/schema";
import { HealthCheck } from "../providers/healthCheck";
import { PortGuard } from "../providers/portGuard";

export interface QdrantArgs {
    /** The host that runs it. */
    host: HostConfig;
    /** Published HTTP port. */
    port: number;
    /** Image id of the pinned Qdrant image on this host. */
    imageId: pulumi.Input<string>;
    /** The host's Docker network. */
    networkName: pulumi.Input<string>;
}

/**
 * Qdrant with an API key (it is open by default) and persistent storage. Only the HTTP port is
 * published: gRPC stays on the Docker network and the cluster port 6335 is never exposed.
 */
export class Qdrant extends pulumi.ComponentResource {
    /** URL from the machine running `pulumi up`. */
    public readonly url: string;
    /** URL for containers on the same host. */
    public readonly internalUrl: string;
    /** Key clients send as `api-key`; a secret. */
    public readonly apiKey: pulumi.Output<string>;
    /** Passes once Qdrant is ready; its users depend on it. */
    public readonly healthy: HealthCheck;

    constructor(name: string, args: QdrantArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aigateway:vector:Qdrant", name, {}, opts);
        const { host } = args;
        const containerName = "qdrant";

        const key = new random.RandomPassword(`${name}-api-key`, { length: 48, special: false }, { parent: this });
        this.apiKey = key.result;

        const guard = new PortGuard(
            `${name}-port`,
            { bindAddress: host.bindAddress, port: args.port, service: "Qdrant", configKey: "ai-gateway:qdrant.port" },
            { parent: this },
        );
        const container = new docker.Container(
            containerName,
            {
                ...commonContainerArgs(containerName, args.networkName),
                image: args.imageId,
                envs: [pulumi.interpolate`QDRANT__SERVICE__API_KEY=${key.result}`],
                ports: [publish(host, QDRANT_HTTP_PORT, args.port)],
                volumes: [{ hostPath: dataDirs.qdrant(host), containerPath: "/qdrant/storage" }],
                healthcheck: containerHealthchecks.qdrant,
            },
            { parent: this, deleteBeforeReplace: true, dependsOn: [guard] },
        );
        this.url = serviceUrl(host, args.port);
        this.internalUrl = `http://${containerName}:${QDRANT_HTTP_PORT}`;
        this.healthy = new HealthCheck(
            `${name}-healthy`,
            { url: `${this.url}/readyz`, triggers: [container.id], containerName },
            { parent: this },
        );
        this.registerOutputs({ url: this.url, apiKey: this.apiKey });
    }
}
