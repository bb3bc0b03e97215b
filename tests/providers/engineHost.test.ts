import { holdPort } from "../support/httpServer";
import { OllamaModel } from "../../providers/ollamaModel";
import { PortGuard } from "../../providers/portGuard";
import { DIFF_NONE, DIFF_SOME, EngineDynamicProviderHost } from "../support/engineHost";
import { asEngineSendsThem, recordRegistrations } from "../support/serializedProvider";
import { ollamaTarget, OllamaTarget } from "../support/targets";

/** One step further than serialized.test.ts: the engine's real host process, over gRPC. */

const registrations = recordRegistrations();
let target: OllamaTarget;
let host: EngineDynamicProviderHost;

beforeAll(async () => {
    [target, host] = await Promise.all([ollamaTarget(), EngineDynamicProviderHost.start()]);
});
afterAll(async () => {
    host.stop();
    await target.close();
});

it("PortGuard's check failure reaches the engine as a CheckFailure on `port`", async () => {
    const { port, close: release } = await holdPort();
    try {
        const guard = new PortGuard("webui-port", {
            bindAddress: "127.0.0.1",
            port,
            service: "webui",
            configKey: "ai-gateway:webui.port",
        });
        const { plain: news } = asEngineSendsThem((await registrations.registered(guard)).inputs);
        const urn = "urn:pulumi:test::ai-gateway::pulumi-nodejs:dynamic/aigateway:PortGuard::webui-port";

        const { failures } = await host.check(urn, {}, news);
        expect(failures).toEqual([
            {
                property: "port",
                reason: `PortGuard: port ${port} on 127.0.0.1, wanted by webui, is already in use. Change ai-gateway:webui.port or stop what listens there.`,
            },
        ]);
        // The same port already in state is the stack's own: no failure.
        expect((await host.check(urn, news, news)).failures).toEqual([]);
    } finally {
        await release();
    }
});

it("OllamaModel runs create, diff, read, delete and refresh-after-delete through the engine's host", async () => {
    const model = target.models[0];
    const resource = new OllamaModel("engine-model", {
        ollamaUrl: target.url,
        model,
        insecure: target.insecure,
        deleteOnDestroy: true,
    });
    const { plain: registered } = asEngineSendsThem((await registrations.registered(resource)).inputs);
    const urn = "urn:pulumi:test::ai-gateway::pulumi-nodejs:dynamic/aigateway:OllamaModel::engine-model";

    const { inputs, failures } = await host.check(urn, {}, registered);
    expect(failures).toEqual([]);
    const { id, properties } = await host.create(urn, inputs);
    expect(id).toBe(model);
    expect(properties).toMatchObject({
        model,
        digest: expect.stringMatching(/^[0-9a-f]{64}$/),
        __provider: registered.__provider,
    });
    expect(host.stdout).toContain(`OllamaModel ${model}: success\n`);

    expect(await host.diff(urn, id, properties, inputs)).toEqual({ changes: DIFF_NONE, replaces: [] });
    expect(await host.diff(urn, id, properties, { ...inputs, model: "other:tag" })).toEqual({
        changes: DIFF_SOME,
        replaces: ["model"],
    });
    expect((await host.read(urn, id, properties)).id).toBe(id);

    await host.delete(urn, id, properties);
    expect((await host.read(urn, id, properties)).id).toBe("");
});

it("a failed pull reaches the engine with the model, the attempts and the cause", async () => {
    const resource = new OllamaModel("missing-model", {
        ollamaUrl: target.url,
        model: target.missingModel,
        insecure: target.insecure,
    });
    const { plain: inputs } = asEngineSendsThem((await registrations.registered(resource)).inputs);
    const urn = "urn:pulumi:test::ai-gateway::pulumi-nodejs:dynamic/aigateway:OllamaModel::missing-model";
    await expect(host.create(urn, inputs)).rejects.toThrow(
        `OllamaModel: pull of ${target.missingModel} failed after 1 attempt:`,
    );
});
