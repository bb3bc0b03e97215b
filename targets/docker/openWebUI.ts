import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { dataDirs } from "../../model/plan";
import { RoutingFilterInstall } from "../../routing/filter";
import { OpenWebUIFunction } from "../../providers/openWebUIFunction";
import { ServiceArgs, ServiceContainer } from "./serviceContainer";

export interface OpenWebUIArgs extends ServiceArgs {
    /** Email of the admin account created at first start. */
    adminEmail: string;
    /** The routing filter, installed into Open WebUI once it is healthy, signed in as the admin. */
    routingFilter?: RoutingFilterInstall;
}

/**
 * Open WebUI with its generated secrets: the session key and the first admin account's password, both kept
 * with its data, and the routing filter installed through its API.
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
        const { spec } = args;

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

        const service = new ServiceContainer(
            name,
            {
                ...args,
                containerName: spec.name,
                port: spec.port.service,
                secrets: {
                    ...args.secrets,
                    openWebUISessionKey: sessionKey.result,
                    openWebUIAdminPassword: adminPassword.result,
                },
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
                    holder: pulumi.interpolate`${service.containerId} ${dataDirs.openWebUI(args.host)}`,
                },
                { parent: this, dependsOn: [service.healthy] },
            );
        }
        this.registerOutputs({ url: this.url, adminEmail: this.adminEmail, adminPassword: this.adminPassword });
    }
}
