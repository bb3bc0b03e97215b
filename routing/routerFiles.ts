/** The files a router ships beside its config.yaml: the hooks its `litellm_settings.callbacks` name. */
import { failoverHookFiles } from "./failoverHook";
import { routingHookFiles } from "./hook";
import { StackConfig } from "../config/stackKeys";

/** The hook modules of a router on `routerHost`: routing by content when it is on, failover when the strategy needs it. */
export function routerHookFiles(config: StackConfig, routerHost: string): Record<string, string> {
    return { ...routingHookFiles(config, routerHost), ...failoverHookFiles(config) };
}
