import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
    commonContainerArgs,
    containerHealthchecks,
    gpuDeviceRequests,
    ollamaEnv,
    ollamaModelsDir,
    publish,
    serviceUrl,
} from "../config/containers";
import { OLLAMA_CONTAINER_PORT } from "../config/litellm";
import { HostConfig, OllamaTuning } from "../config/schema";
import { HealthCheck } from "../providers/healthCheck";
import { OllamaModel } from "../providers/ollamaModel";
import { PortGuard } from "../providers/portGuard";

export interface OllamaServiceArgs {
    /** The host and its Ollama instances. */
    host: HostConfig;
    /** Index of the host in `ai-gateway:hosts`, to name the config key in port errors. */
    hostIndex: number;
    /** Tuning applied to every instance. */
    tuning: OllamaTuning;
    /** Image id of the pinned Ollama image on this host. */
    imageId: pulumi.Input<string>;
    /** The host's Docker network. */
    networkName: pulumi.Input<string>;
}

/** One running instance, as the rest of the stack sees it. */
export interface OllamaInstance {
    /** Container name, which is also its name on the Docker network. */
    name: string;
    /** URL used from the machine running `pulumi up` (health checks, pulls). */
    url: string;
    /** The instance's models, pulled: ready to serve once these exist. */
    models: OllamaModel[];
}

/**
 * The Ollama instances of one host: a container each, with its own GPU request, port and models
 * directory, checked healthy (`/api/version`) before its models are pulled.
 */
export class OllamaService extends pulumi.ComponentResource {
    public readonly instances: OllamaInstance[];

    constructor(name: string, args: OllamaServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aigateway:ollama:OllamaService", name, {}, opts);
        const { host, hostIndex, tuning } = args;

        this.instances = host.ollama.map((instance, i) => {
            const guard = new PortGuard(
                `${instance.name}-port`,
                {
                    bindAddress: host.bindAddress,
                    port: instance.port,
                    service: `Ollama instance ${instance.name}`,
                    configKey: `ai-gateway:hosts[${hostIndex}].ollama[${i}].port`,
                },
                { parent: this },
            );
            const container = new docker.Container(
                instance.name,
                {
                    ...commonContainerArgs(instance.name, args.networkName),
                    image: args.imageId,
                    envs: ollamaEnv(tuning),
                    ports: [publish(host, OLLAMA_CONTAINER_PORT, instance.port)],
                    volumes: [{ hostPath: ollamaModelsDir(host, instance), containerPath: "/root/.ollama" }],
                    deviceRequests: gpuDeviceRequests(instance.gpu),
                    healthcheck: containerHealthchecks.ollama,
                },
                { parent: this, deleteBeforeReplace: true, dependsOn: [guard] },
            );
            const url = serviceUrl(host, instance.port);
            const healthy = new HealthCheck(
                `${instance.name}-healthy`,
                {
                    url: `${url}/api/version`,
                    expectJsonField: "version",
                    triggers: [container.id],
                    containerName: instance.name,
                },
                { parent: this },
            );
            const models = instance.models.map(
                (model) =>
                    new OllamaModel(
                        `${instance.name}-${model}`,
                        { ollamaUrl: url, model },
                        { parent: this, dependsOn: [healthy] },
                    ),
            );
            return { name: instance.name, url, models };
        });

        this.registerOutputs({ instances: this.instances.map(({ name, url }) => ({ name, url })) });
    }
}
