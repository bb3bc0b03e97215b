/**
 * What a Docker Engine version means for the stack's promises, judged the same way by `npm run doctor` and by
 * `npm run up` before it starts: too old to run the stack, or old enough that ports the stack keeps private are
 * reachable from the LAN after all.
 */

/** The oldest engine the stack runs on (the API features its containers use). */
export const MINIMUM_ENGINE = "20.10.0";

/** The oldest engine with the fixes below: what README's prerequisites ask for. */
export const SAFE_ENGINE = "28.3.3";

/** The fix for every engine older than SAFE_ENGINE. */
export const ENGINE_FIX = `install Docker Engine ${SAFE_ENGINE} or newer (docker-ce from Docker's apt repository: https://docs.docker.com/engine/install/), then restart the stack's containers with npm run up`;

/** The engine releases that closed a hole, oldest first, with what is open before them. */
const FIXED_IN: [string, string][] = [
    [
        "28.0.0",
        "a LAN neighbour with a route to a Docker bridge subnet reaches the containers' addresses directly, Ollama's unauthenticated API included, whatever bindAddress says",
    ],
    [
        "28.3.3",
        "a firewalld reload removes the rules that keep ports published on 127.0.0.1 off the LAN (CVE-2025-54388)",
    ],
];

/** The engine's verdict: pass, warn (runs, with holes named) or fail (cannot run the stack). */
export interface EngineVerdict {
    verdict: "pass" | "warn" | "fail";
    detail: string;
}

/** major.minor.patch of a version as the engine reports it ("20.10.24+dfsg1", "28.3.3", "29.0.0-rc.1"). */
function parts(version: string): number[] | undefined {
    const match = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(version.trim());
    return match ? [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)] : undefined;
}

function older(version: number[], than: string): boolean {
    const bound = parts(than)!;
    for (let i = 0; i < 3; i++) if (version[i] !== bound[i]) return version[i] < bound[i];
    return false;
}

/** Judges the engine `host` runs, by the version its API reports. */
export function judgeEngine(version: string, host: string): EngineVerdict {
    const parsed = parts(version);
    if (!parsed)
        return {
            verdict: "warn",
            detail: `host ${host}: cannot read Docker's version ${JSON.stringify(version)}; the stack needs ${SAFE_ENGINE} or newer to keep its ports private`,
        };
    if (older(parsed, MINIMUM_ENGINE))
        return {
            verdict: "fail",
            detail: `host ${host}: Docker ${version} is older than ${MINIMUM_ENGINE}, the oldest the stack runs on: ${ENGINE_FIX}`,
        };
    const holes = FIXED_IN.filter(([fixed]) => older(parsed, fixed)).map(([fixed, hole]) => `before ${fixed}, ${hole}`);
    if (holes.length === 0) return { verdict: "pass", detail: `host ${host}: Docker ${version}` };
    return { verdict: "warn", detail: `host ${host}: Docker ${version}: ${holes.join("; ")}. Fix: ${ENGINE_FIX}` };
}
