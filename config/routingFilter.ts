/**
 * The same routes as an Open WebUI Filter function, for operators who want the choice made in the UI: its
 * `inlet` rewrites `body["model"]` from `auto` to the chosen group before Open WebUI calls the router, and
 * shows the decision as a status line in the chat. Written for Open WebUI 0.12.4's loader
 * (open_webui/utils/plugin.py): frontmatter in the first docstring, a `Filter` class with pydantic `Valves`.
 * Installed by hand for now (README, "Routing by content"). Pure: the same config always gives the same text.
 */
import { ROUTING_FILTER_FILE } from "./routing";
import { classifierSpec, renderClassifierModule } from "./routingPython";
import { StackConfig } from "./schema";

/** Where the filter file is shipped in the Open WebUI container, for `docker exec open-webui cat`. */
export const ROUTING_FILTER_DIR = "/app/ai-gateway";

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

/** The filter module for Open WebUI on `uiHost`. */
export function renderRoutingFilter(config: StackConfig, uiHost: string): string {
    return renderClassifierModule({
        docstring: [
            "title: Route by content (ai-gateway)",
            "author: ai-gateway",
            "version: 1.0.0",
            "description: Sends chats with the model auto to the group the stack's routes pick (same rules as the router's hook).",
            "",
            "Generated from the stack config's ai-gateway:routing. Do not edit: change the stack and run pulumi up.",
        ].join("\n"),
        imports: ["from pydantic import BaseModel, Field"],
        spec: classifierSpec(config, uiHost),
        wrapper: WRAPPER,
    });
}

/** The files shipped into the Open WebUI container: the filter when routing by content is on, else none. */
export function routingFilterFiles(config: StackConfig, uiHost: string): Record<string, string> {
    return config.routing ? { [ROUTING_FILTER_FILE]: renderRoutingFilter(config, uiHost) } : {};
}
