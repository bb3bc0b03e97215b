import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { StackConfig } from "../../config/stackKeys";
import {
    CONTAINER_NAMES,
    doorContainerName,
    hasDoor,
    needsRedis,
    placements,
    redisPublished,
    remoteAccessHost,
    routerContainerName,
} from "../../model/plan";
import { ServiceRole, describeServices, routerConfigFile } from "../../model/services";
import { routingFilterInstall } from "../../routing/filter";
import { GatewayOutputs } from "../gateway";
import { STATE_ID_RESOURCE } from "./containers";
import { doorHealthPort, dockerVantage } from "./doorPlan";
import { doorPublished, renderDoorConfig } from "./doorConfig";
import { remoteAccessListeners, remoteAccessUrl } from "./doorHttps";
import { RemoteAccessCertificate } from "./certificates";
import { Door } from "./door";
import { GatewayHost, ImageRole } from "./gatewayHost";
import { newMasterKey } from "../secrets";
import { LiteLLMRouter } from "./liteLLMRouter";
import { Redis } from "./redis";
import { OllamaService } from "./ollamaService";
import { OpenWebUI } from "./openWebUI";
import { Qdrant } from "./qdrant";

export interface DockerGatewayArgs {
    /** The validated stack config. */
    config: StackConfig;
    /** The cloud provider's key (a secret); required when cloud fallback is enabled. */
    cloudApiKey?: pulumi.Input<string>;
}

/**
 * The whole stack: per host its Docker provider, networks, door and Ollama instances; the local router; the
 * cloud-fallback router when enabled; Open WebUI and Qdrant. The routers on 4000, Open WebUI, Qdrant and
 * Redis are on each host's internal network only, reached through its door (targets/docker/doorPlan.ts). Nothing waits for what it does not need to
 * start: the models download into Ollama while the routers and Open WebUI start (a router only forwards
 * requests, and Open WebUI asks the router only when a user does), so a cold `up` takes about as long as its
 * longest download. The start order is checked by `containerStartsBehindModelPulls` (commands/startOrder.ts).
 */
export class DockerGateway extends pulumi.ComponentResource implements GatewayOutputs {
    /** URL of every service from the machine running `pulumi up`. */
    public readonly urls: Record<string, string>;
    /** Master key of the local router; a secret. */
    public readonly masterKey: pulumi.Output<string>;
    /** Master key of the cloud-fallback router, when deployed; a secret. */
    public readonly cloudMasterKey?: pulumi.Output<string>;
    /** The model groups clients can ask the routers for. */
    public readonly models: string[];
    /** The rendered LiteLLM config of each router, by container name. */
    public readonly routerConfigs: Record<string, string>;
    /** Open WebUI's admin login, when deployed; the password is a secret. */
    public readonly openWebUIAdmin?: { email: string; password: pulumi.Output<string> };
    /** Qdrant's API key, when deployed; a secret. */
    public readonly qdrantApiKey?: pulumi.Output<string>;
    /** Remote access, when on: the URL other devices open, and the internal CA's certificate they install. */
    public readonly remoteAccess?: { url: string; caCertificate?: pulumi.Output<string> };

