import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { HostConfig } from "../../config/stackKeys";
import { PROJECT } from "../../config/primitives";
import { ServiceSpec } from "../../model/services";
import { PortGuard } from "../../providers/portGuard";
import { commonContainerArgs, serviceHealthcheck } from "./containers";
import { SecretValues, containerEnv, serviceWords } from "./serviceContainer";

export interface RedisArgs {
    /** Redis, as every target describes it (model/services.ts). */
    spec: ServiceSpec;
    /** The host that runs it: the first router host. */
    host: HostConfig;
    /** Whether its port is published on the host's bind address (by the door), for routers on other hosts. */
    published: boolean;
    /** Its generated password (`redisPassword`), which every router replica sends. */
    secrets: SecretValues;
    /** Image id of the pinned Redis image on this host. */
    imageId: pulumi.Input<string>;
    /** The host's internal Docker network (no route out), the only one it joins. */
    networkName: pulumi.Input<string>;
    /** The id of the stack's state, for the state label of its containers (targets/docker/containers.ts). */
    stateId: pulumi.Input<string>;
}

/**
 * The state router replicas share (cooldowns, usage): an in-memory Redis behind a generated password.
 * Nothing in it must survive a restart, so it keeps no data on disk. Redis speaks no HTTP, so `pulumi up`
 * waits on Docker's own health check (`wait`) instead of a HealthCheck resource.
 */
export class Redis extends pulumi.ComponentResource {
    /** The container; router replicas wait for it. */
    public readonly container: docker.Container;

    constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aigateway:router:Redis", name, {}, opts);
        const { spec, host } = args;

        const guard = args.published
            ? new PortGuard(
                  `${name}-port`,
                  {
                      bindAddress: host.bindAddress,
                      port: spec.port.service,
                      service: serviceWords(spec.role, spec.name),
                      configKey: `${PROJECT}:${spec.port.configKey}`,
                  },
                  { parent: this },
              )
            : undefined;
        this.container = new docker.Container(
            spec.name,
            {
                ...commonContainerArgs(spec.name, args.networkName, pulumi.getStack(), args.stateId),
                image: args.imageId,
                command: spec.command,
                envs: containerEnv(spec.env, args.secrets),
                // Published, when it is, by the door: Docker publishes no port of a container on an internal network.
                ports: [],
                healthcheck: serviceHealthcheck(spec.selfCheck),
                wait: true,
                waitTimeout: 60,
            },
            { parent: this, deleteBeforeReplace: true, dependsOn: guard ? [guard] : [] },
        );
        this.registerOutputs({});
    }
}
