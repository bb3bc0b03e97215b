/**
 * The Python source of the routing classifier, stdlib only: the rules (keywords and patterns), the rules'
 * process, the embedding path and the decision that combines them. routing/classifier.ts renders it into a
 * module with the decision spec and a wrapper.
 */

/**
 * The rules: keywords and patterns, pure functions over the prompt text. The generated module holds them as
 * source (`RULES_SOURCE`) and runs that source twice: in its own namespace, for tests and as a fallback, and in a
 * child Python process that decides every request, because Python cannot interrupt a regular expression that
 * runs too long; only a process can be stopped. Stdlib only. Never contains three single quotes in a row.
 */
export const RULES = String.raw`
import json
import logging
import re
import sys

LOG = logging.getLogger("ai_gateway.routing")
if not LOG.handlers:
    # Our own handler at INFO: the decision line must show whatever log level the host process runs at.
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    LOG.addHandler(_handler)
    LOG.setLevel(logging.INFO)
    LOG.propagate = False

# The classifier reads the first and the last half of this many characters of a prompt: the instruction
# is at one end of a long paste, and the rules' cost stays bounded however long the prompt is.
PROMPT_CHARS = 4000
# Scripts written without spaces between words: a keyword next to them still counts as a whole word.
_UNSPACED = "\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_SPACED_WORD_CHAR = "[^\\W" + _UNSPACED + "]"
# The reason of a decision the rules could not make: only then is the embedding path worth its cost.
NO_RULE_MATCHED = "no rule matched"


def keyword_regex(keyword):
    """A keyword as a case-insensitive whole-word regex; any run of spaces in it matches any whitespace."""
    words = keyword.split()
    if not words:
        raise ValueError("nothing but whitespace")
    body = r"\s+".join(re.escape(word) for word in words)
    before = "(?<!" + _SPACED_WORD_CHAR + ")" if re.match(r"\w", words[0][0]) else ""
    after = "(?!" + _SPACED_WORD_CHAR + ")" if re.match(r"\w", words[-1][-1]) else ""
    return re.compile(before + body + after, re.IGNORECASE)


def _pattern_regex(pattern):
    return re.compile(pattern, re.IGNORECASE)


def compile_routes(spec):
    """The routes with their rules compiled. A rule Python cannot compile is left out and logged, never fatal."""
    routes = []
    for route in spec["routes"]:
        rules = [("keyword", rule, keyword_regex) for rule in route["keywords"]]
        rules += [("pattern", rule, _pattern_regex) for rule in route["patterns"]]
        signals = []
        for kind, rule, compile_rule in rules:
            try:
                signals.append(('%s "%s"' % (kind, rule), compile_rule(rule)))
            except Exception as err:
                # Not only re.error: a huge repeat count raises OverflowError, deep nesting RecursionError.
                LOG.error("routing: route %s: %s %r left out: %s", route["name"], kind, rule, _short(repr(err)))
        routes.append({"name": route["name"], "group": route["group"], "signals": signals})
    return routes


def clip(text):
    """The part of a prompt the classifier reads: all of it, or its first and last PROMPT_CHARS / 2."""
    if len(text) <= PROMPT_CHARS:
        return text
    half = PROMPT_CHARS // 2
    return text[:half] + "\n" + text[-half:]


def decision(route, group, reason):
    """A decision: the route taken (None for the default), the group it sends to, and why."""
    return {"route": route, "group": group, "reason": reason}


def _short(text, limit=60):
    return text if len(text) <= limit else text[: limit - 3] + "..."


def decide_by_rules(text, routes, default_group):
    """
    The route with the most matching keywords and patterns, the earlier route on a tie; else the default group
    with the reason NO_RULE_MATCHED. Never raises.
    """
    try:
        text = clip(text if isinstance(text, str) else "")
        if not text.strip():
            return decision(None, default_group, "empty prompt")
        best, best_hits = None, []
        for route in routes:
            hits = [label for label, regex in route["signals"] if regex.search(text)]
            if len(hits) > len(best_hits):
                best, best_hits = route, hits
        if best is None:
            return decision(None, default_group, NO_RULE_MATCHED)
        shown = ", ".join(best_hits[:3]) + (" and %d more" % (len(best_hits) - 3) if len(best_hits) > 3 else "")
        return decision(best["name"], best["group"], "matched " + shown)
    except Exception as err:
        return decision(None, default_group, "classifier failed (%s)" % _short(repr(err)))
`;

