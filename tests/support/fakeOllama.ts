import * as http from "node:http";
import { LocalServer, readJsonBody, sendJson, startHttpServer } from "./httpServer";

/**
 * A real HTTP server that speaks the part of Ollama's API the providers use (docs/api.md): /api/version,
 * /api/tags, /api/show, /api/delete and a streamed /api/pull whose partial downloads resume, like Ollama's.
 * Names are compared and given as Ollama 0.17.4 does: ignoring case, in the case of what is installed.
 * Faults are queued per pull so a test can script "drop the first pull at 40%, then let the next one finish".
 */

/** A model the fake's "registry" can serve. */
export interface FakeModelSpec {
    name: string;
    layers: { digest: string; size: number }[];
    family: string;
    parameterSize: string;
    quantization: string;
}

/** What goes wrong in one pull, at a point of the first layer's download. */
export type PullFault =
    | { kind: "errorLine"; atPercent: number; message: string }
    | { kind: "drop"; atPercent: number }
    | { kind: "stall"; atPercent: number };

export interface FakeOllamaOptions {
    /** Models the fake can pull; defaults to two small ones. */
    catalog?: FakeModelSpec[];
    /** Pause between progress lines (default 1ms): what keeps a pull "in flight". */
    lineDelayMs?: number;
    /** Progress lines per layer (default 20). */
    linesPerLayer?: number;
}

export const FAKE_OLLAMA_VERSION = "0.12.3";

export const DEFAULT_CATALOG: FakeModelSpec[] = [
    {
        name: "tiny:latest",
        layers: [
            { digest: `sha256:${"8eeb52dfb3bb".padEnd(64, "a")}`, size: 4_683_073_184 },
            { digest: `sha256:${"66b9ea09bd5b".padEnd(64, "b")}`, size: 1_482 },
        ],
        family: "qwen2",
        parameterSize: "7.6B",
        quantization: "Q4_K_M",
    },
    {
        name: "small:latest",
        layers: [{ digest: `sha256:${"dde5aa3fc5ff".padEnd(64, "c")}`, size: 2_019_377_376 }],
        family: "llama",
        parameterSize: "3.2B",
        quantization: "Q4_K_M",
    },
];

function canonical(name: string): string {
    return /:[^/]+$/.test(name) ? name : `${name}:latest`;
}

/** A name's parts as Ollama 0.17.4 parses them (types/model/name.go `ParseName`), its defaults filled in. */
function nameParts(name: string): string[] {
    const path = canonical(name).split("/");
    const [model, tag] = path.pop()!.split(/:(?=[^:]*$)/);
    return [path.length > 1 ? path[0] : "registry.ollama.ai", path.at(-1) ?? "library", model, tag];
}

/** Ollama's display name of parts: host and namespace left out when they are the defaults. */
function displayName([host, namespace, model, tag]: string[]): string {
    if (host.toLowerCase() === "registry.ollama.ai")
        return namespace.toLowerCase() === "library" ? `${model}:${tag}` : `${namespace}/${model}:${tag}`;
    return `${host}/${namespace}/${model}:${tag}`;
}

/** Ollama compares names ignoring case (types/model/name.go `EqualFold`). */
function sameModel(a: string, b: string): boolean {
    return displayName(nameParts(a)).toLowerCase() === displayName(nameParts(b)).toLowerCase();
}

export class FakeOllama {
    /** How many GET /api/version requests it answered (the stack's health probe of Ollama). */
    versionRequests = 0;
    /** Every POST /api/pull body, in order. */
    readonly pullRequests: { model: string; insecure?: boolean }[] = [];
    /** Where the first progress line of each pull started, per layer digest: shows resumption. */
    readonly resumedFrom: Record<string, number>[] = [];
    private readonly installed = new Map<string, FakeModelSpec>();
    private readonly downloadedBytes = new Map<string, number>();
    private readonly queuedFaults: (PullFault | undefined)[] = [];
    private server?: LocalServer;

    private constructor(private readonly options: Required<FakeOllamaOptions>) {}

    static async start(options: FakeOllamaOptions = {}): Promise<FakeOllama> {
        const fake = new FakeOllama({ catalog: DEFAULT_CATALOG, lineDelayMs: 1, linesPerLayer: 20, ...options });
        fake.server = await startHttpServer((req, res) => {
            fake.route(req, res).catch((err) => res.destroy(err));
        });
        return fake;
    }

    get url(): string {
        return this.server!.url;
    }

    /** The next pulls meet these faults, one each, in order (undefined: a clean pull). */
    failNextPulls(...faults: (PullFault | undefined)[]): void {
        this.queuedFaults.push(...faults);
    }

    isInstalled(model: string): boolean {
        return this.installedName(model) !== undefined;
    }

