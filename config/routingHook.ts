/**
 * The LiteLLM hook that routes the virtual model `auto` by content: a `CustomLogger` whose
 * `async_pre_call_hook` rewrites `data["model"]` to the chosen group, shipped next to the router's config.yaml
 * and named in its `litellm_settings.callbacks`. Pure: the same config always gives the same text.
 */
import { METADATA_FUNCTION } from "./hookPython";
import { ROUTING_HOOK_CALLBACK, ROUTING_HOOK_FILE } from "./routing";
import { classifierSpec, renderClassifierModule } from "./routingPython";
import { StackConfig } from "./schema";

/** Response headers that carry the decision; values are ASCII (non-ASCII text is backslash-escaped). */
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
# metadata, which is never sent to the model.
DECISION_KEY = "ai_gateway_route"


${METADATA_FUNCTION}


def _ascii(text):
    return str(text).encode("ascii", "backslashreplace").decode("ascii")


class RouteByContent(CustomLogger):
    """Rewrites requests for the virtual model to the group the classifier picks; leaves all others alone."""

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
            "${DECISION_HEADERS.route}": made["route"] or "default",
            "${DECISION_HEADERS.group}": made["group"],
            "${DECISION_HEADERS.reason}": _ascii(made["reason"]),
        }


${hookInstance} = RouteByContent()
`;

/** The hook module for the router on `routerHost`. */
export function renderRoutingHook(config: StackConfig, routerHost: string): string {
    return renderClassifierModule({
        docstring:
            `ai-gateway: routing by content for LiteLLM (module ${hookModule}, loaded by litellm_settings.callbacks).\n` +
            "Generated from the stack config's ai-gateway:routing. Do not edit: change the stack and run pulumi up.",
        imports: [],
        spec: classifierSpec(config, routerHost),
        wrapper: WRAPPER,
    });
}

/** The files the router ships besides config.yaml: the hook when routing by content is on, else none. */
export function routingHookFiles(config: StackConfig, routerHost: string): Record<string, string> {
    return config.routing ? { [ROUTING_HOOK_FILE]: renderRoutingHook(config, routerHost) } : {};
}
