/**
 * The Pulumi program: validates the stack config once, before any resource is declared, then creates
 * the stack. This is the only file that reads the Pulumi config.
 */
import * as pulumi from "@pulumi/pulumi";
import { DockerGateway } from "./targets/docker/dockerGateway";
import { GatewayOutputs } from "./targets/gateway";
import { KubernetesGateway } from "./targets/kubernetes/kubernetesGateway";
import { ConfigError, loadStackConfig } from "./config/load";
import { PROJECT } from "./config/primitives";

/**
 * Whether the engine holds a key encrypted (`pulumi config set --secret`). The SDK exports it at runtime but
 * marks it internal in its types; it reads what the engine passes in PULUMI_CONFIG_SECRET_KEYS.
 */
const isConfigSecret = (pulumi.runtime as unknown as { isConfigSecret(key: string): boolean }).isConfigSecret;

function validatedConfig() {
    try {
        const flat = pulumi.runtime.allConfig();
        return loadStackConfig(
            flat,
            Object.keys(flat).filter((key) => isConfigSecret(key)),
        );
    } catch (err) {
        // RunError prints its message without a stack trace: a config mistake is not a crash.
        if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
        throw err;
    }
}

const config = validatedConfig();
const gatewayArgs = {
    config,
    cloudApiKey: config.cloud.enabled ? new pulumi.Config().requireSecret("cloudApiKey") : undefined,
};
const gateway: GatewayOutputs =
    config.target === "kubernetes"
        ? new KubernetesGateway(PROJECT, gatewayArgs)
        : new DockerGateway(PROJECT, gatewayArgs);

/** URL of every service: from the machine that ran `pulumi up` (Docker), inside the cluster (Kubernetes). */
export const urls = gateway.urls;
/** Key of the local router (`Authorization: Bearer <key>`): `npm run outputs -- --stack <name> masterKey --show-secrets`. */
export const masterKey = gateway.masterKey;
/** Key of the cloud-fallback router, when deployed. */
export const cloudMasterKey = gateway.cloudMasterKey;
/** Model groups the routers serve. */
export const models = gateway.models;
/** The rendered LiteLLM configs, by container name. */
export const routerConfigs = gateway.routerConfigs;
/** Open WebUI admin login. */
export const openWebUIAdminEmail = gateway.openWebUIAdmin?.email;
export const openWebUIAdminPassword = gateway.openWebUIAdmin?.password;
/** Qdrant API key (clients send it as the `api-key` header). */
export const qdrantApiKey = gateway.qdrantApiKey;
/** What other devices open, with remote access on. */
export const remoteAccessUrl = gateway.remoteAccess?.url;
/** The internal CA's certificate, which devices install to trust it: `npm run ca -- --stack <name>` prints it. */
export const remoteAccessCaCertificate = gateway.remoteAccess?.caCertificate;
