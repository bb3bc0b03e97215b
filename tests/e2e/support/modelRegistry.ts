/**
 * The model registry the deployed Ollama containers pull from: Debian's docker-registry (distribution v2)
 * and the server of its blobs, both on the Docker bridge's gateway address, the host address every container
 * reaches. Ollama 0.17.4 downloads a blob only after a 307 redirect to another host name (see
 * peers/start_registry.sh), so the registry redirects to the same address spelled as IPv4-mapped IPv6
 * (`[::ffff:172.17.0.1]`): another name to Ollama's redirect check, the same IPv4 socket to its dialer.
 *
 * The blob server is this process's own: it counts the blob downloads (so a test can prove that nothing was
 * pulled again) and can be slowed down (so a test can stop `up` in the middle of a model download).
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { createReadStream, existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { LocalServer, startHttpServer } from "../../support/httpServer";
import { OLLAMA_BIN, loadTinyModel, startOllama, stopPeers } from "../../peers/support/peers";
import { until } from "./deployFolder";
import { E2E_CACHE, startImageRegistry } from "./stackHarness";

/** Debian's docker-registry, which peers/install.sh installs. */
const REGISTRY_BIN = process.env.AIGW_REGISTRY_BIN ?? "/usr/bin/docker-registry";

/** The address of the default Docker bridge on this machine (docker0's): this machine, as its containers see it. */
export function dockerBridgeAddress(): string {
    const bridge = execFileSync(
        "docker",
        ["network", "inspect", "bridge", "--format", '{{index .Options "com.docker.network.bridge.name"}}'],
        { encoding: "utf8" },
    ).trim();
    // Asked of `ip`, not os.networkInterfaces(): that lists only interfaces that are up and running, and the
    // bridge has no carrier while no container is attached to it.
    const [link] = JSON.parse(
        execFileSync("ip", ["-json", "-4", "address", "show", "dev", bridge], { encoding: "utf8" }),
    ) as {
        addr_info: { local: string }[];
    }[];
    const address = link?.addr_info[0]?.local;
    if (!address) throw new Error(`the Docker bridge ${bridge || "(unnamed)"} has no IPv4 address on this machine`);
    return address;
}

export class ModelRegistry {
    /** Blob downloads served (GETs with a body), since the start or the last `resetCount`. */
    blobDownloads = 0;
    /**
     * Limit of the blob server in bytes per second, over all its downloads together, as a link of that speed:
     * Ollama fetches a large blob in several parts at once. Undefined: as fast as it goes.
     */
    bytesPerSecond: number | undefined;
    /** When the link is free again (`Date.now()` time): every chunk sent books its time on it. */
    private linkFreeAt = 0;

    private constructor(
        /** `address:port` of the registry: the prefix of every model name. */
        readonly host: string,
        private readonly registry: ChildProcess,
        private readonly blobs: LocalServer,
    ) {}

    /**
     * Starts the registry on `address`:`port` and its blob server on `address`:`port + 1`, storing under
     * `stateDir` (reused between runs: what was pushed once stays).
     */
    static async start(address: string, port: number, stateDir: string): Promise<ModelRegistry> {
        const data = path.join(stateDir, "data");
        mkdirSync(data, { recursive: true });
        const config = path.join(stateDir, "config.yml");
        writeFileSync(
            config,
            [
                "version: 0.1",
                "log: { level: warn, accesslog: { disabled: true } }",
                `storage: { filesystem: { rootdirectory: ${data} }, delete: { enabled: true }, maintenance: { uploadpurging: { enabled: false } } }`,
                `middleware: { storage: [ { name: redirect, options: { baseurl: "http://[::ffff:${address}]:${port + 1}" } } ] }`,
                `http: { addr: "${address}:${port}", secret: aigw-e2e-registry }`,
                "",
            ].join("\n"),
        );
        let registry: ModelRegistry | undefined;
        const blobs = await startHttpServer((req, res) => registry!.serveBlob(data, req, res), port + 1, address);
        const server = spawn(REGISTRY_BIN, ["serve", config], { detached: true, stdio: "ignore" });
        registry = new ModelRegistry(`${address}:${port}`, server, blobs);
        try {
            await until(
                async () => (await fetch(`http://${registry!.host}/v2/`).catch(() => undefined))?.status === 200,
                30,
                `docker-registry on ${registry.host}`,
            );
        } catch (err) {
            await registry.stop();
            throw err;
        }
        return registry;
    }

    /** The name Ollama pulls `model` by: `address:port/aigw/<model>:latest`. */
    model(model: string): string {
        return `${this.host}/aigw/${model}:latest`;
    }

    /** Whether the registry already holds `model`. */
    async has(model: string): Promise<boolean> {
        const response = await fetch(`http://${this.host}/v2/aigw/${model}/manifests/latest`, {
            method: "HEAD",
            headers: { accept: "application/vnd.docker.distribution.manifest.v2+json" },
        });
        return response.status === 200;
    }

