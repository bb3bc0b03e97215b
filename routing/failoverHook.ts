/**
 * Failover inside a group for the strategies LiteLLM 1.87.0 does not fail over with: a `CustomLogger` whose
 * `async_filter_deployments` leaves out of each pick the instances a request has already failed on, and for
 * `router.cooldownSeconds` the instances that answered no probe after such a failure. Shipped next to the
 * router's config.yaml and named in its `litellm_settings.callbacks`. Pure: the same config gives the same text.
 *
 * Why: LiteLLM's retries pick with the strategy again. `least-busy` picks the instance with the fewest requests
 * in flight, `usage-based-routing-v2` the one with the fewest tokens this minute and `latency-based-routing` the
 * one with the lowest recorded latency; a dead instance finishes nothing and fails at once, so it stays the pick
 * and every retry of a request can land on it. LiteLLM's own cooldown needs over half of an instance's requests
 * in the minute to fail (at least 5), and counts one failure per request, so it comes late or not at all; its
 * weighted failover, which re-picks among the others, runs for `simple-shuffle` only.
 */
import { METADATA_FUNCTION } from "./hookPython";
import { StackConfig } from "../config/stackKeys";

/** The hook module LiteLLM loads from the directory of its config file. */
export const FAILOVER_HOOK_FILE = "failover_hook.py";
/** `module.instance` of the hook, as LiteLLM's `litellm_settings.callbacks` names it. */
export const FAILOVER_HOOK_CALLBACK = "failover_hook.failover";
/** How long the probe of an instance after a failed request waits for any HTTP answer. */
export const PROBE_TIMEOUT_SECONDS = 2;

/** LiteLLM fails over inside a group by itself (`enable_weighted_failover`) with this strategy only. */
export function needsFailoverHook(config: StackConfig): boolean {
    return config.router.strategy !== "simple-shuffle";
}

/** The hook module: the stack's cooldown and the probe's timeout rendered in as constants. */
export function renderFailoverHook(config: StackConfig): string {
    const [module, instance] = FAILOVER_HOOK_CALLBACK.split(".");
    return String.raw`"""
ai-gateway: failover inside a group for LiteLLM's ${config.router.strategy} (module ${module}, loaded by
litellm_settings.callbacks). A retry never goes back to an instance the request failed on, and an instance
that answers no probe after a failed request is left out for router.cooldownSeconds.
Generated from the stack config. Do not edit: change the stack and run pulumi up.
"""
import asyncio
import logging
import time
import urllib.error
import urllib.request

try:
    from litellm.integrations.custom_logger import CustomLogger
except ImportError:
    # Outside the LiteLLM image (tests of the hook): a plain base class keeps the module importable.
    CustomLogger = object

# ai-gateway:router.cooldownSeconds; at 0 only the failover inside a request is left.
COOLDOWN_SECONDS = ${config.router.cooldownSeconds}
PROBE_TIMEOUT_SECONDS = ${PROBE_TIMEOUT_SECONDS}

LOG = logging.getLogger("ai_gateway.failover")
if not LOG.handlers:
    # Our own handler at INFO: the line must show whatever log level the router runs at.
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    LOG.addHandler(_handler)
    LOG.setLevel(logging.INFO)
    LOG.propagate = False

# Where a request keeps the deployments it has failed on: LiteLLM's own request metadata, the one dict its
# retries and fallbacks share, which is never sent to the model.
FAILED_KEY = "ai_gateway_failed"


${METADATA_FUNCTION}


def _id(deployment):
    return (deployment.get("model_info") or {}).get("id")


def _api_base(deployment):
    return (deployment.get("litellm_params") or {}).get("api_base")


def answers(api_base, timeout=PROBE_TIMEOUT_SECONDS):
    """Whether anything answers HTTP at the instance (any status will do): a dead one refuses or stays silent."""
    try:
        urllib.request.urlopen(api_base.rstrip("/") + "/models", timeout=timeout).close()
    except urllib.error.HTTPError:
        return True
    except Exception:
        return False
    return True


class Failover(CustomLogger):
    """Leaves failed and dead instances out of the deployments a group's strategy picks from."""

    def __init__(self, cooldown_seconds=COOLDOWN_SECONDS, clock=time.monotonic, probe=answers):
        self.cooldown_seconds = cooldown_seconds
        self.clock = clock
        self.probe = probe
        # api_base -> clock time until which its deployments are left out.
        self.down_until = {}
        # api_base -> the probe under way, kept referenced until it ends.
        self.probing = {}

    async def async_filter_deployments(
        self, model, healthy_deployments, messages, request_kwargs=None, parent_otel_span=None
    ):
        if request_kwargs is None:
            return healthy_deployments
        metadata = _metadata(request_kwargs)
        failed = metadata.setdefault(FAILED_KEY, [])
        # LiteLLM records the deployment of each attempt in the request's metadata; being asked to pick again
        # means that attempt failed.
        previous = (metadata.get("model_info") or {}).get("id")
        if previous is not None and previous not in failed:
            failed.append(previous)
            for deployment in healthy_deployments:
                if _id(deployment) == previous:
                    self._start_probe(_api_base(deployment))
        untried = [d for d in healthy_deployments if _id(d) not in failed] or healthy_deployments
        now = self.clock()
        # Never an empty list: with every instance failed or down, LiteLLM's own errors and fallbacks take over.
        return [d for d in untried if self.down_until.get(_api_base(d), 0) <= now] or untried

    def _start_probe(self, api_base):
        if not api_base or self.cooldown_seconds <= 0 or api_base in self.probing:
            return
        if self.down_until.get(api_base, 0) > self.clock():
            return
        self.probing[api_base] = asyncio.get_running_loop().create_task(self._probe(api_base))

    async def _probe(self, api_base):
        try:
            if not await asyncio.to_thread(self.probe, api_base):
                self.down_until[api_base] = self.clock() + self.cooldown_seconds
                LOG.info(
                    "failover: %s did not answer after a failed request; left out for %ss",
                    api_base,
                    self.cooldown_seconds,
                )
        finally:
            self.probing.pop(api_base, None)


${instance} = Failover()
`;
}

/** The hook file when the strategy needs it, else none. */
export function failoverHookFiles(config: StackConfig): Record<string, string> {
    return needsFailoverHook(config) ? { [FAILOVER_HOOK_FILE]: renderFailoverHook(config) } : {};
}
