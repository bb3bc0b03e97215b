/**
 * How much disk the models of a stack need, estimated from their tags before anything is pulled. Pure, so
 * `doctor` can compare it with the free space under each host's data directory before the first `up`.
 */
import { HostConfig } from "../config/stackKeys";

/**
 * Bytes per billion parameters of Ollama's default 4-bit quantization (Q4_K_M is about 4.8 bits a
 * weight), plus a margin for the embedding and output layers kept at higher precision.
 */
const BYTES_PER_BILLION_PARAMETERS = 0.65e9;
/** What a tag that names no size (`nomic-embed-text:v1.5`, `llama3.2`) is assumed to need. */
export const UNKNOWN_MODEL_BYTES = 5e9;

/** A model's estimated size on disk, and whether its tag said how big it is. */
export interface ModelSizeEstimate {
    /** The model tag. */
    model: string;
    /** Estimated bytes on disk. */
    bytes: number;
    /** False when the tag names no parameter count and `UNKNOWN_MODEL_BYTES` was assumed. */
    fromTag: boolean;
}

/** `qwen2.5-coder:14b` → 14e9 parameters' worth; `smollm:135m` → 0.135e9; sizes after the colon only. */
export function estimateModelSize(model: string): ModelSizeEstimate {
    const tag = model.slice(model.lastIndexOf(":") + 1);
    const size = /(?:^|[^a-z0-9.])(\d+(?:\.\d+)?)([bm])(?![a-z])/i.exec(tag);
    if (!size) return { model, bytes: UNKNOWN_MODEL_BYTES, fromTag: false };
    const billions = Number(size[1]) / (size[2].toLowerCase() === "m" ? 1000 : 1);
    return { model, bytes: Math.round(billions * BYTES_PER_BILLION_PARAMETERS), fromTag: true };
}

/** Every instance keeps its own copy of its models (its own directory), so a host needs the sum over instances. */
export function hostModelEstimates(host: HostConfig): ModelSizeEstimate[] {
    return host.ollama.flatMap((instance) => instance.models.map(estimateModelSize));
}
