import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { gpuCheckCommand } from "./gpu";
import { modelPullName } from "../../model/plan";
import { ServiceSpec } from "../../model/services";
import { HostConfig } from "../../config/stackKeys";
import { OllamaModel } from "../../providers/ollamaModel";
import { ServiceContainer } from "./serviceContainer";

export interface OllamaServiceArgs {
    /** The host that runs them. */
    host: HostConfig;
    /** Its Ollama instances, as every target describes them (model/services.ts). */
    specs: ServiceSpec[];
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
        const { host } = args;

        this.instances = args.specs.map((spec) => {
            const service = new ServiceContainer(
                spec.name,
                {
                    spec,
                    containerName: spec.name,
                    port: spec.port.service,
                    host,
                    secrets: {},
                    imageId: args.imageId,
                    networks: args.networks,
                    stateId: args.stateId,
                },
                { parent: this },
            );
            const ready: pulumi.Resource[] = [service.healthy];
            if (spec.gpu !== "none")
                ready.push(
                    new command.local.Command(
                        `${spec.name}-gpu-in-use`,
                        {
                            ...gpuCheckCommand({
                                check: "ollama",
                                host: { name: host.name, docker: host.docker },
                                instance: spec.name,
                            }),
                            // A new container discovers its devices again.
                            triggers: [service.containerId],
                        },
                        { parent: this, dependsOn: [service.healthy] },
                    ),
                );
            // A replaced container or another models folder may hold none of the models: pull them again then.
            const modelsDir = spec.volumes.find((volume) => volume.name === "models")!.hostPath;
            const holder = pulumi.interpolate`${service.containerId}:${modelsDir}`;
            const models = spec.pulls.map(
                ({ model, insecure }) =>
                    new OllamaModel(
                        modelPullName(spec.name, model),
                        { ollamaUrl: service.url, model, holder, insecure },
                        { parent: this, dependsOn: ready },
                    ),
            );
            return { name: spec.name, url: service.url, models };
        });

        this.registerOutputs({ instances: this.instances.map(({ name, url }) => ({ name, url })) });
    }
}
