/**
 * `doctor`'s checks of remote access (`ai-gateway:remoteAccess`), before the first `up`: the address is one of
 * the host's own, where Docker can publish the door's HTTPS front, and its ports there are free.
 */
import * as os from "node:os";
import { sameAddress } from "../config/addresses";
import { remoteAccessListeners } from "../targets/docker/doorHttps";
import { doorContainerName } from "../model/plan";
import { remoteAccessHost } from "../model/plan";
import { StackConfig } from "../config/stackKeys";
import { inspectStackContainers } from "./docker";
import { Finding, findingFor } from "./findings";
import { tryListen } from "./http";

/** This machine's addresses, each with the interface that has it. */
function localAddresses(): { address: string; interface: string }[] {
    return Object.entries(os.networkInterfaces()).flatMap(([name, list]) =>
        (list ?? []).map((i) => ({ address: i.address, interface: name })),
    );
}

export async function remoteAccessFindings(config: StackConfig): Promise<Finding[]> {
    const remote = config.remoteAccess;
    if (!remote) return [];
    const host = config.hosts.find((h) => h.name === remoteAccessHost(config))!;
    const address = findingFor("remote-access", `address ${remote.address}`);
    if (!host.docker.startsWith("unix://"))
        return [
            address(
                "skip",
                `remote host ${host.name}: check there that it is one of its addresses (ip -brief address)`,
            ),
        ];
    const own = localAddresses().find((a) => sameAddress(a.address, remote.address));
    if (!own) {
        const others = localAddresses()
            .filter((a) => !a.address.startsWith("fe80:"))
            .map((a) => a.address);
        return [
            address(
                "fail",
                `is not an address of this machine (it has ${others.join(", ")}): set ai-gateway:remoteAccess.address to the ` +
                    "host's LAN or VPN address, which other devices reach",
            ),
        ];
    }
    const listeners = remoteAccessListeners(config, host.name);
    const door = doorContainerName(config, host.name);
    const containers = await inspectStackContainers([{ containerName: door, host }]);
    const held = (port: number) =>
        containers.found.get(door)?.ports.some((p) => p.hostPort === port && sameAddress(p.hostIp, remote.address));
    const ports = await Promise.all(
        listeners.map(async (l) => {
            const finding = findingFor("remote-access", `port ${l.port}`);
            const problem = await tryListen(l.address, l.port);
            if (problem === undefined) return finding("pass", `${l.address}:${l.port} is free`);
            if (problem === "EADDRINUSE" && held(l.port))
                return finding("pass", `in use by this stack's own door ${door} (up replaces it)`);
            if (problem === "EADDRINUSE")
                return finding(
                    "fail",
                    `${l.address}:${l.port} is in use: change ${l.configKey} or stop what listens there (ss -ltnp | grep :${l.port})`,
                );
            if (problem === "EACCES")
                return finding("skip", `port ${l.port} needs root to test; Docker binds it itself`);
            return finding("fail", `cannot listen on ${l.address}:${l.port}: ${problem}`);
        }),
    );
    return [address("pass", `an address of this machine (${own.interface})`), ...ports];
}
