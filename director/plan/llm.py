"""The LLM storyboard agent: screenplay -> shot list through langchain and any OpenAI-compatible server.

Scene by scene (small schemas, bounded context), in parallel up to ``max_concurrency``:
1. the storyboard artist answers with structured output -- by default one slot per picture beat
   (``plan/beats.py``), else a whole ScenePlan (``llm.answer: shots``) -- ``json_schema`` first, then
   ``json_mode`` (the prompt shows the format), then tool calling, chosen from what the endpoint
   accepts and remembered per endpoint;
2. the answer is read into shots, repaired where no judgment is needed, its prompts checked, and
   checked by director's own plan rules (every beat once, known characters, durations in bounds);
   the continuity supervisor (``review: true``) may ask for fixes;
3. a failing answer goes back with the exact errors, at most ``max_repairs`` times; then the
   scene is planned by the rules and the user is told which scene and why.
Every call is cached by (agent, prompt, schema, model, settings): re-planning costs nothing.
Timeouts, 429 and 5xx retry with exponential backoff and jitter; an unreachable endpoint is
BackendUnavailable (exit 4) naming the URL, never the key.
"""
from __future__ import annotations

import json
import logging
import os
import random
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from pydantic import BaseModel, SecretStr, ValidationError

from director.errors import BackendUnavailable, ConfigError, StageFailed
from director.plan.agents import (LLM_MAX_SECONDS, LLM_MIN_SECONDS, Agent, Review, ScenePlan, beat_plan_model,
                                  load_agent, scene_plan_model)
from director.plan.beats import check_prompts, picture_refs, shots_from_beats
from director.plan.craft import CRAFT_FLOOR, craft_findings, craft_score
from director.plan.repair import repair_scene
from director.plan.rules import RulePlanner, _interleave
from director.project import LLMConfig, Project
from director.screenplay import LoadedScreenplay, Scene, Screenplay
from director.secrets import redact, register, split_url_credentials
from director.shots import Shot, placed, plan_problems
from director.store.cache import ArtifactCache, fingerprint
from director.store.files import read_own, write_json
from director.vocab import ANGLES, MOVES, SIZES, TRANSITIONS

log = logging.getLogger("director.llm")
# json_mode_schema: json_object plus the schema in response_format, which llama.cpp turns into a grammar
# what a plan's fields came from, per answer format (the plan record's provenance)
FROM_MODEL = {"beats": ["cuts", "characters", "size", "angle", "move", "prompt"],
              "shots": ["shots", "beats", "characters", "size", "angle", "move", "duration", "prompt", "transition"]}
METHODS = ("json_schema", "json_mode_schema", "json_mode", "function_calling")

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini"


@dataclass(frozen=True)
class LLMSettings:
    """Everything needed to talk to the model. The key is a SecretStr and never enters logs or caches."""

    base_url: str
    model: str
    api_key: SecretStr
    temperature: float = 0.4
    max_concurrency: int = 4
    timeout: float = 60.0
    max_repairs: int = 2
    max_retries: int = 4
    backoff: float = 1.0
    review: bool = False
    improve_craft: bool = False
    answer: str = "beats"
    use_responses_api: bool = False
    max_tokens: int = 2048
    withheld: bool = False  # OPENAI_API_KEY kept from an endpoint only the project's file named (``resolve_settings``)

    def identity(self) -> dict:
        """What an answer depends on, for the call cache: the model and how it samples -- not where it is served
        (the same model on another port or host answers the same; re-planning it is free). The answer format
        is in the prompt and schema already."""
        return {"model": self.model, "temperature": self.temperature, "max_tokens": self.max_tokens}

    @property
    def display_url(self) -> str:
        """The endpoint as it may be printed and stored: never with ``user:password@``."""
        return split_url_credentials(self.base_url)[0]


def resolve_settings(config: LLMConfig, env: Mapping[str, str], base_url: str | None = None,
                     model: str | None = None) -> LLMSettings | None:
    """Project config, overridden by the environment, overridden by flags. None when there is no key."""
    key = env.get("OPENAI_API_KEY")
    if not key or not key.strip():
        return None
    register(key)
    key = check_key(key)
    url = (base_url or env.get("OPENAI_BASE_URL") or config.base_url or DEFAULT_BASE_URL).strip()
    if split_url_credentials(url)[1] is not None:  # the password is registered: redacted everywhere
        log.warning("the LLM endpoint's URL carries user:password: each request authenticates with HTTP Basic "
                    "(a proxy's login), which takes the place of OPENAI_API_KEY's Bearer key")
    if not url.lower().startswith(("http://", "https://")):
        raise ConfigError(f"the LLM endpoint {redact(url)[:120]!r} is not an http(s) URL; set OPENAI_BASE_URL "
                          "(or llm.base_url) like http://127.0.0.1:8080/v1")
    if problem := url_problem(url):
        raise ConfigError(f"the LLM endpoint {redact(url)[:120]!r} {problem}; set OPENAI_BASE_URL (or llm.base_url) "
                          "like http://127.0.0.1:8080/v1")
    official = _origin(url) == "https://api.openai.com"  # the host alone let a project's http:// have the key
    # an endpoint named only by the project's director.yaml (a downloaded project's: anyone's) never gets the user's
    # key: it received `Authorization: Bearer sk-...` from whoever opened the project. It gets a placeholder, which
    # local servers accept; the user's own choice (--base-url, OPENAI_BASE_URL) gets the key.
    withheld = not (base_url or env.get("OPENAI_BASE_URL")) and bool(config.base_url) and not official
    if withheld:
        log.debug("OPENAI_API_KEY is not sent to %s: only the project's director.yaml names it", redact(url))
    return LLMSettings(base_url=url.rstrip("/"), model=model or env.get("DIRECTOR_LLM_MODEL") or config.model
                       or DEFAULT_MODEL, api_key=SecretStr(WITHHELD_KEY if withheld else key), withheld=withheld,
                       temperature=config.temperature,
                       max_concurrency=config.max_concurrency, timeout=config.timeout,
                       max_repairs=config.max_repairs, max_retries=config.max_retries, backoff=config.backoff,
                       review=config.review, improve_craft=config.improve_craft, answer=config.answer,
                       use_responses_api=config.use_responses_api and official, max_tokens=config.max_tokens)


