import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { OPEN_WEBUI_CONTAINER_PORT, containerHealthchecks } from "./containers";
import { CONTAINER_NAMES, dataDirs } from "../../model/plan";
import { OPEN_WEBUI_DATA_PATH } from "../../model/openWebUI";
import { ROUTING_FILTER_DIR, RoutingFilterInstall } from "../../routing/filter";
import { HostConfig } from "../../config/stackKeys";
import { OpenWebUIFunction } from "../../providers/openWebUIFunction";
import { ServiceContainer } from "./serviceContainer";

export interface OpenWebUIArgs {
    /** The host that runs it. */
    host: HostConfig;
    /** Its settings as environment, `KEY=value` (model/openWebUI.ts); the component adds wiring and secrets. */
    settingsEnv: string[];
    /** Email of the admin account created at first start. */
    adminEmail: string;
    /** Its published port. */
    port: number;
    /** Base URL of the local router as this host reaches it (no `/v1`). */
    routerUrl: pulumi.Input<string>;
    /** The local router's master key. */
    routerKey: pulumi.Input<string>;
    /** Qdrant to use as the vector store, when deployed. */
    qdrant?: { url: pulumi.Input<string>; apiKey: pulumi.Input<string> };
    /** Image id of the pinned Open WebUI image on this host. */
    imageId: pulumi.Input<string>;
    /** The host's Docker networks it joins; it is created on the first. */
    networks: pulumi.Input<string>[];
    /** The id of the stack's state, for the state label of its containers (targets/docker/containers.ts). */
    stateId: pulumi.Input<string>;
    /** The host's door container, when the door publishes its port (see ServiceContainerArgs.door). */
    door?: pulumi.Resource;
    /** Files shipped into the container under /app/ai-gateway, by name (the routing filter, for a manual install). */
    files?: Record<string, string>;
    /** The routing filter, installed into Open WebUI once it is healthy, signed in as the admin. */
    routingFilter?: RoutingFilterInstall;
    /** Resources that must be ready before the container starts (e.g. Qdrant, its vector store). */
    waitFor?: pulumi.Resource[];
}

/**
 * Open WebUI, talking only to the local router (its Ollama connection is off, so every answer goes
 * through the router and its logs say which model answered). Auth is on and the first admin account
 * is created at start with a generated password: there is no window in which a stranger signs up first.
 */
export class OpenWebUI extends pulumi.ComponentResource {
    /** URL of the UI from the machine running `pulumi up`. */
    public readonly url: string;
    /** Email of the admin account. */
    public readonly adminEmail: string;
    /** Generated password of the admin account; a secret. */
    public readonly adminPassword: pulumi.Output<string>;
    /** The container (the host's door waits for it). */
    public readonly container: docker.Container;
    /** The routing filter installed into Open WebUI, when routing by content is on. */
    public readonly routingFilter?: OpenWebUIFunction;

    constructor(name: string, args: OpenWebUIArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aigateway:webui:OpenWebUI", name, {}, opts);
        const { host } = args;

        // Both open data that outlives the containers (dataDir): the admin account exists only with its first
        // password, and a new session key would log every user out. Protected, so `npm run destroy` (which
        // keeps data) keeps them too, and the next up finds its users as they were.
        const keptWithData = { parent: this, protect: true };
        const sessionKey = new random.RandomPassword(
            `${name}-secret-key`,
            { length: 64, special: false },
            keptWithData,
        );
        const adminPassword = new random.RandomPassword(`${name}-admin-password`, { length: 24 }, keptWithData);
        this.adminPassword = adminPassword.result;
        this.adminEmail = args.adminEmail;

        const envs: pulumi.Input<string>[] = [
            pulumi.interpolate`OPENAI_API_BASE_URL=${args.routerUrl}/v1`,
            pulumi.interpolate`OPENAI_API_KEY=${args.routerKey}`,
            pulumi.interpolate`WEBUI_SECRET_KEY=${sessionKey.result}`,
            pulumi.interpolate`WEBUI_ADMIN_PASSWORD=${adminPassword.result}`,
            ...args.settingsEnv,
        ];
        if (args.qdrant) {
            envs.push(
                "VECTOR_DB=qdrant",
                pulumi.interpolate`QDRANT_URI=${args.qdrant.url}`,
                pulumi.interpolate`QDRANT_API_KEY=${args.qdrant.apiKey}`,
            );
        }

        const uploads = Object.entries(args.files ?? {}).map(([file, content]) => ({
            file: `${ROUTING_FILTER_DIR}/${file}`,
            content,
        }));
        const service = new ServiceContainer(
            name,
            {
                containerName: CONTAINER_NAMES.openWebUI,
                service: "Open WebUI",
                host,
                port: {
                    internal: OPEN_WEBUI_CONTAINER_PORT,
                    external: args.port,
                    configKey: "ai-gateway:openWebUI.port",
                },
                imageId: args.imageId,
                networks: args.networks,
                stateId: args.stateId,
                door: args.door,
                envs,
                volumes: [{ hostPath: dataDirs.openWebUI(host), containerPath: OPEN_WEBUI_DATA_PATH }],
                uploads: uploads.length > 0 ? uploads : undefined,
                healthcheck: containerHealthchecks.openWebUI,
                probe: { path: "/health", expectJsonField: "status" },
                waitFor: args.waitFor,
            },
            { parent: this },
        );
        this.url = service.url;
        this.container = service.container;
        if (args.routingFilter) {
            this.routingFilter = new OpenWebUIFunction(
                `${name}-routing-filter`,
                {
                    ...args.routingFilter,
                    url: this.url,
                    adminEmail: this.adminEmail,
                    adminPassword: this.adminPassword,
                    // A replaced container or another data folder may not hold the function: check it again then.
                    holder: pulumi.interpolate`${service.containerId} ${dataDirs.openWebUI(host)}`,
                },
                { parent: this, dependsOn: [service.healthy] },
            );
        }
        this.registerOutputs({ url: this.url, adminEmail: this.adminEmail, adminPassword: this.adminPassword });
    }
}
