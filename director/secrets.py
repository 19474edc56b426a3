"""One redaction filter for everything director prints or saves.

Secrets come from the environment (``OPENAI_API_KEY``, a password inside ``OPENAI_BASE_URL``)
and are registered here when read; ``redact`` removes them, any ``Authorization`` header
value, OpenAI-style keys and credentials inside URLs from a text. Logs (a logging filter),
error messages, run records, cache manifests, cached LLM answers and endpoint memory all
pass through it, so a server that echoes the key cannot make director store or print it.
"""
from __future__ import annotations

import logging
import re
import threading
from typing import Any
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
_secrets: set[str] = set()
_long: tuple[str, ...] = ()  # the registered secrets of LONG characters or more, longest first
_short: re.Pattern | None = None  # the registered secrets under LONG characters, each as a whole word
_lock = threading.Lock()
LONG = 8  # a secret this long is removed wherever it shows up; a shorter one only where it stands alone: a
# local server's password ``abc1`` must not turn ``abc123`` or a prompt's words into ``***``
# what local servers (vLLM, Ollama, llama.cpp, LM Studio) accept as a key and their guides tell people to type:
# not secrets, and words ("local") that run records, URLs (localhost) and prompts are full of
PLACEHOLDERS = frozenset({"local", "empty", "none", "null", "ollama", "vllm", "llama", "llamacpp", "llama.cpp",
                          "lm-studio", "lmstudio", "no-key", "nokey", "no_key", "sk-no-key-required", "not-needed",
                          "dummy", "placeholder", "token", "key", "test", "xxx", "xxxx", "anything", "sk-xxx"})
_AUTH = re.compile(r"(?i)\b(authorization[\"']?\s*[:=]\s*[\"']?(?:bearer|basic|token)?\s*)[^\s\"',;}]+")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{6,}")
_KEYLIKE = re.compile(r"\b(sk-|sk_|gsk_|xai-|hf_)[A-Za-z0-9_-]{12,}")
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/@:]*(?::[^\s/@]*)?@")
# a key in a URL's query (?key=..., &api_key=..., ?token=...): Google-style and signed URLs carry one there
_QUERY_KEY = re.compile(r"(?i)([?&][a-z0-9_-]*(?:key|token|secret|password|passwd|pwd|sig|signature|credential|auth)=)"
                        r"[^&#\s\"']+")  # X-Amz-Signature, X-Goog-Credential, api_key, access_token...
_ANY = re.compile(r"(?i)://|authorization|bearer|sk-|sk_|gsk_|xai-|hf_|[?&][a-z0-9_-]*=")  # what each pattern above needs: a text
# with none of it (most of a run record's thousands of strings) is searched once, not four times


def register(secret: str | None) -> None:
    """Remember a secret value so that ``redact`` removes it: wherever it shows up when it is at least ``LONG``
    characters, else where it stands as a word of its own. Values under 4 characters and the placeholders local
    servers take (``PLACEHOLDERS``) are not secrets and are not registered."""
    global _long, _short
    value = (secret or "").strip()
    if len(value) < 4 or value.lower() in PLACEHOLDERS:
        return
    with _lock:
        _secrets.update({secret, value} if len(value) >= LONG else {value})
        _long = tuple(sorted((s for s in _secrets if len(s.strip()) >= LONG), key=len, reverse=True))
        short = sorted((s for s in _secrets if len(s) < LONG), key=len, reverse=True)
        # bounded by ASCII word characters only: a key glued to Chinese text or after a dot is still masked
        _short = re.compile(r"(?<![A-Za-z0-9_-])(?:" + "|".join(map(re.escape, short)) + r")(?![A-Za-z0-9_-])"
                            ) if short else None


def redact(text: str) -> str:
    """``text`` without registered secrets, Authorization values, API keys and URL credentials."""
    if not text:
        return text
    with _lock:
        known, short = _long, _short
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    if short is not None:
        text = short.sub(MASK, text)
    if not _ANY.search(text):
        return text
    text = _URL_CREDENTIALS.sub(lambda m: f"{m[1]}{MASK}@", text)
    text = _QUERY_KEY.sub(lambda m: f"{m[1]}{MASK}", text)
    text = _AUTH.sub(lambda m: f"{m[1]}{MASK}", text)
    text = _BEARER.sub(lambda m: f"{m[1]}{MASK}", text)
    return _KEYLIKE.sub(lambda m: f"{m[1]}{MASK}", text)


def redact_data(data: Any) -> Any:
    """``redact`` applied to every string (and mapping key) inside JSON-like data."""
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, dict):
        return {redact_data(k): redact_data(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [redact_data(v) for v in data]
    return data


def split_url_credentials(url: str) -> tuple[str, str | None]:
    """(the URL without ``user:password@``, the password or None); the password is registered."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url, None
    if parts.username is None and parts.password is None:
        return url, None
    register(parts.password)
    register(parts.username if parts.password is None else None)
    # HTTP Basic sends base64(user:password): a server that echoes its Authorization header must not print it
    import base64
    register(base64.b64encode(f"{parts.username or ''}:{parts.password or ''}".encode()).decode())
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), parts.password


_CONTROLS = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7f, *range(0x80, 0xa0)] if c not in (0x09, 0x0a)}


def shown(text: str) -> str:
    """``text`` as it may reach a terminal: secrets redacted, control characters written as ``\\x1b``. An LLM
    server's error message (or any text from outside) set the window's title, cleared the screen and coloured
    what followed."""
    return redact(text).translate(_CONTROLS)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts every record's final message (args included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: let logging report it as it would
            return True
        record.msg, record.args = shown(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