/**
 * The rules' process: the spec on its first input line, "ready" once its rules are compiled, then one prompt per
 * line in, one decision per line out.
 */
export const RULES_PROCESS_MAIN = String.raw`
_spec = json.loads(sys.stdin.readline())
_routes = compile_routes(_spec)
sys.stdout.write("ready\n")
sys.stdout.flush()
for _line in sys.stdin:
    sys.stdout.write(json.dumps(decide_by_rules(json.loads(_line), _routes, _spec["defaultGroup"])) + "\n")
    sys.stdout.flush()
`;

/**
 * The rest of the classifier: the rules' process, the embedding path (the one piece of I/O besides, the call
 * to Ollama's `/api/embed`) and the decision that combines them. Tests import it by running python3 on a
 * generated file.
 */
export const CLASSIFIER = String.raw`
# The longest the rules may take for one prompt (and the longest a prompt waits for its turn). Past it the prompt goes to the default group
# and the rules' process is replaced, so no prompt can hold up the router, whatever a pattern does.
RULES_TIMEOUT_SECONDS = 1.0
# The longest the rules' process may take to start, a cold Python on a busy host included.
RULES_START_SECONDS = 30
# After a failed embedding call the embedding path is skipped for this long, so a dead backend costs one
# timeout every so often instead of one per request.
EMBEDDING_RETRY_SECONDS = 30
# Ollama is reached over the Docker network: never through a proxy from the environment.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def prompt_text(body):
    """What a request asks: its last user message (text parts joined), else its prompt or input; "" if unreadable."""
    try:
        messages = body.get("messages")
        if isinstance(messages, list):
            for message in reversed(messages):
                if isinstance(message, dict) and message.get("role") == "user":
                    return _text_of(message.get("content"))
            return ""
        for key in ("prompt", "input"):
            if key in body:
                return _text_of(body[key])
        return ""
    except Exception:
        # Content nested deeper than Python's recursion limit, or a body that is no mapping: nothing to route by.
        return ""


def _text_of(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [_text_of(part.get("text") if isinstance(part, dict) else part) for part in content]
        return "\n".join(part for part in parts if part)
    return ""


def decide(text, routes, default_group, examples=None):
    """
    The group for one prompt, in this process. Rules first (decide_by_rules); then, when examples are given and
    no rule matched, the route of the most similar example if it is similar enough. Otherwise the default
    group. Never raises: a failure is a decision for the default group.
    """
    made = decide_by_rules(text, routes, default_group)
    if examples is None or made["reason"] != NO_RULE_MATCHED:
        return made
    return decide_by_examples(clip(text), default_group, examples)


def decide_by_examples(text, default_group, examples):
    """The route of the example most similar to the text if it reaches the threshold, else the default group."""
    try:
        score, (route, group, example) = examples.nearest(text)
    except Exception as err:
        return decision(None, default_group, NO_RULE_MATCHED + ", embedding failed (%s)" % _short(repr(err)))
    if score >= examples.threshold:
        return decision(route, group, 'similar to example "%s" (%.2f)' % (_short(example), score))
    return decision(
        None, default_group, NO_RULE_MATCHED + ", nearest example %.2f < %.2f" % (score, examples.threshold)
    )


class RulesProcess:
    """
    decide_by_rules in a child Python process, one prompt at a time: a prompt waits at most
    RULES_TIMEOUT_SECONDS for its turn and as long for its answer. Past that the child is killed, the prompt gets
    the default group, and the next prompt starts a new child. If no child can start, the rules run in place.
    """

    def __init__(self, spec):
        self._spec = json.dumps({"routes": spec["routes"], "defaultGroup": spec["defaultGroup"]})
        self._default = spec["defaultGroup"]
        self._process = None
        self._loop = None
        self._lock = None

    async def decide(self, text):
        text = clip(text if isinstance(text, str) else "")
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # Pipes belong to one event loop (a server runs one; tests run one per request).
            self._stop()
            self._loop, self._lock = loop, asyncio.Lock()
        try:
            await asyncio.wait_for(self._lock.acquire(), RULES_TIMEOUT_SECONDS)
        except asyncio.TimeoutError:
            return decision(None, self._default, "rules busy for over %gs" % RULES_TIMEOUT_SECONDS)
        try:
            if self._process is None:
                try:
                    self._process = await self._start()
                except Exception as err:
                    LOG.error("routing: cannot start the rules' process, the rules run in place: %r", err)
                    return decide_by_rules(text, ROUTES, self._default)
            self._process.stdin.write(json.dumps(text).encode("utf-8") + b"\n")
            await self._process.stdin.drain()
            line = await asyncio.wait_for(self._process.stdout.readline(), RULES_TIMEOUT_SECONDS)
            if not line:
                raise RuntimeError("the rules' process ended")
            return json.loads(line)
        except asyncio.TimeoutError:
            self._stop()
            LOG.error("routing: the rules took over %gs for one prompt: default group", RULES_TIMEOUT_SECONDS)
            return decision(None, self._default, "rules took over %gs" % RULES_TIMEOUT_SECONDS)
        except Exception as err:
            self._stop()
            return decision(None, self._default, "rules failed (%s)" % _short(repr(err)))
        finally:
            self._lock.release()

    async def _start(self):
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-I",
            "-c",
            RULES_SOURCE + RULES_PROCESS_MAIN,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        process.stdin.write(self._spec.encode("utf-8") + b"\n")
        try:
            # Starting Python and compiling the rules is not the rules' time, but it must end too.
            ready = await asyncio.wait_for(process.stdout.readline(), RULES_START_SECONDS)
        except BaseException:
            process.kill()
            raise
        if ready != b"ready\n":
            process.kill()
            raise RuntimeError("the rules' process did not start: %r" % ready[:200])
        return process

    def _stop(self):
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            try:
                process.kill()
            except Exception:
                # Already gone, or its event loop closed: nothing left to stop.
                pass


def _unit(vector):
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


class ExampleIndex:
    """The routes' examples as unit vectors: embedded on first use and kept; a prompt is embedded per call."""

    def __init__(self, spec, embed):
        self.threshold = spec["embedding"]["threshold"]
        self._embed = embed
        self._examples = [(r["name"], r["group"], e) for r in spec["routes"] for e in r["examples"]]
        self._vectors = None

    def nearest(self, text):
        """(cosine similarity, (route, group, example)) of the example nearest to the text."""
        if self._vectors is None:
            self._vectors = [_unit(v) for v in self._embed([example for _, _, example in self._examples])]
        prompt = _unit(self._embed([text])[0])
        scores = [sum(a * b for a, b in zip(prompt, vector)) for vector in self._vectors]
        best = max(range(len(scores)), key=scores.__getitem__)
        return scores[best], self._examples[best]


class OllamaEmbed:
    """embed(texts) -> vectors through Ollama's /api/embed, with a short timeout and a pause after a failure."""

    def __init__(self, embedding):
        self._url = embedding["url"].rstrip("/") + "/api/embed"
        self._model = embedding["model"]
        self._timeout = embedding["timeoutSeconds"]
        self._retry_at = 0.0

    def __call__(self, texts):
        if time.monotonic() < self._retry_at:
            raise RuntimeError("embedding backend failed less than %ds ago" % EMBEDDING_RETRY_SECONDS)
        try:
            request = urllib.request.Request(
                self._url,
                data=json.dumps({"model": self._model, "input": texts}).encode("utf-8"),
                headers={"Content-Type": "application/json"},
            )
            with _HTTP.open(request, timeout=self._timeout) as response:
                vectors = json.load(response)["embeddings"]
            if len(vectors) != len(texts):
                raise ValueError("asked for %d embeddings, got %d" % (len(texts), len(vectors)))
            return vectors
        except Exception:
            self._retry_at = time.monotonic() + EMBEDDING_RETRY_SECONDS
            raise


def describe(decision_made):
    """The decision as one log line."""
    return "%s -> %s (route %s: %s)" % (
        ROUTING["virtualModel"],
        decision_made["group"],
        decision_made["route"] or "default",
        decision_made["reason"],
    )
`;

/** The imports the classifier needs; a wrapper adds its own. */
export const CLASSIFIER_IMPORTS = [
    "import asyncio",
    "import json",
    "import logging",
    "import math",
    "import re",
    "import sys",
    "import time",
    "import urllib.request",
];
