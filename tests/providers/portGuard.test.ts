import { ChildProcess, spawn } from "node:child_process";
import { portGuardProvider } from "../../providers/portGuard";
import { freePort } from "../support/httpServer";

/** Another process listening on host:port, as a port squatter would. */
async function holdPortInAnotherProcess(host: string): Promise<{ port: number; holder: ChildProcess }> {
    const holder = spawn(process.execPath, [
        "-e",
        `const s = require("node:net").createServer(); s.listen(0, ${JSON.stringify(host)}, () => console.log(s.address().port));`,
    ]);
    const port = await new Promise<number>((resolve, reject) => {
        holder.stdout!.once("data", (data) => resolve(Number(String(data).trim())));
        holder.once("exit", (code) => reject(new Error(`port holder exited with ${code}`)));
    });
    return { port, holder };
}

const router = { service: "router", configKey: "ai-gateway:router.port" };
const check = (olds: Record<string, unknown>, news: Record<string, unknown>) => portGuardProvider.check!(olds, news);

describe("PortGuard check", () => {
    const holders: ChildProcess[] = [];
    afterEach(() => holders.splice(0).forEach((holder) => holder.kill()));

    async function heldPort(host = "127.0.0.1"): Promise<number> {
        const { port, holder } = await holdPortInAnotherProcess(host);
        holders.push(holder);
        return port;
    }

    it("fails the preview for a port another process listens on, naming port, service and config key", async () => {
        const port = await heldPort();
        const { failures } = await check({}, { bindAddress: "127.0.0.1", port, ...router });
        expect(failures).toEqual([
            {
                property: "port",
                reason: `PortGuard: port ${port} on 127.0.0.1, wanted by router, is already in use. Change ai-gateway:router.port or stop what listens there.`,
            },
        ]);
    });

    it("passes a free port", async () => {
        const port = await freePort();
        expect((await check({}, { bindAddress: "127.0.0.1", port, ...router })).failures).toBeUndefined();
    });

    it("probes 127.0.0.1 for a 0.0.0.0 bind", async () => {
        const port = await heldPort("127.0.0.1");
        const { failures } = await check({}, { bindAddress: "0.0.0.0", port, ...router });
        expect(failures![0].reason).toContain(`port ${port} on 0.0.0.0, wanted by router, is already in use`);
    });

    it("probes ::1 for a :: bind", async () => {
        const port = await heldPort("::1");
        const { failures } = await check({}, { bindAddress: "::", port, ...router });
        expect(failures![0].reason).toContain(`port ${port} on ::, wanted by router, is already in use`);
    });

    it("never fails for a port the stack already owns", async () => {
        const port = await heldPort();
        const olds = { bindAddress: "127.0.0.1", port, ...router };
        expect((await check(olds, { ...olds })).failures).toBeUndefined();
        // Widening the bind of our own port: what listens there is our own container.
        expect((await check(olds, { ...olds, bindAddress: "0.0.0.0" })).failures).toBeUndefined();
    });

    it("probes a port the stack owned on another, non-overlapping address", async () => {
        const port = await heldPort();
        const olds = { bindAddress: "127.0.0.2", port, ...router };
        expect((await check(olds, { ...olds, bindAddress: "127.0.0.1" })).failures).toHaveLength(1);
    });

    it("probes probeHost when given (a remote Docker host)", async () => {
        const port = await heldPort();
        const { failures } = await check({}, { bindAddress: "0.0.0.0", port, probeHost: "127.0.0.1", ...router });
        expect(failures).toHaveLength(1);
    });

    it("rejects a port out of range and a bind address that is no IP", async () => {
        const outOfRange = await check({}, { bindAddress: "127.0.0.1", port: 70000, ...router });
        expect(outOfRange.failures).toEqual([
            {
                property: "port",
                reason: "PortGuard: port 70000 of router is not a TCP port (1-65535). Change ai-gateway:router.port.",
            },
        ]);
        const hostname = await check({}, { bindAddress: "localhost", port: 4000, ...router });
        expect(hostname.failures![0].property).toBe("bindAddress");
    });

    it("lets values unknown during preview through", async () => {
        const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
        expect((await check({}, { bindAddress: unknown, port: unknown, ...router })).failures).toBeUndefined();
    });
});

describe("PortGuard lifecycle", () => {
    const inputs = { bindAddress: "127.0.0.1", port: 4000, ...router };

    it("creates with the address and port as id and updates in place", async () => {
        const { id, outs } = await portGuardProvider.create(inputs);
        expect(id).toBe("127.0.0.1:4000");
        expect(await portGuardProvider.diff!(id, outs, { ...inputs })).toEqual({ changes: false });
        expect(await portGuardProvider.diff!(id, outs, { ...inputs, port: 4001 })).toEqual({ changes: true });
        expect((await portGuardProvider.update!(id, outs, { ...inputs, port: 4001 })).outs.port).toBe(4001);
    });
});