WITHHELD_KEY = "not-sent-see-director-docs"  # what an endpoint named only by the project's file is sent


def _origin(url: str) -> str:
    """scheme://host[:port] of ``url`` (the default port left out), lower case."""
    from urllib.parse import urlsplit
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    shown = "" if port is None or (scheme, port) in (("https", 443), ("http", 80)) else f":{port}"
    return f"{scheme}://{(parts.hostname or '').lower()}{shown}"


def url_problem(url: str) -> str | None:
    """What keeps ``url`` from being an endpoint's base URL, or None."""
    from urllib.parse import urlsplit
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (parsing the port is the check)
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if not parts.hostname:
        return "names no host"
    if parts.query or parts.fragment or "?" in url or "#" in url:
        return ("has a query string or a fragment: the client adds each request's path after the base URL, so it "
                "ends with the path (/v1); a key goes in OPENAI_API_KEY")
    return None


def check_key(key: str) -> str:
    """The key without surrounding whitespace (a pasted newline); a clear error for what HTTP cannot carry."""
    key = key.strip()
    where = "OPENAI_API_KEY"
    bad = next((c for c in key if ord(c) > 126 or ord(c) < 33), None)
    if bad is not None:
        what = "a space or control character" if ord(bad) < 33 else f"the non-ASCII character U+{ord(bad):04X}"
        raise BackendUnavailable(f"{where} contains {what}; API keys are plain ASCII. Copy the key again "
                                 "(a quote, an invisible space or a translated character often slips in)")
    return key


