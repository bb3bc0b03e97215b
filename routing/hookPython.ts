/** Python that the generated LiteLLM hooks (routing by content, failover) share. */

/**
 * `_metadata(data)`: a request's LiteLLM metadata, the dict that travels with it through LiteLLM and is never sent to
 * the model (`litellm_metadata` on LiteLLM's newer endpoints, `metadata` on the others), created when missing.
 */
export const METADATA_FUNCTION = String.raw`
def _metadata(data):
    key = "litellm_metadata" if isinstance(data.get("litellm_metadata"), dict) else "metadata"
    if not isinstance(data.get(key), dict):
        data[key] = {}
    return data[key]
`.trim();
