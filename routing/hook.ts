/**
 * The LiteLLM hook that routes the virtual model `auto` by content: a `CustomLogger` whose
 * `async_pre_call_hook` rewrites `data["model"]` to the chosen group, shipped next to the router's config.yaml
 * and named in its `litellm_settings.callbacks`. Pure: the same config always gives the same text.
 */
import { METADATA_FUNCTION } from "./hookPython";
import { ROUTING_HOOK_CALLBACK, ROUTING_HOOK_FILE } from "./schema";
import { classifierSpec, renderClassifierModule } from "./classifier";
import { StackConfig } from "../config/stackKeys";
import { Vantage } from "../model/addressing";

/**
 * Response headers that carry the decision; values are printable ASCII (anything else backslash-escaped). Only
 * the hook's own decision is sent: one a client puts in the request's metadata is ignored.
 */
export const DECISION_HEADERS = {
    route: "x-ai-gateway-route",
    group: "x-ai-gateway-route-group",
    reason: "x-ai-gateway-route-reason",
};

const [hookModule, hookInstance] = ROUTING_HOOK_CALLBACK.split(".");

const WRAPPER = String.raw`
try:
    from litellm.integrations.custom_logger import CustomLogger
except ImportError:
    # Outside the LiteLLM image (tests of the classifier): a plain base class keeps the module importable.
    CustomLogger = object

# Where the decision travels from the pre-call hook to the response-headers hook: LiteLLM's own request
# metadata, which is never sent to the model. A client can put anything into that metadata too (the request's
# "metadata"), so the key holds a random part made when the module loads: a decision under any other key,
# "ai_gateway_route" included, is the client's and is ignored.
DECISION_KEY = "ai_gateway_route_" + secrets.token_hex(16)


${METADATA_FUNCTION}


def _header_value(text):
    """Text as a header value: printable ASCII only, anything else (CR and LF included) as a backslash escape."""
    text = str(text).encode("ascii", "backslashreplace").decode("ascii")
    return "".join(c if " " <= c <= "~" else "\\x%02x" % ord(c) for c in text)


class RouteByContent(CustomLogger):
    """Rewrites requests for the virtual model to the group the classifier picks; leaves all others alone."""

    # Where the decision is kept: the request log (request_log.py) reads it there, and nowhere else.
    decision_key = DECISION_KEY

    async def async_pre_call_hook(self, user_api_key_dict, cache, data, call_type):
        if data.get("model") != ROUTING["virtualModel"]:
            return data
        made = await decide_request(data)
        data["model"] = made["group"]
        _metadata(data)[DECISION_KEY] = made
        LOG.info("routing: %s", describe(made))
        return data

    async def async_post_call_response_headers_hook(self, data, user_api_key_dict, response, request_headers=None):
        made = None
        for key in ("metadata", "litellm_metadata"):
            if isinstance(data.get(key), dict) and DECISION_KEY in data[key]:
                made = data[key][DECISION_KEY]
        if made is None:
            return None
        return {
            "${DECISION_HEADERS.route}": _header_value(made["route"] or "default"),
            "${DECISION_HEADERS.group}": _header_value(made["group"]),
            "${DECISION_HEADERS.reason}": _header_value(made["reason"]),
        }


${hookInstance} = RouteByContent()
`;

/** The hook module for a router at `from`. */
export function renderRoutingHook(config: StackConfig, from: Vantage): string {
    return renderClassifierModule({
        docstring:
            `ai-gateway: routing by content for LiteLLM (module ${hookModule}, loaded by litellm_settings.callbacks).\n` +
            "Generated from the stack config's ai-gateway:routing. Do not edit: change the stack and run pulumi up.",
        imports: ["import secrets"],
        spec: classifierSpec(config, from),
        wrapper: WRAPPER,
    });
}

/** The files the router ships besides config.yaml: the hook when routing by content is on, else none. */
export function routingHookFiles(config: StackConfig, from: Vantage): Record<string, string> {
    return config.routing ? { [ROUTING_HOOK_FILE]: renderRoutingHook(config, from) } : {};
}
