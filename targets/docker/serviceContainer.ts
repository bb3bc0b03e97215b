import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { HostConfig } from "../../config/stackKeys";
import { PROJECT } from "../../config/primitives";
import { EnvVar, SecretName, ServiceSpec } from "../../model/services";
import { HealthCheck } from "../../providers/healthCheck";
import { PortGuard } from "../../providers/portGuard";
import { commonContainerArgs, gpuDeviceRequests, publish, serviceHealthcheck, serviceUrl } from "./containers";

/** The stack's secrets a container's environment names, by name (model/services.ts). */
export type SecretValues = Partial<Record<SecretName, pulumi.Input<string>>>;

/** What every service component of a host takes: the service, where it runs, and how its container is made. */
export interface ServiceArgs {
    /** The service, as every target describes it (model/services.ts). */
    spec: ServiceSpec;
    /** The host that runs it. */
    host: HostConfig;
    /** The secrets its environment names that the component does not make itself. */
    secrets: SecretValues;
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
    /** Resources that must be ready before the container starts (e.g. Redis for the router replicas). */
    waitFor?: pulumi.Resource[];
}

export interface ServiceContainerArgs extends ServiceArgs {
    /** Container name, which is also its name on the host's Docker network: the service's, or a replica's. */
    containerName: string;
    /** Its one port on the host's bind address: the service's, or a replica's; published by the container itself, or by the host's door. */
    port: number;
    /** Create the container only once Docker's own healthcheck passes (for services others wait for behind the door). */
    waitHealthy?: boolean;
}

/** A service in words, for messages: `router litellm-2`, `Ollama instance ollama`, `Open WebUI`. */
export function serviceWords(role: ServiceSpec["role"], containerName: string): string {
    switch (role) {
        case "ollama":
            return `Ollama instance ${containerName}`;
        case "router":
        case "cloudRouter":
            return `router ${containerName}`;
        case "openWebUI":
            return "Open WebUI";
        case "qdrant":
            return "Qdrant";
        case "redis":
            return "Redis";
    }
}

/** A service's environment as Docker takes it, `KEY=value`; a secret's value makes its entry (and the list) secret. */
export function containerEnv(env: EnvVar[], secrets: SecretValues): pulumi.Input<string>[] {
    return env.map((variable) => {
        if ("value" in variable) return `${variable.name}=${variable.value}`;
        const value = secrets[variable.secret];
        if (value === undefined) throw new Error(`no value for the secret ${variable.secret} of ${variable.name}`);
        return pulumi.interpolate`${variable.name}=${pulumi.secret(value)}`;
    });
}

/**
 * One service container, the way every published service of the stack runs: its port checked free before
 * anything changes, the shared restart/log/network settings, replaced by deleting first (fixed names and
 * ports), and checked healthy from the machine running `pulumi up` (through the door when the door publishes
 * its port).
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
        const { spec, host, port, containerName } = args;
        const probe = spec.probe!;

        const guard = new PortGuard(
            `${name}-port`,
            {
                bindAddress: host.bindAddress,
                port,
                service: serviceWords(spec.role, containerName),
                configKey: `${PROJECT}:${spec.port.configKey}`,
            },
            { parent: this },
        );
        const container = (this.container = new docker.Container(
            containerName,
            {
                ...commonContainerArgs(containerName, args.networks, pulumi.getStack(), args.stateId),
                image: args.imageId,
                command: spec.command,
                envs: containerEnv(spec.env, args.secrets),
                ports: args.door ? [] : [publish(host, spec.port.container, port)],
                volumes:
                    spec.volumes.length > 0
                        ? spec.volumes.map(({ hostPath, containerPath }) => ({ hostPath, containerPath }))
                        : undefined,
                uploads:
                    spec.files.length > 0
                        ? spec.files.map(({ path, content }) => ({ file: path, content }))
                        : undefined,
                deviceRequests: spec.gpu === undefined ? undefined : gpuDeviceRequests(spec.gpu),
                healthcheck: serviceHealthcheck(spec.selfCheck),
                ...(args.waitHealthy ? { wait: true, waitTimeout: 120 } : {}),
            },
            { parent: this, deleteBeforeReplace: true, dependsOn: [guard, ...(args.waitFor ?? [])] },
        ));
        this.url = serviceUrl(host, port);
        this.containerId = container.id;
        this.healthy = new HealthCheck(
            `${name}-healthy`,
            {
                url: `${this.url}${probe.path}`,
                expectJsonField: probe.expectJsonField,
                // A replaced container is a new service: check it again.
                triggers: [container.id],
                containerName,
            },
            { parent: this, dependsOn: args.door ? [args.door] : [] },
        );
        this.registerOutputs({ url: this.url });
    }
}
