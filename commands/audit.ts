/**
 * `npm run audit -- --stack <name> [--json] [--probe-addresses <a,b>] [--dir <folder>]`
 *
 * The final audit of a deployed stack, one verdict per rule and subject:
 * - bind-address: every published port of every container is on the host's bind address only, and only the
 *   door publishes the ports of the services behind it (and, with remote access, its HTTPS front on that address);
 * - ollama-not-beyond: no Ollama instance answers on any other address of this machine;
 * - auth: the routers and Qdrant refuse calls without a key or with a wrong one, Open WebUI without a session,
 *   a published Redis without its password;
 * - secrets: no key or password is empty, short or a well-known default;
 * - cloud-key: only the cloud router (4001) holds the cloud key, by its variable or its value;
 * - local-only-router: every replica of the local router (4000) lists only the config's groups, each deployment
 *   an Ollama model (never a cloud tag) at one of the stack's Ollama instances;
 * - routes: every replica of every router (4000 and 4001) refuses a canary request to LiteLLM's provider
 *   pass-through routes, which would forward it to the provider whatever the model list says;
 * - no-cloud-models: no Ollama instance holds a model that runs on a remote host;
 * - images-pinned: every container (Redis and the doors too) runs the pinned image the config names;
 * - no-egress: the routers on 4000, Open WebUI, Qdrant and Redis are on internal networks only, and from inside
 *   each router and Open WebUI a connection to an address beyond the stack fails: a listener this audit opens on
 *   the Docker host's address on the stack's ordinary network, which any container with a route out reaches
 *   (and on the host's address on the internal network, if it has one there);
 * - one-door and tls, with remote access on (commands/auditRemote.ts): only the door answers on the remote-access
 *   address, and what it serves there verifies against the stack's CA, over TLS 1.2 or newer, far from its end.
 * Exit 1 when any rule fails, and an answer the audit cannot read fails its own rule only. The router's key comes
 * from `AIGW_MASTER_KEY` or the stack's outputs. The rules are in auditContainers.ts (what each container publishes,
 * holds and runs), auditRouters.ts (what the services answer), auditNetwork.ts (who connects where) and
 * auditRemote.ts (remote access).
 */
import { isIP } from "node:net";
import { dockerVantage } from "../targets/docker/doorPlan";
import { ollamaApiBases } from "../model/litellm";
import { StackConfig } from "../config/stackKeys";
import { isRouter, listServices } from "../targets/docker/endpoints";
import {
    auditedContainers,
    bindingFindings,
    cloudKeyFindings,
    imageFindings,
    redisContainer,
    secretFindings,
} from "./auditContainers";
import { noEgressFindings, ollamaBeyondFindings, redisAuthFinding } from "./auditNetwork";
import { authFindings, localOnlyFinding, ollamaCloudFindings, routesFinding } from "./auditRouters";
import { Command, CommandIO, REPORT_OPTIONS, UsageError, loadDockerStack, parseCommandArgs, runWhenMain } from "./cli";
import { inspectStackContainers } from "./docker";
import { remoteAccessAuditFindings, remoteAccessCa } from "./auditRemote";
import { StackKeys } from "./keys";
import { Finding, reportFindings } from "./findings";

const USAGE = "usage: npm run audit -- --stack <name> [--json] [--probe-addresses <a,b>] [--dir <folder>]";

/**
 * Applies every rule to a deployed stack. `remoteAccessCa` gives what the remote-access chain must verify against
 * (commands/auditRemote.ts remoteAccessCa).
 */
export async function auditStack(
    config: StackConfig,
    masterKey: string,
    probeAddresses?: string[],
    remoteAccessCa: () => Promise<string | true | undefined> = async () => undefined,
): Promise<Finding[]> {
    const services = listServices(config);
    const redis = redisContainer(config);
    const audited = auditedContainers(config);
    const containers = await inspectStackContainers(audited);
    // Every replica of the local router on every router host, each against the instances as its host reaches them.
    const routers = services.filter((s) => s.kind === "router");
    const [beyond, auth, redisAuth, localOnly, routes, noCloud, images, noEgress, remote] = await Promise.all([
        ollamaBeyondFindings(services, probeAddresses),
        authFindings(services),
        redis ? redisAuthFinding(redis).then((f) => [f]) : Promise.resolve([]),
        Promise.all(
            routers.map((r) =>
                localOnlyFinding(config, r, masterKey, ollamaApiBases(config, dockerVantage(config, r.host.name))),
            ),
        ),
        // Both routers: the one on 4001 would forward to the providers as readily.
        Promise.all(services.filter(isRouter).map(routesFinding)),
        ollamaCloudFindings(services),
        imageFindings(audited, containers),
        noEgressFindings(audited, containers),
        remoteAccessAuditFindings(config, remoteAccessCa),
    ]);
    return [
        ...bindingFindings(audited, containers),
        ...beyond,
        ...auth,
        ...redisAuth,
        ...secretFindings(masterKey, audited, containers),
        ...cloudKeyFindings(config, audited, containers),
        ...localOnly,
        ...routes,
        ...noCloud,
        ...images,
        ...noEgress,
        ...remote,
    ];
}

function parseAddresses(value: string | undefined): string[] | undefined {
    if (value === undefined) return undefined;
    const addresses = value
        .split(",")
        .map((a) => a.trim())
        .filter(Boolean);
    const bad = addresses.find((a) => isIP(a) === 0);
    if (bad !== undefined) throw new UsageError(`--probe-addresses: ${bad} is not an IP address`);
    return addresses;
}

export const auditCommand: Command = {
    name: "audit",
    usage: USAGE,
    async run(argv: string[], io: CommandIO): Promise<number> {
        const { values } = parseCommandArgs(argv, { ...REPORT_OPTIONS, "probe-addresses": { type: "string" } });
        const stack = loadDockerStack(values, io.env);
        const probeAddresses = parseAddresses(values["probe-addresses"]);
        const keys = new StackKeys(stack.name, io.env);
        const masterKey = await keys.require("masterKey");
        const remote = stack.config.remoteAccess;
        const findings = await auditStack(
            stack.config,
            masterKey,
            probeAddresses,
            async () => remote && remoteAccessCa(remote, (name) => keys.output(name)),
        );
        return reportFindings(io, "audit", stack.name, findings, values.json);
    },
};

runWhenMain(module, auditCommand);