    constructor(name: string, args: DockerGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
        // The type the Docker stacks have had from the start: a new one would change the URN of every resource,
        // and a stack deployed before would be replaced whole.
        super("aigateway:index:AiGateway", name, {}, opts);
        const { config } = args;
        const placed = placements(config);
        const stateId = newStateId(STATE_ID_RESOURCE, { parent: this });
        const hosts = new Map(
            config.hosts.map((host, hostIndex) => [
                host.name,
                new GatewayHost(
                    host.name,
                    {
                        host,
                        hostIndex,
                        images: imagesFor(config, host.name),
                        internalNetwork: hasDoor(config, host.name),
                        stateId,
                    },
                    { parent: this },
                ),
            ]),
        );
        const onHost = (hostName: string) => ({ parent: this, providers: { docker: hosts.get(hostName)!.provider } });
        const remote = config.remoteAccess;
        const certificate = remote && new RemoteAccessCertificate("remote-access", { remote }, { parent: this });
        if (certificate) this.remoteAccess = { url: remoteAccessUrl(remote), caCertificate: certificate.caCertificate };

        // The door of each host that has one. It waits for the containers it publishes, which exist only below:
        // each is added to its host's list, and the lists are handed over once every service is declared.
        const doors = new Map<
            string,
            { door: Door; publishes: pulumi.Resource[]; release: (r: pulumi.Resource[]) => void }
        >();
        for (const host of config.hosts.filter((h) => hasDoor(config, h.name))) {
            const gatewayHost = hosts.get(host.name)!;
            let release!: (r: pulumi.Resource[]) => void;
            const waitFor = new Promise<pulumi.Resource[]>((resolve) => (release = resolve));
            const door = new Door(
                `${host.name}-door`,
                {
                    containerName: doorContainerName(config, host.name),
                    host,
                    config: renderDoorConfig(config, host.name)!,
                    ports: doorPublished(config, host.name).map((p) => p.port),
                    healthPort: doorHealthPort(config, host.name),
                    imageId: gatewayHost.imageIds.door!,
                    networks: [gatewayHost.networkName, gatewayHost.internalNetworkName!],
                    stateId,
                    waitFor,
                    remoteAccess:
                        remoteAccessHost(config) === host.name
                            ? { listeners: remoteAccessListeners(config, host.name), pem: certificate!.pem }
                            : undefined,
                },
                onHost(host.name),
            );
            doors.set(host.name, { door, publishes: [], release });
        }
        /** What a service behind the door of its host gets: the internal network only, and the door. */
        const behindDoor = (hostName: string) => ({
            networks: [hosts.get(hostName)!.internalNetworkName!],
            door: doors.get(hostName)!.door.container,
        });
        const doorPublishes = (hostName: string, container: pulumi.Resource) =>
            doors.get(hostName)!.publishes.push(container);

        // The doors are released however the rest ends: one left waiting would hold the program open after an error.
        try {
            const services = describeServices(config, (hostName) => dockerVantage(config, hostName));
            const ofRole = (role: ServiceRole) => services.filter((s) => s.role === role);
            const ollamaNetworks = (hostName: string) => [
                // Model pulls need the route out; the internal network, where there is one, is where the routers
                // and Open WebUI reach it.
                hosts.get(hostName)!.networkName,
                ...(hasDoor(config, hostName) ? [hosts.get(hostName)!.internalNetworkName!] : []),
            ];
            for (const host of config.hosts)
                new OllamaService(
                    `${host.name}-ollama`,
                    {
                        host,
                        specs: ofRole("ollama").filter((s) => s.host === host.name),
                        imageId: hosts.get(host.name)!.imageIds.ollama!,
                        networks: ollamaNetworks(host.name),
                        stateId,
                    },
                    onHost(host.name),
                );

            const primaryHost = hosts.get(placed.router)!;
            const routerKey = newMasterKey("router-master-key", { parent: this });
            const redisPassword = needsRedis(config)
                ? new random.RandomPassword("redis-password", { length: 48, special: false }, { parent: this }).result
                : undefined;
            const [redisSpec] = ofRole("redis");
            const redis =
                redisSpec &&
                new Redis(
                    "redis",
                    {
                        spec: redisSpec,
                        host: primaryHost.config,
                        published: redisPublished(config),
                        secrets: { redisPassword },
                        imageId: primaryHost.imageIds.redis!,
                        networkName: primaryHost.internalNetworkName!,
                        stateId,
                    },
                    onHost(placed.router),
                );
            if (redis && redisPublished(config)) doorPublishes(placed.router, redis.container);

            this.routerConfigs = {};
            this.urls = {};
            for (const spec of ofRole("router")) {
                const routerHost = hosts.get(spec.host)!;
                for (let replica = 0; replica < spec.replicas; replica++) {
                    const containerName = routerContainerName(placed.routers, spec.host, replica);
                    // The stack's main router is "router" (router-port, router-healthy, the `router` URL); the others
                    // go by their container name.
                    const name = containerName === CONTAINER_NAMES.router ? "router" : containerName;
                    this.routerConfigs[containerName] = routerConfigFile(spec);
                    const router = new LiteLLMRouter(
                        name,
                        {
                            spec,
                            containerName,
                            port: spec.port.service + replica,
                            host: routerHost.config,
                            secrets: { routerMasterKey: routerKey, redisPassword },
                            imageId: routerHost.imageIds.litellm!,
                            ...behindDoor(spec.host),
                            stateId,
                            // Replicas share their state through Redis from their first request on.
                            waitFor: redis ? [redis.container] : [],
                        },
                        onHost(spec.host),
                    );
                    doorPublishes(spec.host, router.container);
                    this.urls[name] = router.url;
                }
            }
            this.masterKey = routerKey;
            this.models = Object.keys(config.groups);

            const [cloudSpec] = ofRole("cloudRouter");
            if (cloudSpec) {
                this.routerConfigs[cloudSpec.name] = routerConfigFile(cloudSpec);
                this.cloudMasterKey = newMasterKey("cloud-router-master-key", { parent: this });
                const cloudRouter = new LiteLLMRouter(
                    "cloud-router",
                    {
                        spec: cloudSpec,
                        containerName: cloudSpec.name,
                        port: cloudSpec.port.service,
                        host: primaryHost.config,
                        secrets: { cloudMasterKey: this.cloudMasterKey, cloudApiKey: args.cloudApiKey },
                        imageId: primaryHost.imageIds.litellm!,
                        // The one router with a route out, for the cloud API; it publishes its own port.
                        networks: [primaryHost.networkName],
                        stateId,
                    },
                    onHost(placed.router),
                );
                this.urls.cloudRouter = cloudRouter.url;
            }

            const [qdrantSpec] = ofRole("qdrant");
            const qdrant =
                qdrantSpec &&
                new Qdrant(
                    "qdrant",
                    {
                        spec: qdrantSpec,
                        host: hosts.get(qdrantSpec.host)!.config,
                        imageId: hosts.get(qdrantSpec.host)!.imageIds.qdrant!,
                        ...behindDoor(qdrantSpec.host),
                        stateId,
                    },
                    onHost(qdrantSpec.host),
                );
            if (qdrant) {
                doorPublishes(qdrantSpec.host, qdrant.container);
                this.qdrantApiKey = qdrant.apiKey;
                this.urls.qdrant = qdrant.url;
            }

            const [uiSpec] = ofRole("openWebUI");
            if (uiSpec) {
                const uiHost = hosts.get(uiSpec.host)!;
                const ui = new OpenWebUI(
                    "open-webui",
                    {
                        spec: uiSpec,
                        host: uiHost.config,
                        adminEmail: config.openWebUI.adminEmail,
                        secrets: { routerMasterKey: routerKey, qdrantApiKey: qdrant?.apiKey },
                        imageId: uiHost.imageIds.openWebUI!,
                        ...behindDoor(uiSpec.host),
                        stateId,
                        routingFilter: routingFilterInstall(config, dockerVantage(config, uiSpec.host)),
                        // Its vector store from the start (healthy by Docker's own check: /readyz is probed through the
                        // door, which waits for this container); the router only when a user asks for a model.
                        waitFor: qdrant ? [qdrant.container] : [],
                    },
                    onHost(uiSpec.host),
                );
                doorPublishes(uiSpec.host, ui.container);
                this.openWebUIAdmin = { email: ui.adminEmail, password: ui.adminPassword };
                this.urls.openWebUI = ui.url;
            }
        } finally {
            for (const { publishes, release } of doors.values()) release(publishes);
        }

        this.registerOutputs({
            urls: this.urls,
            masterKey: this.masterKey,
            cloudMasterKey: this.cloudMasterKey,
            models: this.models,
            routerConfigs: this.routerConfigs,
        });
    }
}

/** The images a host needs: Ollama everywhere, the others only where their service runs. */
export function imagesFor(config: StackConfig, hostName: string): Partial<Record<ImageRole, string>> {
    const placed = placements(config);
    const images: Partial<Record<ImageRole, string>> = { ollama: config.images.ollama };
    if (placed.routers.includes(hostName)) images.litellm = config.images.litellm;
    if (needsRedis(config) && placed.router === hostName) images.redis = config.images.redis;
    if (config.openWebUI.enabled && placed.openWebUI === hostName) images.openWebUI = config.images.openWebUI;
    if (config.qdrant.enabled && placed.qdrant === hostName) images.qdrant = config.images.qdrant;
    if (hasDoor(config, hostName)) images.door = config.images.door;
    return images;
}

/**
 * The id of this stack's state: random, made by the first `up` and kept in the state from then on, so it is
 * this state's alone. Every container and network carries it as a label (targets/docker/containers.ts STATE_LABEL):
 * after an interrupted run, `up` removes only the objects with its own state's id that the state does not know,
 * never those of another checkout that deploys a stack of the same name on the same engine.
 */
function newStateId(name: string, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
    return new random.RandomId(name, { byteLength: 8 }, opts).hex;
}