@dataclass
class CallStats:
    calls: int = 0
    cached: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0
    log: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, entry: dict) -> None:
        with self.lock:
            self.log.append(entry)
            if entry["cached"]:
                self.cached += 1
                return
            self.calls += 1
            self.input_tokens += entry.get("input_tokens", 0)
            self.output_tokens += entry.get("output_tokens", 0)
            self.seconds += entry.get("seconds", 0.0)

    def summary(self) -> dict:
        return {"calls": self.calls, "cached_calls": self.cached, "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens, "seconds": round(self.seconds, 3), "per_call": self.log}


class Endpoint:
    """One OpenAI-compatible endpoint: the langchain model, its structured-output method, retries."""

    def __init__(self, settings: LLMSettings, state_dir: Path, cache: ArtifactCache, stats: CallStats):
        try:
            from langchain_openai import ChatOpenAI
        except ImportError as exc:
            raise BackendUnavailable(f"the LLM planner needs langchain-openai and openai ({exc.name or exc} is "
                                     "missing): pip install 'director[llm]' — or plan with --planner rules") from None

        self.settings = settings
        self.cache = cache
        self.stats = stats
        kwargs: dict[str, Any] = dict(model=settings.model, base_url=settings.base_url, api_key=settings.api_key,
                                      temperature=settings.temperature, timeout=settings.timeout, max_retries=0)
        if settings.use_responses_api:
            kwargs["use_responses_api"] = True
        if "api.openai.com" in settings.base_url:
            kwargs["max_tokens"] = settings.max_tokens  # langchain sends it as `max_completion_tokens`
        else:
            # `max_tokens` alone: llama.cpp's server (and older vLLM/Ollama) read only it and would otherwise generate
            # until the context is full, and Azure OpenAI and Volcengine Ark refuse a request that sets both
            kwargs["extra_body"] = {"max_tokens": settings.max_tokens}
        kwargs["http_client"] = _capped_client(settings)
        self.chat = ChatOpenAI(**kwargs)
        self.memory_path = state_dir / "llm-endpoints.json"
        self._lock = threading.Lock()
        self._discover = threading.Lock()
        self.keys: list[str] = []  # cache keys of every answer used, in order
        self.cancelled = threading.Event()  # set on Ctrl-C/SIGTERM: every call in flight gives up at once
        self.exhausted: str | None = None  # what wore out a call's retries: later calls get one try, no retries

    # ------------------------------------------------------------------ method memory
    def _memory(self) -> dict:
        try:
            return json.loads(read_own(self.memory_path))
        except (OSError, ValueError):
            return {}

    @property
    def _memory_key(self) -> str:
        return f"{self.settings.display_url}|{self.settings.model}"

    def methods(self) -> list[str]:
        known = self._memory().get(self._memory_key)
        return [known] + [m for m in METHODS if METHODS.index(m) > METHODS.index(known)] if known in METHODS \
            else list(METHODS)

    def remember(self, method: str) -> None:
        with self._lock:
            memory = self._memory()
            if memory.get(self._memory_key) != method:
                memory[self._memory_key] = method
                write_json(self.memory_path, memory)

    # ------------------------------------------------------------------ calls
    def ask(self, agent: Agent, messages: list[tuple[str, str]], label: str, schema: type[BaseModel] | None = None,
            images: tuple[tuple[bytes, str], ...] = ()) -> tuple[str, BaseModel | None, str | None]:
        """(answer text, parsed answer or None, parse error or None), from the cache when possible. ``images``:
        (bytes, MIME type) shown after the last message's text (OpenAI's vision input); keyed by their digests."""
        import hashlib

        schema = schema or agent.schema
        material = {"agent": agent.name, "version": agent.version, "messages": messages,
                    "schema": schema.model_json_schema(), **self.settings.identity()}
        if images:
            material["images"] = [hashlib.sha256(data).hexdigest() for data, _ in images]
            messages = with_images(messages, images)
        key = fingerprint(material)
        with self._lock:
            self.keys.append(key)
        entry = self.cache.lookup("llm", key)
        if entry is not None:
            answer = json.loads(entry.file("answer.json").read_text())
            self.stats.add({"agent": agent.name, "scene": label, "cached": True})
        else:
            started = time.perf_counter()
            text, usage, method, error = self._invoke(schema, messages)
            text, error = redact(text), (redact(error) if error else error)  # a server may echo the key
            seconds = time.perf_counter() - started
            self.stats.add({"agent": agent.name, "scene": label, "cached": False, "method": method,
                            "seconds": round(seconds, 3), **usage})
            answer = {"content": text, "error": error, "usage": usage, "method": method}
            if not error:  # a failed answer is asked again next time (an empty, cut-off or unreadable answer was
                # replayed from the cache for good, `clean` and `plan --fresh` included, after the server was fixed)
                self.cache.produce("llm", key, material, lambda out: (out / "answer.json").write_text(
                    json.dumps(answer, ensure_ascii=False)) and None)
        if answer.get("error"):
            return answer["content"], None, answer["error"]
        return (answer["content"], *_parse(schema, answer["content"]))

    def _invoke(self, schema: type[BaseModel], messages: list[tuple[str, str]]) -> tuple[str, dict, str, str | None]:
        if self._memory().get(self._memory_key) in METHODS:
            return self._invoke_methods(schema, messages)
        with self._discover:  # the first call finds the method; parallel scenes wait instead of all failing
            return self._invoke_methods(schema, messages)

    def _invoke_methods(self, schema: type[BaseModel], messages: list[tuple[str, str]]
                        ) -> tuple[str, dict, str, str | None]:
        """(answer text, token usage, method, error when the SDK itself could not read the answer)."""
        import openai

        url = self.settings.display_url
        last: Exception | None = None
        for method in self.methods():
            if method == "json_mode_schema":
                if "api.openai.com" in self.settings.base_url:
                    continue
                runnable = self.chat.with_structured_output(
                    schema, method="json_mode", include_raw=True,
                    response_format={"type": "json_object", "schema": schema.model_json_schema()})
            else:
                runnable = self.chat.with_structured_output(schema, method=method, include_raw=True)
            try:
                result = self._with_retries(lambda: runnable.invoke(messages))
            except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
                if self.settings.withheld:
                    raise BackendUnavailable(
                        f"the LLM server {url} wants a key (HTTP {exc.status_code}), and OPENAI_API_KEY was not sent to "
                        f"it: only the project's director.yaml names this server, and a project's file (a downloaded "
                        f"one too) could send your key anywhere. If it is yours, name it yourself: "
                        f"OPENAI_BASE_URL={url} (or `plan --base-url {url}`)") from None
                raise BackendUnavailable(f"the LLM server {url} refused the key (HTTP {exc.status_code}); check "
                                         "OPENAI_API_KEY (and that this server expects one)") from None
            except openai.NotFoundError as exc:  # a wrong model name, or a URL without its /v1
                raise BackendUnavailable(f"the LLM endpoint {url} answered HTTP 404 ({_short(exc)[:160]}): check the "
                                         f"model name ({self.settings.model!r}: DIRECTOR_LLM_MODEL or llm.model) and "
                                         f"that the URL ends with the API's path, usually /v1") from None
            except (openai.BadRequestError, openai.UnprocessableEntityError, openai.InternalServerError) as exc:
                if _rejects_format(exc):
                    log.info("%s does not accept %s; trying the next structured-output method", url, method)
                    last = exc
                    continue
                raise StageFailed(f"the LLM endpoint {url} refused the request: {_short(exc)}") from None
            except openai.APIStatusError as exc:  # any other status (405, 409, 418...): said with its code
                if exc.status_code in NOT_AN_ENDPOINT:
                    raise _not_an_endpoint(url, exc.status_code) from None
                raise StageFailed(f"the LLM endpoint {url} answered HTTP {exc.status_code}: {_short(exc)}") from None
            except (openai.LengthFinishReasonError, openai.ContentFilterFinishReasonError) as exc:
                self.remember(method)
                why = "was cut off at max_tokens" if isinstance(exc, openai.LengthFinishReasonError) else \
                    "was stopped by the server's content filter"
                return "", _usage_of(exc), method, (f"the answer {why} (llm.max_tokens: {self.settings.max_tokens}; a "
                                                    f"model that thinks first may need more); answer with fewer, "
                                                    f"shorter shots")
            except (ValueError, TypeError) as exc:  # the SDK could not parse the answer (not JSON, wrong shape)
                self.remember(method)
                written = _written(exc)
                if written is not None and _parse(schema, written)[0] is not None:
                    # JSON in fences, after prose or a <think> block: what a server that does not enforce the
                    # schema sends; read here, as json_mode's parser would have
                    return written, {}, method, None
                detail = "; ".join(str(exc).splitlines()[:12])[:1200]
                return written or "", {}, method, f"the answer does not match the {schema.__name__} schema: {detail}"
            except AnswerTooLarge as exc:
                self.remember(method)
                return "", {}, method, f"the server at {url} answered with more than an answer can be: {exc}"
            except RecursionError:  # '[' * 100000: the SDK's json() (of the body or of the answer) gave up on it
                self.remember(method)
                return "", {}, method, f"the server at {url} answered with JSON nested too deeply to read"
            except (openai.APIResponseValidationError, AttributeError, KeyError, IndexError) as exc:
                # a 200 whose body is not a chat completion (an HTML page, {"choices": null}, a proxy's error)
                return "", {}, method, (f"the server at {url} answered with something that is not a chat "
                                        f"completion ({type(exc).__name__}: {_short(exc)[:200]})")
            self.remember(method)
            raw = result.get("raw")
            refusal = (getattr(raw, "additional_kwargs", None) or {}).get("refusal") if raw is not None else None
            if result.get("parsed") is None and refusal:  # OpenAI's refusal field: said as one ("Invalid JSON: EOF")
                return "", _usage(raw), method, f"the model refused to answer: {redact(str(refusal))[:300]}"
            return _answer_text(result, method), _usage(raw), method, None
        raise StageFailed(f"the LLM endpoint {url} accepts none of {', '.join(METHODS)}: {_short(last)}")

    def _with_retries(self, call):
        import openai

        attempt = 0
        while True:
            if self.cancelled.is_set():
                raise Cancelled("the plan was interrupted")
            try:
                return _within(call, self.settings.timeout, self.cancelled)
            except (openai.RateLimitError, openai.APITimeoutError, openai.InternalServerError,
                    openai.APIConnectionError) as exc:
                if isinstance(exc.__cause__, AnswerTooLarge):  # the SDK calls any failure of a read a connection's
                    raise exc.__cause__ from None
                if isinstance(exc, openai.RateLimitError) and "insufficient_quota" in " ".join(
                        str(getattr(exc, field, "") or "") for field in ("code", "type", "message")):
                    raise BackendUnavailable(  # the account's billing, not its rate: no wait brings it back
                        f"the LLM account at {self.settings.display_url} has no quota left (insufficient_quota): add "
                        "credit or raise its limit, or plan with --planner rules") from None
                if isinstance(exc, openai.InternalServerError) and _rejects_format(exc):
                    raise  # some servers answer an unsupported response_format with a 500: not worth retrying
                status = getattr(exc, "status_code", None)
                if status in NOT_AN_ENDPOINT:  # a web server, not a chat completions endpoint: no retry helps
                    raise _not_an_endpoint(self.settings.display_url, status) from None
                unreachable = isinstance(exc, openai.APIConnectionError) and not isinstance(exc, openai.APITimeoutError)
                what = (f"no answer within {self.settings.timeout:g} s" if isinstance(exc, openai.APITimeoutError)
                        else f"HTTP {status} {_short(exc)[:120]}" if status else type(exc).__name__)
                # once a call has worn out its retries, the others get one try each, no retries: a scene of a slow
                # prompt still lets the others be asked, and an endpoint that is down is not waited out again and
                # again (at the defaults, 5 x 600 s a scene: over 8 hours for ten scenes)
                if attempt >= (0 if self.exhausted else self.settings.max_retries):
                    if unreachable:
                        raise BackendUnavailable(f"cannot reach the LLM endpoint {self.settings.display_url} "
                                                 f"(after {attempt + 1} tries); is the server running?") from None
                    said = f"{what} after {attempt + 1} tr{'ies' if attempt else 'y'}"
                    self.exhausted = self.exhausted or said
                    raise RetriesExhausted(said) from None
                delay = self.settings.backoff * (2 ** attempt) * random.uniform(0.5, 1.5)
                retry_after = _retry_after(exc)
                if retry_after is not None:
                    delay = max(delay, min(retry_after, 30.0))
                # said by default: a slow local server's timeouts were minutes of silence each
                log.warning("LLM at %s: %s; try %d of %d in %.1f s", self.settings.display_url, what, attempt + 2,
                            self.settings.max_retries + 1, delay)
                if self.cancelled.wait(delay):
                    raise Cancelled("the plan was interrupted") from None
                attempt += 1


class Cancelled(Exception):
    """The plan was interrupted (Ctrl-C, SIGTERM) while this call waited."""


class AnswerTooLarge(Exception):
    """The server's answer ran past ``answer_bytes``: read no further."""


def answer_bytes(settings: LLMSettings) -> int:
    """The most bytes an answer may take, decoded: 8 MB, or 64 bytes a token where ``max_tokens`` allows more (a
    token written out as JSON escapes is at most a few dozen bytes). An honest answer is kilobytes; a hostile or
    broken server's 400 MB (or a gzip bomb's gigabytes) was read whole before its parse failed."""
    return max(8 << 20, 64 * settings.max_tokens)


def _capped_client(settings: LLMSettings):
    """The SDK's own HTTP client (its limits, redirects and proxies from the environment), whose every answer is
    read through ``_Capped``. An encoding other than the gzip or deflate it asks for is refused unread."""
    import importlib
    import zlib

    import openai

    # the HTTP library the SDK is built on: httpx, or httpx2 in the newer releases
    httpx = importlib.import_module(openai.DefaultHttpxClient.__mro__[1].__module__.partition(".")[0])

    class _Capped(httpx.SyncByteStream):
        """A response body read up to ``limit`` bytes, decoded here when the server compressed it (so the limit is on
        what the answer becomes, not on what crossed the wire)."""

        def __init__(self, stream, limit: int, encoding: str):
            self.stream, self.limit, self.read = stream, limit, 0
            wbits = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}.get(encoding)
            self.inflate = zlib.decompressobj(wbits) if wbits is not None else None

        def _taken(self, chunk: bytes) -> bytes:
            self.read += len(chunk)
            if self.read > self.limit:
                raise AnswerTooLarge(f"over {self.limit >> 20} MB")
            return chunk

        def _decoded(self, chunk: bytes) -> bytes:
            try:
                return self.inflate.decompress(chunk, self.limit + 1 - self.read)
            except zlib.error:  # "deflate" sent raw, without zlib's header (as httpx also reads it)
                if self.read or self.inflate.unused_data:
                    raise
                self.inflate = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.inflate.decompress(chunk, self.limit + 1 - self.read)

        def __iter__(self):
            for chunk in self.stream:
                yield self._taken(self._decoded(chunk) if self.inflate is not None else chunk)
            if self.inflate is not None and (tail := self.inflate.flush()):
                yield self._taken(tail)

        def close(self) -> None:
            self.stream.close()

    limit = answer_bytes(settings)

    def cap(response) -> None:
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("identity", "gzip", "deflate", ""):
            raise AnswerTooLarge(f"compressed as {encoding!r}, which director does not ask for")
        if encoding in ("gzip", "deflate"):
            del response.headers["content-encoding"]  # decoded by _Capped, not again by httpx
        response.stream = _Capped(response.stream, limit, encoding)

    return openai.DefaultHttpxClient(timeout=settings.timeout, headers={"Accept-Encoding": "gzip, deflate"},
                                     event_hooks={"response": [cap]})


