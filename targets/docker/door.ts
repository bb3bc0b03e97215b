import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { commonContainerArgs, doorHealthcheck, publish } from "./containers";
import { DOOR_CONTAINER } from "./doorPlan";
import { DOOR_CONFIG_PATH } from "./doorConfig";
import { HostConfig } from "../../config/stackKeys";
import { REMOTE_ACCESS_PEM, RemoteListener } from "./doorHttps";
import { PortGuard } from "../../providers/portGuard";

export interface DoorArgs {
    /** Container name: `door`, or `door-<host>` beyond the first host (targets/docker/doorPlan.ts). */
    containerName: string;
    /** The host that runs it. */
    host: HostConfig;
    /** Its rendered `haproxy.cfg` (targets/docker/doorConfig.ts). */
    config: string;
    /** Host ports it publishes on the host's bind address; inside the container it listens on the same ports. */
    ports: number[];
    /** Port of its own health check inside the container. */
    healthPort: number;
    /** Image id of the pinned door image on this host. */
    imageId: pulumi.Input<string>;
    /** The network with a route out (it is created on it, so Docker publishes its ports), then the internal one. */
    networks: [pulumi.Input<string>, pulumi.Input<string>];
    /** The id of the stack's state, for the state label of its containers (targets/docker/containers.ts). */
    stateId: pulumi.Input<string>;
    /**
     * The containers whose ports it publishes, once they exist: a container replaced to move behind the door
     * (an upgrade) gives its port up before the door takes it. None of them may wait for a health check of its
     * own, which goes through the door.
     */
    waitFor: pulumi.Input<pulumi.Resource[]>;
    /** The HTTPS front for other devices, when this door serves it (targets/docker/doorHttps.ts). */
    remoteAccess?: {
        /** What it publishes on the remote-access address. */
        listeners: RemoteListener[];
        /** The certificate chain and key it serves (a secret). */
        pem: pulumi.Input<string>;
    };
}

/**
 * The door of one host: HAProxy on both of its networks, the only way in to the containers that are on the
 * internal one, and their only way out, to the stack's services on other hosts (targets/docker/doorPlan.ts). It publishes
 * their ports on the host's bind address and forwards each byte for byte (TCP); it holds no key and keeps
 * nothing but, when it serves remote access, the certificate of its HTTPS front for other devices.
 */
export class Door extends pulumi.ComponentResource {
    /** The container: the health checks of the services behind it wait for it. */
    public readonly container: docker.Container;

    constructor(name: string, args: DoorArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aigateway:network:Door", name, {}, opts);
        const { host } = args;
        const common = commonContainerArgs(args.containerName, args.networks, pulumi.getStack(), args.stateId);
        const remote = args.remoteAccess;
        const guards = (remote?.listeners ?? []).map(
            (l) =>
                new PortGuard(
                    `${name}-${l.kind}-port`,
                    { bindAddress: l.address, port: l.port, service: "the door's HTTPS front", configKey: l.configKey },
                    { parent: this },
                ),
        );
        this.container = new docker.Container(
            args.containerName,
            {
                ...common,
                // Named `door` on its networks on every host: the URLs of the other containers say so.
                networksAdvanced: common.networksAdvanced.map((n) => ({ ...n, aliases: [DOOR_CONTAINER] })),
                image: args.imageId,
                // Both the official image and images/haproxy run HAProxy from PATH; -W -db: one master, in the
                // foreground, logging to stderr (docker logs door).
                entrypoints: ["haproxy"],
                command: ["-W", "-db", "-f", DOOR_CONFIG_PATH],
                uploads: [
                    { file: DOOR_CONFIG_PATH, content: args.config },
                    ...(remote ? [{ file: REMOTE_ACCESS_PEM, content: remote.pem }] : []),
                ],
                ports: [
                    ...args.ports.map((port) => publish(host, port, port)),
                    ...(remote?.listeners ?? []).map((l) => ({
                        internal: l.listen,
                        external: l.port,
                        ip: l.address,
                        protocol: "tcp",
                    })),
                ],
                healthcheck: doorHealthcheck(args.healthPort),
            },
            {
                parent: this,
                deleteBeforeReplace: true,
                dependsOn: pulumi.output(args.waitFor).apply((waitFor) => [...waitFor, ...guards]),
            },
        );
        this.registerOutputs({});
    }
}
