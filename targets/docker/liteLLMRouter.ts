import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { containerHealthchecks } from "./containers";
import {
    CLOUD_API_KEY_ENV,
    LITELLM_CONFIG_DIR,
    LITELLM_CONFIG_PATH,
    LITELLM_CONTAINER_PORT,
    MASTER_KEY_ENV,
    REDIS_PASSWORD_ENV,
} from "../../model/litellm";
import { HostConfig } from "../../config/stackKeys";
import { HealthCheck } from "../../providers/healthCheck";
import { ServiceContainer } from "./serviceContainer";

export interface LiteLLMRouterArgs {
    /** Container name: `litellm` for the local router, `litellm-cloud` for the cloud-fallback one. */
    containerName: string;
    /** The host that runs it. */
    host: HostConfig;
    /** Published port. */
    port: number;
    /** Config key of that port, named when the port is taken. */
    portConfigKey: string;
    /** Files shipped into the router's directory, by name: the rendered `config.yaml` (it holds no key: keys come from the environment) and any hook it loads. */
    files: Record<string, string>;
    /** Image id of the pinned LiteLLM image on this host. */
    imageId: pulumi.Input<string>;
    /** The host's Docker networks it joins; it is created on the first. */
    networks: pulumi.Input<string>[];
    /** The id of the stack's state, for the state label of its containers (targets/docker/containers.ts). */
    stateId: pulumi.Input<string>;
    /** The host's door container, when the door publishes its port (see ServiceContainerArgs.door). */
    door?: pulumi.Resource;
    /** The `sk-...` key clients must send; replicas of one router share it. */
    masterKey: pulumi.Input<string>;
    /** The cloud provider's key; only the cloud-fallback router gets one. */
    cloudApiKey?: pulumi.Input<string>;
    /** Password of the Redis the replicas share state through, when there are replicas. */
    redisPassword?: pulumi.Input<string>;
    /** Resources that must be ready before the container starts (e.g. Redis for the router replicas). */
    waitFor?: pulumi.Resource[];
}

/** A generated router master key, a secret. LiteLLM refuses master keys that do not start with "sk-". */
export function newMasterKey(name: string, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
    const keyBody = new random.RandomPassword(name, { length: 48, special: false }, opts);
    return pulumi.secret(pulumi.interpolate`sk-${keyBody.result}`);
}

/**
 * A LiteLLM proxy serving the rendered config behind its master key, checked ready with
 * `/health/readiness` (never `/health`, which sends a request to every model).
 */
export class LiteLLMRouter extends pulumi.ComponentResource {
    /** URL of the router from the machine running `pulumi up`. */
    public readonly url: string;
    /** URL of the router's OpenAI-compatible API for containers on the same host. */
    public readonly internalUrl: string;
    /** The container (the host's door waits for it). */
    public readonly container: docker.Container;
    /** Passes once the router answers; later services depend on it. */
    public readonly healthy: HealthCheck;

    constructor(name: string, args: LiteLLMRouterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aigateway:router:LiteLLMRouter", name, {}, opts);
        const { host, containerName } = args;

        const envs: pulumi.Input<string>[] = [
            pulumi.interpolate`${MASTER_KEY_ENV}=${args.masterKey}`,
            // Use the cost map shipped in the image instead of fetching it from the internet at start, and the
            // blog feed shipped with it for /public/litellm_blog_posts, a route that needs no key and that the
            // allowlist cannot close (LiteLLM 1.87.0 fetches it from docs.litellm.ai otherwise).
            "LITELLM_LOCAL_MODEL_COST_MAP=True",
            "LITELLM_LOCAL_BLOG_POSTS=True",
        ];
        if (args.cloudApiKey !== undefined)
            envs.push(pulumi.interpolate`${CLOUD_API_KEY_ENV}=${pulumi.secret(args.cloudApiKey)}`);
        if (args.redisPassword !== undefined)
            envs.push(pulumi.interpolate`${REDIS_PASSWORD_ENV}=${args.redisPassword}`);

        const service = new ServiceContainer(
            name,
            {
                containerName,
                service: `router ${containerName}`,
                host,
                port: { internal: LITELLM_CONTAINER_PORT, external: args.port, configKey: args.portConfigKey },
                imageId: args.imageId,
                networks: args.networks,
                stateId: args.stateId,
                door: args.door,
                command: ["--config", LITELLM_CONFIG_PATH, "--port", String(LITELLM_CONTAINER_PORT)],
                envs,
                uploads: Object.entries(args.files).map(([file, content]) => ({
                    file: `${LITELLM_CONFIG_DIR}/${file}`,
                    content,
                })),
                healthcheck: containerHealthchecks.litellm,
                probe: { path: "/health/readiness" },
                waitFor: args.waitFor,
            },
            { parent: this },
        );
        this.url = service.url;
        this.container = service.container;
        this.internalUrl = `http://${containerName}:${LITELLM_CONTAINER_PORT}`;
        this.healthy = service.healthy;
        this.registerOutputs({ url: this.url });
    }
}