def _within(call, seconds: float, cancelled: threading.Event | None = None):
    """``call()``, given ``seconds`` in all (and a little more for the answer's parsing). The client's timeout
    bounds each read, so a server that trickles a byte every few seconds, or a proxy's keep-alive whitespace,
    held a plan for ever; past the deadline the call is left to finish alone (its thread is a daemon) and the
    attempt counts as timed out, like any other."""
    import openai

    box: dict = {}

    def run() -> None:
        try:
            box["result"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller as it is
            box["error"] = exc

    worker = threading.Thread(target=run, daemon=True, name="llm-call")
    worker.start()
    deadline = time.monotonic() + seconds + 2.0
    while worker.is_alive() and (left := deadline - time.monotonic()) > 0:
        worker.join(min(left, 0.25))
        if cancelled is not None and cancelled.is_set():
            raise Cancelled("the plan was interrupted")
    if worker.is_alive():
        raise openai.APITimeoutError(request=_request_stub())
    if "error" in box:
        raise box["error"]
    return box["result"]


def _request_stub():
    import httpx
    return httpx.Request("POST", "http://llm/chat/completions")


def with_images(messages: list[tuple[str, str]], images: tuple[tuple[bytes, str], ...]) -> list:
    """The messages with the last one's text followed by the images, as data URLs (the chat completions
    protocol's vision input, which OpenAI, vLLM, llama.cpp and Ollama's OpenAI endpoint accept)."""
    import base64

    role, text = messages[-1]
    parts: list[dict] = [{"type": "text", "text": text}]
    parts += [{"type": "image_url", "image_url": {"url": f"data:{mime};base64,{base64.b64encode(data).decode()}"}}
              for data, mime in images]
    return [*messages[:-1], (role, parts)]


NOT_AN_ENDPOINT = (501, 405)  # Not Implemented, Method Not Allowed: nothing there takes a POST


def _not_an_endpoint(url: str, status: int) -> BackendUnavailable:
    return BackendUnavailable(f"the server at {url} answered HTTP {status} to POST /chat/completions: it is not an "
                              "OpenAI-compatible endpoint there (check OPENAI_BASE_URL or --base-url; it usually ends "
                              "in /v1)")


class RetriesExhausted(Exception):
    """429/5xx/timeouts kept coming: the scene falls back to the rules."""


def _rejects_format(exc: Exception) -> bool:
    """Whether an error refuses the structured-output method (and the next may be accepted): a 400 or 422 that
    refuses no picture and no length (a server names the parameter in its own words, or not at all), a 500 only
    where it names one (a
    llama.cpp 500 "llama_decode failed in function decode" is a server in trouble, not a refusal)."""
    status = getattr(exc, "status_code", None)
    text = str(exc).lower()
    if status in (400, 422) and any(word in text for word in ("invalid schema", "response_format", "json_schema")):
        return True  # OpenAI's own refusal of a schema ("Invalid schema for response_format ... In context=...")
    if status in (400, 422):  # ...unless it refuses something else: the pictures, the length
        return not refuses_images(text) and not any(word in text for word in ("context", "too long", "maximum", "token"))
    return any(word in text for word in ("response_format", "json_schema", "json_object", "tool_choice",
                                         "\"tools\"", "'tools'", "tools are not", "tool calls", "function calling",
                                         "function_call", "functions are not", "tools param", "--jinja"))


def refuses_images(text: str) -> bool:
    """Whether a server's error refuses the pictures sent with a request (vLLM: "<model> is not a multimodal model";
    others name the image or vision input)."""
    text = text.lower()
    return any(word in text for word in ("image", "vision", "multimodal", "multi-modal"))


def _short(exc: Exception | None) -> str:
    text = str(exc).splitlines() if exc else []
    return redact(text[0][:300]) if text else ("no answer" if exc is None else type(exc).__name__)


def _retry_after(exc: Exception) -> float | None:
    """Retry-After in seconds, given as seconds or as an HTTP date."""
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        pass
    from email.utils import parsedate_to_datetime
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _answer_text(result: dict, method: str) -> str:
    raw = result.get("raw")
    if result.get("parsed") is not None:
        return result["parsed"].model_dump_json()
    if method == "function_calling" and getattr(raw, "tool_calls", None):
        return json.dumps(raw.tool_calls[0]["args"], ensure_ascii=False)
    return raw.content if raw is not None and isinstance(raw.content, str) else ""


def _usage_of(exc: Exception) -> dict:
    usage = getattr(getattr(exc, "completion", None), "usage", None)
    return {"input_tokens": getattr(usage, "prompt_tokens", 0) or 0,
            "output_tokens": getattr(usage, "completion_tokens", 0) or 0}


def _usage(raw) -> dict:
    meta = getattr(raw, "usage_metadata", None) or {}
    return {"input_tokens": int(meta.get("input_tokens", 0)), "output_tokens": int(meta.get("output_tokens", 0))}


def _parse(schema: type[BaseModel], text: str) -> tuple[BaseModel | None, str | None]:
    try:
        return schema.model_validate_json(json_text(text)), None
    except ValidationError as exc:
        errors = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'answer'}: {e['msg']}" for e in exc.errors()[:12])
        return None, f"the answer is not valid {schema.__name__} JSON ({errors})"