    /** The name under which `model` is installed, compared as Ollama compares names; undefined if it is not. */
    private installedName(model: string): string | undefined {
        return [...this.installed.keys()].find((name) => sameModel(name, model));
    }

    /**
     * `name` with each part (host, namespace, model, tag) in the case of an installed model's same part, as
     * Ollama 0.17.4 renames what it is asked to pull, delete or show (server/routes.go `getExistingName`):
     * `qwen2.5:1B` next to `llama3.2:1b` becomes `qwen2.5:1b`.
     */
    private existingName(name: string): string {
        const parts = nameParts(name);
        for (const installed of this.installed.keys())
            nameParts(installed).forEach((part, i) => {
                if (part.toLowerCase() === parts[i].toLowerCase()) parts[i] = part;
            });
        return displayName(parts);
    }

    close(): Promise<void> {
        return this.server!.close();
    }

    private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
        const route = `${req.method} ${req.url}`;
        if (route === "GET /") {
            res.end("Ollama is running");
        } else if (route === "GET /api/version") {
            this.versionRequests++;
            sendJson(res, 200, { version: FAKE_OLLAMA_VERSION });
        } else if (route === "GET /api/tags") {
            sendJson(res, 200, {
                models: [...this.installed].map(([name, spec]) => ({ ...this.describe(spec), name, model: name })),
            });
        } else if (route === "POST /api/show") {
            const { model } = await readJsonBody<{ model: string }>(req);
            const spec = this.installed.get(this.installedName(model) ?? "");
            if (spec) sendJson(res, 200, { details: this.describe(spec).details });
            else sendJson(res, 404, { error: `model '${model}' not found` });
        } else if (route === "DELETE /api/delete") {
            const { model } = await readJsonBody<{ model: string }>(req);
            if (this.installed.delete(this.installedName(model) ?? "")) res.end();
            else sendJson(res, 404, { error: `model '${model}' not found` });
        } else if (route === "POST /api/pull") {
            await this.pull(req, res);
        } else {
            sendJson(res, 404, { error: "404 page not found" });
        }
    }

    private describe(spec: FakeModelSpec) {
        return {
            name: spec.name,
            model: spec.name,
            modified_at: "2025-01-01T00:00:00Z",
            size: spec.layers.reduce((sum, layer) => sum + layer.size, 0),
            digest: `${spec.layers[0].digest.slice(7, 19)}${"f".repeat(52)}`,
            details: {
                format: "gguf",
                family: spec.family,
                families: [spec.family],
                parameter_size: spec.parameterSize,
                quantization_level: spec.quantization,
            },
        };
    }

    private async pull(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
        const request = await readJsonBody<{ model: string; insecure?: boolean }>(req);
        this.pullRequests.push(request);
        const fault = this.queuedFaults.shift();
        const resumedFrom: Record<string, number> = {};
        this.resumedFrom.push(resumedFrom);
        const send = (line: object) => res.write(`${JSON.stringify(line)}\n`);
        const pause = () => new Promise((resolve) => setTimeout(resolve, this.options.lineDelayMs));

        res.writeHead(200, { "content-type": "application/x-ndjson" });
        send({ status: "pulling manifest" });
        const name = this.existingName(request.model);
        const spec = this.options.catalog.find((candidate) => sameModel(candidate.name, name));
        if (!spec) {
            send({ error: "pull model manifest: file does not exist" });
            res.end();
            return;
        }
        for (const [layerIndex, layer] of spec.layers.entries()) {
            const status = `pulling ${layer.digest.slice(7, 19)}`;
            let completed = this.downloadedBytes.get(layer.digest) ?? 0;
            resumedFrom[layer.digest] = completed;
            // Ollama's first line for a layer has no "completed" yet.
            send({ status, digest: layer.digest, total: layer.size });
            const step = Math.ceil(layer.size / this.options.linesPerLayer);
            while (completed < layer.size) {
                await pause();
                if (res.destroyed) return;
                completed = Math.min(layer.size, completed + step);
                this.downloadedBytes.set(layer.digest, completed);
                if (fault && layerIndex === 0 && (completed / layer.size) * 100 >= fault.atPercent) {
                    this.inject(fault, res, send);
                    return;
                }
                send({ status, digest: layer.digest, total: layer.size, completed });
            }
        }
        for (const status of ["verifying sha256 digest", "writing manifest", "success"]) {
            await pause();
            send({ status });
        }
        this.installed.set(this.installedName(name) ?? name, spec);
        for (const layer of spec.layers) this.downloadedBytes.delete(layer.digest);
        res.end();
    }

    private inject(fault: PullFault, res: http.ServerResponse, send: (line: object) => void): void {
        if (fault.kind === "errorLine") {
            send({ error: fault.message });
            res.end();
        } else if (fault.kind === "drop") {
            res.socket?.destroy();
        }
        // "stall": keep the connection open and say nothing more; the client has to notice.
    }
}
