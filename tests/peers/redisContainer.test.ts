/**
 * Redis's container command and health check, run as the container runs them (`sh -c`) against Debian's real
 * redis-server and redis-cli (installed by peers/install.sh): the password works, and it is in no process's command line. The only change is
 * the port, added by two one-line wrappers on PATH, so the test never touches 6379.
 */
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { serviceHealthcheck } from "../../targets/docker/containers";
import { dockerServices, everyServiceConfig } from "../support/stack";
import { freePort } from "../support/httpServer";
import { REDIS_SERVER } from "./support/redis";

const PASSWORD = "aigwRedisTestPassword0123456789";
const redis = dockerServices(everyServiceConfig()).find((s) => s.role === "redis")!;
const redisHealthcheck = serviceHealthcheck(redis.selfCheck);
describe("Redis's command line and health check (Debian's redis-server)", () => {
    let dir: string;
    let port: number;
    let server: ReturnType<typeof spawn>;
    const env = () => ({ ...process.env, PATH: `${dir}:${process.env.PATH}`, REDIS_PASSWORD: PASSWORD });
    const healthy = () => {
        try {
            execFileSync("sh", ["-c", redisHealthcheck.tests[1]], { env: env(), stdio: "ignore" });
            return true;
        } catch {
            return false;
        }
    };

    beforeAll(async () => {
        if (!existsSync(REDIS_SERVER)) throw new Error(`${REDIS_SERVER} missing: run peers/install.sh first`);
        dir = mkdtempSync(path.join(tmpdir(), "aigw-redis-"));
        port = await freePort();
        // redis-server reads its config from standard input only when "-" is its first argument; redis-cli takes
        // options only before its command.
        const wrappers = {
            "redis-server": `"$@" --port ${port} --bind 127.0.0.1 --dir ${dir}`,
            "redis-cli": `-p ${port} "$@"`,
        };
        for (const [name, args] of Object.entries(wrappers)) {
            writeFileSync(path.join(dir, name), `#!/bin/sh\nexec /usr/bin/${name} ${args}\n`);
            chmodSync(path.join(dir, name), 0o755);
        }
        const command = redis.command!;
        server = spawn(command[0], command.slice(1), { env: env(), stdio: "ignore" });
        for (let i = 0; i < 100 && !healthy(); i++) await sleep(50);
    });
    afterAll(() => {
        server?.kill("SIGKILL");
        rmSync(dir, { recursive: true, force: true });
    });

    it("starts with the password from the environment, and the health check passes with it", () => {
        expect(healthy()).toBe(true);
        const refused = execFileSync(`${dir}/redis-cli`, ["ping"], { encoding: "utf8" });
        expect(refused).toContain("NOAUTH");
    });

    it("never puts the password on a command line, neither the server's nor the health check's", () => {
        expect(redisHealthcheck.tests.join(" ")).not.toMatch(/-a\b/);
        const commandLines = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" });
        expect(commandLines).toContain("redis-server");
        expect(commandLines).not.toContain(PASSWORD);
        expect(readFileSync(`/proc/${server.pid}/cmdline`, "utf8")).not.toContain(PASSWORD);
    });
});