_THINK = re.compile(r"(?is)<think>.*?(</think>|\Z)")
_FENCE = re.compile(r"(?s)```[a-zA-Z0-9_-]*[ \t]*\n?(.*?)(```|\Z)")


def json_text(text: str) -> str:
    """The JSON document in a model's answer: the answer itself where it is JSON (a ``<think>`` or a fence inside
    one of its strings is its own business), else without a reasoning block (``<think>...</think>``, Qwen3 and
    DeepSeek-R1 through Ollama or vLLM), out of a code fence, or the first whole object after prose ("Here is
    the plan: {...}"). The text itself where none is found (its parse error is then said)."""
    try:
        json.loads(text)
        return text
    except (ValueError, RecursionError):  # nested too deeply: pydantic's own parser says so, as for any bad JSON
        pass
    text = _THINK.sub("", text).strip()
    if "</think>" in text:  # the reasoning's opening tag was in the chat template, not the answer (Qwen3, R1, QwQ)
        text = text.rsplit("</think>", 1)[1].strip()
    fenced = _FENCE.search(text)
    if fenced and fenced[1].strip():
        text = fenced[1].strip()
    if text.startswith(("{", "[")):
        return text
    decoder = json.JSONDecoder()
    for tries, match in enumerate(re.finditer(r"{", text)):  # an answer is an object; "[2] shots: {...}" is not
        if tries == 20:  # prose full of braces: give up early rather than try every one
            break
        try:
            _, end = decoder.raw_decode(text, match.start())
        except (ValueError, RecursionError):
            continue
        return text[match.start():end]
    return text


def _written(exc: Exception) -> str | None:
    """What the model wrote, from the SDK's own parse error (pydantic keeps the input it refused)."""
    errors = exc.errors() if isinstance(exc, ValidationError) else []
    return next((e["input"] for e in errors if isinstance(e.get("input"), str) and e.get("loc") in ((), None)),
                None)


# ------------------------------------------------------------------ prompts

def bible(sp: Screenplay) -> dict[str, str]:
    characters = "\n".join(f"  - {cid}: {c.name or cid}, {c.description}" for cid, c in sp.characters.items())
    locations = "\n".join(f"  - {lid}: {loc.description}" for lid, loc in sp.locations.items())
    return {"characters": characters or "  (none)", "locations": locations, "style": sp.style.look or "(none)"}


