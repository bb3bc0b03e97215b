/**
 * How the Kubernetes checks read a kubeconfig (as kubectl does) and word the scheduler's reasons. Their calls to a
 * real API server are proven by the Kubernetes suite (tests/k8s/checks.test.ts).
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { preflightProblems, readKubeconfig, schedulingFix } from "../../providers/kubernetesChecks";
import { freePort } from "../support/httpServer";

const dir = mkdtempSync(path.join(tmpdir(), "aigw-kubeconfig-test-"));
const file = (name: string, content: string) => {
    const at = path.join(dir, name);
    mkdirSync(path.dirname(at), { recursive: true });
    writeFileSync(at, content);
    return at;
};
const kubeconfig = (name: string, doc: Record<string, unknown>) =>
    file(name, stringify({ apiVersion: "v1", kind: "Config", ...doc }));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("reading a kubeconfig as kubectl does", () => {
    it("takes the current context's cluster and user, certificates from files relative to the kubeconfig or inline", () => {
        file("certs/ca.crt", "CA");
        const main = kubeconfig("main/config", {
            "current-context": "lab",
            clusters: [
                {
                    name: "lab",
                    cluster: { server: "https://10.0.0.1:6443/", "certificate-authority": "../certs/ca.crt" },
                },
            ],
            users: [
                {
                    name: "me",
                    user: {
                        "client-certificate-data": Buffer.from("CERT").toString("base64"),
                        "client-key-data": Buffer.from("KEY").toString("base64"),
                    },
                },
            ],
            contexts: [{ name: "lab", context: { cluster: "lab", user: "me" } }],
        });
        const config = readKubeconfig({ kubeconfig: main });
        expect(config.server).toBe("https://10.0.0.1:6443");
        expect([config.tls.ca?.toString(), config.tls.cert?.toString(), config.tls.key?.toString()]).toEqual([
            "CA",
            "CERT",
            "KEY",
        ]);
        expect(config.tls.rejectUnauthorized).toBe(true);
    });

    it("merges the files of KUBECONFIG, the first one's entries and current-context winning", () => {
        const first = kubeconfig("first", {
            "current-context": "a",
            contexts: [{ name: "a", context: { cluster: "one", user: "token" } }],
            users: [{ name: "token", user: { token: "t0k3n" } }],
        });
        const second = kubeconfig("second", {
            "current-context": "b",
            clusters: [
                { name: "one", cluster: { server: "https://one:6443", "insecure-skip-tls-verify": true } },
                { name: "two", cluster: { server: "https://two:6443" } },
            ],
            contexts: [{ name: "a", context: { cluster: "two", user: "token" } }],
        });
        const saved = process.env.KUBECONFIG;
        process.env.KUBECONFIG = [first, second].join(path.delimiter);
        try {
            const config = readKubeconfig({});
            expect([config.server, config.token, config.tls.rejectUnauthorized]).toEqual([
                "https://one:6443",
                "t0k3n",
                false,
            ]);
        } finally {
            process.env.KUBECONFIG = saved;
        }
    });

    it("runs an exec credential plugin for its token, as cloud clusters' kubeconfigs ask", () => {
        const plugin = file(
            "plugin.sh",
            '#!/bin/sh\nprintf \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s-%s"}}\' "$1" "$CLUSTER"\n',
        );
        chmodSync(plugin, 0o755);
        const config = readKubeconfig({
            kubeconfig: kubeconfig("exec", {
                "current-context": "cloud",
                clusters: [{ name: "c", cluster: { server: "https://c" } }],
                users: [
                    {
                        name: "u",
                        user: { exec: { command: plugin, args: ["issued"], env: [{ name: "CLUSTER", value: "gpu" }] } },
                    },
                ],
                contexts: [{ name: "cloud", context: { cluster: "c", user: "u" } }],
            }),
        });
        expect(config.token).toBe("issued-gpu");
    });

    it("says what is missing: a context, a cluster, or a way to sign in it cannot use", () => {
        const broken = kubeconfig("broken", {
            clusters: [],
            users: [{ name: "old", user: { "auth-provider": { name: "gcp" } } }],
            contexts: [
                { name: "nocluster", context: { cluster: "gone", user: "old" } },
                { name: "old", context: { cluster: "c", user: "old" } },
            ],
        });
        expect(() => readKubeconfig({ kubeconfig: broken })).toThrow(
            `${broken} names no current-context (set kubernetes.context)`,
        );
        expect(() => readKubeconfig({ kubeconfig: broken, context: "nope" })).toThrow(
            `${broken} has no context nope (kubernetes.context)`,
        );
        expect(() => readKubeconfig({ kubeconfig: broken, context: "nocluster" })).toThrow(
            `${broken} has no cluster gone (context nocluster)`,
        );
        const withCluster = kubeconfig("authprovider", {
            clusters: [{ name: "c", cluster: { server: "https://c" } }],
            users: [{ name: "old", user: { "auth-provider": { name: "gcp" } } }],
            contexts: [{ name: "old", context: { cluster: "c", user: "old" } }],
        });
        expect(() => readKubeconfig({ kubeconfig: withCluster, context: "old" })).toThrow(
            "the kubeconfig's user old uses an auth-provider, which these checks cannot use: use an exec credential plugin (kubectl's current way)",
        );
    });

    it("fails the preflight in one line when nothing answers at the cluster's address", async () => {
        const port = await freePort();
        const closed = kubeconfig("closed", {
            "current-context": "c",
            clusters: [{ name: "c", cluster: { server: `https://127.0.0.1:${port}` } }],
            users: [{ name: "u", user: { token: "x" } }],
            contexts: [{ name: "c", context: { cluster: "c", user: "u" } }],
        });
        const problems = await preflightProblems({
            access: { kubeconfig: closed },
            namespace: "ai",
            stack: "s",
            gpu: { resource: "nvidia.com/gpu", runtimeClassName: "", nodeSelector: {}, tolerations: [], asks: [] },
        });
        expect(problems).toEqual([
            `the cluster does not answer: connect ECONNREFUSED 127.0.0.1:${port} (check kubernetes.kubeconfig and kubernetes.context)`,
        ]);
    });
});

describe("the fix for a scheduler's reason", () => {
    it.each([
        [
            "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 Insufficient nvidia.com/gpu.",
            /^too few free GPUs/,
        ],
        [
            "0/3 nodes are available: 1 Insufficient memory, 2 node(s) had untolerated taint(s).",
            /^lower kubernetes.resources/,
        ],
        [
            "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.",
            /^no node has the labels kubernetes.nodeSelector/,
        ],
        ["0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}.", /^the nodes are tainted/],
        [
            "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims.",
            /^a volume claim cannot be bound/,
        ],
        ["something new", /^see kubectl describe pod$/],
    ])("%s", (reason, fix) => expect(schedulingFix(reason)).toMatch(fix));
});
