/**
 * `npm run render -- --stack <name> [--out <dir>] [--format json|yaml]`
 *
 * Shows what `pulumi up` would deploy for a stack, without the Pulumi CLI, Docker or a cluster: the real
 * program runs under Pulumi's mocks and every resource it declares is printed with its inputs (containers on
 * Docker, every object on Kubernetes), plus the generated files (the LiteLLM config of each router, the routing
 * hook and the Open WebUI filter). `--out` also writes those files to a directory.
 * Secrets are shown as `[secret]`. The same input always gives byte-identical output.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { DeclaredResource, evaluateProgram, hideSecrets } from "./evaluate";
import { listStacks, readStackFile } from "./stackFile";
import { NAME } from "../targets/kubernetes/names";

/** How the engine names the type of an OpenWebUIFunction (a dynamic resource). */
const OPEN_WEBUI_FUNCTION_TYPE = "pulumi-nodejs:dynamic/aigateway:OpenWebUIFunction";
const CONFIG_MAP_TYPE = "kubernetes:core/v1:ConfigMap";

const USAGE = "usage: npm run render -- --stack <name> [--out <dir>] [--format json|yaml]";

export interface Rendered {
    /** Every resource `pulumi up` would create, with its inputs. */
    resources: Pick<DeclaredResource, "type" | "name" | "provider" | "dependsOn" | "inputs">[];
    /** Generated files by name (`<container>/<file>`), with their content. */
    files: Record<string, string>;
}

/** Evaluates the stack's program and keeps what an operator reviews: custom resources and files. */
export async function renderStack(stack: string): Promise<Rendered> {
    const { config, secretKeys } = readStackFile(stack);
    const { resources } = await evaluateProgram(config, { stack, secretKeys });
    const custom = resources.filter((r) => r.custom);
    const files: Record<string, string> = {};
    for (const resource of custom) {
        const uploads = (resource.inputs.uploads ?? []) as { file: string; content: string }[];
        for (const upload of uploads)
            files[`${resource.inputs.name}/${path.posix.basename(upload.file)}`] = upload.content;
        // A service's files on Kubernetes: its ConfigMap, mounted where the container reads them.
        if (resource.type === CONFIG_MAP_TYPE) {
            const metadata = resource.inputs.metadata as { labels: Record<string, string> };
            for (const [file, content] of Object.entries(resource.inputs.data as Record<string, string>))
                files[`${metadata.labels[NAME]}/${file}`] = content;
        }
        // A function `pulumi up` installs into Open WebUI through its API: the same review as a shipped file.
        if (resource.type === OPEN_WEBUI_FUNCTION_TYPE)
            files[`open-webui/${resource.inputs.functionId}.py`] = String(resource.inputs.content);
    }
    return hideSecrets({
        resources: custom.map(({ type, name, provider, dependsOn, inputs }) => ({
            type,
            name,
            provider,
            dependsOn,
            inputs,
        })),
        files,
    });
}

export function formatRendered(rendered: Rendered, format: "json" | "yaml"): string {
    return format === "json" ? `${JSON.stringify(rendered, null, 2)}\n` : stringify(rendered, { lineWidth: 0 });
}

/** Writes each generated file under `dir`, returning the paths written. */
export function writeFiles(rendered: Rendered, dir: string): string[] {
    return Object.entries(rendered.files).map(([name, content]) => {
        const target = path.join(dir, name);
        mkdirSync(path.dirname(target), { recursive: true });
        writeFileSync(target, content);
        return target;
    });
}

async function main(argv: string[]): Promise<number> {
    let values;
    try {
        ({ values } = parseArgs({
            args: argv,
            options: {
                stack: { type: "string" },
                out: { type: "string" },
                format: { type: "string", default: "json" },
            },
        }));
    } catch (err) {
        console.error(`render: ${(err as Error).message}\n${USAGE}`);
        return 2;
    }
    if (!values.stack) {
        console.error(`render: --stack is required (stacks here: ${listStacks().join(", ")})\n${USAGE}`);
        return 2;
    }
    if (values.format !== "json" && values.format !== "yaml") {
        console.error(`render: --format ${values.format} is not json or yaml\n${USAGE}`);
        return 2;
    }
    try {
        const rendered = await renderStack(values.stack);
        // Written before the process exits: to a pipe, stdout is asynchronous, and an exit cuts it at 64 KB.
        const text = formatRendered(rendered, values.format);
        await new Promise((resolve) => process.stdout.write(text, resolve));
        if (values.out) for (const file of writeFiles(rendered, values.out)) console.error(`wrote ${file}`);
        return 0;
    } catch (err) {
        // Config problems and a missing stack file are the user's to fix: their message, no stack trace.
        console.error(`render: ${(err as Error).message}`);
        return 1;
    }
}

if (require.main === module) main(process.argv.slice(2)).then((code) => process.exit(code));