def _prompts(answer) -> set[str]:
    """Every ``prompt`` string in a parsed answer (either format)."""
    if isinstance(answer, dict):
        found = {answer["prompt"].strip()} if isinstance(answer.get("prompt"), str) else set()
        return found.union(*(_prompts(v) for v in answer.values()))
    if isinstance(answer, list):
        return set().union(*(_prompts(v) for v in answer))
    return set()


def beat_text(beat) -> str:
    """What a beat is, in the words the agents read."""
    if beat.line:
        return f'line — {beat.line.who}: "{beat.line.text}"' + (f" ({beat.line.emotion})" if beat.line.emotion else "")
    if beat.narration:
        return f'narration: "{beat.narration.text}"'
    if beat.music:
        return "music stops" if beat.music.stop else f"music: {beat.music.mood}"
    if beat.sfx:
        return f"sound effect: {beat.sfx.name}"
    if beat.card:
        return f'{beat.card.kind} card (on-screen text, rides on the next shot): "{beat.card.text}"'
    if beat.pause:
        return f"pause of {beat.pause:g} s (silence, rides on the next shot)"
    return f"action: {beat.action}"


def beat_lines(sp: Screenplay, scene: Scene, skip: set[str]) -> str:
    lines = []
    for i, beat in enumerate(scene.beats):
        ref = sp.beat_ref(scene, i)
        if ref in skip:
            continue
        hints = []
        if beat.shot:
            hints.append("shot hint " + json.dumps(beat.shot.model_dump(exclude_none=True)))
        if beat.transition:
            hints.append(f"transition {beat.transition}")
        lines.append(f"- {ref}: {beat_text(beat)}" + (f" [{'; '.join(hints)}]" if hints else ""))
    return "\n".join(lines)


def slot_lines(sp: Screenplay, scene: Scene, free: list[str]) -> str:
    """The beats as the beat-anchored answer numbers them: b1..bN for pictures, cues in brackets (no slot)."""
    beats = {sp.beat_ref(scene, i): b for i, b in enumerate(scene.beats)}
    lines, n = [], 0
    for ref in free:
        beat = beats[ref]
        if beat.cue:
            lines.append(f"({beat_text(beat)})")
            continue
        n += 1
        lines.append(f"b{n}: {beat_text(beat)}")
    return "\n".join(lines)


def quoted(sp: Screenplay, scene: Scene, errors: list[str]) -> str:
    """Errors as a re-ask sends them: each beat they name quoted with its content, not only its ref."""
    beats = {sp.beat_ref(scene, i): b for i, b in enumerate(scene.beats)}
    out = [f"- {e}" for e in errors]
    named = [ref for ref in beats if any(re.search(rf"{re.escape(ref)}(?!\d)", e) for e in errors)]
    out += [f"  ({ref} is the {beat_text(beats[ref])})" for ref in named]
    return "\n".join(out)


def scene_rules(sp: Screenplay, scene: Scene, planned: list[BaseModel], locked: list[Shot]) -> list[str]:
    """Director's own rules for one scene's answer, as sentences the model can act on."""
    shots = list(locked) + [Shot(id=f"answer-{i + 1}", scene=scene.id, **p.model_dump()) for i, p in enumerate(planned)]
    errors = [msg.replace("shot answer-", "shot ") for _, msg in plan_problems(sp, shots, scenes={scene.id})]
    for i, p in enumerate(planned):
        if not LLM_MIN_SECONDS <= p.duration <= LLM_MAX_SECONDS:
            errors.append(f"shot {i + 1}: duration {p.duration:g}s is outside {LLM_MIN_SECONDS:g}-{LLM_MAX_SECONDS:g}s")
    if not planned:
        errors.append("the answer has no shots")
    bare = sum(1 for p in planned if not p.beats)
    if bare > MAX_BARE_SHOTS:  # establishing shots cover no beat; hundreds of them are hours of GPU for nothing
        errors.append(f"{bare} shots cover no beat; keep at most {MAX_BARE_SHOTS} (an establishing shot, a cutaway) "
                      f"and give every other shot the beats it shows")
    return errors


MAX_BARE_SHOTS = 3  # shots without beats a scene's answer may hold


# ------------------------------------------------------------------ the planner

