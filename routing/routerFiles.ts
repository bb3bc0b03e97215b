/** The files a router ships beside its config.yaml: the hooks its `litellm_settings.callbacks` name. */
import { failoverHookFiles } from "./failoverHook";
import { routingHookFiles } from "./hook";
import { requestLogFiles } from "./requestLog";
import { StackConfig } from "../config/stackKeys";
import { Vantage } from "../model/addressing";

/**
 * The hook modules of a router at `from`: routing by content when it is on, failover when the strategy needs it, and
 * the request log always.
 */
export function routerHookFiles(config: StackConfig, from: Vantage): Record<string, string> {
    return { ...routingHookFiles(config, from), ...failoverHookFiles(config), ...requestLogFiles() };
}
