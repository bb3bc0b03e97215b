import { describePending, orphans } from "../../commands/interrupted";

/** The shape `pulumi stack export` gives after a run killed while creating the router container. */
const interrupted = {
    resources: [
        { type: "docker:index/network:Network", id: "net-1" },
        { type: "docker:index/container:Container", id: "ollama-1" },
        { type: "pulumi-nodejs:dynamic:Resource", id: "ollama-ollama-tiny" },
    ],
    pending_operations: [
        {
            type: "creating",
            resource: {
                urn: "urn:pulumi:e2e::ai-gateway::aigateway:docker:ServiceContainer$docker:index/container:Container::litellm",
            },
        },
    ],
};

describe("recovery from an interrupted run", () => {
    it("says which operations were in flight", () => {
        expect(describePending(interrupted)).toEqual(["creating litellm (docker:index/container:Container)"]);
        expect(describePending({ resources: [] })).toEqual([]);
    });

    it("takes as orphans only the stack's labelled objects that the state does not know", () => {
        const labelled = {
            containers: [
                { id: "ollama-1", name: "ollama" },
                { id: "litellm-9", name: "litellm" },
            ],
            networks: [{ id: "net-1", name: "ai-gateway" }],
        };
        expect(orphans(interrupted, labelled)).toEqual({
            containers: [{ id: "litellm-9", name: "litellm" }],
            networks: [],
        });
    });

    it("never takes an id the state records for another kind of resource as known", () => {
        const labelled = { containers: [{ id: "ollama-ollama-tiny", name: "x" }], networks: [] };
        expect(orphans(interrupted, labelled).containers).toEqual([{ id: "ollama-ollama-tiny", name: "x" }]);
    });
});
