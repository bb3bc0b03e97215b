import * as pulumi from "@pulumi/pulumi";

/** What a deployed stack gives its operator, whichever target deployed it: index.ts exports these. */
export interface GatewayOutputs {
    /** URL of every service: from the machine running `pulumi up` (Docker), in the cluster (Kubernetes). */
    readonly urls: Record<string, pulumi.Input<string>>;
    /** Master key of the local router; a secret. */
    readonly masterKey: pulumi.Output<string>;
    /** Master key of the cloud-fallback router, when deployed; a secret. */
    readonly cloudMasterKey?: pulumi.Output<string>;
    /** The model groups clients can ask the routers for. */
    readonly models: string[];
    /** The rendered LiteLLM config of each router, by its name. */
    readonly routerConfigs: Record<string, string>;
    /** Open WebUI's admin login, when deployed; the password is a secret. */
    readonly openWebUIAdmin?: { email: string; password: pulumi.Output<string> };
    /** Qdrant's API key, when deployed; a secret. */
    readonly qdrantApiKey?: pulumi.Output<string>;
    /** Remote access, when on (Docker): the URL other devices open, and the internal CA's certificate they install. */
    readonly remoteAccess?: { url: string; caCertificate?: pulumi.Output<string> };
}
