import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { PROJECT_DIR } from "../../commands/stackFile";
import { ROUTER_ALLOWED_ROUTES } from "../../model/litellm";
import { TS_NODE_SWC } from "../support/operator";

/** Runs `npm run render -- <args>` as an operator would, in a separate process. */
function render(...args: string[]) {
    const result = spawnSync(
        process.execPath,
        [...TS_NODE_SWC, path.join(PROJECT_DIR, "commands", "render.ts"), ...args],
        { cwd: PROJECT_DIR, encoding: "utf8", timeout: 120_000 },
    );
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** One `render --stack dev` for the tests that read its output; the first test compares it with a second run. */
let devRender: ReturnType<typeof render> | undefined;
const renderDev = () => (devRender ??= render("--stack", "dev"));

describe("npm run render", () => {
    // The second run goes through a pipe: `npm run render | less` once lost everything past 64 KB at exit.
    it("prints every resource and the generated files, identically on every run and whole into a pipe", () => {
        const first = renderDev();
        const command = `${[process.execPath, ...TS_NODE_SWC].map((arg) => `"${arg}"`).join(" ")} commands/render.ts --stack dev | cat`;
        const piped = spawnSync("sh", ["-c", command], { cwd: PROJECT_DIR, encoding: "utf8", timeout: 120_000 });
        expect(first.code).toBe(0);
        expect(first.stdout.length).toBeGreaterThan(65536);
        expect(piped.stdout).toBe(first.stdout);
        const rendered = JSON.parse(first.stdout);
        const containers = rendered.resources.filter(
            (r: { type: string }) => r.type === "docker:index/container:Container",
        );
        expect(containers.map((c: { name: string }) => c.name).sort()).toEqual([
            "door",
            "litellm",
            "ollama",
            "open-webui",
            "qdrant",
        ]);
        expect(Object.keys(rendered.files)).toEqual([
            "door/haproxy.cfg",
            "litellm/config.yaml",
            "litellm/routing_hook.py",
            "litellm/request_log.py",
            "open-webui/route_by_content.py",
        ]);
        expect(parse(rendered.files["litellm/config.yaml"]).general_settings).toEqual({
            master_key: "os.environ/LITELLM_MASTER_KEY",
            allowed_routes: [...ROUTER_ALLOWED_ROUTES],
        });
    });

    it("shows secrets as [secret] and never the placeholder or provider code", () => {
        const { stdout } = renderDev();
        expect(stdout).toContain('"LITELLM_MASTER_KEY=sk-[secret]"');
        expect(stdout).toContain('"WEBUI_ADMIN_PASSWORD=[secret]"');
        expect(stdout).not.toContain("__ai_gateway_secret__");
        expect(stdout).not.toContain("__provider");
    });

    it("shows every Kubernetes object of Pulumi.k8s.yaml, the files of its ConfigMaps, and its secrets masked", () => {
        const { code, stdout } = render("--stack", "k8s");
        expect(code).toBe(0);
        const rendered = JSON.parse(stdout) as {
            resources: { type: string; inputs: any }[];
            files: Record<string, string>;
        };
        const kinds = new Set(
            rendered.resources.filter((r) => r.type.startsWith("kubernetes:")).map((r) => r.inputs.kind),
        );
        expect([...kinds].sort()).toEqual([
            "ConfigMap",
            "Deployment",
            "Ingress",
            "Job",
            "Namespace",
            "NetworkPolicy",
            "PersistentVolumeClaim",
            "Secret",
            "Service",
            "StatefulSet",
        ]);
        expect(rendered.resources.filter((r) => r.type.startsWith("docker:"))).toEqual([]);
        const secret = rendered.resources.find((r) => r.inputs.kind === "Secret")!;
        expect(secret.inputs.stringData["router-master-key"]).toBe("sk-[secret]");
        expect(secret.inputs.stringData["open-webui-admin-password"]).toBe("[secret]");
        expect(Object.keys(rendered.files)).toEqual([
            "litellm/config.yaml",
            "litellm/request_log.py",
            "litellm/routing_hook.py",
            "open-webui/route_by_content.py",
        ]);
        expect(rendered.files["litellm/config.yaml"]).toContain("api_base: http://ollama-2:11434/v1");
    });

    it("writes the generated router configs with --out, and prints YAML with --format yaml", () => {
        const out = mkdtempSync(path.join(tmpdir(), "render-"));
        try {
            const { code, stdout, stderr } = render("--stack", "cpu", "--out", out, "--format", "yaml");
            expect(code).toBe(0);
            expect(parse(stdout).resources.length).toBeGreaterThan(10);
            expect(stderr).toContain(`wrote ${path.join(out, "litellm", "config.yaml")}`);
            const config = parse(readFileSync(path.join(out, "litellm", "config.yaml"), "utf8"));
            expect(config.model_list.map((d: { model_name: string }) => d.model_name)).toEqual([
                "fast",
                "fast",
                "code",
            ]);
        } finally {
            rmSync(out, { recursive: true, force: true });
        }
    });

    it("exits non-zero with the config's problems and no stack trace, and never prints a plaintext secret", () => {
        const stackFile = path.join(PROJECT_DIR, "Pulumi.render-test-bad.yaml");
        writeFileSync(
            stackFile,
            "config:\n  ai-gateway:router:\n    port: 70000\n  ai-gateway:groups:\n    fast: [llama3.2:3b]\n" +
                "  ai-gateway:cloud:\n    enabled: true\n  ai-gateway:cloudApiKey: sk-plaintext-render-key\n",
        );
        try {
            const { code, stdout, stderr } = render("--stack", "render-test-bad");
            expect(code).toBe(1);
            expect(stderr).toContain("ai-gateway:router.port: 70000 is not a port (1-65535)");
            expect(stderr).toContain(
                "ai-gateway:cloudApiKey: is stored in plain text in the stack file: remove it (pulumi config rm cloudApiKey) and set it as a secret with pulumi config set --secret cloudApiKey <value>",
            );
            expect(stdout + stderr).not.toContain("sk-plaintext-render-key");
            expect(stderr).not.toMatch(/\n\s+at /);
        } finally {
            rmSync(stackFile);
        }
    });

    it("shows remote access: the door's HTTPS front in its haproxy.cfg, its certificate file with the key hidden, the CA", () => {
        const stackFile = path.join(PROJECT_DIR, "Pulumi.render-test-remote.yaml");
        writeFileSync(
            stackFile,
            "config:\n  ai-gateway:groups:\n    fast: [llama3.2:3b]\n  ai-gateway:remoteAccess:\n" +
                "    address: 192.168.1.20\n    hostnames: [ai.lan]\n    expose: [openWebUI, router]\n",
        );
        try {
            const { code, stdout } = render("--stack", "render-test-remote");
            expect(code).toBe(0);
            const rendered = JSON.parse(stdout);
            expect(Object.keys(rendered.files)).toEqual([
                "door/haproxy.cfg",
                "door/remote-access.pem",
                "litellm/config.yaml",
                "litellm/request_log.py",
            ]);
            expect(rendered.files["door/haproxy.cfg"]).toContain("frontend remote-access:https\n");
            expect(rendered.files["door/remote-access.pem"]).toBe("[certificate]\n[secret]\n");
            const tls = rendered.resources.filter((r: { type: string }) => r.type.startsWith("tls:"));
            expect(tls.map((r: { name: string }) => r.name).sort()).toEqual([
                "remote-access-ca",
                "remote-access-ca-key",
                "remote-access-certificate",
                "remote-access-key",
                "remote-access-request",
            ]);
            expect(stdout).not.toContain("PRIVATE KEY");
        } finally {
            rmSync(stackFile);
        }
    });

    it("names the stacks that exist when asked for one that does not", () => {
        const { code, stderr } = render("--stack", "nope");
        expect(code).toBe(1);
        expect(stderr).toContain("no stack config Pulumi.nope.yaml (stacks here: cluster, cpu, dev");
    });

    it("explains its usage when --stack is missing", () => {
        const { code, stderr } = render();
        expect(code).toBe(2);
        expect(stderr).toContain("usage: npm run render -- --stack <name>");
    });
});
