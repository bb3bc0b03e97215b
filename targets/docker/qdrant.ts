import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { HealthCheck } from "../../providers/healthCheck";
import { ServiceArgs, ServiceContainer } from "./serviceContainer";

/** Qdrant's own container args; it makes its API key itself. */
export type QdrantArgs = Omit<ServiceArgs, "secrets">;

/**
 * Qdrant with an API key (it is open by default) and persistent storage. Only the HTTP port is
 * published: gRPC stays on the Docker network and the cluster port 6335 is never exposed.
 */
export class Qdrant extends pulumi.ComponentResource {
    /** URL from the machine running `pulumi up`. */
    public readonly url: string;
    /** Key clients send as `api-key`; a secret. */
    public readonly apiKey: pulumi.Output<string>;
    /** The container (the host's door waits for it). */
    public readonly container: docker.Container;
    /** Passes once Qdrant is ready; its users depend on it. */
    public readonly healthy: HealthCheck;

    constructor(name: string, args: QdrantArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aigateway:vector:Qdrant", name, {}, opts);
        const key = new random.RandomPassword(`${name}-api-key`, { length: 48, special: false }, { parent: this });
        this.apiKey = key.result;

        const service = new ServiceContainer(
            name,
            {
                ...args,
                containerName: args.spec.name,
                port: args.spec.port.service,
                secrets: { qdrantApiKey: key.result },
                // Open WebUI waits for the container's own healthcheck: the door, through which /readyz is
                // probed, waits for Open WebUI's container.
                waitHealthy: true,
            },
            { parent: this },
        );
        this.url = service.url;
        this.container = service.container;
        this.healthy = service.healthy;
        this.registerOutputs({ url: this.url, apiKey: this.apiKey });
    }
}
