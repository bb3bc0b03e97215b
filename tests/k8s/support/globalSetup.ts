/**
 * jest globalSetup of the Kubernetes suite: one line and out when a prerequisite is missing; else the tools and
 * the engine on PATH (for the suites and the commands they run) and a fresh control plane.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { KUBE_SHARED, kubeTools, startControlPlane } from "./cluster";

function has(command: string, args: string[]): boolean {
    try {
        execFileSync(command, args, { stdio: "ignore" });
        return true;
    } catch {
        return false;
    }
}

export default function setUpCluster(): void {
    const missing: string[] = [];
    if (!existsSync(path.join(KUBE_SHARED, "control-plane.sh")))
        missing.push(`the control plane's tools (${KUBE_SHARED}; AIGW_KUBE_SHARED names another folder)`);
    if (!has("kubectl", ["version", "--client"])) missing.push("kubectl is not on PATH");
    if (!has("go", ["version"]) && !existsSync("/usr/local/go/bin/go"))
        missing.push("Go 1.23 or newer is not on PATH (tests/k8s/support/tools.sh builds etcd 3.5 with it)");
    if (!has("pulumi", ["version"]))
        missing.push(
            'the Pulumi CLI is not on PATH (on this machine: export PATH="$(bash ../shared/engine/install.sh):$PATH")',
        );
    if (missing.length > 0) {
        process.stderr.write(`npm run test:k8s: missing ${missing.join("; ")}\n`);
        process.exit(1);
    }
    // The provider binary the engine runs for @pulumi/kubernetes, beside the control plane's.
    process.env.PATH = `${kubeTools()}${path.delimiter}${process.env.PATH}`;
    startControlPlane();
}
