import * as pulumi from "@pulumi/pulumi";
import { LITELLM_CONFIG_FILE, renderRouterConfig } from "../config/litellm";
import { routingFilterFiles } from "../config/routingFilter";
import { routingHookFiles } from "../config/routingHook";
import { StackConfig, placements } from "../config/schema";
import { GatewayHost, ImageRole } from "./gatewayHost";
import { LiteLLMRouter } from "./liteLLMRouter";
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
 * The whole stack: per host its Docker provider, network and Ollama instances; the local router; the
 * cloud-fallback router when enabled; Open WebUI and Qdrant. Created in the order in which they can
 * become ready: Ollama healthy, models pulled, routers healthy, then Open WebUI.
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

    constructor(name: string, args: AiGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aigateway:index:AiGateway", name, {}, opts);
        const { config } = args;
        const placed = placements(config);
        const hosts = new Map(
            config.hosts.map((host) => [
                host.name,
                new GatewayHost(host.name, { host, images: imagesFor(config, host.name) }, { parent: this }),
            ]),
        );
        const onHost = (hostName: string) => ({ parent: this, providers: { docker: hosts.get(hostName)!.provider } });

        const ollama = config.hosts.map(
            (host, hostIndex) =>
                new OllamaService(
                    `${host.name}-ollama`,
                    {
                        host,
                        hostIndex,
                        tuning: config.ollama,
                        imageId: hosts.get(host.name)!.imageIds.ollama!,
                        networkName: hosts.get(host.name)!.networkName,
                    },
                    onHost(host.name),
                ),
        );
        const pulls = ollama.flatMap((service) => service.instances.flatMap((i) => i.models));

        const routerHost = hosts.get(placed.router)!;
        const routerArgs = {
            host: routerHost.config,
            imageId: routerHost.imageIds.litellm!,
            networkName: routerHost.networkName,
            waitFor: pulls,
        };
        const hookFiles = routingHookFiles(config, placed.router);
        this.routerConfigs = { litellm: renderRouterConfig(config, "local") };
        const router = new LiteLLMRouter(
            "router",
            {
                ...routerArgs,
                containerName: "litellm",
                port: config.router.port,
                portConfigKey: "ai-gateway:router.port",
                files: { [LITELLM_CONFIG_FILE]: this.routerConfigs.litellm, ...hookFiles },
            },
            onHost(placed.router),
        );
        this.masterKey = router.masterKey;
        this.urls = { router: router.url };
        this.models = Object.keys(config.groups);

        if (config.cloud.enabled) {
            this.routerConfigs["litellm-cloud"] = renderRouterConfig(config, "cloud");
            const cloudRouter = new LiteLLMRouter(
                "cloud-router",
                {
                    ...routerArgs,
                    containerName: "litellm-cloud",
                    port: config.cloud.port,
                    portConfigKey: "ai-gateway:cloud.port",
                    files: { [LITELLM_CONFIG_FILE]: this.routerConfigs["litellm-cloud"], ...hookFiles },
                    cloudApiKey: args.cloudApiKey,
                },
                onHost(placed.router),
            );
            this.cloudMasterKey = cloudRouter.masterKey;
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
                    networkName: qdrantHost.networkName,
                },
                onHost(placed.qdrant),
            );
            this.qdrantApiKey = qdrant.apiKey;
            this.urls.qdrant = qdrant.url;
        }

        if (config.openWebUI.enabled) {
            const uiHost = hosts.get(placed.openWebUI)!;
            const sameHost = (other: string) => other === placed.openWebUI;
            const ui = new OpenWebUI(
                "open-webui",
                {
                    host: uiHost.config,
                    settings: config.openWebUI,
                    routerUrl: sameHost(placed.router) ? router.internalUrl : router.url,
                    routerKey: router.masterKey,
                    qdrant: qdrant && {
                        url: sameHost(placed.qdrant) ? qdrant.internalUrl : qdrant.url,
                        apiKey: qdrant.apiKey,
                    },
                    imageId: uiHost.imageIds.openWebUI!,
                    networkName: uiHost.networkName,
                    files: routingFilterFiles(config, placed.openWebUI),
                    waitFor: [router.healthy, ...(qdrant ? [qdrant.healthy] : [])],
                },
                onHost(placed.openWebUI),
            );
            this.openWebUIAdmin = { email: ui.adminEmail, password: ui.adminPassword };
            this.urls.openWebUI = ui.url;
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
    if (placed.router === hostName) images.litellm = config.images.litellm;
    if (config.openWebUI.enabled && placed.openWebUI === hostName) images.openWebUI = config.images.openWebUI;
    if (config.qdrant.enabled && placed.qdrant === hostName) images.qdrant = config.images.qdrant;
    return images;
}
