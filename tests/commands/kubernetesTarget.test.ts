/** The operator commands that speak to Docker hosts, on a stack that runs on Kubernetes: one line, exit 1. */
import { askCodeCommand } from "../../commands/askCode";
import { auditCommand } from "../../commands/audit";
import { logsCommand } from "../../commands/logs";
import { smokeCommand } from "../../commands/smoke";
import { statusCommand } from "../../commands/status";
import { waitCommand } from "../../commands/wait";
import { StackFolder, runInProcess } from "../support/operator";

describe("a Docker host's command on a Kubernetes stack", () => {
    const folder = new StackFolder();
    folder.write("cluster", {
        target: "kubernetes",
        kubernetes: { namespace: "llm" },
        hosts: [{ name: "cluster", ollama: [{ name: "ollama", port: 11434 }] }],
        groups: { fast: ["llama3.2:3b"] },
    });
    afterAll(() => folder.remove());

    it.each([
        ["status", statusCommand],
        ["logs", logsCommand],
        ["wait", waitCommand],
        ["smoke", smokeCommand],
        ["audit", auditCommand],
        ["ask-code", askCodeCommand],
    ])("%s says so, and where to look instead", async (name, command) => {
        const { code, err } = await runInProcess(command, ["--stack", "cluster"], folder.env());
        expect(code).toBe(1);
        expect(err).toBe(
            `${name}: stack cluster runs on Kubernetes (ai-gateway:target), and this command checks the services of Docker hosts: ` +
                "use kubectl -n llm get pods,services (docs/kubernetes.md)\n",
        );
    });
});
