/**
 * Claim 6 of the real-services suite: the provider suites of `npm test` (tests/providers), run unchanged
 * against real targets through their environment variables (tests/support/targets.ts): HealthCheck on a real
 * Ollama and a real LiteLLM proxy; OllamaModel pulling tiny models from a local docker-registry (insecure),
 * `read` after a deletion, `deleteOnDestroy`, and the message of a missing tag. Ports: Ollama 11462 (pushes
 * to the registry) and 11463 (pulls from it), registry 5060 (blobs on 127.0.0.2:5060), LiteLLM 4063.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import {
    loadTinyModel,
    loopback,
    Peer,
    pushModel,
    startLiteLLM,
    startOllama,
    startRegistry,
    stopPeers,
} from "./support/peers";

const PORTS = { source: 11462, target: 11463, registry: 5060, router: 4063 };
const MODELS = ["tiny-a", "tiny-b"].map((m) => `127.0.0.1:${PORTS.registry}/aigw/${m}:latest`);
const ROUTER_CONFIG = `model_list:
  - model_name: fast
    litellm_params: { model: hosted_vllm/tiny-a, api_base: ${loopback(PORTS.target)}/v1 }
general_settings: { master_key: os.environ/LITELLM_MASTER_KEY }
`;

// Read by the provider suites when they load, so set before they are required below.
Object.assign(process.env, {
    AIGW_TEST_OLLAMA_URL: loopback(PORTS.target),
    AIGW_TEST_OLLAMA_MODELS: MODELS.join(","),
    AIGW_TEST_OLLAMA_INSECURE: "true",
    AIGW_TEST_LITELLM_URL: loopback(PORTS.router),
});

let state: string;
const peers: Peer[] = [];

beforeAll(() => {
    state = mkdtempSync(path.join(tmpdir(), "ai-gateway-providers-"));
    const source = startOllama(PORTS.source, path.join(state, "source"));
    peers.push(source, startOllama(PORTS.target, path.join(state, "target")));
    peers.push(startRegistry(PORTS.registry, path.join(state, "registry")));
    ["tiny-a", "tiny-b"].forEach((model, i) => {
        loadTinyModel(PORTS.source, model);
        pushModel(PORTS.source, model, MODELS[i]);
    });
    peers.push(
        startLiteLLM(ROUTER_CONFIG, PORTS.router, path.join(state, "litellm"), {
            LITELLM_MASTER_KEY: "sk-ai-gateway-providers",
        }),
    );
});

afterAll(() => {
    stopPeers(...peers);
    rmSync(state, { recursive: true, force: true });
});

/* eslint-disable @typescript-eslint/no-require-imports -- after the environment above, on purpose */
require("../providers/healthCheck.test");
require("../providers/ollamaModel.test");
