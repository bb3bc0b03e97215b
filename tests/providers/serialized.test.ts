import * as pulumi from "@pulumi/pulumi";
import * as net from "node:net";
import { HealthCheck } from "../../providers/healthCheck";
import { OllamaModel } from "../../providers/ollamaModel";
import { PortGuard } from "../../providers/portGuard";
import { freePort, holdPort } from "../support/httpServer";
import { asEngineSendsThem, recordRegistrations, SerializedProvider, valueOf } from "../support/serializedProvider";
import { ollamaTarget, OllamaTarget } from "../support/targets";

/**
 * The engine never calls the provider objects these files define: it runs the text that Pulumi serialized
 * from them, in another process. These tests capture that text under mocks and run it the same way.
 */

const computedOutputs: Record<string, Record<string, unknown>> = {
    "pulumi-nodejs:dynamic/aigateway:HealthCheck": { secondsToHealthy: 1.5, lastStatus: 200, reported: "0.12.3" },
    "pulumi-nodejs:dynamic/aigateway:OllamaModel": {
        digest: "abc",
        size: 42,
        family: "qwen2",
        parameterSize: "7.6B",
        quantization: "Q4_K_M",
    },
};
const registrations = recordRegistrations((type) => computedOutputs[type] ?? {});

let target: OllamaTarget;
const running: SerializedProvider[] = [];
beforeAll(async () => {
    target = await ollamaTarget();
});
afterAll(() => target.close());
afterEach(() => running.splice(0).forEach((provider) => provider.stop()));

/** Registers the resource under mocks and starts its serialized provider in a fresh process. */
async function serializedProviderOf(resource: pulumi.CustomResource) {
    const { type, inputs } = await registrations.registered(resource);
    const { __provider: providerText, ...registeredInputs } = inputs;
    expect(typeof providerText).toBe("string");
    const provider = await SerializedProvider.load(providerText);
    running.push(provider);
    const { plain, secretKeys } = asEngineSendsThem(registeredInputs);
    return { type, inputs: plain, secretKeys, provider };
}

describe("HealthCheck, serialized", () => {
    it("registers its outputs and runs check, create, diff and a clear timeout from its serialized form", async () => {
        const healthCheck = new HealthCheck("ollama-ready", {
            url: `${target.url}/api/version`,
            expectJsonField: "version",
            intervalSeconds: 0.1,
            timeoutSeconds: 5,
            headers: { authorization: pulumi.secret("Bearer sk-test") },
            triggers: ["container-1"],
            containerName: "ollama",
        });
        expect(await valueOf(healthCheck.secondsToHealthy)).toBe(1.5);
        expect(await valueOf(healthCheck.reported)).toBe("0.12.3");

        const { type, inputs, secretKeys, provider } = await serializedProviderOf(healthCheck);
        expect(type).toBe("pulumi-nodejs:dynamic/aigateway:HealthCheck");
        expect(secretKeys).toEqual(["headers"]);
        expect(inputs.headers).toEqual({ authorization: "Bearer sk-test" });
        expect(await provider.call("check", {}, inputs)).toEqual({ inputs, failures: [] });
        const { id, outs } = await provider.call("create", inputs);
        expect(outs.reported).toMatch(/^\d+\.\d+\.\d+/);
        expect(await provider.call("diff", id, outs, { ...inputs, triggers: ["container-2"] })).toEqual({
            changes: true,
        });

        const deadPort = await freePort();
        await expect(
            provider.call("create", {
                ...inputs,
                url: `http://127.0.0.1:${deadPort}/api/version`,
                timeoutSeconds: 0.2,
            }),
        ).rejects.toThrow(
            /not healthy after \d+\.\ds \(last: connect ECONNREFUSED 127\.0\.0\.1:\d+\)\. Next: docker logs ollama$/,
        );
    });
});

describe("OllamaModel, serialized", () => {
    it("runs check, create (printing progress), diff, read and delete from its serialized form", async () => {
        const model = target.models[0];
        const ollamaModel = new OllamaModel("chat-model", {
            ollamaUrl: target.url,
            model,
            insecure: target.insecure,
            deleteOnDestroy: true,
        });
        expect(await valueOf(ollamaModel.parameterSize)).toBe("7.6B");

        const { type, inputs, provider } = await serializedProviderOf(ollamaModel);
        expect(type).toBe("pulumi-nodejs:dynamic/aigateway:OllamaModel");
        expect((await provider.call("check", {}, inputs)).failures).toEqual([]);
        const { id, outs } = await provider.call("create", inputs);
        expect(outs.digest).toMatch(/^[0-9a-f]{64}$/);
        expect(provider.stdout).toContain(`OllamaModel ${model}: pulling manifest\n`);
        expect(provider.stdout).toContain(`OllamaModel ${model}: success\n`);

        expect(await provider.call("diff", id, outs, { ...inputs, model: "other:tag" })).toMatchObject({
            replaces: ["model"],
        });
        expect(await provider.call("read", id, outs)).toEqual({ id, props: outs });
        await provider.call("delete", id, outs);
        expect(await provider.call("read", id, outs)).toEqual({ id: "" });

        // A server that does not answer: refresh keeps the model, unverified, and destroy goes on.
        const gone = { ...outs, ollamaUrl: `http://127.0.0.1:${await freePort()}` };
        expect(await provider.call("read", id, gone)).toEqual({ id, props: { ...gone, unverified: true } });
        await provider.call("delete", id, gone);
        expect(provider.stdout).toContain(`OllamaModel ${model}: not deleted: ${gone.ollamaUrl} did not answer`);
    });
});

describe("PortGuard, serialized", () => {
    it("fails check for a taken port and creates for a free one from its serialized form", async () => {
        const { port: takenPort, close: release } = await holdPort();
        try {
            const guard = new PortGuard("router-port", {
                bindAddress: "0.0.0.0",
                port: takenPort,
                service: "router",
                configKey: "ai-gateway:router.port",
            });
            const { type, inputs, provider } = await serializedProviderOf(guard);
            expect(type).toBe("pulumi-nodejs:dynamic/aigateway:PortGuard");

            const { failures } = await provider.call("check", {}, inputs);
            expect(failures).toEqual([
                { property: "port", reason: expect.stringContaining(`port ${takenPort} on 0.0.0.0, wanted by router`) },
            ]);
            const freeInputs = { ...inputs, port: await freePort() };
            expect((await provider.call("check", {}, freeInputs)).failures).toBeUndefined();
            expect((await provider.call("create", freeInputs)).id).toBe(`0.0.0.0:${freeInputs.port}`);
        } finally {
            await release();
        }
    });
});

describe("the serialized-form harness", () => {
    it("fails a provider that captured a live object, which direct calls never notice", async () => {
        const liveServer = net.createServer();
        const capturesLiveServer: pulumi.dynamic.ResourceProvider = {
            async create() {
                liveServer.getConnections(() => undefined);
                return { id: "captured", outs: {} };
            },
        };
        await expect(capturesLiveServer.create({})).resolves.toEqual({ id: "captured", outs: {} });

        class CapturesLiveServer extends pulumi.dynamic.Resource {
            constructor(name: string) {
                super(capturesLiveServer, name, {});
            }
        }
        const resource = new CapturesLiveServer("captures-live-server");
        const { provider } = await serializedProviderOf(resource);
        await expect(provider.call("create", {})).rejects.toThrow(/is not a function/);
    });
});
