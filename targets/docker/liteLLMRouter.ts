import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { HealthCheck } from "../../providers/healthCheck";
import { ServiceContainer, ServiceContainerArgs } from "./serviceContainer";

/** A router container: the local router (or one of its replicas, by container name and port) or the cloud router. */
export type LiteLLMRouterArgs = ServiceContainerArgs;

/**
 * A LiteLLM proxy serving the rendered config behind its master key, checked ready with
 * `/health/readiness` (never `/health`, which sends a request to every model).
 */
export class LiteLLMRouter extends pulumi.ComponentResource {
    /** URL of the router from the machine running `pulumi up`. */
    public readonly url: string;
    /** The container (the host's door waits for it). */
    public readonly container: docker.Container;
    /** Passes once the router answers; later services depend on it. */
    public readonly healthy: HealthCheck;

    constructor(name: string, args: LiteLLMRouterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aigateway:router:LiteLLMRouter", name, {}, opts);
        const service = new ServiceContainer(name, args, { parent: this });
        this.url = service.url;
        this.container = service.container;
        this.healthy = service.healthy;
        this.registerOutputs({ url: this.url });
    }
}
