/**
 * The same routes as an Open WebUI Filter function, for operators who want the choice made in the UI: its
 * `inlet` rewrites `body["model"]` from `auto` to the chosen group before Open WebUI calls the router, and
 * shows the decision as a status line in the chat. Written for Open WebUI 0.12.4's loader
 * (open_webui/utils/plugin.py): frontmatter in the first docstring, a `Filter` class with pydantic `Valves`.
 * `pulumi up` installs it through Open WebUI's API (providers/openWebUIFunction.ts) unless
 * `openWebUI.routingFilter.install` is false; then the file is shipped into the container for a manual install.
 * Pure: the same config always gives the same text.
 */
import { AUTO_MODEL, ROUTING_FILTER_FILE } from "./schema";
import { classifierSpec, renderClassifierModule } from "./classifier";
import { StackConfig } from "../config/stackKeys";
import { Vantage } from "../model/addressing";

/** Where the filter file is shipped in the Open WebUI container for a manual install, for `docker exec open-webui cat`. */
export const ROUTING_FILTER_DIR = "/app/ai-gateway";
/** The filter's id in Open WebUI: its file name without `.py`. */
export const ROUTING_FILTER_ID = ROUTING_FILTER_FILE.replace(/\.py$/, "");
/** The filter's name in Open WebUI's admin panel: the title of its frontmatter. */
export const ROUTING_FILTER_NAME = "Route by content (ai-gateway)";
const ROUTING_FILTER_DESCRIPTION =
    "Sends chats with the model auto to the group the stack's routes pick (same rules as the router's hook).";

const WRAPPER = String.raw`
class Filter:
    """Routes chats with the virtual model to the group the stack's routes pick."""

    class Valves(BaseModel):
        priority: int = Field(default=0, description="Order among filters; lower runs first.")
        use_embeddings: bool = Field(
            default=EXAMPLES is not None,
            description="Compare prompts with the routes' examples when no keyword or pattern decides.",
        )
        show_status: bool = Field(default=True, description="Show the routing decision above the answer.")

    def __init__(self):
        self.valves = self.Valves()

    async def inlet(self, body: dict, __event_emitter__=None) -> dict:
        if body.get("model") != ROUTING["virtualModel"]:
            return body
        made = await decide_request(body, use_examples=self.valves.use_embeddings)
        body["model"] = made["group"]
        LOG.info("routing (Open WebUI filter): %s", describe(made))
        if self.valves.show_status and __event_emitter__ is not None:
            await __event_emitter__(
                {
                    "type": "status",
                    "data": {"description": "Routed to %s: %s" % (made["group"], made["reason"]), "done": True},
                }
            )
        return body
`;

/** The filter module for Open WebUI, which runs at `from`. */
export function renderRoutingFilter(config: StackConfig, from: Vantage): string {
    return renderClassifierModule({
        docstring: [
            `title: ${ROUTING_FILTER_NAME}`,
            "author: ai-gateway",
            "version: 1.0.0",
            `description: ${ROUTING_FILTER_DESCRIPTION}`,
            "",
            "Generated from the stack config's ai-gateway:routing. Do not edit: change the stack and run pulumi up.",
        ].join("\n"),
        imports: ["from pydantic import BaseModel, Field"],
        spec: classifierSpec(config, from),
        wrapper: WRAPPER,
    });
}

/** The filter as `pulumi up` installs it into Open WebUI (the inputs of an OpenWebUIFunction). */
export interface RoutingFilterInstall {
    /** Function id. */
    functionId: string;
    /** Name in the admin panel. */
    name: string;
    /** Description in the admin panel. */
    description: string;
    /** The rendered filter. */
    content: string;
    /** Its valves, from `openWebUI.routingFilter`. */
    valves: Record<string, number | boolean>;
    /** Run on every model's chats instead of only on `auto`'s. */
    global: boolean;
    /** Models it is attached to: `auto`, unless global. */
    models: string[];
}

/** The filter's valves from the stack config, by the names its `Valves` class gives them. */
export function routingFilterValves(config: StackConfig): Record<string, number | boolean> {
    const settings = config.openWebUI.routingFilter;
    return {
        priority: settings.priority,
        show_status: settings.showStatus,
        use_embeddings: settings.useEmbeddings ?? config.routing?.embedding !== undefined,
    };
}

/** What `pulumi up` installs into Open WebUI at `from`: the filter when routing is on and it is not installed by hand. */
export function routingFilterInstall(config: StackConfig, from: Vantage): RoutingFilterInstall | undefined {
    const settings = config.openWebUI.routingFilter;
    if (!config.routing || !settings.install) return undefined;
    return {
        functionId: ROUTING_FILTER_ID,
        name: ROUTING_FILTER_NAME,
        description: ROUTING_FILTER_DESCRIPTION,
        content: renderRoutingFilter(config, from),
        valves: routingFilterValves(config),
        global: settings.global,
        models: settings.global ? [] : [AUTO_MODEL],
    };
}

/** The files shipped into the Open WebUI container: the filter, only when routing is on and it is installed by hand. */
export function routingFilterFiles(config: StackConfig, from: Vantage): Record<string, string> {
    return config.routing && !config.openWebUI.routingFilter.install
        ? { [ROUTING_FILTER_FILE]: renderRoutingFilter(config, from) }
        : {};
}
