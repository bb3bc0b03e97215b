"""
Runs the generated failover hook (routing/failoverHook.ts) for the jest tests, outside LiteLLM: the deployments
and request metadata are shaped as LiteLLM 1.87.0 passes them to async_filter_deployments.

Usage: python3 failover_driver.py MODULE.py < scenario.json > result.json
The scenario: {"cooldown": s, "deployments": [[id, api_base], ...], "dead": [api_base, ...],
"steps": [{"request": n, "picked": id | null, "at": seconds, "metadataKey": "metadata" | "litellm_metadata"}, ...],
"answers": [url, ...]}. Each step is one pick of request n: `picked` is the deployment its previous attempt went
to (LiteLLM's metadata["model_info"]), `at` the hook's clock. Result: per step, the ids offered to the strategy;
the probes made; and the module's own answers() for each of "answers".
"""
import asyncio
import importlib.util
import json
import sys


def load(path):
    spec = importlib.util.spec_from_file_location("generated_failover", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def run(module, scenario):
    now = [0.0]
    probes = []

    def probe(api_base):
        probes.append(api_base)
        return api_base not in scenario["dead"]

    hook = module.Failover(
        cooldown_seconds=scenario.get("cooldown", module.COOLDOWN_SECONDS), clock=lambda: now[0], probe=probe
    )
    deployments = [
        {"model_name": "fast", "litellm_params": {"api_base": base}, "model_info": {"id": id_}}
        for id_, base in scenario["deployments"]
    ]
    requests = {}
    offered = []
    for step in scenario["steps"]:
        now[0] = step.get("at", now[0])
        key = step.get("metadataKey", "metadata")
        kwargs = requests.setdefault(step["request"], {key: {"model_group": "fast"}})
        if step.get("picked") is not None:
            kwargs[key]["model_info"] = {"id": step["picked"]}
        kept = await hook.async_filter_deployments("fast", list(deployments), None, request_kwargs=kwargs)
        offered.append([d["model_info"]["id"] for d in kept])
        # Let a probe started by this pick finish before the next one, as a refused connection does.
        while hook.probing:
            await asyncio.sleep(0.001)
    return {
        "offered": offered,
        "probes": probes,
        "answers": [module.answers(url, timeout=1) for url in scenario.get("answers", [])],
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(load(sys.argv[1]), json.load(sys.stdin)))))
