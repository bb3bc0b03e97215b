/**
 * Load for the load-balancing suites and the benchmark: concurrent clients, a one-thread copy of a tiny model,
 * and the instance that answered each request.
 */
import { OLLAMA_CONTAINER_PORT } from "../../../model/ollama";
import { validateStackConfig } from "../../../config/load";
import { ROUTING_STRATEGIES } from "../../../config/serviceKeys";
import { StackConfig } from "../../../config/stackKeys";
import { Answer, answeredBy, loadTinyModel, loopback, Peer, peerPid } from "./peers";

/** One of `router.strategy`'s values. */
export type RoutingStrategy = (typeof ROUTING_STRATEGIES)[number];

/** A group on loopback Ollamas, as the load-balancing suites and the benchmark route it. */
export interface LoadGroup {
    /** A one-host stack whose group `fast` is ONE_THREAD_MODEL on each instance (CPU only), in their order. */
    config: StackConfig;
    /** The router's map from each instance's container address to its loopback Ollama (`toLoopback`). */
    apiBases: Record<string, string>;
}

/** The group `fast` on `instances` (named as in the stack, each an Ollama on its loopback port), routed by `strategy`. */
export function loadGroup(strategy: RoutingStrategy, instances: { name: string; port: number }[]): LoadGroup {
    return {
        config: validateStackConfig({
            hosts: [{ name: "box", ollama: instances.map((i) => ({ ...i, gpu: "none", models: [ONE_THREAD_MODEL] })) }],
            groups: { fast: [ONE_THREAD_MODEL] },
            router: { strategy },
        }),
        apiBases: Object.fromEntries(
            instances.map((i) => [`http://${i.name}:${OLLAMA_CONTAINER_PORT}`, loopback(i.port)]),
        ),
    };
}

/**
 * Sends `total` requests from `clients` concurrent clients, each sending its next request when its last one
 * ended; `request(i)` sends the i-th. Resolves with every result, in the order they were sent.
 */
export async function drive<T>(total: number, clients: number, request: (i: number) => Promise<T>): Promise<T[]> {
    const results: T[] = new Array(total);
    let next = 0;
    await Promise.all(
        Array.from({ length: Math.min(clients, total) }, async () => {
            while (next < total) {
                const i = next++;
                results[i] = await request(i);
            }
        }),
    );
    return results;
}

/** How many of `answers` each instance answered (by the router's `x-litellm-model-api-base`). */
export function countByInstance(answers: Answer[]): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const answer of answers) {
        const instance = answeredBy(answer);
        if (instance !== undefined) counts[instance] = (counts[instance] ?? 0) + 1;
    }
    return counts;
}

/** Whether LiteLLM retried the request or fell back before it was answered. */
export function failedOver(answer: Answer): boolean {
    return (
        Number(answer.headers["x-litellm-attempted-retries"] ?? 0) > 0 ||
        Number(answer.headers["x-litellm-attempted-fallbacks"] ?? 0) > 0
    );
}

/** SIGKILL to a peer's whole process group (an Ollama server and its runner), as a crash or the OOM killer does. */
export function killPeer(peer: Peer): void {
    process.kill(-peerPid(peer), "SIGKILL");
}

/** The tiny model tiny-a on one CPU thread, as `loadOneThreadModel` creates it. */
export const ONE_THREAD_MODEL = "tiny-a-1t";

/**
 * Creates tiny-a, then a copy of it with one CPU thread (ONE_THREAD_MODEL), in the Ollama `peer`. llama.cpp's threads
 * wait for each other by spinning: on this machine's 2 cores, shared with other processes, a runner with Ollama's
 * default of one thread per core took 1-16 s for 64 tokens instead of 20-40 ms. One thread keeps a model's speed
 * its own.
 */
export async function loadOneThreadModel(peer: Peer): Promise<void> {
    loadTinyModel(Number(new URL(peer.url).port), "tiny-a");
    const response = await fetch(`${peer.url}/api/create`, {
        method: "POST",
        body: JSON.stringify({
            model: ONE_THREAD_MODEL,
            from: "tiny-a",
            parameters: { num_thread: 1, num_predict: 16 },
            stream: false,
        }),
    });
    const body = await response.text();
    if (response.status !== 200 || !body.includes("success"))
        throw new Error(`POST ${peer.url}/api/create ${ONE_THREAD_MODEL}: HTTP ${response.status} ${body}`);
}
