/**
 * Claim 1 of the real-services suite: the real LiteLLM 1.87.0 proxy starts with every router config the
 * program renders for the example stacks (dev, cpu, cluster), through `npm run render -- --out` (its CLI,
 * run as is) and, for the cloud-fallback router those stacks would get with cloud enabled, through the renderer
 * itself; each lists exactly the expected groups. Only `toLoopback` changes the file. Port: LiteLLM 4062.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { OLLAMA_OPENAI_PATH, OLLAMA_PROVIDER, renderRouterConfig } from "../../model/litellm";
import { stackFileConfig } from "../support/stack";
import { AUTO_MODEL } from "../../routing/schema";
import { CLOUD_GROUP } from "../../config/serviceKeys";
import { StackConfig } from "../../config/stackKeys";
import { PROJECT_DIR } from "../../commands/stackFile";
import { LoopbackMapping, toLoopback } from "./support/loopback";
import { listedModels, loopback, startLiteLLM, stopPeers } from "./support/peers";
import { dockerVantage } from "../../targets/docker/doorPlan";

const MASTER_KEY = "sk-ai-gateway-peers-examples";
const PORT = 4062;
const TINY_MODELS = ["tiny-a", "tiny-b"];
/** The router only needs the addresses when a request comes; two loopback ports stand in for every instance. */
const OLLAMA_PORTS = [11460, 11461];

/** Every api_base and model tag of a rendered config, spread over the loopback ports and the tiny models. */
function exampleMapping(rendered: string): LoopbackMapping {
    const params = (parse(rendered).model_list as { litellm_params: Record<string, string> }[])
        .map((d) => d.litellm_params)
        .filter((p) => p.api_base);
    const spread = <T>(values: string[], over: T[]) =>
        Object.fromEntries([...new Set(values)].map((value, i) => [value, over[i % over.length]]));
    return {
        apiBases: spread(
            // toLoopback maps the Ollama base URL; deployments add the OpenAI-compatible path below it.
            params.map((p) => p.api_base.replace(OLLAMA_OPENAI_PATH, "")),
            OLLAMA_PORTS.map((port) => loopback(port)),
        ),
        models: spread(
            params.map((p) => p.model.replace(`${OLLAMA_PROVIDER}/`, "")),
            TINY_MODELS,
        ),
        cloudApiBase: `${loopback(4069)}/v1`,
    };
}

/** What `/v1/models` must list: the groups, `auto` when routing is on, `cloud` on the cloud router. */
function expectedModels(config: StackConfig, cloud: boolean): string[] {
    const names = Object.keys(config.groups);
    if (config.routing) names.push(AUTO_MODEL);
    if (cloud) names.push(CLOUD_GROUP);
    return names.sort();
}

let state: string;
beforeAll(() => (state = mkdtempSync(path.join(tmpdir(), "ai-gateway-examples-"))));
afterAll(() => rmSync(state, { recursive: true, force: true }));

describe.each(["dev", "cpu", "cluster"])("the %s example stack", (stack) => {
    const config = stackFileConfig(stack);
    /** What `npm run render -- --out` writes for the router: config.yaml and the routing hook, if any. */
    let routerFiles: Record<string, string>;
    beforeAll(() => {
        // The CLI in its own process: the program under Pulumi's mocks is evaluated once per process.
        const out = path.join(state, `${stack}-render`);
        execFileSync(
            path.join(PROJECT_DIR, "node_modules", ".bin", "ts-node"),
            ["--transpile-only", path.join(PROJECT_DIR, "commands", "render.ts"), ...["--stack", stack, "--out", out]],
            { cwd: PROJECT_DIR, stdio: "ignore" },
        );
        const dir = path.join(out, "litellm");
        routerFiles = Object.fromEntries(
            readdirSync(dir).map((name) => [name, readFileSync(path.join(dir, name), "utf8")]),
        );
    });

    /** Starts the router on `configText` beside the rendered hooks, checks what it lists, stops it. */
    async function startsAndLists(configText: string, cloud: boolean): Promise<void> {
        const dir = path.join(state, `${stack}-${cloud ? "cloud" : "local"}`);
        mkdirSync(dir);
        for (const [name, content] of Object.entries(routerFiles)) writeFileSync(path.join(dir, name), content);
        const peer = startLiteLLM(toLoopback(configText, exampleMapping(configText)), PORT, dir, {
            LITELLM_MASTER_KEY: MASTER_KEY,
            CLOUD_API_KEY: "sk-cloud-stand-in",
        });
        try {
            expect(await listedModels(peer.url, MASTER_KEY)).toEqual(expectedModels(config, cloud));
        } finally {
            stopPeers(peer);
        }
    }

    it("router on 4000: starts with what npm run render writes and lists exactly the groups", async () => {
        await startsAndLists(routerFiles["config.yaml"], false);
    });

    it("router on 4001 (with cloud enabled): starts and lists the groups and the cloud deployment", async () => {
        const withCloud = { ...config, cloud: { ...config.cloud, enabled: true } };
        await startsAndLists(renderRouterConfig(withCloud, "cloud", dockerVantage(withCloud)), true);
    });
});
