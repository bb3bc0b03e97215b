"""
Runs the generated request log (routing/requestLog.ts) for the jest tests, outside LiteLLM: each event is handed to
the hook shaped as LiteLLM 1.87.0 hands it (seen in the real proxy: tests/peers/requestLog.test.ts proves the hook
there). The hook's lines go to stderr, as in the router; stdout says which events raised (none may).

Usage: python3 request_log_driver.py MODULE.py < events.json
The events: [{"kind": "success", "kwargs": {...}, "end": epoch_seconds}
             | {"kind": "failure", "request_data": {...}, "route": "/v1/...", "error": {"class": "Name",
                "message": "...", "status_code": n, "code": "n"}}, ...]
The routing hook's decision key is "ai_gateway_route_driver": a stand-in for the routing hook, whose decision_key it
is, is among LiteLLM's callbacks.
"""
import asyncio
import datetime
import importlib.util
import json
import sys
import types

DECISION_KEY = "ai_gateway_route_driver"


def load(path):
    spec = importlib.util.spec_from_file_location("generated_request_log", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class RoutingHookStandIn:
    decision_key = DECISION_KEY


def exception(error):
    cls = type(error.get("class", "Exception"), (Exception,), {})
    err = cls(error.get("message", ""))
    for attribute in ("status_code", "code", "message"):
        if attribute in error:
            setattr(err, attribute, error[attribute])
    return err


async def run(module, events):
    module.litellm = types.SimpleNamespace(callbacks=[object(), RoutingHookStandIn(), module.request_log])
    raised = []
    for event in events:
        try:
            if event["kind"] == "success":
                end = datetime.datetime.fromtimestamp(event["end"]) if "end" in event else None
                await module.request_log.async_log_success_event(event["kwargs"], None, None, end)
            else:
                key = types.SimpleNamespace(request_route=event.get("route"))
                returned = await module.request_log.async_post_call_failure_hook(
                    event["request_data"], exception(event["error"]), key
                )
                if returned is not None:
                    raised.append("the failure hook returned %r" % (returned,))
        except Exception as err:
            raised.append(repr(err))
    return raised


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(load(sys.argv[1]), json.load(sys.stdin)))))
