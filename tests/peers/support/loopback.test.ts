import { parse } from "yaml";
import { readStackFile } from "../../../commands/stackFile";
import { loadStackConfig } from "../../../config/load";
import { renderRouterConfig } from "../../../config/litellm";
import { toLoopback } from "./loopback";

/** The cpu example stack, with the cloud router it gets once cloud fallback is enabled. */
const cpu = loadStackConfig(readStackFile("cpu").config);
const config = { ...cpu, cloud: { ...cpu.cloud, enabled: true, model: "anthropic/claude-sonnet-4" } };
const mapping = {
    apiBases: { "http://ollama:11434": "http://127.0.0.1:11460", "http://ollama-2:11434": "http://127.0.0.1:11461" },
    models: { "llama3.2:1b": "tiny-a", "qwen2.5-coder:1.5b": "tiny-b" },
    cloudApiBase: "http://127.0.0.1:4069/v1",
};
type Doc = { model_list: { litellm_params: Record<string, string> }[] };

describe("toLoopback: a rendered router config pointed at the peers", () => {
    const rendered = renderRouterConfig(config, "cloud");
    const mapped = toLoopback(rendered, mapping);

    it("points each Ollama deployment at its loopback port and tiny model", () => {
        expect((parse(mapped) as Doc).model_list.map((d) => d.litellm_params)).toEqual([
            { model: "ollama_chat/tiny-a", api_base: "http://127.0.0.1:11460" },
            { model: "ollama_chat/tiny-a", api_base: "http://127.0.0.1:11461" },
            { model: "ollama_chat/tiny-b", api_base: "http://127.0.0.1:11460" },
            {
                model: "openai/claude-sonnet-4",
                api_key: "os.environ/CLOUD_API_KEY",
                api_base: "http://127.0.0.1:4069/v1",
            },
        ]);
    });

    it("changes nothing else: the other keys, the ids and the header comment stay as rendered", () => {
        const withoutParams = (text: string) => {
            const doc = parse(text) as Doc;
            for (const d of doc.model_list) d.litellm_params = {};
            return doc;
        };
        expect(withoutParams(mapped)).toEqual(withoutParams(rendered));
        expect(mapped.split("\n").slice(0, 2)).toEqual(rendered.split("\n").slice(0, 2));
    });

    it("refuses an address it has no loopback port for, and a cloud deployment without a stand-in", () => {
        expect(() => toLoopback(rendered, { ...mapping, apiBases: {} })).toThrow(
            "no loopback address for api_base http://ollama:11434 (ollama_chat/llama3.2:1b)",
        );
        expect(() => toLoopback(rendered, { ...mapping, cloudApiBase: undefined })).toThrow(
            "no cloud stand-in for the cloud deployment anthropic/claude-sonnet-4",
        );
    });
});
