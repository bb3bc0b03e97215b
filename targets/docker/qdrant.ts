import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { QDRANT_HTTP_PORT, containerHealthchecks } from "./containers";
import { CONTAINER_NAMES, dataDirs } from "../../model/plan";
import { HostConfig } from "../../config/stackKeys";
import { HealthCheck } from "../../providers/healthCheck";
import { ServiceContainer } from "./serviceContainer";

export interface QdrantArgs {
    /** The host that runs it. */
    host: HostConfig;
    /** Published HTTP port. */
    port: number;
    /** Image id of the pinned Qdrant image on this host. */
    imageId: pulumi.Input<string>;
    /** The host's Docker networks it joins; it is created on the first. */
    networks: pulumi.Input<string>[];
    /** The id of the stack's state, for the state label of its containers (targets/docker/containers.ts). */
    stateId: pulumi.Input<string>;
    /** The host's door container, when the door publishes its port (see ServiceContainerArgs.door). */
    door?: pulumi.Resource;
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
    /** The container (the host's door waits for it). */
    public readonly container: docker.Container;
    /** Passes once Qdrant is ready; its users depend on it. */
    public readonly healthy: HealthCheck;

    constructor(name: string, args: QdrantArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aigateway:vector:Qdrant", name, {}, opts);
        const { host } = args;
        const containerName = CONTAINER_NAMES.qdrant;

        const key = new random.RandomPassword(`${name}-api-key`, { length: 48, special: false }, { parent: this });
        this.apiKey = key.result;

        const service = new ServiceContainer(
            name,
            {
                containerName,
                service: "Qdrant",
                host,
                port: { internal: QDRANT_HTTP_PORT, external: args.port, configKey: "ai-gateway:qdrant.port" },
                imageId: args.imageId,
                networks: args.networks,
                stateId: args.stateId,
                door: args.door,
                envs: [pulumi.interpolate`QDRANT__SERVICE__API_KEY=${key.result}`],
                volumes: [{ hostPath: dataDirs.qdrant(host), containerPath: "/qdrant/storage" }],
                healthcheck: containerHealthchecks.qdrant,
                probe: { path: "/readyz" },
                // Open WebUI waits for the container's own healthcheck: the door, through which /readyz is
                // probed, waits for Open WebUI's container.
                waitHealthy: true,
            },
            { parent: this },
        );
        this.url = service.url;
        this.container = service.container;
        this.internalUrl = `http://${containerName}:${QDRANT_HTTP_PORT}`;
        this.healthy = service.healthy;
        this.registerOutputs({ url: this.url, apiKey: this.apiKey });
    }
}
