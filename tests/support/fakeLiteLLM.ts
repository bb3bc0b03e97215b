import { LocalServer, sendJson, startHttpServer } from "./httpServer";

/**
 * A real HTTP server answering LiteLLM proxy's cheap, unauthenticated health routes as 1.87.0 does (its public
 * readiness is `{status, db}`, without the version, which only the authenticated /health/readiness/details gives).
 * It has no /health: in LiteLLM that route calls every model, so nothing may probe it.
 */
export class FakeLiteLLM {
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
