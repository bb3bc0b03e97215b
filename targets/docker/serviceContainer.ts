import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { HealthcheckSpec, commonContainerArgs, publish, serviceUrl } from "./containers";
import { HostConfig } from "../../config/stackKeys";
import { HealthCheck, HealthCheckArgs } from "../../providers/healthCheck";
import { PortGuard } from "../../providers/portGuard";

export interface ServiceContainerArgs {
    /** Container name, which is also its name on the host's Docker network. */
    containerName: string;
    /** Who wants the port, in words, for the port-taken message (e.g. "router litellm"). */
    service: string;
    /** The host that runs it. */
    host: HostConfig;
    /** Its one port on the host's bind address: published by the container itself, or by the host's door. */
    port: { internal: number; external: number; configKey: string };
    /** Image id of the pinned image on this host. */
    imageId: pulumi.Input<string>;
    /** The host's Docker networks it joins; it is created on the first. */
    networks: pulumi.Input<string>[];
    /** The id of the stack's state, for the state label of its containers (targets/docker/containers.ts). */
    stateId: pulumi.Input<string>;
    /**
     * The host's door container, when the door publishes the port: the service is on the internal network only
     * (Docker publishes no port there), so the container publishes nothing and is checked healthy through the door.
     */
    door?: pulumi.Resource;
    /** Environment, `KEY=value`; secret values make the whole list secret. */
    envs: pulumi.Input<string>[];
    /** Arguments after the image's entrypoint. */
    command?: string[];
    /** Host directories mounted into the container. */
    volumes?: docker.types.input.ContainerVolume[];
    /** Files written into the container before it starts. */
    uploads?: docker.types.input.ContainerUpload[];
    /** GPU requests. */
    deviceRequests?: docker.types.input.ContainerDeviceRequest[];
    /** Docker's own healthcheck, run inside the container. */
    healthcheck: HealthcheckSpec;
    /** What `pulumi up` polls from outside before the service counts as up: a path and what to expect. */
    probe: { path: string } & Pick<HealthCheckArgs, "expectJsonField">;
    /** Resources that must be ready before the container starts (e.g. Redis for the router replicas). */
    waitFor?: pulumi.Resource[];
    /** Create the container only once Docker's own healthcheck passes (for services others wait for behind the door). */
    waitHealthy?: boolean;
}

/**
 * One published service container, the way every service of the stack runs: its port checked free
 * before anything changes, the shared restart/log/network settings, replaced by deleting first (fixed
 * names and ports), and checked healthy from the machine running `pulumi up` (through the door when the
 * door publishes its port).
 */
export class ServiceContainer extends pulumi.ComponentResource {
    /** URL of the service from the machine running `pulumi up`. */
    public readonly url: string;
    /** The container. */
    public readonly container: docker.Container;
    /** Id of the container: a new one means a new service. */
    public readonly containerId: pulumi.Output<string>;
    /** Passes once the service answers its probe; later services depend on it. */
    public readonly healthy: HealthCheck;

    constructor(name: string, args: ServiceContainerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aigateway:docker:ServiceContainer", name, {}, opts);
        const { host, port, containerName } = args;

        const guard = new PortGuard(
            `${name}-port`,
            { bindAddress: host.bindAddress, port: port.external, service: args.service, configKey: port.configKey },
            { parent: this },
        );
        const container = (this.container = new docker.Container(
            containerName,
            {
                ...commonContainerArgs(containerName, args.networks, pulumi.getStack(), args.stateId),
                image: args.imageId,
                command: args.command,
                envs: args.envs,
                ports: args.door ? [] : [publish(host, port.internal, port.external)],
                volumes: args.volumes,
                uploads: args.uploads,
                deviceRequests: args.deviceRequests,
                healthcheck: args.healthcheck,
                ...(args.waitHealthy ? { wait: true, waitTimeout: 120 } : {}),
            },
            { parent: this, deleteBeforeReplace: true, dependsOn: [guard, ...(args.waitFor ?? [])] },
        ));
        this.url = serviceUrl(host, port.external);
        this.containerId = container.id;
        this.healthy = new HealthCheck(
            `${name}-healthy`,
            {
                url: `${this.url}${args.probe.path}`,
                expectJsonField: args.probe.expectJsonField,
                // A replaced container is a new service: check it again.
                triggers: [container.id],
                containerName,
            },
            { parent: this, dependsOn: args.door ? [args.door] : [] },
        );
        this.registerOutputs({ url: this.url });
    }
}
