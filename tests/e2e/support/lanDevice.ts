/**
 * Another device on the LAN, made on this machine: a network namespace joined to the host by a veth pair, with
 * addresses the test gives both ends and nothing else. What runs inside (curl, bash, Chromium) reaches the host
 * only over that link, as a laptop or phone reaches a server: through the host's address on it, past Docker's
 * rules for traffic from outside. `ip netns exec` puts /etc/netns/<namespace>/hosts over /etc/hosts inside, which
 * gives the host a name there. Everything is removed by `remove`, whatever the test did.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";

export interface LanDeviceOptions {
    /** Name of the namespace (also the stem of the veth interfaces' names). */
    namespace: string;
    /** The host's end of the link, e.g. 10.231.77.1; the device's is `device`; both in `prefix`. */
    hostAddress: string;
    deviceAddress: string;
    prefix: number;
    /** Names the device resolves to the host's address (its /etc/hosts). */
    hostnames: string[];
}

/** What a command run on the device ended with. */
export interface DeviceRun {
    status: number | null;
    stdout: string;
    stderr: string;
}

export class LanDevice {
    private readonly hostLink: string;
    private readonly deviceLink: string;

    private constructor(readonly options: LanDeviceOptions) {
        // Interface names have 15 characters at most.
        this.hostLink = `${options.namespace.slice(0, 12)}-h`;
        this.deviceLink = `${options.namespace.slice(0, 12)}-d`;
    }

    /** Makes the namespace, the link and its two addresses, and the device's hosts file. */
    static create(options: LanDeviceOptions): LanDevice {
        const device = new LanDevice(options);
        device.remove(); // what a run killed before its cleanup left
        const { namespace, hostAddress, deviceAddress, prefix } = options;
        const ip = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
        ip("netns", "add", namespace);
        ip("link", "add", device.hostLink, "type", "veth", "peer", "name", device.deviceLink);
        ip("link", "set", device.deviceLink, "netns", namespace);
        ip("address", "add", `${hostAddress}/${prefix}`, "dev", device.hostLink);
        ip("link", "set", device.hostLink, "up");
        ip("netns", "exec", namespace, "ip", "address", "add", `${deviceAddress}/${prefix}`, "dev", device.deviceLink);
        ip("netns", "exec", namespace, "ip", "link", "set", device.deviceLink, "up");
        ip("netns", "exec", namespace, "ip", "link", "set", "lo", "up");
        mkdirSync(device.etcDir, { recursive: true });
        writeFileSync(
            path.join(device.etcDir, "hosts"),
            `127.0.0.1 localhost\n${hostAddress} ${options.hostnames.join(" ")}\n`,
        );
        return device;
    }

    /** Where `ip netns exec` finds the files it puts over /etc's inside the namespace. */
    private get etcDir(): string {
        return path.join("/etc/netns", this.options.namespace);
    }

    /** Runs `command` on the device; never throws for its exit status. */
    run(command: string[], options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): DeviceRun {
        const result = spawnSync("ip", ["netns", "exec", this.options.namespace, ...command], {
            encoding: "utf8",
            input: options.input,
            env: options.env,
            timeout: options.timeoutMs ?? 60_000,
        });
        return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    }

    /** Whether a TCP connection from the device to `address:port` is accepted (bash's /dev/tcp, 3 s at most). */
    connects(address: string, port: number): { accepted: boolean; how: string } {
        const run = this.run(["timeout", "3", "bash", "-c", `: >/dev/tcp/${address}/${port}`]);
        if (run.status === 0) return { accepted: true, how: "accepted" };
        return { accepted: false, how: run.status === 124 ? "no answer in 3 s" : run.stderr.trim().split(": ").pop()! };
    }

    /**
     * An executable that starts Debian's Chromium on the device, for playwright's `executablePath`: `ip netns exec`
     * replaces itself with the browser, which keeps the pipe playwright speaks over.
     */
    chromiumWrapper(folder: string, chromium: string): string {
        const wrapper = path.join(folder, "chromium-on-device");
        writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${this.options.namespace} ${chromium} "$@"\n`);
        chmodSync(wrapper, 0o755);
        return wrapper;
    }

    /** Removes the namespace (its end of the link, and so the link, with it) and its files. */
    remove(): void {
        spawnSync("ip", ["netns", "delete", this.options.namespace], { stdio: "ignore" });
        spawnSync("ip", ["link", "delete", this.hostLink], { stdio: "ignore" });
        rmSync(this.etcDir, { recursive: true, force: true });
    }
}

/**
 * A browser profile home whose NSS database (what Chromium on Linux trusts besides its built-in roots) trusts
 * `caFile` to identify web sites, made with NSS's certutil (Debian's libnss3-tools). Chromium reads it from
 * `$HOME/.pki/nssdb`.
 */
export function nssHomeTrusting(home: string, caFile: string, nickname: string): string {
    const db = `sql:${path.join(home, ".pki", "nssdb")}`;
    mkdirSync(path.join(home, ".pki", "nssdb"), { recursive: true });
    execFileSync("certutil", ["-d", db, "-N", "--empty-password"], { stdio: "ignore" });
    execFileSync("certutil", ["-d", db, "-A", "-t", "C,,", "-n", nickname, "-i", caFile], { stdio: "ignore" });
    return home;
}