class LLMPlanner:
    name = "llm"

    def __init__(self, project: Project, loaded: LoadedScreenplay, settings: LLMSettings):
        self.project = project
        self.loaded = loaded
        self.sp = loaded.screenplay
        self.settings = settings
        self.stats = CallStats()
        self.endpoint = Endpoint(settings, project.state, ArtifactCache(project.cache_dir), self.stats)
        self.artist = load_agent("storyboard_artist")
        self.beats_artist = load_agent("storyboard_artist_beats")
        self.provenance: dict[str, dict] = {}  # per scene: who planned it, which fields came from the model
        self._progress = threading.Lock()
        self._done = 0
        self.supervisor = load_agent("continuity_supervisor")

    def plan(self, locked: list[Shot]) -> tuple[list[Shot], list[str]]:
        scenes = self.sp.scenes
        self._done = 0
        self._stopped: BaseException | None = None
        pool = ThreadPoolExecutor(max_workers=self.settings.max_concurrency)
        try:
            results = list(pool.map(lambda s: self._plan_timed(s, [x for x in locked if x.scene == s.id]), scenes))
        except BaseException:  # Ctrl-C, SIGTERM: the scenes in flight give up their request and retries now
            self.endpoint.cancelled.set()
            raise
        finally:  # an endpoint-wide failure (unreachable, the key refused): the scenes not started never ask
            pool.shutdown(wait=True, cancel_futures=True)
        outages = [r.get("outage") for r in self.provenance.values() if r.get("asks") or "outage" in r]
        if outages and all(outages):  # not one answer: the rules' plan would replace the last one for nothing
            raise BackendUnavailable(f"the LLM server {self.settings.display_url} kept failing ({outages[0]}); the "
                                     f"shot list is left as it was. Plan again once it answers, or plan with "
                                     f"--planner rules")
        shots, notes = [], []
        for scene, (fresh, note) in zip(scenes, results):
            mine = [x for x in locked if x.scene == scene.id]
            shots.extend(_interleave(scene, fresh, mine, self.loaded.episode))
            if note:
                notes.append(note)
        return shots, notes

    def _plan_timed(self, scene: Scene, locked: list[Shot]) -> tuple[list[Shot], str | None]:
        """plan_scene, with a progress line per scene (a local model takes minutes per scene)."""
        if self._stopped is not None:  # another scene found the endpoint unusable: say it once, not per scene
            raise self._stopped
        started = time.perf_counter()
        try:
            shots, note = self.plan_scene(scene, locked)
        except (BackendUnavailable, StageFailed) as exc:
            self._stopped = exc
            raise
        with self._progress:
            self._done += 1
            record = self.provenance.get(scene.id, {})
            record["seconds"] = round(time.perf_counter() - started, 1)
            log.info("scene %s planned by %s (%d/%d, %d ask(s), %.0f s)", scene.id,
                     "the LLM" if record.get("source") == "llm" else "the rules", self._done, len(self.sp.scenes),
                     record.get("asks", 0), record["seconds"])
        return shots, note

    def _form(self, scene: Scene, locked: list[Shot], taken: set[str], refs: list[str], slots: list[str]):
        """(agent, schema, first messages, read): ``read`` turns a parsed answer of the format in ``llm.answer``
        into PlannedShots, with director's bookkeeping done and named (``_books``)."""
        values = self._scene_values(scene, locked, taken)
        cast = list(self.sp.characters)
        names = {(c.name or cid): cid for cid, c in self.sp.characters.items()}  # a model may write the name
        if self.settings.answer == "shots":
            schema = scene_plan_model(refs, cast, names)
            values |= {"beats": beat_lines(self.sp, scene, taken), "schema": json.dumps(schema.model_json_schema())}
            agent = self.artist
            return agent, schema, self._messages(agent, values), \
                lambda parsed: self._books(scene, refs, agent, parsed.shots, [])
        agent = self.beats_artist
        schema = beat_plan_model(len(slots), cast, names)
        values |= {"beats": slot_lines(self.sp, scene, refs), "example": agent.example(self.sp.language),
                   "count": len(slots)}
        opening = self.sp.scenes.index(scene) == 0 and not locked
        return agent, schema, self._messages(agent, values), \
            lambda parsed: self._books(scene, refs, agent, *shots_from_beats(self.sp, scene, parsed, refs, opening))

    def _books(self, scene: Scene, refs: list[str], agent: Agent, planned: list, decided: list[str]
               ) -> tuple[list, list[str]]:
        """What needs no judgment, done on an answer's shots: repair, then the prompt checks; every fix named."""
        planned, fixes = repair_scene(self.sp, scene, planned, refs, LLM_MIN_SECONDS, LLM_MAX_SECONDS)
        planned, replaced = check_prompts(self.sp, scene, planned, agent.example_words)
        return planned, decided + fixes + replaced

    def _placed(self, scene: Scene, planned: list) -> list[Shot]:
        return placed(self.sp, scene, [Shot(id="", scene=scene.id, **p.model_dump()) for p in planned])

    def _messages(self, agent: Agent, values: dict) -> list[tuple[str, str]]:
        values = self._common() | values
        return [("system", agent.fill(agent.system, **values)), ("human", agent.fill(agent.user, **values))]

    def plan_scene(self, scene: Scene, locked: list[Shot]) -> tuple[list[Shot], str | None]:
        taken = {b for s in locked for b in s.beats}
        refs = [self.sp.beat_ref(scene, i) for i in range(len(scene.beats)) if self.sp.beat_ref(scene, i) not in taken]
        if not refs:
            return [], None
        record: dict = {"answer": self.settings.answer, "asks": 0}
        self.provenance[scene.id] = record
        rules = RulePlanner(self.sp, self.loaded.episode)
        slots = picture_refs(self.sp, scene, refs)
        if self.settings.answer == "beats" and not slots:
            record |= {"source": "rules", "why": "only cues (music, sfx, cards, pauses) left: nothing to judge"}
            return rules.plan_scene(scene, skip=taken, opening=not taken), None
        agent, schema, messages, read = self._form(scene, locked, taken, refs, slots)
        count = len(slots)
        errors: list[str] = []
        # the latest rule-valid plan, its fixes and the conversation up to it: a reviewer never loses it
        best: tuple[list[Shot], list[str], list] | None = None
        answers: set[str] = set()
        try:
            for attempt in range(self.settings.max_repairs + 1):
                text, parsed, parse_error = self.endpoint.ask(agent, messages, scene.id, schema)
                record["asks"] += 1
                said = text or f"error: {parse_error}"  # an answer the SDK could not read is known by its error
                if said in answers:
                    errors = ["the model gave the same answer again"] + errors
                    break
                answers.add(said)
                fixes: list[str] = []
                planned: list = []
                if not parse_error:  # bookkeeping is done here, never sent back to the model
                    planned, fixes = read(parsed)
                errors = [parse_error] if parse_error else scene_rules(self.sp, scene, planned, locked)
                if not errors:
                    best = (self._placed(scene, planned), fixes, messages + [("ai", text)])
                    said_by_model = _prompts(parsed.model_dump())
                    record["prompts_from_model"] = sum(p.prompt.strip() in said_by_model for p in planned)
                    record["shots"] = len(planned)
                    if self.settings.review and attempt < self.settings.max_repairs:
                        errors = self._review(scene, ScenePlan(shots=planned), taken)
                if not errors:
                    break
                messages = messages + [("ai", text or "(no answer)"), ("human", agent.fill(
                    agent.repair, errors=quoted(self.sp, scene, errors), count=count))]
        except RetriesExhausted as exc:
            errors = [f"the endpoint kept failing ({exc})"]
            if record["asks"] == 0:  # no answer at all for this scene
                record["outage"] = str(exc)
        if best is not None:
            shots, fixes, conversation = best
            record |= {"source": "llm", "from_model": FROM_MODEL[self.settings.answer], "director": fixes}
            said = []
            if fixes:
                said.append(f"scene {scene.id}: the LLM's plan, repaired by rule ({'; '.join(fixes)})"[:500])
            if errors:
                said.append(f"scene {scene.id}: kept the last valid plan (unresolved: {'; '.join(errors)})"[:400])
            note = "; ".join(said) or None
            if self.settings.improve_craft:
                return self._improve(scene, locked, agent, schema, read, conversation, shots, note, count)
            return shots, note
        why = "; ".join(errors)[:400]
        record |= {"source": "rules", "why": why}
        fallback = rules.plan_scene(scene, skip=taken, opening=not taken)
        return fallback, f"scene {scene.id}: planned by the rules, the LLM's answers were unusable ({why})"

    def _improve(self, scene: Scene, locked: list[Shot], agent: Agent, schema: type[BaseModel], read,
                 messages: list, shots: list[Shot], note: str | None, count: int
                 ) -> tuple[list[Shot], str | None]:
        """Once, for a valid plan whose craft scores under ``CRAFT_FLOOR``: ask for a better one, naming what a
        short-drama editor would change; keep whichever valid plan scores higher."""
        before = craft_score(self.sp, shots)
        if before["total"] >= CRAFT_FLOOR or not agent.improve:
            return shots, note
        opening = self.sp.scenes.index(scene) == 0 and not locked
        findings = craft_findings(self.sp, shots, opening)
        if not findings:
            return shots, note
        ask = messages + [("human", agent.fill(agent.improve, findings="\n".join(f"- {f}" for f in findings),
                                               count=count))]
        try:
            text, parsed, error = self.endpoint.ask(agent, ask, scene.id, schema)
        except RetriesExhausted as exc:  # the valid plan stands
            return shots, "; ".join(([note] if note else []) + [f"scene {scene.id}: kept the first plan (asking "
                                                                 f"for a better one failed: {exc})"])
        self.provenance[scene.id]["asks"] += 1
        said = [note] if note else []
        if not error:
            planned, _ = read(parsed)
            if not scene_rules(self.sp, scene, planned, locked):
                better = self._placed(scene, planned)
                after = craft_score(self.sp, better)
                if after["total"] > before["total"]:
                    return better, "; ".join(said + [f"scene {scene.id}: craft {before['total']:.2f} -> "
                                                     f"{after['total']:.2f} after one more ask"])
                return shots, "; ".join(said + [f"scene {scene.id}: kept the first plan (craft {before['total']:.2f}; "
                                                f"the second scored {after['total']:.2f})"])
        return shots, "; ".join(said + [f"scene {scene.id}: kept the first plan (craft {before['total']:.2f}; the "
                                        "second answer was not usable)"])

    def _review(self, scene: Scene, parsed: ScenePlan, taken: set[str]) -> list[str]:
        plan = "\n".join(f"{i + 1}. {p.size} {p.angle} {p.move} {p.duration:g}s, in frame: "
                         f"{', '.join(p.characters) or 'no one'}, beats {', '.join(p.beats)} — {p.prompt}"
                         for i, p in enumerate(parsed.shots))
        values = {"characters": bible(self.sp)["characters"], "scene_id": scene.id, "location": scene.location,
                  "time": scene.time, "beats": beat_lines(self.sp, scene, taken), "plan": plan,
                  "schema": json.dumps(Review.model_json_schema())}
        messages = [("system", self.supervisor.fill(self.supervisor.system, **values)),
                    ("human", self.supervisor.fill(self.supervisor.user, **values))]
        _, review, error = self.endpoint.ask(self.supervisor, messages, scene.id)
        if error or review is None or review.approved:
            return []  # an unusable review never blocks a valid plan

        # "shot 2" is the supervisor's numbering: said with the beats it covers (an artist answering b1..bN has no
        # shot numbers to act on), which the re-ask then quotes
        covers = {str(i + 1): shot.beats for i, shot in enumerate(parsed.shots) if shot.beats}
        return ["continuity supervisor: " + re.sub(
            r"(?i)\bshot (\d+)\b(?! \(beats)", lambda m: f"{m[0]} (beats {', '.join(covers[m[1]])})" if m[1] in covers else m[0],
            fix) for fix in review.fixes]

    def _common(self) -> dict:
        return {**bible(self.sp), "sizes": ", ".join(SIZES), "angles": ", ".join(ANGLES),
                "moves": ", ".join(MOVES), "transitions": ", ".join(TRANSITIONS),
                "min_duration": LLM_MIN_SECONDS, "max_duration": LLM_MAX_SECONDS}

    def _scene_values(self, scene: Scene, locked: list[Shot], taken: set[str]) -> dict:
        location = self.sp.locations[scene.location]
        index = self.sp.scenes.index(scene)
        position = "the opening scene: hook the viewer in the first 3 seconds" if index == 0 else \
            "the last scene: end on a question" if index == len(self.sp.scenes) - 1 else \
            f"scene {index + 1} of {len(self.sp.scenes)}"
        fixed = ""
        if locked:
            fixed = "These shots are locked by the director; keep them as they are and do not cover their beats:\n" + \
                "\n".join(f"- {s.id}: {s.size} {s.move}, beats {', '.join(s.beats)}" for s in locked)
        return {"title": self.sp.title, "language": self.sp.language, "scene_id": scene.id,
                "scene_position": position, "location": scene.location, "location_description": location.description + (
                    f"; this scene: {scene.description.strip()}" if scene.description.strip() else ""),
                "time": scene.time, "fixed": fixed}


def plan_with_llm(project: Project, loaded: LoadedScreenplay, locked: list[Shot], settings: LLMSettings
                  ) -> tuple[list[Shot], list[str], dict]:
    planner = LLMPlanner(project, loaded, settings)
    started = time.perf_counter()
    shots, notes = planner.plan(locked)
    stats = planner.stats.summary() | {"wall_seconds": round(time.perf_counter() - started, 3),
                                       "endpoint": settings.display_url, "model": settings.model,
                                       "answer": settings.answer, "scenes": planner.provenance}
    stamp = time.strftime("%Y%m%d-%H%M%S")
    write_json(project.state_file("runs", f"plan-{stamp}-{loaded.episode}.json"), {"notes": notes, **stats})
    # the answers this plan used, so `director clean` keeps them (re-planning then costs no call)
    write_json(project.state_file("state", f"{loaded.episode}.llm.json"),
               {"version": 1, "jobs": {f"llm:{i}": {"key": k, "material": {}}
                                       for i, k in enumerate(planner.endpoint.keys)}})
    return shots, notes, stats


def environment() -> Mapping[str, str]:
    """The process environment, read in one place (the CLI), never by stages."""
    return os.environ
