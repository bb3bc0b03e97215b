/**
 * A local image that runs the fake services (serveFake.ts) in real containers: this machine's node binary
 * and the shared libraries it links, plus the fakes transpiled to JavaScript, imported with `docker import`
 * (no registry is reachable here). Tests publish its ports and give it the stack's secret variables, so the
 * commands meet containers as Docker reports them. Its `python` stands in for the images' Python as the audit's
 * egress probe runs it (`python -c <probe> <host> <port>`): it makes the probe's one connection and prints what
 * the probe prints (the probe's own code is tested with the real Python).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as ts from "typescript";

/** `python -c <code> <host> <port>` as the egress probe (commands/audit.ts) answers, for the node binary `node`. */
function fakePython(node: string): string {
    return `#!${node}
const [, , , , host, port] = process.argv;
const socket = require("net").connect({ host, port: Number(port) });
const answer = (text) => { console.log(text); socket.destroy(); process.exit(0); };
socket.setTimeout(3000, () => answer("blocked: timed out"));
socket.on("connect", () => answer("connected"));
socket.on("error", (err) => answer("blocked: " + err.message));
`;
}

/** The files a container needs: the entry point and what it imports. */
const SOURCES = ["serveFake.ts", "fakeServices.ts", "fakeOllama.ts", "httpServer.ts"];

/** Runs the docker CLI on the local engine, returning its output. */
export function docker(...args: string[]): string {
    return execFileSync("docker", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 });
}

/** The node binary and every library it loads, as paths below `/`. */
function nodeRuntimeFiles(): string[] {
    const libraries = execFileSync("ldd", [process.execPath], { encoding: "utf8" })
        .split("\n")
        .map((line) => /(\/\S+) \(0x/.exec(line)?.[1])
        .filter((file): file is string => file !== undefined);
    return [process.execPath, ...libraries].map((file) => file.slice(1));
}

/** Builds the image under `tag`; the fakes run as `node /srv/serveFake.js <kind> <port> [options]`. */
export function buildFakeServicesImage(tag: string): void {
    const staging = mkdtempSync(path.join(tmpdir(), "aigw-image-"));
    try {
        mkdirSync(path.join(staging, "srv"));
        for (const source of SOURCES) {
            const text = readFileSync(path.join(__dirname, source), "utf8");
            const { outputText } = ts.transpileModule(text, {
                compilerOptions: {
                    module: ts.ModuleKind.CommonJS,
                    target: ts.ScriptTarget.ES2022,
                    esModuleInterop: true,
                },
            });
            writeFileSync(path.join(staging, "srv", source.replace(/\.ts$/, ".js")), outputText);
        }
        mkdirSync(path.join(staging, "usr", "local", "bin"), { recursive: true });
        writeFileSync(path.join(staging, "usr", "local", "bin", "python"), fakePython(process.execPath), {
            mode: 0o755,
        });
        const archive = path.join(staging, "rootfs.tar");
        // -h: the libraries are symlinks on the host; the image needs the files themselves.
        execFileSync("tar", ["-chf", archive, "-C", "/", ...nodeRuntimeFiles(), "-C", staging, "srv", "usr"]);
        docker(
            "import",
            "--change",
            'ENTRYPOINT ["/' + nodeRuntimeFiles()[0] + '", "/srv/serveFake.js"]',
            archive,
            tag,
        );
    } finally {
        rmSync(staging, { recursive: true, force: true });
    }
}
