import { validateStackConfig } from "../../../config/load";
import { goDuration, gpuDeviceRequests, serviceHealthcheck, serviceUrl } from "../../../targets/docker/containers";
import { dockerServices, everyServiceConfig, minimalConfig } from "../../support/stack";

describe("GPU requests", () => {
    it.each([
        ["all", [{ driver: "nvidia", capabilities: ["gpu"], count: -1 }]],
        [2, [{ driver: "nvidia", capabilities: ["gpu"], count: 2 }]],
        [["0", "3"], [{ driver: "nvidia", capabilities: ["gpu"], deviceIds: ["0", "3"] }]],
        ["none", undefined],
    ] as const)("%j", (gpu, expected) => {
        expect(gpuDeviceRequests(gpu as never)).toEqual(expected);
    });
});

describe("healthcheck durations", () => {
    it("are spelled as Go prints them, the form the Docker provider reads back", () => {
        expect([5, 20, 60, 90, 120].map(goDuration)).toEqual(["5s", "20s", "1m0s", "1m30s", "2m0s"]);
        // Whole minutes, then seconds under 60: "60s" would read back as "1m0s", a diff on every up.
        const services = dockerServices(everyServiceConfig());
        expect(new Set(services.map((s) => s.role)).size).toBe(6);
        for (const check of services.map((s) => serviceHealthcheck(s.selfCheck)))
            for (const duration of [check.interval, check.timeout, check.startPeriod])
                expect(duration).toMatch(/^(?:[1-9]\d*m)?[1-5]?\ds$/);
    });
});

describe("service URLs used by pulumi up", () => {
    const host = (bindAddress: string) =>
        validateStackConfig(minimalConfig({ hosts: [{ name: "box", bindAddress, allowWildcardBind: true }] })).hosts[0];
    it.each([
        ["127.0.0.1", "http://127.0.0.1:4000/x"],
        ["0.0.0.0", "http://127.0.0.1:4000/x"],
        ["::", "http://[::1]:4000/x"],
        ["0:0:0:0:0:0:0:0", "http://[::1]:4000/x"],
        ["::ffff:127.0.0.1", "http://127.0.0.1:4000/x"],
        ["192.168.1.20", "http://192.168.1.20:4000/x"],
    ])("bind %s is probed at %s", (bind, url) => {
        expect(serviceUrl(host(bind), 4000, "/x")).toBe(url);
    });
});
