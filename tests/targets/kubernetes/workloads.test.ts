import { validateStackConfig } from "../../../config/load";
import { describeServices } from "../../../model/services";
import { kubernetesVantage } from "../../../targets/kubernetes/names";
import {
    FILES_CHECKSUM,
    configMapData,
    deploymentSpec,
    filesChecksum,
    pullJobSpec,
    serviceObjectSpec,
    statefulSetSpec,
    workloadKind,
} from "../../../targets/kubernetes/workloads";

const stack = (extra: Record<string, unknown> = {}, keywords = ["python"]) =>
    validateStackConfig({
        target: "kubernetes",
        hosts: [
            {
                name: "cluster",
                ollama: [
                    { name: "ollama", port: 11500, models: ["llama3.2:3b", "registry.lan:5000/team/tiny:1"] },
                    { name: "cpu", port: 11434, gpu: "none", models: ["llama3.2:3b"] },
                ],
            },
        ],
        ollama: { insecureRegistries: ["registry.lan:5000"] },
        groups: { fast: ["llama3.2:3b"], tiny: ["registry.lan:5000/team/tiny:1"] },
        router: { replicas: 3 },
        qdrant: { enabled: true },
        routing: { default: "fast", routes: [{ name: "code", group: "tiny", keywords }] },
        kubernetes: {
            storageClass: "fast-ssd",
            resources: { router: { requests: { cpu: "500m" }, limits: { memory: "2Gi" } } },
            ...extra,
        },
    });
const settingsOf = (config: ReturnType<typeof stack>) => ({ kubernetes: config.kubernetes, stack: "prod" });
const servicesOf = (config: ReturnType<typeof stack>) => describeServices(config, () => kubernetesVantage);
const config = stack();
const settings = settingsOf(config);
const service = (name: string) => servicesOf(config).find((s) => s.name === name)!;
const podOf = (spec: { template: any }) => spec.template.spec;

