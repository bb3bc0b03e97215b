/**
 * Failover with every routing strategy, against the real LiteLLM 1.87.0 and Ollama 0.17.4: a group on two
 * instances behind the router config and hooks the program renders, 200 requests from 8 concurrent clients, and
 * the instance that has answered most so far (the one the strategy prefers) SIGKILLed after 60 of them. No
 * request may fail. A control run without the failover hook shows what LiteLLM does by itself.
 * Ports: Ollama 11470-11471, LiteLLM 4070.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parseDocument } from "yaml";
import { FAILOVER_HOOK_CALLBACK } from "../../routing/failoverHook";
import { REQUEST_LOG_CALLBACK } from "../../routing/requestLog";
import { renderRouterConfig } from "../../model/litellm";
import { ROUTING_STRATEGIES } from "../../config/serviceKeys";
import {
    countByInstance,
    drive,
    failedOver,
    killPeer,
    loadGroup,
    loadOneThreadModel,
    RoutingStrategy,
} from "./support/load";
import { toLoopback } from "./support/loopback";
import {
    Answer,
    answeredBy,
    chat,
    loopback,
    p50,
    Peer,
    startLiteLLM,
    startOllama,
    startRoutedLiteLLM,
    stopPeers,
} from "./support/peers";
import { dockerVantage } from "../../targets/docker/doorPlan";

const MASTER_KEY = "sk-ai-gateway-failover-test";
const PORTS = { first: 11470, second: 11471, router: 4070 };
const REQUESTS = 200;
const CLIENTS = 8;
const KILL_AFTER = 60;

interface Run {
    answers: Answer[];
    killed: string;
    servedBeforeKill: Record<string, number>;
}

let state: string;
beforeAll(() => (state = mkdtempSync(path.join(tmpdir(), "ai-gateway-failover-"))));
afterAll(() => rmSync(state, { recursive: true, force: true }));

/**
 * Two fresh instances and a fresh router for `strategy` (`withoutHook`: its rendered config minus the failover
 * hook, i.e. LiteLLM alone), the load, and the kill; stops everything it started.
 */
async function runWithKill(strategy: RoutingStrategy, withoutHook = false): Promise<Run> {
    const dir = path.join(state, `${strategy}${withoutHook ? "-control" : ""}`);
    const instances = [PORTS.first, PORTS.second].map((port) => startOllama(port, path.join(dir, `ollama-${port}`)));
    let router: Peer | undefined;
    try {
        for (const instance of instances) await loadOneThreadModel(instance);
        const { config, apiBases } = loadGroup(strategy, [
            { name: "ollama", port: PORTS.first },
            { name: "ollama-2", port: PORTS.second },
        ]);
        const routerDir = path.join(dir, "litellm");
        if (withoutHook) {
            const doc = parseDocument(
                toLoopback(renderRouterConfig(config, "local", dockerVantage(config)), { apiBases }),
            );
            expect(doc.toJS().litellm_settings.callbacks).toEqual([FAILOVER_HOOK_CALLBACK, REQUEST_LOG_CALLBACK]);
            doc.deleteIn(["litellm_settings", "callbacks"]);
            router = startLiteLLM(doc.toString(), PORTS.router, routerDir, { LITELLM_MASTER_KEY: MASTER_KEY });
        } else router = startRoutedLiteLLM(config, apiBases, PORTS.router, routerDir, MASTER_KEY);
        const url = router.url;
        let killed = "";
        let servedBeforeKill: Record<string, number> = {};
        const done: Answer[] = [];
        const answers = await drive(REQUESTS, CLIENTS, async () => {
            if (done.length >= KILL_AFTER && !killed) {
                servedBeforeKill = countByInstance(done);
                killed = Object.entries(servedBeforeKill).sort((a, b) => b[1] - a[1])[0][0];
                killPeer(instances.find((i) => i.url === killed)!);
            }
            const answer = await chat({ url, model: "fast", key: MASTER_KEY, extra: { max_tokens: 1 } });
            done.push(answer);
            return answer;
        });
        return { answers, killed, servedBeforeKill };
    } finally {
        stopPeers(router, ...instances);
    }
}

const failed = (run: Run) => run.answers.filter((a) => a.status !== 200);

describe("failover with every strategy: one of two instances SIGKILLed mid-run", () => {
    it.each(ROUTING_STRATEGIES)("%s: 0 of 200 requests fail", async (strategy) => {
        const run = await runWithKill(strategy);
        const survivor = [loopback(PORTS.first), loopback(PORTS.second)].find((u) => u !== run.killed)!;
        const afterKill = run.answers.slice(KILL_AFTER + CLIENTS);
        const retried = run.answers.filter(failedOver);
        console.log(
            `failover ${strategy}: ${failed(run).length} of ${REQUESTS} failed; killed ${run.killed} after it answered ` +
                `${run.servedBeforeKill[run.killed]} of ${KILL_AFTER}; ${retried.length} requests failed over ` +
                `(p50 ${p50(retried.map((a) => a.ms)).toFixed(0)} ms vs ${p50(run.answers.map((a) => a.ms)).toFixed(0)} ms for all)`,
        );
        expect(failed(run).map((a) => `${a.status} ${a.body.slice(0, 200)}`)).toEqual([]);
        // The kill hit the instance the strategy was using, and the requests sent later went to the survivor.
        expect(run.servedBeforeKill[run.killed]).toBeGreaterThan(0);
        expect(retried.length).toBeGreaterThan(0);
        expect(new Set(afterKill.map(answeredBy))).toEqual(new Set([survivor]));
    });

    it("control: usage-based-routing-v2 without the hook, LiteLLM alone, fails requests", async () => {
        // The dead instance finishes nothing, so its tokens this minute stay the lowest: every pick and retry goes to it
        // until LiteLLM's cooldown (over half of its requests in the minute failed) finally leaves it out.
        const run = await runWithKill("usage-based-routing-v2", true);
        console.log(
            `failover control usage-based-routing-v2 without the hook: ${failed(run).length} of ${REQUESTS} failed`,
        );
        expect(failed(run).length).toBeGreaterThan(0);
    });
});
