/**
 * jest globalSetup of the real-services suite: stops the run at once, with one line, when what peers/install.sh
 * installs is missing, instead of every suite failing on its own (and a server started before the failure
 * keeping jest alive).
 */
import { existsSync } from "node:fs";
import { LITELLM_PYTHON, OLLAMA_BIN, PEERS_CACHE } from "./peers";
import { REDIS_SERVER } from "./redis";

/** What the suites need, by the path that must exist. */
const REQUIRED: [string, string][] = [
    [OLLAMA_BIN, "Ollama 0.17.4"],
    [LITELLM_PYTHON, "LiteLLM 1.87.0's venv"],
    [REDIS_SERVER, "Debian's redis-server"],
    ["/usr/bin/docker-registry", "Debian's docker-registry"],
];

export default function requirePeers(): void {
    requirePeersFor("npm run test:peers");
}

/** Exits with one line when what `command` needs from peers/install.sh is missing. */
export function requirePeersFor(command: string): void {
    const missing = REQUIRED.filter(([file]) => !existsSync(file)).map(([file, what]) => `${what} (${file})`);
    if (missing.length === 0) return;
    // One line and out: a thrown error would bury it under jest's stack trace.
    process.stderr.write(
        `${command}: missing ${missing.join(", ")}: run peers/install.sh first (cache: ${PEERS_CACHE})\n`,
    );
    process.exit(1);
}
