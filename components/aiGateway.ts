import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { LITELLM_CONFIG_FILE, renderRouterConfig } from "../config/litellm";
import { openWebUIEnv } from "../config/openWebUI";
import { routerHookFiles } from "../config/routerFiles";
import { routingFilterFiles, routingFilterInstall } from "../config/routingFilter";
import { StackConfig, needsRedis, placements, redisPublished } from "../config/schema";
import { STATE_ID_RESOURCE } from "../config/containers";
import { doorHealthPort, doorUrl } from "../config/door";
import { CONTAINER_NAMES, doorContainerName, hasDoor, routerContainerName } from "../config/plan";
import { doorPublished, renderDoorConfig } from "../config/doorConfig";
import { remoteAccessListeners, remoteAccessUrl } from "../config/doorHttps";
import { remoteAccessHost } from "../config/remoteAccess";
import { RemoteAccessCertificate } from "./certificates";
import { Door } from "./door";
import { GatewayHost, ImageRole } from "./gatewayHost";
import { LiteLLMRouter, newMasterKey } from "./liteLLMRouter";
import { Redis } from "./redis";
import { OllamaService } from "./ollamaService";
import { OpenWebUI } from "./openWebUI";
import { Qdrant } from "./qdrant";

export interface AiGatewayArgs {
    /** The validated stack config. */
    config: StackConfig;
    /** The cloud provider's key (a secret); required when cloud fallback is enabled. */
    cloudApiKey?: pulumi.Input<string>;
}

/**
 * The whole stack: per host its Docker provider, networks, door and Ollama instances; the local router; the
 * cloud-fallback router when enabled; Open WebUI and Qdrant. The routers on 4000, Open WebUI, Qdrant and
 * Redis are on each host's internal network only, reached through its door (config/door.ts). Nothing waits for what it does not need to
 * start: the models download into Ollama while the routers and Open WebUI start (a router only forwards
 * requests, and Open WebUI asks the router only when a user does), so a cold `up` takes about as long as its
 * longest download. The start order is checked by `containerStartsBehindModelPulls` (commands/startOrder.ts).
 */
export class AiGateway extends pulumi.ComponentResource {
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

