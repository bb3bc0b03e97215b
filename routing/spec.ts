/**
 * The decision spec the generated classifiers read (routing/classifier.ts): pure data, rendered into the
 * Python files as a literal.
 */
import { AUTO_MODEL, RoutingConfig } from "./schema";

/** One route as the generated Python reads it. */
export interface RouteSpec {
    /** Route name, shown in the decision. */
    name: string;
    /** Group the route sends prompts to. */
    group: string;
    /** Whole-word, case-insensitive keywords. */
    keywords: string[];
    /** Case-insensitive regular expressions, searched anywhere in the prompt. */
    patterns: string[];
    /** Example prompts, compared by embedding. */
    examples: string[];
}

/** The embedding path as the generated Python reads it. */
export interface EmbeddingSpec {
    /** Base URL of the Ollama instance that serves the model, as the classifier's container reaches it. */
    url: string;
    /** The embedding model tag. */
    model: string;
    /** Similarity an example needs to decide. */
    threshold: number;
    /** Timeout of one embedding call, in seconds. */
    timeoutSeconds: number;
}

/** Everything the generated classifier knows: pure data, rendered into the Python files as a literal. */
export interface RoutingSpec {
    /** The model name that is routed (`auto`); requests for any other model are left alone. */
    virtualModel: string;
    /** Group used when nothing decides or anything fails. */
    defaultGroup: string;
    /** The routes in config order; on equal rule hits the earlier route wins. */
    routes: RouteSpec[];
    /** The embedding path, or null when routing uses rules only. */
    embedding: EmbeddingSpec | null;
}

/** The decision spec for a classifier whose container reaches the embedding model at `embeddingUrl`. */
export function routingSpec(routing: RoutingConfig, embeddingUrl: string | undefined): RoutingSpec {
    const embedding = routing.embedding;
    return {
        virtualModel: AUTO_MODEL,
        defaultGroup: routing.default,
        routes: routing.routes.map(({ name, group, keywords, patterns, examples }) => ({
            name,
            group,
            keywords,
            patterns,
            examples,
        })),
        embedding:
            embedding && embeddingUrl
                ? {
                      url: embeddingUrl,
                      model: embedding.model,
                      threshold: embedding.threshold,
                      timeoutSeconds: embedding.timeoutMs / 1000,
                  }
                : null,
    };
}
