import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { PROJECT } from "../../config/primitives";
import { StackConfig } from "../../config/stackKeys";
import { SecretName, ServiceRole, describeServices, routerConfigFile } from "../../model/services";
import { ClusterAccess, KubernetesPreflight } from "../../providers/kubernetesChecks";
import { GatewayOutputs } from "../gateway";
import { newMasterKey } from "../secrets";
import { ingressAnnotations, ingressSpec } from "./ingress";
import { PART_OF, SECRET_OBJECT, STACK, kubernetesVantage, secretKey } from "./names";
import { networkPolicies } from "./networkPolicies";
import { ServiceWorkload } from "./serviceWorkload";
import { kubeconfigPath, preflightArgs } from "./preflight";

export interface KubernetesGatewayArgs {
    /** The validated stack config, with `target: kubernetes`. */
    config: StackConfig;
    /** The cloud provider's key (a secret); required when cloud fallback is enabled. */
    cloudApiKey?: pulumi.Input<string>;
}

/** The `urls` output's key of each service clients use, as on Docker. */
const URL_KEYS: Partial<Record<ServiceRole, string>> = {
    router: "router",
    cloudRouter: "cloudRouter",
    qdrant: "qdrant",
    openWebUI: "openWebUI",
};

/** The pod's and the Ingress's allowance beyond the router's own timeout, so the router's answer gets through. */
const TIMEOUT_MARGIN_SECONDS = 60;

/**
 * The whole stack on a Kubernetes cluster, from the same descriptions as the Docker target (model/services.ts):
 * a check of the cluster before anything is created, the namespace, one Secret with the stack's keys, each
 * service's workload and Service, the NetworkPolicies that say who may talk to whom, and an Ingress when asked.
 * Kubernetes does what the Docker target does itself: the scheduler places the pods (GPU instances on GPU
 * nodes), the Services find them, the NetworkPolicies are the network wall.
 */
export class KubernetesGateway extends pulumi.ComponentResource implements GatewayOutputs {
    public readonly urls: Record<string, string>;
    public readonly masterKey: pulumi.Output<string>;
    public readonly cloudMasterKey?: pulumi.Output<string>;
    public readonly models: string[];
    public readonly routerConfigs: Record<string, string>;
    public readonly openWebUIAdmin?: { email: string; password: pulumi.Output<string> };
    public readonly qdrantApiKey?: pulumi.Output<string>;

    constructor(name: string, args: KubernetesGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aigateway:kubernetes:KubernetesGateway", name, {}, opts);
        const { config } = args;
        const kubernetes = config.kubernetes;
        const stack = pulumi.getStack();
        const settings = { kubernetes, stack };
        const kubeconfig = kubeconfigPath(config);
        const access: ClusterAccess = { kubeconfig, context: kubernetes.context };
        const services = describeServices(config, () => kubernetesVantage);

        const preflight = new KubernetesPreflight("cluster-preflight", preflightArgs(config, stack), { parent: this });
        const provider = new k8s.Provider("cluster", { kubeconfig, context: kubernetes.context }, { parent: this });
        const onCluster = { parent: this, provider };
        const keptWithData = { ...onCluster, retainOnDelete: kubernetes.keepDataOnDestroy };
        const stackLabels = { [PART_OF]: PROJECT, [STACK]: stack };
        const namespace = new k8s.core.v1.Namespace(
            "namespace",
            { metadata: { name: kubernetes.namespace, labels: stackLabels } },
            { ...keptWithData, dependsOn: [preflight] },
        ).metadata.name;

        // The same generated keys as on Docker. Open WebUI's two open data that outlives the stack (its admin account,
        // its users' sessions): they are protected, so a destroy keeps them as it keeps the data.
        const password = (resource: string, length: number, kept = false) =>
            new random.RandomPassword(resource, { length, special: false }, { parent: this, protect: kept }).result;
        this.masterKey = newMasterKey("router-master-key", { parent: this });
        const secrets: Partial<Record<SecretName, pulumi.Input<string>>> = {
            routerMasterKey: this.masterKey,
            cloudApiKey: args.cloudApiKey,
        };
        const used = new Set(services.flatMap((s) => s.env.flatMap((v) => ("secret" in v ? [v.secret] : []))));
        if (used.has("cloudMasterKey"))
            secrets.cloudMasterKey = this.cloudMasterKey = newMasterKey("cloud-router-master-key", { parent: this });
        if (used.has("redisPassword")) secrets.redisPassword = password("redis-password", 48);
        if (used.has("qdrantApiKey")) secrets.qdrantApiKey = this.qdrantApiKey = password("qdrant-api-key", 48);
        if (used.has("openWebUISessionKey")) {
            secrets.openWebUISessionKey = password("open-webui-secret-key", 64, true);
            secrets.openWebUIAdminPassword = password("open-webui-admin-password", 24, true);
            this.openWebUIAdmin = {
                email: config.openWebUI.adminEmail,
                password: pulumi.secret(secrets.openWebUIAdminPassword),
            };
        }
        const secretObject = new k8s.core.v1.Secret(
            "secrets",
            {
                metadata: { name: SECRET_OBJECT, namespace, labels: stackLabels },
                type: "Opaque",
                stringData: Object.fromEntries(
                    [...used].map((secret) => [secretKey(secret), pulumi.secret(secrets[secret]!)]),
                ),
            },
            onCluster,
        );

        for (const spec of services)
            new ServiceWorkload(
                spec.name,
                {
                    spec,
                    settings,
                    namespace,
                    access,
                    keepData: kubernetes.keepDataOnDestroy,
                    dependsOn: [secretObject],
                    startsAfter: spec.startsAfter.map((other) => {
                        const service = services.find((s) => s.name === other)!;
                        return { name: service.name, port: service.port.service };
                    }),
                },
                { parent: this, providers: { kubernetes: provider } },
            );
        for (const policy of networkPolicies(services, stack))
            new k8s.networking.v1.NetworkPolicy(
                `policy-${policy.name}`,
                { metadata: { name: policy.name, namespace, labels: stackLabels }, spec: policy.spec },
                onCluster,
            );

        // Under the keys the Docker target gives them, for the services clients use.
        this.urls = Object.fromEntries(
            services
                .filter((s) => URL_KEYS[s.role] !== undefined)
                .map((s) => [URL_KEYS[s.role], `http://${s.name}.${kubernetes.namespace}.svc:${s.port.service}`]),
        );
        if (kubernetes.ingress) {
            new k8s.networking.v1.Ingress(
                "ingress",
                {
                    metadata: {
                        name: PROJECT,
                        namespace,
                        labels: stackLabels,
                        annotations: {
                            ...ingressAnnotations(config.router.timeoutSeconds + TIMEOUT_MARGIN_SECONDS),
                            "pulumi.com/skipAwait": "true",
                        },
                    },
                    spec: ingressSpec(kubernetes.ingress, services),
                },
                onCluster,
            );
            this.urls.ingress = `${kubernetes.ingress.tlsSecret ? "https" : "http"}://${kubernetes.ingress.host}/`;
        }
        this.models = Object.keys(config.groups);
        this.routerConfigs = Object.fromEntries(
            services
                .filter((s) => s.role === "router" || s.role === "cloudRouter")
                .map((s) => [s.name, routerConfigFile(s)]),
        );
        this.registerOutputs({ urls: this.urls, models: this.models, routerConfigs: this.routerConfigs });
    }
}