    constructor(name: string, args: AiGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
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
            const ollama = config.hosts.map(
                (host, hostIndex) =>
                    new OllamaService(
                        `${host.name}-ollama`,
                        {
                            host,
                            hostIndex,
                            tuning: config.ollama,
                            imageId: hosts.get(host.name)!.imageIds.ollama!,
                            // Model pulls need the route out; the internal network, where there is one, is where the
                            // routers and Open WebUI reach it.
                            networks: [
                                hosts.get(host.name)!.networkName,
                                ...(hasDoor(config, host.name) ? [hosts.get(host.name)!.internalNetworkName!] : []),
                            ],
                            stateId,
                        },
                        onHost(host.name),
                    ),
            );

            const primaryHost = hosts.get(placed.router)!;
            const routerKey = newMasterKey("router-master-key", { parent: this });
            const redisPassword = needsRedis(config)
                ? new random.RandomPassword("redis-password", { length: 48, special: false }, { parent: this }).result
                : undefined;
            const redis =
                redisPassword &&
                new Redis(
                    "redis",
                    {
                        host: primaryHost.config,
                        publishedPort: redisPublished(config) ? config.router.redisPort : undefined,
                        imageId: primaryHost.imageIds.redis!,
                        networkName: primaryHost.internalNetworkName!,
                        stateId,
                        password: redisPassword,
                    },
                    onHost(placed.router),
                );
            if (redis && redisPublished(config)) doorPublishes(placed.router, redis.container);

            this.routerConfigs = {};
            this.urls = {};
            /** The first router of each router host: what Open WebUI on that host talks to. */
            const routerOfHost = new Map<string, LiteLLMRouter>();
            for (const hostName of placed.routers) {
                const routerHost = hosts.get(hostName)!;
                const files = {
                    [LITELLM_CONFIG_FILE]: renderRouterConfig(config, "local", hostName),
                    ...routerHookFiles(config, hostName),
                };
                for (let replica = 0; replica < config.router.replicas; replica++) {
                    const containerName = routerContainerName(placed.routers, hostName, replica);
                    // The stack's main router is "router" (router-port, router-healthy, the `router` URL); the others
                    // go by their container name.
                    const name = containerName === CONTAINER_NAMES.router ? "router" : containerName;
                    this.routerConfigs[containerName] = files[LITELLM_CONFIG_FILE];
                    const router = new LiteLLMRouter(
                        name,
                        {
                            containerName,
                            host: routerHost.config,
                            imageId: routerHost.imageIds.litellm!,
                            ...behindDoor(hostName),
                            stateId,
                            port: config.router.port + replica,
                            portConfigKey: "ai-gateway:router.port",
                            files,
                            masterKey: routerKey,
                            redisPassword,
                            // Replicas share their state through Redis from their first request on.
                            waitFor: redis ? [redis.container] : [],
                        },
                        onHost(hostName),
                    );
                    doorPublishes(hostName, router.container);
                    if (!routerOfHost.has(hostName)) routerOfHost.set(hostName, router);
                    this.urls[name] = router.url;
                }
            }
            const router = routerOfHost.get(placed.router)!;
            this.masterKey = routerKey;
            this.models = Object.keys(config.groups);

            if (config.cloud.enabled) {
                this.routerConfigs[CONTAINER_NAMES.cloudRouter] = renderRouterConfig(config, "cloud");
                this.cloudMasterKey = newMasterKey("cloud-router-master-key", { parent: this });
                const cloudRouter = new LiteLLMRouter(
                    "cloud-router",
                    {
                        containerName: CONTAINER_NAMES.cloudRouter,
                        host: primaryHost.config,
                        imageId: primaryHost.imageIds.litellm!,
                        // The one router with a route out, for the cloud API; it publishes its own port.
                        networks: [primaryHost.networkName],
                        stateId,
                        port: config.cloud.port,
                        portConfigKey: "ai-gateway:cloud.port",
                        files: {
                            [LITELLM_CONFIG_FILE]: this.routerConfigs[CONTAINER_NAMES.cloudRouter],
                            ...routerHookFiles(config, placed.router),
                        },
                        masterKey: this.cloudMasterKey,
                        cloudApiKey: args.cloudApiKey,
                    },
                    onHost(placed.router),
                );
                this.urls.cloudRouter = cloudRouter.url;
            }

            let qdrant: Qdrant | undefined;
            if (config.qdrant.enabled) {
                const qdrantHost = hosts.get(placed.qdrant)!;
                qdrant = new Qdrant(
                    "qdrant",
                    {
                        host: qdrantHost.config,
                        port: config.qdrant.port,
                        imageId: qdrantHost.imageIds.qdrant!,
                        ...behindDoor(placed.qdrant),
                        stateId,
                    },
                    onHost(placed.qdrant),
                );
                doorPublishes(placed.qdrant, qdrant.container);
                this.qdrantApiKey = qdrant.apiKey;
                this.urls.qdrant = qdrant.url;
            }

            if (config.openWebUI.enabled) {
                const uiHost = hosts.get(placed.openWebUI)!;
                const sameHost = (other: string) => other === placed.openWebUI;
                const localRouter = routerOfHost.get(placed.openWebUI);
                const ui = new OpenWebUI(
                    "open-webui",
                    {
                        host: uiHost.config,
                        settingsEnv: openWebUIEnv(config),
                        adminEmail: config.openWebUI.adminEmail,
                        port: config.openWebUI.port,
                        routerUrl: localRouter
                            ? localRouter.internalUrl
                            : doorUrl(config, placed.openWebUI, primaryHost.config, config.router.port),
                        routerKey: routerKey,
                        qdrant: qdrant && {
                            url: sameHost(placed.qdrant)
                                ? qdrant.internalUrl
                                : doorUrl(
                                      config,
                                      placed.openWebUI,
                                      hosts.get(placed.qdrant)!.config,
                                      config.qdrant.port,
                                  ),
                            apiKey: qdrant.apiKey,
                        },
                        imageId: uiHost.imageIds.openWebUI!,
                        ...behindDoor(placed.openWebUI),
                        stateId,
                        files: routingFilterFiles(config, placed.openWebUI),
                        routingFilter: routingFilterInstall(config, placed.openWebUI),
                        // Its vector store from the start (healthy by Docker's own check: /readyz is probed through the
                        // door, which waits for this container); the router only when a user asks for a model.
                        waitFor: qdrant ? [qdrant.container] : [],
                    },
                    onHost(placed.openWebUI),
                );
                doorPublishes(placed.openWebUI, ui.container);
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
 * this state's alone. Every container and network carries it as a label (config/containers.ts STATE_LABEL):
 * after an interrupted run, `up` removes only the objects with its own state's id that the state does not know,
 * never those of another checkout that deploys a stack of the same name on the same engine.
 */
function newStateId(name: string, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
    return new random.RandomId(name, { byteLength: 8 }, opts).hex;
}
