import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { containerHealthchecks, gpuDeviceRequests, ollamaEnv, pullsOverHttp } from "./containers";
import { gpuCheckCommand } from "./gpu";
import { OLLAMA_CONTAINER_PORT } from "../../model/litellm";
import { modelPullName, ollamaModelsDir } from "../../model/plan";
import { HostConfig, OllamaTuning } from "../../config/stackKeys";
import { OllamaModel } from "../../providers/ollamaModel";
import { ServiceContainer } from "./serviceContainer";

export interface OllamaServiceArgs {
    /** The host and its Ollama instances. */
    host: HostConfig;
    /** Index of the host in `ai-gateway:hosts`, to name the config key in port errors. */
    hostIndex: number;
    /** Tuning applied to every instance. */
    tuning: OllamaTuning;
    /** Image id of the pinned Ollama image on this host. */
    imageId: pulumi.Input<string>;
    /** The host's Docker networks: the one with a route out (pulls) first, then the internal one, where there is one. */
    networks: pulumi.Input<string>[];
    /** The id of the stack's state, for the state label of its containers (targets/docker/containers.ts). */
    stateId: pulumi.Input<string>;
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
 * directory, checked healthy (`/api/version`) before its models are pulled. An instance that asks for a
 * GPU must also have found one at start (its log's compute devices), or `up` fails rather than pull
 * models onto a server that would answer slowly on CPU.
 */
export class OllamaService extends pulumi.ComponentResource {
    public readonly instances: OllamaInstance[];

    constructor(name: string, args: OllamaServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aigateway:ollama:OllamaService", name, {}, opts);
        const { host, hostIndex } = args;

        this.instances = host.ollama.map((instance, i) => {
            const modelsDir = ollamaModelsDir(host, instance);
            const service = new ServiceContainer(
                instance.name,
                {
                    containerName: instance.name,
                    service: `Ollama instance ${instance.name}`,
                    host,
                    port: {
                        internal: OLLAMA_CONTAINER_PORT,
                        external: instance.port,
                        configKey: `ai-gateway:hosts[${hostIndex}].ollama[${i}].port`,
                    },
                    imageId: args.imageId,
                    networks: args.networks,
                    stateId: args.stateId,
                    envs: ollamaEnv(args.tuning),
                    volumes: [{ hostPath: modelsDir, containerPath: "/root/.ollama" }],
                    deviceRequests: gpuDeviceRequests(instance.gpu),
                    healthcheck: containerHealthchecks.ollama,
                    probe: { path: "/api/version", expectJsonField: "version" },
                },
                { parent: this },
            );
            const ready: pulumi.Resource[] = [service.healthy];
            if (instance.gpu !== "none")
                ready.push(
                    new command.local.Command(
                        `${instance.name}-gpu-in-use`,
                        {
                            ...gpuCheckCommand({
                                check: "ollama",
                                host: { name: host.name, docker: host.docker },
                                instance: instance.name,
                            }),
                            // A new container discovers its devices again.
                            triggers: [service.containerId],
                        },
                        { parent: this, dependsOn: [service.healthy] },
                    ),
                );
            // A replaced container or another models folder may hold none of the models: pull them again then.
            const holder = pulumi.interpolate`${service.containerId}:${modelsDir}`;
            const models = instance.models.map(
                (model) =>
                    new OllamaModel(
                        modelPullName(instance, model),
                        {
                            ollamaUrl: service.url,
                            model,
                            holder,
                            insecure: pullsOverHttp(model, args.tuning.insecureRegistries),
                        },
                        { parent: this, dependsOn: ready },
                    ),
            );
            return { name: instance.name, url: service.url, models };
        });

        this.registerOutputs({ instances: this.instances.map(({ name, url }) => ({ name, url })) });
    }
}
