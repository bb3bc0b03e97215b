import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { commonContainerArgs, containerHealthchecks, redisCommand } from "./containers";
import { REDIS_CONTAINER, REDIS_PASSWORD_ENV } from "../../model/litellm";
import { HostConfig } from "../../config/stackKeys";
import { PortGuard } from "../../providers/portGuard";

export interface RedisArgs {
    /** The host that runs it: the first router host. */
    host: HostConfig;
    /**
     * Port on the host's bind address, for routers on other hosts, published by the host's door; unset keeps it
     * on the Docker network.
     */
    publishedPort?: number;
    /** Image id of the pinned Redis image on this host. */
    imageId: pulumi.Input<string>;
    /** The host's internal Docker network (no route out), the only one it joins. */
    networkName: pulumi.Input<string>;
    /** The id of the stack's state, for the state label of its containers (targets/docker/containers.ts). */
    stateId: pulumi.Input<string>;
    /** Generated password every router replica sends. */
    password: pulumi.Input<string>;
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
        const { host, publishedPort } = args;

        const guard =
            publishedPort === undefined
                ? undefined
                : new PortGuard(
                      `${name}-port`,
                      {
                          bindAddress: host.bindAddress,
                          port: publishedPort,
                          service: "Redis",
                          configKey: "ai-gateway:router.redisPort",
                      },
                      { parent: this },
                  );
        this.container = new docker.Container(
            REDIS_CONTAINER,
            {
                ...commonContainerArgs(REDIS_CONTAINER, args.networkName, pulumi.getStack(), args.stateId),
                image: args.imageId,
                command: redisCommand,
                envs: [pulumi.interpolate`${REDIS_PASSWORD_ENV}=${args.password}`],
                // Published, when it is, by the door: Docker publishes no port of a container on an internal network.
                ports: [],
                healthcheck: containerHealthchecks.redis,
                wait: true,
                waitTimeout: 60,
            },
            { parent: this, deleteBeforeReplace: true, dependsOn: guard ? [guard] : [] },
        );
        this.registerOutputs({});
    }
}