describe("the workloads of the Kubernetes target", () => {
    it("keeps Ollama's models and Qdrant's data in claims of their own StatefulSet, of the configured class and size", () => {
        expect(servicesOf(config).map((s) => `${s.name} ${workloadKind(s)}`)).toEqual([
            "ollama StatefulSet",
            "cpu StatefulSet",
            "redis Deployment",
            "litellm Deployment",
            "qdrant StatefulSet",
            "open-webui Deployment",
        ]);
        const ollama = statefulSetSpec(service("ollama"), settings) as any;
        expect(ollama.volumeClaimTemplates).toEqual([
            {
                metadata: { name: "models", labels: expect.any(Object) },
                spec: {
                    accessModes: ["ReadWriteOnce"],
                    storageClassName: "fast-ssd",
                    resources: { requests: { storage: "100Gi" } },
                },
            },
        ]);
        expect(ollama.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: "Retain", whenScaled: "Retain" });
        expect(podOf(ollama).containers[0].volumeMounts).toEqual([{ name: "models", mountPath: "/root/.ollama" }]);
    });

    it("puts a GPU instance on GPU nodes with its GPU limit, and a CPU instance anywhere", () => {
        const gpu = podOf(statefulSetSpec(service("ollama"), settings) as any);
        expect(gpu.containers[0].resources).toEqual({ limits: { "nvidia.com/gpu": "1" } });
        expect(gpu).toMatchObject({
            runtimeClassName: "nvidia",
            nodeSelector: { "nvidia.com/gpu.present": "true" },
            tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
        });
        const cpu = podOf(statefulSetSpec(service("cpu"), settings) as any);
        expect(cpu.containers[0].resources).toEqual({});
        expect(cpu.runtimeClassName ?? cpu.nodeSelector ?? cpu.tolerations).toBeUndefined();
        const mig = stack({ gpuResource: "nvidia.com/mig-1g.10gb", runtimeClassName: "" });
        const migPod = podOf(statefulSetSpec(servicesOf(mig)[0], settingsOf(mig)) as any);
        expect(migPod.containers[0].resources).toEqual({ limits: { "nvidia.com/mig-1g.10gb": "1" } });
        expect(migPod.runtimeClassName).toBeUndefined();
    });

    it("runs the router's replicas with its keys from the Secret, its files from a ConfigMap, its resources, after Redis", () => {
        const router = deploymentSpec(service("litellm"), settings, [{ name: "redis", port: 6379 }]) as any;
        expect(router.replicas).toBe(3);
        const pod = podOf(router);
        const [container] = pod.containers;
        expect(container.args).toEqual(["--config", "/app/config.yaml", "--port", "4000"]);
        expect(container.env).toEqual([
            {
                name: "LITELLM_MASTER_KEY",
                valueFrom: { secretKeyRef: { name: "ai-gateway-secrets", key: "router-master-key" } },
            },
            { name: "LITELLM_LOCAL_MODEL_COST_MAP", value: "True" },
            { name: "LITELLM_LOCAL_BLOG_POSTS", value: "True" },
            {
                name: "REDIS_PASSWORD",
                valueFrom: { secretKeyRef: { name: "ai-gateway-secrets", key: "redis-password" } },
            },
        ]);
        expect(container.resources).toEqual({ requests: { cpu: "500m" }, limits: { memory: "2Gi" } });
        expect(container.volumeMounts).toEqual([
            { name: "files", mountPath: "/app/config.yaml", subPath: "config.yaml", readOnly: true },
            { name: "files", mountPath: "/app/routing_hook.py", subPath: "routing_hook.py", readOnly: true },
            { name: "files", mountPath: "/app/request_log.py", subPath: "request_log.py", readOnly: true },
        ]);
        expect(pod.volumes).toEqual([{ name: "files", configMap: { name: "litellm-files" } }]);
        expect(pod.initContainers).toEqual([
            {
                name: "wait-for-redis",
                image: "ghcr.io/berriai/litellm:1.87.0",
                command: [
                    "sh",
                    "-c",
                    `until python3 -c 'import socket; socket.create_connection(("redis", 6379), 2)' 2>/dev/null; do sleep 1; done`,
                ],
            },
        ]);
        expect(container.readinessProbe).toEqual({
            httpGet: { path: "/health/readiness", port: "api" },
            periodSeconds: 5,
            timeoutSeconds: 5,
        });
        expect(container.livenessProbe.exec.command[0]).toBe("python");
        expect(pod.automountServiceAccountToken).toBe(false);
        // The rendered config reaches each instance by its Service, on the port the stack gives it.
        expect(configMapData(service("litellm"))!["config.yaml"]).toContain("api_base: http://ollama:11500/v1");
        expect(configMapData(service("litellm"))!["config.yaml"]).toContain("redis_host: redis");
    });

    it("rolls a workload whose files change, and only then", () => {
        const annotation = (c: ReturnType<typeof stack>) =>
            (
                deploymentSpec(
                    servicesOf(c).find((s) => s.name === "litellm")!,
                    settingsOf(c),
                ) as any
            ).template.metadata.annotations[FILES_CHECKSUM];
        expect(annotation(stack())).toBe(filesChecksum(service("litellm")));
        expect(annotation(stack())).toBe(annotation(config));
        expect(annotation(stack({}, ["python", "rust"]))).not.toBe(annotation(config));
        expect((deploymentSpec(service("redis"), settings) as any).template.metadata.annotations).toBeUndefined();
    });

    it("keeps Open WebUI's data in its own claim, replaced by recreating the pod that holds it, after Qdrant", () => {
        const ui = deploymentSpec(service("open-webui"), settings, [{ name: "qdrant", port: 6333 }]) as any;
        expect(ui.strategy).toEqual({ type: "Recreate" });
        expect(podOf(ui).volumes).toEqual([
            { name: "files", configMap: { name: "open-webui-files" } },
            { name: "data", persistentVolumeClaim: { claimName: "open-webui-data" } },
        ]);
        expect(configMapData(service("open-webui"))).toEqual({
            "route_by_content.py": expect.stringContaining("class Filter"),
        });
        expect(podOf(ui).containers[0].env).toContainEqual({
            name: "OPENAI_API_BASE_URL",
            value: "http://litellm:4000/v1",
        });
        expect(podOf(ui).containers[0].env).toContainEqual({ name: "QDRANT_URI", value: "http://qdrant:6333" });
    });

    it("gives each service a Service on the port the stack gives it", () => {
        expect(serviceObjectSpec(service("ollama"))).toEqual({
            selector: { "app.kubernetes.io/part-of": "ai-gateway", "app.kubernetes.io/name": "ollama" },
            ports: [{ name: "api", port: 11500, targetPort: "api", protocol: "TCP" }],
        });
    });

    it("pulls an instance's models with Ollama's client through its Service once it answers, insecure where listed", () => {
        const job = pullJobSpec(service("ollama"), settings) as any;
        const [container] = job.template.spec.containers;
        expect(container.env).toEqual([{ name: "OLLAMA_HOST", value: "http://ollama:11500" }]);
        expect(container.command[2].split("\n")).toEqual([
            "until ollama list >/dev/null 2>&1; do sleep 2; done",
            "set -e",
            "ollama pull 'llama3.2:3b'",
            "ollama pull --insecure 'registry.lan:5000/team/tiny:1'",
        ]);
        expect(job.template.spec.restartPolicy).toBe("Never");
        expect(job.template.metadata.labels["app.kubernetes.io/component"]).toBe("model-pull");
    });
});
