/**
 * One streamed chat completion through a LiteLLM router (OpenAI wire format, `stream: true`): tokens are
 * handed on as their server-sent events arrive, and the answer says which backend served it
 * (`x-litellm-model-api-base`), how long the first token took and how long the whole answer.
 */
import { describeFetchError, errorMessage } from "./http";

/** A finished streamed answer. */
export interface ChatAnswer {
    /** The whole text. */
    text: string;
    /** The backend LiteLLM sent the request to (`x-litellm-model-api-base`), when it says. */
    apiBase?: string;
    /** Milliseconds until the first content token. */
    firstTokenMs?: number;
    /** Milliseconds until the stream ended. */
    totalMs: number;
}

/** Why a completion failed; `status` is the router's HTTP status when it answered at all. */
export class ChatError extends Error {
    constructor(
        message: string,
        public readonly status?: number,
        public readonly connectionProblem?: string,
        /** The router's answer, when it answered with an error. */
        public readonly body?: string,
    ) {
        super(message);
    }
}

/** What to ask. */
export interface ChatRequest {
    /** Router base URL (no `/v1`). */
    routerUrl: string;
    /** The router's master key. */
    key: string;
    /** Model group, e.g. `code`. */
    model: string;
    /** The user's message. */
    prompt: string;
    /** Upper bound on the answer's length, in tokens. */
    maxTokens?: number;
    /** Milliseconds the whole answer may take. */
    timeoutMs: number;
    /** Receives each piece of text as it arrives. */
    onText?(text: string): void;
}

/** Sends the request and reads the event stream to its end (`data: [DONE]`). */
export async function streamChat(chat: ChatRequest): Promise<ChatAnswer> {
    const startedAt = performance.now();
    let response: Response;
    try {
        response = await fetch(`${chat.routerUrl}/v1/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${chat.key}` },
            body: JSON.stringify({
                model: chat.model,
                messages: [{ role: "user", content: chat.prompt }],
                stream: true,
                ...(chat.maxTokens ? { max_tokens: chat.maxTokens } : {}),
            }),
            signal: AbortSignal.timeout(chat.timeoutMs),
        });
    } catch (err) {
        const problem = describeFetchError(err, chat.timeoutMs);
        throw new ChatError(problem, undefined, problem);
    }
    if (response.status !== 200) {
        const body = await response.text();
        throw new ChatError(`HTTP ${response.status}: ${errorMessage(body)}`, response.status, undefined, body);
    }

    const answer: ChatAnswer = {
        text: "",
        apiBase: response.headers.get("x-litellm-model-api-base") ?? undefined,
        totalMs: 0,
    };
    const decoder = new TextDecoder();
    let buffered = "";
    try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
            buffered += decoder.decode(chunk, { stream: true });
            let end: number;
            while ((end = buffered.indexOf("\n")) >= 0) {
                const line = buffered.slice(0, end).trim();
                buffered = buffered.slice(end + 1);
                if (line === "data: [DONE]") return { ...answer, totalMs: performance.now() - startedAt };
                if (line.startsWith("data:")) readEvent(line.slice(5).trim(), answer, chat, startedAt);
            }
        }
    } catch (err) {
        if (err instanceof ChatError) throw err;
        throw new ChatError(`the stream broke off: ${describeFetchError(err, chat.timeoutMs)}`);
    }
    throw new ChatError("the stream ended without [DONE]");
}

/** One `data:` event: a chunk with a content delta, or an error the router reports mid-stream. */
function readEvent(data: string, answer: ChatAnswer, chat: ChatRequest, startedAt: number): void {
    let event: { choices?: { delta?: { content?: string | null } }[]; error?: unknown };
    try {
        event = JSON.parse(data);
    } catch {
        throw new ChatError(`the router sent an event that is not JSON: ${data.slice(0, 80)}`);
    }
    if (event.error !== undefined) throw new ChatError(`error in the stream: ${errorMessage(data)}`);
    const text = event.choices?.[0]?.delta?.content;
    if (!text) return;
    answer.firstTokenMs ??= performance.now() - startedAt;
    answer.text += text;
    chat.onText?.(text);
}
