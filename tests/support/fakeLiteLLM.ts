import { LocalServer, sendJson, startHttpServer } from "./httpServer";

/**
 * A real HTTP server answering LiteLLM proxy's cheap, unauthenticated health routes (docs/proxy/health.md).
 * It has no /health: in LiteLLM that route calls every model, so nothing may probe it.
 */
export class FakeLiteLLM {
    static readonly version = "1.77.7";
    private server?: LocalServer;

    static async start(): Promise<FakeLiteLLM> {
        const fake = new FakeLiteLLM();
        fake.server = await startHttpServer((req, res) => {
            if (req.url === "/health/liveliness") {
                sendJson(res, 200, "I'm alive!");
            } else if (req.url === "/health/readiness") {
                sendJson(res, 200, {
                    status: "healthy",
                    db: "Not connected",
                    cache: null,
                    litellm_version: FakeLiteLLM.version,
                });
            } else {
                sendJson(res, 404, { detail: "Not Found" });
            }
        });
        return fake;
    }

    get url(): string {
        return this.server!.url;
    }

    close(): Promise<void> {
        return this.server!.close();
    }
}
