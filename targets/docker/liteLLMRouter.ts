import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { HostConfig } from "../../config/stackKeys";
import { ServiceSpec } from "../../model/services";
import { HealthCheck } from "../../providers/healthCheck";
import { SecretValues, ServiceContainer } from "./serviceContainer";

export interface LiteLLMRouterArgs {
    /** The router, as every target describes it: the local one or the cloud-fallback one (model/services.ts). */
    spec: ServiceSpec;
    /** Container name: the router's, or one of its replicas' (`litellm-2`). */
    containerName: string;
    /** Its port on the host's bind address: the router's, or its replica's. */
    port: number;
    /** The host that runs it. */
    host: HostConfig;
    /** The keys its environment names: its master key, the cloud key or Redis's password. */
    secrets: SecretValues;
    /** Image id of the pinned LiteLLM image on this host. */
    imageId: pulumi.Input<string>;
    /** The host's Docker networks it joins; it is created on the first. */
    networks: pulumi.Input<string>[];
    /** The id of the stack's state, for the state label of its containers (targets/docker/containers.ts). */
    stateId: pulumi.Input<string>;
    /** The host's door container, when the door publishes its port (see ServiceContainerArgs.door). */
    door?: pulumi.Resource;
    /** Resources that must be ready before the container starts (e.g. Redis for the router replicas). */
    waitFor?: pulumi.Resource[];
}

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