    /** Serves a file of the registry's storage (the redirect's target), with the Range requests Ollama makes. */
    private async serveBlob(root: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
        const file = path.join(root, decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname));
        if (!file.startsWith(root + path.sep) || !existsSync(file) || !statSync(file).isFile()) {
            res.writeHead(404).end();
            return;
        }
        const size = statSync(file).size;
        const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
        const start = range ? Number(range[1]) : 0;
        const end = range && range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
        const headers = { "content-length": String(end - start + 1), "accept-ranges": "bytes" };
        if (range) res.writeHead(206, { ...headers, "content-range": `bytes ${start}-${end}/${size}` });
        else res.writeHead(200, headers);
        if (req.method === "HEAD") return void res.end();
        this.blobDownloads++;
        await pipeline(createReadStream(file, { start, end, highWaterMark: 16 * 1024 }), this.throttled(), res).catch(
            () => undefined, // the client went away (a killed pull): nothing to answer
        );
    }

    /** A stream that holds each chunk until the link has carried it at `bytesPerSecond` (re-read for every chunk). */
    private throttled(): Transform {
        return new Transform({
            transform: (chunk: Buffer, _encoding, callback) => {
                if (!this.bytesPerSecond) return callback(null, chunk);
                const now = Date.now();
                this.linkFreeAt = Math.max(this.linkFreeAt, now) + (chunk.length / this.bytesPerSecond) * 1000;
                setTimeout(() => callback(null, chunk), this.linkFreeAt - now);
            },
        });
    }

    async stop(): Promise<void> {
        try {
            process.kill(-this.registry.pid!, "SIGTERM");
        } catch {
            // already ended
        }
        await this.blobs.close();
    }
}

/** The suffix of a tiny model's name that also accepts tools (see `withTools`). */
const TOOLS_SUFFIX = "-tools";

/**
 * The name of tiny model `name` with a template that also renders tool definitions, so Ollama accepts chats
 * that offer tools, as it does for the chat models a stack deploys (llama3.2, qwen2.5-coder). Open WebUI 0.12.4
 * offers its built-in tools with every chat sent from its UI, and Ollama refuses those for a model whose
 * template has no tools ("does not support tools"), which the plain tiny models' has not.
 */
export function withTools(name: string): string {
    return `${name}${TOOLS_SUFFIX}`;
}

/** Creates `model` in the Ollama at `ollama` from `base`, with `base`'s template preceded by the tools' names. */
async function createToolsVariant(ollama: string, base: string, model: string): Promise<void> {
    const shown = await fetch(`${ollama}/api/show`, { method: "POST", body: JSON.stringify({ model: base }) });
    const { template } = (await shown.json()) as { template: string };
    const tools = "{{- if .Tools }}<|system|>tools:{{ range .Tools }} {{ .Function.Name }}{{ end }}\n{{ end }}";
    const response = await fetch(`${ollama}/api/create`, {
        method: "POST",
        body: JSON.stringify({ model, from: base, template: tools + template, stream: false }),
    });
    if (response.status !== 200)
        throw new Error(`creating ${model}: HTTP ${response.status}: ${await response.text()}`);
}

/**
 * Makes sure the registry holds each of the tiny models `names` (peers/make_tiny_model.py, seeded by name, of
 * the size its `size` options give; `withTools` names a variant that accepts tools): the missing ones are created
 * in a real Ollama on the host and pushed with its CLI, as an operator fills their own registry. A warm registry
 * folder needs no Ollama at all.
 */
export async function pushTinyModels(
    registry: ModelRegistry,
    names: string[],
    workDir: string,
    size: string[] = [],
): Promise<void> {
    const missing: string[] = [];
    for (const name of names) if (!(await registry.has(name))) missing.push(name);
    if (missing.length === 0) return;
    const port = 11489;
    const ollama = startOllama(port, path.join(workDir, "push-ollama"));
    try {
        const cli = (args: string[]) =>
            execFileSync(OLLAMA_BIN, args, {
                env: { ...process.env, OLLAMA_HOST: `127.0.0.1:${port}` },
                stdio: "pipe",
            });
        for (const name of missing) {
            const base = name.endsWith(TOOLS_SUFFIX) ? name.slice(0, -TOOLS_SUFFIX.length) : name;
            loadTinyModel(port, base, base, "127.0.0.1", size);
            if (base !== name) await createToolsVariant(ollama.url, base, name);
            cli(["cp", name, registry.model(name)]);
            cli(["push", "--insecure", registry.model(name)]);
        }
    } finally {
        stopPeers(ollama);
    }
}

/**
 * What a suite deploys from: the images' registry, and the model registry on the Docker bridge at `port` (its
 * blob server on `port + 1`) holding the tiny models `names`.
 */
export async function startRegistries(port: number, names: string[], workDir: string): Promise<ModelRegistry> {
    startImageRegistry();
    const registry = await ModelRegistry.start(dockerBridgeAddress(), port, path.join(E2E_CACHE, "model-registry"));
    await pushTinyModels(registry, names, workDir);
    return registry;
}
