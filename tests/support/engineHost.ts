import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { resolveFromPulumi } from "./serializedProvider";

/* Loaded through @pulumi/pulumi so they are the very modules its host uses (none is a project dependency). */
const grpc = require(resolveFromPulumi("@grpc/grpc-js"));
const providerRpc = require(resolveFromPulumi("@pulumi/pulumi/proto/provider_grpc_pb"));
const providerProto = require(resolveFromPulumi("@pulumi/pulumi/proto/provider_pb"));
const { Struct } = require(resolveFromPulumi("google-protobuf/google/protobuf/struct_pb"));

type Props = Record<string, unknown>;

/**
 * The engine's own dynamic-provider host (`@pulumi/pulumi/cmd/dynamic-provider`), started as the engine starts
 * it and driven over its gRPC ResourceProvider interface, as `pulumi preview` / `up` / `refresh` / `destroy` do.
 */
export class EngineDynamicProviderHost {
    /** What the host (and so the provider) printed after its port line: what the operator sees. */
    stdout = "";

    private constructor(
        private readonly child: ChildProcess,
        private readonly client: any,
        private readonly folder: string,
    ) {}

    static async start(): Promise<EngineDynamicProviderHost> {
        const hostProgram = resolveFromPulumi("@pulumi/pulumi/cmd/dynamic-provider/index.js");
        const folder = fs.mkdtempSync(path.join(os.tmpdir(), "aigw-engine-host-"));
        // The engine address is only used by providers that read config; none of ours does.
        const child = spawn(process.execPath, [hostProgram, "127.0.0.1:0"], {
            cwd: folder,
            stdio: ["ignore", "pipe", "inherit"],
        });
        let output = "";
        const port = await new Promise<number>((resolve, reject) => {
            child.once("exit", (code) => reject(new Error(`dynamic-provider host exited with ${code}`)));
            child.stdout!.on("data", (data) => {
                output += data;
                const firstLine = output.match(/^(\d+)\n/);
                if (firstLine) resolve(Number(firstLine[1]));
            });
        });
        const client = new providerRpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
        const host = new EngineDynamicProviderHost(child, client, folder);
        child.stdout!.on("data", (data) => (host.stdout += data));
        return host;
    }

    async check(
        urn: string,
        olds: Props,
        news: Props,
    ): Promise<{ inputs: Props; failures: { property: string; reason: string }[] }> {
        const request = new providerProto.CheckRequest()
            .setUrn(urn)
            .setOlds(Struct.fromJavaScript(olds))
            .setNews(Struct.fromJavaScript(news));
        const response = await this.unary("check", request);
        return {
            inputs: response.getInputs().toJavaScript(),
            failures: response
                .getFailuresList()
                .map((failure: any) => ({ property: failure.getProperty(), reason: failure.getReason() })),
        };
    }

    async create(urn: string, properties: Props): Promise<{ id: string; properties: Props }> {
        const response = await this.unary(
            "create",
            new providerProto.CreateRequest().setUrn(urn).setProperties(Struct.fromJavaScript(properties)),
        );
        return { id: response.getId(), properties: response.getProperties().toJavaScript() };
    }

    async diff(urn: string, id: string, olds: Props, news: Props): Promise<{ changes: number; replaces: string[] }> {
        const request = new providerProto.DiffRequest()
            .setUrn(urn)
            .setId(id)
            .setOlds(Struct.fromJavaScript(olds))
            .setNews(Struct.fromJavaScript(news));
        const response = await this.unary("diff", request);
        return { changes: response.getChanges(), replaces: response.getReplacesList() };
    }

    async read(urn: string, id: string, properties: Props): Promise<{ id: string; properties?: Props }> {
        const response = await this.unary(
            "read",
            new providerProto.ReadRequest().setUrn(urn).setId(id).setProperties(Struct.fromJavaScript(properties)),
        );
        return { id: response.getId(), properties: response.getProperties()?.toJavaScript() };
    }

    async delete(urn: string, id: string, properties: Props): Promise<void> {
        await this.unary(
            "delete",
            new providerProto.DeleteRequest().setUrn(urn).setId(id).setProperties(Struct.fromJavaScript(properties)),
        );
    }

    stop(): void {
        this.client.close();
        this.child.kill();
        fs.rmSync(this.folder, { recursive: true, force: true });
    }

    private unary(method: string, request: unknown): Promise<any> {
        return new Promise((resolve, reject) =>
            this.client[method](request, (err: Error | null, response: unknown) =>
                err ? reject(err) : resolve(response),
            ),
        );
    }
}

/** DiffResponse.DiffChanges, as the engine reads them. */
export const DIFF_NONE = providerProto.DiffResponse.DiffChanges.DIFF_NONE;
export const DIFF_SOME = providerProto.DiffResponse.DiffChanges.DIFF_SOME;
