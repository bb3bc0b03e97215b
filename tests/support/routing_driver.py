"""
Runs a generated routing module (the LiteLLM hook or the Open WebUI filter) for the jest tests.

Usage: python3 routing_driver.py MODULE.py MODE < input.json > output.json
Modes:
  classify   {"texts": [...], "embed": "none" | "words" | "broken"} -> one decision per text
             ("words": a deterministic bag-of-words embedding, so similarity is predictable)
  hook       {"requests": [data, ...], "rulesTimeoutSeconds"?: t} -> per request: the model after the pre-call hook
             and the headers (the rules' time limit t instead of the module's)
  stalled    {"texts": [...], "timeoutSeconds": t} -> per text: the decision and how long it took, with the
             module's real Ollama client pointed at a server that accepts connections and never answers; and how
             many connections reached that server
  openwebui  {"bodies": [body, ...]} -> the module loaded the way Open WebUI 0.12.4 loads a function
             (open_webui/utils/plugin.py), its frontmatter, its valves' schema and inlet's result per body
"""
import asyncio
import json
import re
import socket
import sys
import time
import types
import zlib


def load_like_python(path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("generated_routing", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def words_embedding(texts):
    vectors = []
    for text in texts:
        vector = [0.0] * 64
        for word in re.findall(r"\w+", text.lower()):
            vector[zlib.crc32(word.encode("utf-8")) % 64] += 1.0
        vectors.append(vector)
    return vectors


def broken_embedding(texts):
    raise ConnectionRefusedError("embedding backend down")


def classify(module, request):
    embed = {"words": words_embedding, "broken": broken_embedding}.get(request["embed"])
    examples = module.ExampleIndex(module.ROUTING, embed) if embed else None
    return [module.classify(text, examples=examples) for text in request["texts"]]


def hook(module, request):
    # Each request starts a fresh rules process, whose start a loaded machine can stretch past the hook's 1 s;
    # a test that is not about that limit gives the rules more time.
    if "rulesTimeoutSeconds" in request:
        module.RULES_TIMEOUT_SECONDS = request["rulesTimeoutSeconds"]

    async def run(data):
        data = await module.route_by_content.async_pre_call_hook(None, None, data, "acompletion")
        headers = await module.route_by_content.async_post_call_response_headers_hook(data, None, None)
        return {"model": data["model"], "headers": headers}

    return [asyncio.run(run(data)) for data in request["requests"]]


def stalled(module, request):
    # A listening socket nobody accepts on: the connection opens, the answer never comes.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    embedding = dict(module.ROUTING["embedding"], url="http://127.0.0.1:%d" % server.getsockname()[1])
    embedding["timeoutSeconds"] = request["timeoutSeconds"]
    examples = module.ExampleIndex(module.ROUTING, module.OllamaEmbed(embedding))
    results = []
    for text in request["texts"]:
        started = time.monotonic()
        made = module.classify(text, examples=examples)
        results.append({"decision": made, "ms": (time.monotonic() - started) * 1000})
    # Every connection the client opened waits in the listen queue, closed or not: take them all.
    server.setblocking(False)
    connections = 0
    while True:
        try:
            server.accept()[0].close()
        except BlockingIOError:
            break
        connections += 1
    server.close()
    return {"results": results, "connections": connections}


# Open WebUI 0.12.4, open_webui/utils/plugin.py: extract_frontmatter and the replacements of replace_imports
# ("from utils" -> "from open_webui.utils", ...).
FRONTMATTER_LINE = re.compile(r"^\s*([a-z_]+):\s*(.*)\s*$", re.IGNORECASE)
IMPORT_REPLACEMENTS = ["from utils", "from apps", "from main", "from config"]


def extract_frontmatter(content):
    lines = content.splitlines()
    if not lines or lines[0].strip() != '"""':
        return {}
    frontmatter = {}
    for line in lines[1:]:
        if '"""' in line:
            break
        match = FRONTMATTER_LINE.match(line)
        if match:
            frontmatter[match.group(1).strip()] = match.group(2).strip()
    return frontmatter


def openwebui(path, request):
    with open(path, encoding="utf-8") as f:
        content = f.read()
    rewritten = [old for old in IMPORT_REPLACEMENTS if old in content]
    # As replace_imports does before the source is run: plain text replaced, wherever it is.
    for old in IMPORT_REPLACEMENTS:
        content = content.replace(old, "from open_webui." + old[len("from ") :])
    module_name = "function_route_by_content_test"
    module = types.ModuleType(module_name)
    sys.modules[module_name] = module
    module.__dict__["__file__"] = path
    exec(content, module.__dict__)
    function = module.Filter()
    # What Open WebUI does before each call: valves from its database (none saved yet) set on the instance.
    function.valves = module.Filter.Valves(**{})
    schema = module.Filter.Valves.model_json_schema()
    statuses = []

    async def emitter(event):
        statuses.append(event)

    async def run(body):
        return await function.inlet(body=body, __event_emitter__=emitter)

    results = [asyncio.run(run(body))["model"] for body in request["bodies"]]
    return {
        "frontmatter": extract_frontmatter(content),
        "rewrittenImports": rewritten,
        "kind": "filter" if hasattr(module, "Filter") and not hasattr(module, "Pipe") else "other",
        "valves": sorted(schema["properties"]),
        "models": results,
        "statuses": statuses,
    }


def main():
    path, mode = sys.argv[1], sys.argv[2]
    request = json.load(sys.stdin)
    if mode == "openwebui":
        result = openwebui(path, request)
    else:
        module = load_like_python(path)
        result = {"classify": classify, "hook": hook, "stalled": stalled}[mode](module, request)
    json.dump(result, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
