"""Fuzzing director's three YAML loaders through the CLI (used by tests/test_fuzz.py and bench/fuzz.py).

The contract, for ANY bytes in a screenplay, series bible, ``director.yaml`` or shot list:
``director validate`` / ``director status`` exit 0 or 3, print no ``Traceback`` and no
``internal error``, finish in bounded time and memory, and write nothing outside the project.

Each case runs ``director.cli.main.run`` in a forked child of an already-warm process (fast: no
interpreter start, no imports), in a sandbox:

    <slot>/home  <slot>/tmp            HOME and TMPDIR of the child
    <slot>/work/a/b/proj               the project (fresh copy per case); cwd is <slot>/work/a/b

so ``../../x`` and absolute ``@SANDBOX@/x`` paths in inputs land inside the sandbox, where writes
outside ``proj`` are seen. The child runs under RLIMIT_AS (memory), RLIMIT_FSIZE and a time
limit of ``timeout`` CPU seconds (3x that in wall-clock time; a signal handler records where it
hung and exits; the parent SIGKILLs it if even that cannot run). Failures are recorded
by signature (exception type + innermost director frame, or hang site, or exit code + message),
never raised mid-run, so one run reports every distinct failure it met.

Inputs come from hypothesis: structure-aware mutations of valid documents, YAML text snippets
(alias bombs, merge keys, tags, deep nesting, encodings) and raw byte mutations.
"""
from __future__ import annotations

import base64
import contextlib
import copy
import datetime as dt
import functools
import hashlib
import importlib.util
import io
import json
import os
import re
import resource
import shutil
import signal
import struct
import sys
import time
import traceback
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
TARGETS = ("screenplay", "config", "shots")
OK_CODES = (0, 3)
WALL_FACTOR = 3  # a case may use `timeout` seconds of CPU, and WALL_FACTOR times that of wall-clock time
KILL_GRACE = 2.0  # seconds the parent waits past the child's own wall-clock alarm before SIGKILL
SANDBOX = "@SANDBOX@"  # replaced by the slot's absolute sandbox path when a case is written


# =============================================================================== cases

@dataclass
class Case:
    """One input: files to write into the project (relative path -> bytes), and how it was made."""

    files: dict[str, bytes]
    label: str  # detailed: strategy and mutations
    tags: tuple[str, ...] = ()  # input classes, e.g. ("text", "alias-bomb")

    @property
    def size(self) -> int:
        return sum(len(b) for b in self.files.values())

    def preview(self, limit: int = 400) -> str:
        parts = []
        for name, data in self.files.items():
            shown = data[:limit]
            more = f" ... (+{len(data) - limit} bytes)" if len(data) > limit else ""
            parts.append(f"{name} ({len(data)} bytes): {shown!r}{more}")
        return "\n".join(parts)


# =============================================================================== base documents

def _png(size: int = 32) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    pixels = (b"\x00" + b"\x80\x60\x40" * size) * size
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(pixels)) + chunk(b"IEND", b"")


def _wav_short() -> bytes:
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000), w.writeframes(bytes(range(256)) * 64)
    return buf.getvalue()


SCREENPLAY = yaml.safe_load((DATA / "short" / "screenplay.yaml").read_text())
SCREENPLAY["format"] = {"aspect": "9:16", "width": 216, "height": 384, "fps": 24}
SCREENPLAY["characters"]["ana"]["refs"] = ["refs/a.png"]
SCREENPLAY["characters"]["bo"]["voice"] = {"preset": "male_deep", "pitch": 2, "rate": 1.1}
SCREENPLAY["locations"]["room"]["refs"] = ["refs/a.png"]
SCREENPLAY["scenes"][1]["beats"][0]["shot"] = {"size": "WS", "move": "dolly-in", "duration": 3}
SCREENPLAY["scenes"][0]["beats"][0]["music"] = {"mood": "tense", "intensity": "high"}

BIBLE = {k: SCREENPLAY[k] for k in ("title", "language", "format", "style", "characters", "locations")}
EPISODE = {"series": "series.yaml", "title": "Episode 1", "scenes": SCREENPLAY["scenes"]}

CONFIG = {
    "episodes": ["screenplay.yaml"],
    "profile": "preview",
    "backends": {"keyframes": {"backend": "preview-panel"}},
    "planner": {"backend": "rules"},
    "llm": {"base_url": "http://localhost:1/v1", "model": "m", "temperature": 0.4, "max_concurrency": 4,
            "timeout": 60, "max_repairs": 2, "max_retries": 4, "backoff": 1.0, "review": True,
            "max_tokens": 2048, "use_responses_api": False},
    "timing": {"min_shot": 1.5, "lead_in": 0.35, "gap": 0.25, "tail": 0.5},
    "mix": {"loudness": -14.0, "true_peak": -1.0, "duck_db": -12.0, "music_db": -8.0, "sample_rate": 48000},
    "subtitles": {"burn": True, "max_lines": 2, "size": 0.034},
    "encode": {"crf": 20, "preset": "veryfast", "audio_bitrate": "192k"},
    "workers": 2,
}
MINIMAL_CONFIG = {"episodes": ["screenplay.yaml"]}


def dump(data) -> bytes:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100).encode()


def write_base_project(dest: Path) -> None:
    """The valid project every case starts from (shots are added per target)."""
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "refs").mkdir(parents=True)
    (dest / "refs" / "a.png").write_bytes(_png())
    (dest / "refs" / "v.wav").write_bytes(_wav_short())
    (dest / "director.yaml").write_bytes(dump(MINIMAL_CONFIG))
    (dest / "screenplay.yaml").write_bytes(dump(SCREENPLAY))


@contextlib.contextmanager
def _quiet():
    with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(io.StringIO()) as err:
        yield out, err


_WARM: dict = {}


def warm_up(workdir: Path) -> dict:
    """Import everything validate/status use, in this process, and plan the base shot list (once)."""
    if _WARM:
        return _WARM
    from director.cli.main import run

    proj = workdir / "warm-up"
    write_base_project(proj)
    for args in (["validate"], ["plan"], ["status"]):
        with _quiet() as (_, err):
            code = run(["-p", str(proj), *args])
        if code != 0:
            raise RuntimeError(f"the base project does not pass `director {args[0]}` ({code}): {err.getvalue()}")
    shots_text = (proj / "shots" / "screenplay.yaml").read_bytes()
    (proj / "director.yaml").write_bytes(dump(CONFIG))
    with _quiet() as (_, err):
        code = run(["-p", str(proj), "status"])
    if code != 0:
        raise RuntimeError(f"the full base director.yaml does not pass `director status` ({code}): {err.getvalue()}")
    _WARM.update(shots=yaml.safe_load(shots_text), shots_text=shots_text)
    return _WARM


# =============================================================================== strategies

class Raw:
    """A piece of YAML text spliced in verbatim where a value (or key) would be dumped."""

    def __init__(self, text: str, tag: str):
        self.text, self.tag = text, tag

    def __repr__(self) -> str:
        return f"Raw({self.text[:40]!r})"


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(tuple, yaml.SafeDumper.represent_list)


def _dump_with_raw(doc) -> bytes:
    """safe_dump ``doc`` (shared/recursive containers become anchors/aliases), splicing Raw texts in."""
    raws: dict[str, str] = {}

    def rep(dumper, raw: Raw):
        token = f"RAWTOKEN{len(raws)}X"
        raws[token] = raw.text
        return dumper.represent_scalar("tag:yaml.org,2002:str", token)

    _Dumper.add_representer(Raw, rep)
    try:
        text = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    except RecursionError:  # too deep for the emitter: keep what we can
        text = yaml.dump({"too-deep": True}, Dumper=_Dumper)
    for token, raw in sorted(raws.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(token, raw)
    return text.encode("utf-8", "surrogatepass")


def _alias_bomb(depth: int, width: int) -> str:
    parts = ["&a0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, depth):
        parts.append(f"&a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "[" + ", ".join(parts) + "]"


def _merge_bomb(depth: int, width: int) -> str:
    parts = ["&m0 {k0: 0}"]
    for i in range(1, depth):
        parts.append(f"&m{i} {{<<: [" + ", ".join([f"*m{i - 1}"] * width) + f"], k{i}: {i}}}")
    return "[" + ", ".join(parts) + "]"


def _raws() -> list[tuple[str, str]]:
    """(class, YAML text) for values that a Python dumper cannot produce."""
    r = [
        ("huge-int", "9" * 5000), ("huge-int", "-" + "9" * 4400), ("huge-int", "1" + "0" * 4299),
        ("huge-int", "0x" + "f" * 4000), ("huge-int", "0o" + "7" * 5000), ("huge-int", "0b" + "1" * 20000),
        ("huge-int", "1_0" * 3000), ("huge-int", "1" + ":59" * 3000), ("huge-int", "99999999999999999999"),
        ("float", "1e400"), ("float", "-.inf"), ("float", ".nan"), ("float", "1e-400"), ("float", "0." + "1" * 5000),
        ("float", "1" + "0" * 5000 + ".5"), ("float", "6.8523015e+5"), ("float", "190:20:30.15"),
        ("timestamp", "2024-13-45"), ("timestamp", "2024-02-30"), ("timestamp", "0000-00-00"),
        ("timestamp", "0000-01-01"), ("timestamp", "9999-12-31 23:59:60"), ("timestamp", "2024-01-01T25:61:61Z"),
        ("timestamp", "2024-1-1 1:1:1.123456789"), ("timestamp", "2024-01-01 00:00:00 +99:99"),
        ("timestamp", "2024-01-01t00:00:00-99"), ("timestamp", "10000-01-01"),
        ("sexagesimal", "16:9"), ("sexagesimal", "9:16"), ("sexagesimal", "4:5:6"), ("sexagesimal", "1:60"),
        ("tag", "!!binary zz"), ("tag", "!!binary " + base64.b64encode(os.urandom(64)).decode()),
        ("tag", "!!binary ==="), ("tag", "!!set {a, b}"), ("tag", "!!set [a]"), ("tag", "!!omap [a: 1, b: 2]"),
        ("tag", "!!omap [a, b]"), ("tag", "!!pairs [[a, 1]]"), ("tag", "!!pairs {a: 1}"),
        ("tag", "!!timestamp 2024-99-99"), ("tag", "!!timestamp x"), ("tag", "!!int x"), ("tag", "!!int 0x"),
        ("tag", "!!float x"), ("tag", "!!float ''"), ("tag", "!!bool maybe"), ("tag", "!!null x"),
        ("tag", "!!str [a]"), ("tag", "!!map [a]"), ("tag", "!!seq {a: 1}"), ("tag", "!!python/object:os.system x"),
        ("tag", f"!!python/object/apply:os.system ['touch {SANDBOX}/pwned']"), ("tag", "!!python/name:os.system"),
        ("tag", "!!python/tuple [1, 2]"), ("tag", "!custom x"), ("tag", "!<tag:yaml.org,2002:str> x"),
        ("tag", "!<!> x"), ("tag", "!!merge x"), ("tag", "!!value x"), ("tag", "="), ("tag", "!!yaml x"),
        ("tag", "!!binary |\n  AAAA\n  BBBB"), ("tag", "!!int " + "9" * 5000), ("tag", "!!float " + "9" * 5000),
        ("alias", "*undefined"), ("alias", "&a [*a]"), ("alias", "&a {k: *a}"), ("alias", "&a {<<: *a}"),
        ("alias", "&a [&b [*a, *b]]"), ("alias", "&a [1, 2]"), ("alias", "&x [*x, *x]"),
        ("alias-bomb", _alias_bomb(9, 9)), ("alias-bomb", _alias_bomb(6, 10)), ("alias-bomb", _alias_bomb(30, 2)),
        ("merge", "{<<: [*undefined]}"), ("merge", "{<<: 5}"), ("merge", "{<<: [1, 2]}"),
        ("merge", "{<<: {a: 1}, a: 2}"), ("merge", "{<<: &m {a: 1}, b: *m}"), ("merge", "{<<: [{}, [], x]}"),
        ("merge", "[&m {a: 1}, {<<: [*m, *m, *m]}]"), ("merge", "{<<: &s [1]}"), ("merge", "&r {<<: [*r]}"),
        ("merge-bomb", _merge_bomb(25, 2)), ("merge-bomb", _merge_bomb(8, 8)),
        ("strings", '"\\0"'), ("strings", '"a\\x00b"'), ("strings", '"\\ud800"'), ("strings", '"\\U0010FFFF"'),
        ("strings", '"\\e[31m"'), ("strings", '"\\N\\_\\L\\P"'), ("strings", "''"), ("strings", "'it''s'"),
        ("strings", "~"), ("strings", "null"), ("strings", "yes"), ("strings", "No"), ("strings", "off"),
        ("strings", "y"), ("strings", "."), ("strings", "..."), ("strings", "---"), ("strings", "'16:9'"),
        ("strings", "|\n  block\n  text"), ("strings", ">-\n folded"), ("strings", '"' + "\\t" * 2000 + '"'),
        ("strings", '"' + "\\u00e9" * 3000 + '"'), ("strings", "#comment"), ("strings", "@at"), ("strings", "`tick"),
        ("strings", "%percent"), ("strings", "| x"), ("strings", "- x"), ("strings", "? x"), ("strings", "a: b: c"),
        ("mapping", "{a: 1, a: 2}"), ("mapping", "{? [a, b]: c}"), ("mapping", "{[a]: b}"),
        ("mapping", "{{a: 1}: b}"), ("mapping", "{null: x}"), ("mapping", "{1.5: x}"), ("mapping", "{true: x}"),
        ("mapping", "{~: ~}"), ("mapping", "{.nan: x}"), ("mapping", "{2024-01-01: x}"),
        ("mapping", "{!!binary AAAA: x}"), ("mapping", "{" + ", ".join(f"k{i}: {i}" for i in range(3000)) + "}"),
        ("syntax", "[a, b"), ("syntax", "}"), ("syntax", "{a"), ("syntax", "'open"), ("syntax", '"open'),
        ("syntax", "&"), ("syntax", "*"), ("syntax", "!"), ("syntax", "!!"), ("syntax", "[,]"), ("syntax", "{,}"),
        ("syntax", "\t"), ("syntax", "a\tb"),
    ]
    for n in (65, 300, 1000, 5000, 20000):
        r.append(("deep-nesting", "[" * n + "]" * n))
        r.append(("deep-nesting", "{a: " * n + "1" + "}" * n))
    r.append(("deep-nesting", "[" * 100000))
    return r


RAWS = _raws()

PATHISH = ["", " ", ".", "..", "../x", "../../x", "../../../../../../etc/passwd", "../x.png", "../../x.wav",
           "/abs", "/abs.png", "/dev/zero", "/dev/stdin", "/proc/self/mem", "/tmp", f"{SANDBOX}/out.png",
           f"{SANDBOX}/home", f"{SANDBOX}/work/x.yaml", "~/x.png", "a/b", "a\\b", "C:\\x.png", "refs", "refs/",
           "refs/a.png", "refs/v.wav", "refs/a.png/..", "refs/../../x.png", "refs/missing.png", "refs/a.PNG",
           "x" * 300 + ".png", "x/" * 3000 + "y.png", "a\x00b", "a\x00b.png", "\x00", "screenplay.yaml",
           "director.yaml", "shots/screenplay.yaml", "shots", "proj", "*", "**", "**/*.yaml", "*.yaml", "../*",
           "../../*", "/*", "/etc/*", f"{SANDBOX}/*", f"{SANDBOX}/**", "[", "[]", "[!a]", "?", "refs/*.png",
           "{a,b}.yaml", "screenplay.yaml/..", "./screenplay.yaml", "screenplay.yaml\n", "screenplay.yml",
           "series.yaml", "../proj/screenplay.yaml", "nul", "CON", "a:b", "a|b", "\udcff.png"]
STRINGS = ["", " ", "\n", "\r\n", "\t", "\x00", "a\x00b", "\x07\x1b[31m", "\x7f", "\x85", "\u2028", "\u202e",
           "\ufeff", "\ud800", "\udcff", "\U0010ffff", "\uffff", "😀" * 1000, "x" * 100_000, "a" * 801, "a" * 301,
           "narrator", "NARRATOR", "Narrator", "1abc", "a b", "a/b", "-a", "_a", "ünïcode", "中文", "%s%n", "{0}",
           "${HOME}", "$(touch x)", "`id`", "'; DROP", "<script>", "\\", "CU", "cu", "WS", "dolly-in", "static",
           "fade", "night", "en", "zh-CN", "x-" * 2000, "EN_us", "9:16", "16:9", "0:16", "9:0", "9:16:1",
           " 9:16", "female", "male_deep", "tense", "stop", "low", "high", "noncommercial", "llm", "rules", "final",
           "preview", "espeak", "preview-panel", "wan-i2v", "coqui-tts", "nonexistent-backend", "one/1", "two/2",
           "one-01", "ana", "bo", "street", "room", "one", "two"]
NUMBERS = [0, -1, 1, 2, 3, 63, 64, 65, 4096, 4097, 4098, 2**31 - 1, 2**31, 2**63, -2**63, 10**300, -10**300,
           10**4000, 0.0, -0.0, 0.3, 0.5, 1.5, 2.0, 59.99, 60.0, 60.01, 1e308, -1e308, 5e-324, float("nan"),
           float("inf"), float("-inf"), True, False, None]
OTHERS = [[], {}, [None], [[]], {"a": {}}, {"": ""}, ["x"] * 5000, {f"k{i}": i for i in range(2000)},
          b"\x00\xff", b"", {"a", "b"}, dt.date(2024, 1, 1), dt.datetime(2024, 1, 1, 12, 0), (1, 2)]
KEYS = ["", "unknown", "Title", "TITLE", "scenes ", "x" * 1000, "\x00", "bad/id", "..", "narrator", "1abc",
        "<<", "=", "~", 1, 0, -1, 1.5, True, None, 10**4000, ("a", "b"), Raw("<<", "merge-key"),
        Raw("? [a, b]", "complex-key"), Raw("!!binary AAAA", "tag-key"), Raw("*undefined", "alias-key"),
        Raw("&k key", "anchor-key"), Raw("9" * 5000, "huge-int-key"), Raw("2024-13-45", "timestamp-key")]


def pick(draw, st, seq):
    """One element of ``seq`` (by index: sampled_from would validate and repr every element per call)."""
    return seq[draw(st.integers(0, len(seq) - 1))]


def _indexed(st, seq):
    return st.integers(0, len(seq) - 1).map(seq.__getitem__)


@functools.lru_cache(maxsize=None)
def _raw_strategy(st):
    return _indexed(st, RAWS).map(lambda cr: Raw(cr[1], cr[0]))


@functools.lru_cache(maxsize=None)
def _value_strategy(st):
    return st.one_of(
        _raw_strategy(st),
        _indexed(st, PATHISH),
        _indexed(st, STRINGS),
        _indexed(st, NUMBERS),
        _indexed(st, OTHERS).map(copy.deepcopy),  # later mutations must not change the shared originals
        st.text(max_size=40),
        st.integers(),
        st.floats(),
        st.recursive(st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=5),
                     lambda inner: (st.lists(inner, max_size=4)
                                    | st.dictionaries(st.text(max_size=5), inner, max_size=4)),
                     max_leaves=12),
    )


def _tag_of(value) -> str:
    if isinstance(value, Raw):
        return value.tag
    if isinstance(value, str):
        if "\x00" in value:
            return "nul"
        if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
            return "surrogate"
        if len(value) > 1000:
            return "long-string"
        if value in PATHISH:
            return "path"
        if any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in value):
            return "control-char"
        return "string"
    if isinstance(value, bool) or value is None:
        return "bool/null"
    if isinstance(value, int):
        return "huge-int" if abs(value) > 2**64 else "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, (bytes, set, dt.date, tuple)):
        return type(value).__name__
    return "container"


def _paths(doc, limit: int = 5000) -> list[tuple]:
    """Paths to every value (each shared or recursive container walked once), at most ``limit``."""
    out: list[tuple] = []
    seen: set[int] = set()
    stack = [((), doc)]
    while stack and len(out) < limit:
        prefix, node = stack.pop()
        out.append(prefix)
        if isinstance(node, (dict, list)):
            if id(node) in seen:
                continue
            seen.add(id(node))
            items = node.items() if isinstance(node, dict) else enumerate(node)
            stack.extend(reversed([(prefix + (k,), v) for k, v in items]))
    return out


def _get(doc, path):
    for p in path:
        doc = doc[p]
    return doc


def _path_str(path) -> str:
    return ".".join(str(p) for p in path) or "<root>"


OPS = ("replace", "replace", "replace", "delete", "add-key", "rename-key", "wrap", "duplicate", "swap",
       "share", "cycle", "laughs", "deep")


def structured_doc(st, base: dict):
    """Mutations of a valid document: returns (bytes, label, tags)."""
    paths = _paths(base)

    @st.composite
    def build(draw):
        doc = copy.deepcopy(base)
        labels, tags = [], ["struct"]
        for _ in range(draw(st.integers(1, 4))):
            live = _paths(doc)
            path = pick(draw, st, live)
            op = pick(draw, st, OPS)
            if not path and op not in ("add-key", "replace", "wrap"):
                op = "add-key"
            parent = _get(doc, path[:-1]) if path else None
            key = path[-1] if path else None
            target = _get(doc, path)
            tag = op
            if op == "replace":
                value = draw(_value_strategy(st))
                tag = _tag_of(value)
                if path:
                    parent[key] = value
                else:
                    doc = value
            elif op == "delete":
                del parent[key]
            elif op == "add-key":
                holder = target if isinstance(target, dict) else parent if isinstance(parent, dict) else None
                if holder is None:
                    if isinstance(target, list):
                        target.append(draw(_value_strategy(st)))
                    continue
                k = pick(draw, st, KEYS if draw(st.booleans()) else sorted(map(str, holder)) or ["x"])
                v = draw(_value_strategy(st))
                tag = "key:" + _tag_of(k)
                tags.append(_tag_of(v))
                try:
                    holder[k] = v
                except TypeError:
                    holder[str(k)] = v
            elif op == "rename-key":
                if isinstance(parent, dict):
                    k = pick(draw, st, KEYS)
                    tag = "key:" + _tag_of(k)
                    try:
                        parent[k] = parent.pop(key)
                    except TypeError:
                        continue
            elif op == "wrap":
                value = pick(draw, st, [[target], {"value": target}, {key if isinstance(key, str) else "k": target}])
                if path:
                    parent[key] = value
                else:
                    doc = value
            elif op == "duplicate":
                if isinstance(parent, list):
                    n = pick(draw, st, [2, 3, 50, 1000, 5000])
                    parent[key + 1:key + 1] = [copy.deepcopy(target) for _ in range(min(n, 50))] + \
                        [target] * max(0, n - 50)
                    tag = f"duplicate-x{n}"
                elif isinstance(target, list) and target:
                    n = pick(draw, st, [2, 50, 1000, 5000])
                    target.extend([target[0]] * n)
                    tag = f"duplicate-x{n}"
            elif op == "swap":
                other = pick(draw, st, paths)
                try:
                    parent[key] = copy.deepcopy(_get(base, other))
                except (KeyError, IndexError, TypeError):
                    continue
                tag = "swap"
            elif op == "share":  # the same object twice: anchor + alias in the dump
                other = pick(draw, st, live)
                obj = _get(doc, other)
                if isinstance(obj, (dict, list)) and path:
                    parent[key] = obj
                    tag = "shared-anchor"
            elif op == "cycle":  # a container that contains itself
                if path:
                    depth = draw(st.integers(0, len(path) - 1))
                    parent[key] = _get(doc, path[:depth]) if depth else doc
                    tag = "cycle"
            elif op == "laughs":  # billion laughs through shared objects
                width, depth = pick(draw, st, [(10, 9), (9, 6), (2, 40), (50, 4)])
                node: object = ["lol"] * width
                for _ in range(depth - 1):
                    node = [node] * width
                if path:
                    parent[key] = node
                    tag = "alias-bomb"
            elif op == "deep":
                n = pick(draw, st, [64, 65, 300, 2000, 20000])
                if path:
                    parent[key] = Raw("[" * n + "]" * n, "deep-nesting")
                    tag = "deep-nesting"
            labels.append(f"{op}:{tag}@{_path_str(path)[:60]}")
            tags.append(tag)
        return _dump_with_raw(doc), "struct[" + ", ".join(labels) + "]", tuple(dict.fromkeys(tags))

    return build()


SNIPPETS = {
    "alias-bomb": lambda: "a: " + _alias_bomb(9, 9) + "\n",
    "alias-bomb-block": lambda: "".join(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}" if i else "lol"] * 9) + "]\n"
                                        for i in range(10)),
    "merge-bomb": lambda: "".join(f"m{i}: &m{i} {{<<: [" + ", ".join([f"*m{i - 1}"] * 8) + f"], k{i}: 1}}\n"
                                  if i else "m0: &m0 {k0: 0}\n" for i in range(9)),
    "self-alias": lambda: "a: &a [*a]\n",
    "self-merge": lambda: "a: &a {<<: *a, b: 1}\n",
    "undefined-alias": lambda: "title: *nope\n",
    "anchor-redefined": lambda: "a: &x 1\nb: &x 2\nc: *x\n",
    "merge-scalar": lambda: "base: &b 5\nx: {<<: *b}\n",
    "merge-list": lambda: "base: &b [1, 2]\nx:\n  <<: *b\n",
    "merge-ok": lambda: "base: &b {title: T}\n<<: *b\nscenes: []\n",
    "deep-flow": lambda: "a: " + "[" * 20000 + "]" * 20000 + "\n",
    "deep-flow-open": lambda: "[" * 20000,
    "deep-map": lambda: "a: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n",
    "deep-block": lambda: "".join("  " * i + "- \n" for i in range(600)),
    "deep-block-map": lambda: "".join("  " * i + f"k{i}:\n" for i in range(600)),
    "deep-block-flow": lambda: "".join(" " * i + "- [\n" for i in range(1000)),
    "deep-65": lambda: "title: T\nscenes: " + "[" * 65 + "]" * 65 + "\n",
    "tags": lambda: "a: !!python/object/apply:os.system ['echo pwned']\n",
    "tag-name": lambda: "a: !!python/name:builtins.exec\n",
    "binary": lambda: "title: !!binary aGVsbG8=\nb: !!binary '*'\n",
    "timestamp": lambda: "title: 2024-13-45\nid: !!timestamp 2024-01-01\n",
    "set": lambda: "characters: !!set {ana, bo}\n",
    "omap": lambda: "characters: !!omap [ana: {description: x}, ana: {description: y}]\n",
    "directive": lambda: "%YAML 1.3\n%TAG ! tag:evil.com,2000:\n---\ntitle: !x T\n",
    "bad-directive": lambda: "%YAML 2.0\n---\na: 1\n",
    "multi-doc": lambda: "title: A\n---\ntitle: B\n",
    "doc-end": lambda: "title: A\n...\ngarbage: [\n",
    "complex-key": lambda: "? [a, b]\n: c\n? {x: 1}\n: d\n",
    "null-key": lambda: "~: x\n: y\n",
    "bool-keys": lambda: "true: 1\nyes: 2\non: 3\n1.5: 4\n0x10: 5\n",
    "dup-keys": lambda: "title: A\ntitle: B\n",
    "only-scalar": lambda: "42\n",
    "only-string": lambda: '"just a string"\n',
    "only-list": lambda: "- a\n- b\n",
    "empty": lambda: "",
    "whitespace": lambda: " \n\t\n  \n",
    "comment-only": lambda: "# nothing\n",
    "null-doc": lambda: "null\n",
    "tabs": lambda: "title: T\nscenes:\n\t- id: one\n",
    "long-line": lambda: "title: " + "x" * 1_000_000 + "\n",
    "many-keys": lambda: "".join(f"k{i}: {i}\n" for i in range(5000)),
    "many-items": lambda: "scenes:\n" + "- {id: s, location: street, beats: [action: x]}\n" * 2000,
    "huge-doc": lambda: "scenes:\n" + "- {id: s, location: street, beats: [action: x]}\n" * 20000,  # ~1 MB
    "huge-int": lambda: "title: T\nformat: {width: " + "9" * 5000 + "}\n",
    "unquoted-aspect": lambda: "title: T\nformat: {aspect: 16:9}\n",
    "cr-only": lambda: "title: T\rscenes: []\r",
    "nel": lambda: "title: T\x85scenes: []\x85",
    "line-sep": lambda: "title: T\u2028scenes: []\n",
    "nul": lambda: "title: T\x00\n",
    "control": lambda: "title: \x1b[31mT\x07\n",
    "bom-mid": lambda: "title: T\n\ufeffscenes: []\n",
}

RARE_SNIPPETS = {"huge-doc": "many-items"}

BAD_BYTES = [b"\xff", b"\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\x80", b"\x00",
             b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xe4\xb8", b"\x1a"]
TOKENS = [b":", b": ", b"- ", b"&a ", b"*a", b"!!", b"!", b"{", b"}", b"[", b"]", b",", b"\t", b"\x00", b"<<: ",
          b"'", b'"', b"#", b"|", b">", b"%", b"@", b"`", b"\n", b"  ", b"? ", b"---\n", b"...\n", b"\r", b"\\",
          b"~", b"9" * 5000, b"2024-13-45", b"16:9", b"[" * 2000, b"&a [*a]", b"\xff", b"\xc3\x28", b"\xef\xbb\xbf"]


def _encode(text: str, how: str) -> bytes:
    if how == "utf-8-sig":
        return b"\xef\xbb\xbf" + text.encode("utf-8", "surrogatepass")
    if how in ("utf-16", "utf-16-le", "utf-16-be", "utf-32"):
        return text.encode(how, "surrogatepass")
    if how in ("gbk", "latin-1", "shift_jis"):
        return text.encode(how, "replace")
    return text.encode("utf-8", "surrogatepass")


ENCODINGS = ["utf-8"] * 6 + ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "gbk", "latin-1",
                             "shift_jis"]


def textual_doc(st, base_text: bytes):
    """YAML text snippets alone or spliced into the valid document, in various encodings."""
    lines = base_text.decode().splitlines(keepends=True)

    @st.composite
    def build(draw):
        kind = pick(draw, st, sorted(SNIPPETS))
        if kind in RARE_SNIPPETS and draw(st.integers(0, 3)):
            kind = RARE_SNIPPETS[kind]  # ~1 MB inputs cost seconds each: a quarter as often
        snippet = SNIPPETS[kind]()
        where = pick(draw, st, ["alone", "append", "prepend", "value", "value", "line"])
        tags = ["text", kind]
        if where == "alone":
            text = snippet
        elif where == "append":
            text = "".join(lines) + snippet
        elif where == "prepend":
            text = snippet + "".join(lines)
        else:
            i = draw(st.integers(0, len(lines) - 1))
            line = lines[i]
            indent = line[:len(line) - len(line.lstrip(" -"))]
            if where == "value" and ": " in line:
                raw = draw(_raw_strategy(st))
                tags[1] = raw.tag
                kind = f"raw:{raw.tag}"
                head = line.split(": ", 1)[0]
                text = "".join(lines[:i]) + f"{head}: {raw.text}\n" + "".join(lines[i + 1:])
            else:
                body = "".join(indent.replace("-", " ") + s + "\n" for s in snippet.splitlines())
                text = "".join(lines[:i]) + body + "".join(lines[i:])
        transform = pick(draw, st, ["none"] * 6 + ["tabs", "crlf", "cr", "nel", "ls", "strip-newline",
                                                         "chinese"])
        if transform == "tabs":
            text = re.sub(r"(?m)^( {2})+", lambda m: "\t" * (len(m[0]) // 2), text)
        elif transform == "crlf":
            text = text.replace("\n", "\r\n")
        elif transform == "cr":
            text = text.replace("\n", "\r")
        elif transform == "nel":
            text = text.replace("\n", "\x85")
        elif transform == "ls":
            text = text.replace("\n", "\u2028")
        elif transform == "strip-newline":
            text = text.rstrip("\n")
        elif transform == "chinese":
            text = text.replace("Short Test", "短剧测试").replace("Are you following me?", "你在跟踪我吗？")
        enc = pick(draw, st, ENCODINGS)
        data = _encode(text, enc)
        if draw(st.integers(0, 9)) == 0:
            pos = draw(st.integers(0, len(data)))
            data = data[:pos] + pick(draw, st, BAD_BYTES) + data[pos:]
            tags.append("invalid-utf8")
        if transform != "none":
            tags.append(transform)
        if enc != "utf-8":
            tags.append(enc)
        return data, f"text[{kind} {where} {transform} {enc}]", tuple(tags)

    return build()


def mutated_bytes(st, base: bytes):
    """Random byte-level mutations of the valid file."""

    @st.composite
    def build(draw):
        data = bytearray(base)
        ops = []
        for _ in range(draw(st.integers(1, 8))):
            op = pick(draw, st, ["flip", "insert", "delete", "dup", "token", "token", "truncate", "swap"])
            i = draw(st.integers(0, len(data)))
            if op == "flip" and data:
                i = min(i, len(data) - 1)
                data[i] = draw(st.integers(0, 255))
            elif op == "insert":
                data[i:i] = draw(st.binary(min_size=1, max_size=8))
            elif op == "delete":
                del data[i:i + draw(st.integers(1, 64))]
            elif op == "dup":
                n = draw(st.integers(1, 200))
                data[i:i] = data[i:i + n] * pick(draw, st, [2, 10, 1000])
            elif op == "token":
                data[i:i] = pick(draw, st, TOKENS)
            elif op == "truncate":
                del data[i:]
            elif op == "swap" and data:
                j = draw(st.integers(0, len(data)))
                a, b = sorted((i, j))
                data[a:b] = bytes(reversed(data[a:b]))
            ops.append(op)
        return bytes(data), f"bytes[{' '.join(ops)}]", ("bytes",)

    return build()


def case_strategy(target: str):
    """All inputs for one target, as a hypothesis strategy of Case."""
    from hypothesis import strategies as st

    shots = _WARM["shots"]
    if target == "screenplay":
        variants = [({"screenplay.yaml": SCREENPLAY}, "screenplay.yaml")] * 4 + [
            ({"screenplay.yaml": EPISODE, "series.yaml": BIBLE}, "screenplay.yaml"),
            ({"screenplay.yaml": EPISODE, "series.yaml": BIBLE}, "series.yaml")]
    elif target == "config":
        variants = [({"director.yaml": CONFIG}, "director.yaml"), ({"director.yaml": MINIMAL_CONFIG}, "director.yaml")]
    elif target == "shots":
        variants = [({"shots/screenplay.yaml": shots}, "shots/screenplay.yaml")]
    else:
        raise ValueError(f"unknown fuzz target {target!r}; known: {', '.join(TARGETS)}")

    def strategies_for(docs: dict, fuzzed: str):
        base_bytes = dump(docs[fuzzed]) if fuzzed != "shots/screenplay.yaml" else _WARM["shots_text"]
        fixed = {name: dump(doc) for name, doc in docs.items() if name != fuzzed}

        def wrap(result):
            data, label, tags = result
            suffix = "" if fuzzed in ("screenplay.yaml", "director.yaml", "shots/screenplay.yaml") else f" in {fuzzed}"
            return Case({**fixed, fuzzed: data}, label + suffix, tags + ((f"file:{fuzzed}",) if suffix else ()))

        return [structured_doc(st, docs[fuzzed]).map(wrap), textual_doc(st, base_bytes).map(wrap),
                mutated_bytes(st, base_bytes).map(wrap)]

    per_variant = [strategies_for(docs, fuzzed) for docs, fuzzed in variants]

    @st.composite
    def build(draw):
        strategies = pick(draw, st, per_variant)
        roll = draw(st.integers(0, 99))
        return draw(strategies[0] if roll < 45 else strategies[1] if roll < 80 else strategies[2])

    return build()


# =============================================================================== running cases

def _commands(target: str) -> list[list[str]]:
    if target == "shots":
        return [["-p", "proj", "status"]]
    return [["-p", "proj", "validate"], ["-p", "proj", "status"]]  # status only when validate says 0


def _vm_kb(field_name: str) -> int:
    try:
        for line in open("/proc/self/status"):
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _keep(frames: list) -> list:
    """The last 40 frames, plus the innermost director frame before them (deep recursion hides it)."""
    own = [f for f in frames[:-40] if f[0].startswith(DIRECTOR_PKG)]
    return own[-1:] + frames[-40:]


class _Spy:
    """The child's stderr: records the traceback of the exception being handled when run() prints
    'internal error', so failures get a signature (run() itself prints only one line)."""

    def __init__(self, inner, record: Path):
        self._inner, self._record = inner, record

    def write(self, s):
        if "internal error" in s:
            exc = sys.exc_info()[1]
            if exc is not None and not self._record.exists():
                frames = [(f.filename, f.name, f.lineno) for f in traceback.extract_tb(exc.__traceback__)]
                self._record.write_text(json.dumps({"type": type(exc).__name__, "message": str(exc)[:500],
                                                    "frames": _keep(frames), "text": traceback.format_exc()[-6000:]}))
        return self._inner.write(s)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def _child(slot: "Slot", commands: list[list[str]], timeout: float, mem_bytes: int) -> None:
    """In the forked child: sandbox, limits, captured output; run the commands; never returns."""
    code = 70
    try:
        import gc

        gc.callbacks.clear()  # hypothesis' gc timing hooks are the parent's business
        gc.freeze()  # the inherited heap is never collected here: fewer copy-on-write pages, faster runs
        os.setpgid(0, 0)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.chdir(slot.cwd)
        os.environ.update(HOME=str(slot.root / "home"), TMPDIR=str(slot.root / "tmp"),
                          XDG_CACHE_HOME=str(slot.root / "home" / ".cache"), HF_HOME=str(slot.root / "home" / "hf"))
        import tempfile

        tempfile.tempdir = None
        if mem_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (mem_bytes, mem_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 << 20, 256 << 20))
        cpu = int(timeout) + 10
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
        meta = slot.meta
        with contextlib.suppress(OSError):  # reset VmHWM so the peak measured is this case's own
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        (meta / "rss_start_kb").write_text(str(_vm_kb("VmRSS")))
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        for fd, name in ((1, "stdout"), (2, "stderr")):
            f = os.open(meta / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(f, fd)
            os.close(f)
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", errors="strict",
                                      line_buffering=True)
        sys.stderr = _Spy(io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8",
                                           errors="backslashreplace", line_buffering=True), meta / "exception.json")

        def on_alarm(signum, frame):  # a hang: say where (Python frames), then stop
            stack = [(f.filename, f.name, f.lineno) for f in traceback.extract_stack(frame)]
            clock = "CPU" if signum == signal.SIGPROF else "wall-clock"
            (meta / "hang.json").write_text(json.dumps({"frames": _keep(stack), "clock": clock}))
            (meta / "peak_kb").write_text(str(_vm_kb("VmHWM")))
            os._exit(124)

        # CPU time is the limit (a busy machine must not turn slow cases into hangs); wall-clock
        # time, WALL_FACTOR times longer, catches a case blocked without using the CPU
        signal.signal(signal.SIGPROF, on_alarm)
        signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_PROF, timeout)
        signal.setitimer(signal.ITIMER_REAL, timeout * WALL_FACTOR)
        from director.cli.main import run

        codes = []
        for argv in commands:
            codes.append(run(argv))
            (meta / "codes.json").write_text(json.dumps(codes))
            if codes[-1] != 0:
                break
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.setitimer(signal.ITIMER_REAL, 0)
        (meta / "peak_kb").write_text(str(_vm_kb("VmHWM")))
        code = 0
    except BaseException:  # noqa: BLE001 - anything escaping run() is itself a finding
        with contextlib.suppress(BaseException):
            (slot.meta / "escaped.txt").write_text(traceback.format_exc())
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


@dataclass
class Slot:
    root: Path
    meta: Path
    pid: int | None = None
    case: Case | None = None
    started: float = 0.0
    rss_at_fork: int = 0
    baseline: dict = field(default_factory=dict)

    @property
    def cwd(self) -> Path:
        return self.root / "work" / "a" / "b"

    @property
    def project(self) -> Path:
        return self.cwd / "proj"


@dataclass
class Finding:
    signature: str
    count: int = 0
    tags: Counter = field(default_factory=Counter)
    case: Case | None = None  # the smallest input seen with this signature
    detail: str = ""


@dataclass
class Outcome:
    codes: list[int]
    seconds: float
    stdout: str
    stderr: str
    problems: list[tuple[str, str]]  # (signature, detail)
    rss_growth_mb: float = 0.0


DIRECTOR_PKG = str(Path(importlib.util.find_spec("director").origin).parent) + os.sep


def _short(filename: str) -> str:
    if filename.startswith(DIRECTOR_PKG):
        return "director/" + filename[len(DIRECTOR_PKG):]
    parts = Path(filename).parts
    if "site-packages" in parts:
        return "/".join(parts[parts.index("site-packages") + 1:])
    return Path(filename).name


def _own_frames(frames: list) -> list:
    """director's own frames, comprehensions folded into the function that holds them."""
    return [f for f in frames if f[0].startswith(DIRECTOR_PKG) and not f[1].startswith("<")]


def _exception_signature(info: dict) -> str:
    frames = info.get("frames", [])
    own = _own_frames(frames)
    where = f"{_short(own[-1][0])}:{own[-1][1]}" if own else "?"
    deepest = f"{_short(frames[-1][0])}:{frames[-1][1]}" if frames else ""
    sig = f"{info.get('type')} in {where}"
    if deepest and not deepest.startswith(where.split(":")[0]):
        sig += f" (raised in {deepest})"
    return sig


def _hang_signature(info: dict) -> str:
    """Where a hang spends its time: the director function most present on the stack (innermost on ties)."""
    own = _own_frames(info.get("frames", []))
    if not own:
        return "hang outside director code"
    counts = Counter((f[0], f[1]) for f in own)
    top = max(counts.values())
    file, func = next((f[0], f[1]) for f in reversed(own) if counts[(f[0], f[1])] == top)
    return f"hang in {_short(file)}:{func}"


def _normalize_message(line: str) -> str:
    line = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", line)
    line = re.sub(r"\d+", "N", line)
    line = re.sub(r"/\S+", "PATH", line)
    return line[:160]


def _snapshot(root: Path, skip: Path) -> dict:
    """Everything under ``root`` except ``skip``: path -> (size, mtime_ns)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if here == skip.parent:
            dirnames[:] = [d for d in dirnames if here / d != skip]
            filenames = [f for f in filenames if here / f != skip]
        for name in dirnames + filenames:
            p = here / name
            try:
                st = p.lstat()
            except OSError:
                continue
            is_dir = p.is_dir()
            out[str(p.relative_to(root))] = (0, 0) if is_dir else (st.st_size, st.st_mtime_ns)
    return out


class Fuzzer:
    """Runs cases for one target in up to ``jobs`` forked children at once; records stats and findings."""

    def __init__(self, target: str, workdir: Path, jobs: int | None = None, timeout: float = 5.0,
                 mem_mb: int = 1024, on_finding=None):
        if target not in TARGETS:
            raise ValueError(f"unknown fuzz target {target!r}; known: {', '.join(TARGETS)}")
        self.target, self.timeout, self.mem_mb = target, timeout, mem_mb
        self.workdir = Path(workdir).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        warm_up(self.workdir)
        self.base_project = self.workdir / "base-project"
        write_base_project(self.base_project)
        self.commands = _commands(target)
        self.jobs = max(1, jobs or min(4, os.cpu_count() or 1))
        self.slots = [self._new_slot(i) for i in range(self.jobs)]
        self.cases = 0
        self.seen: set[bytes] = set()
        self.restarts: list[str] = []  # hypothesis runs that ended early (see fuzz())
        self.duplicates = 0
        self.codes: Counter = Counter()  # "validate=3 status=0" -> n
        self.tags: Counter = Counter()
        self.findings: dict[str, Finding] = {}
        self.seconds = 0.0
        self.durations: list[float] = []
        self.slowest: tuple[float, str] = (0.0, "")
        self.max_rss_growth_mb = 0.0
        self.on_finding = on_finding

    # ------------------------------------------------------------------ slots
    def _new_slot(self, i: int) -> Slot:
        root = self.workdir / f"{self.target}-sandbox-{i}"
        meta = self.workdir / f"{self.target}-meta-{i}"
        for d in (root, meta):
            if d.exists():
                shutil.rmtree(d)
        for d in ("home", "tmp", "work/a/b"):
            (root / d).mkdir(parents=True)
        meta.mkdir(parents=True)
        slot = Slot(root, meta)
        shutil.copytree(self.base_project, slot.project)
        slot.baseline = _snapshot(root, slot.project)
        return slot

    def _reset(self, slot: Slot) -> None:
        shutil.rmtree(slot.project, ignore_errors=True)
        if slot.project.exists():  # e.g. a read-only folder made by the case
            os.system(f"chmod -R u+rwx '{slot.project}'")
            shutil.rmtree(slot.project)
        shutil.copytree(self.base_project, slot.project)
        for f in slot.meta.iterdir():
            f.unlink()

    # ------------------------------------------------------------------ running
    def submit(self, case: Case) -> None:
        digest = hashlib.sha1(b"".join(hashlib.sha1(k.encode() + b"\0" + v).digest()
                                       for k, v in sorted(case.files.items()))).digest()
        if digest in self.seen:  # hypothesis re-draws inputs; running the same bytes twice tells nothing new
            self.duplicates += 1
            return
        self.seen.add(digest)
        slot = self._free_slot()
        self._reset(slot)
        sandbox = str(slot.root).encode()
        for rel, data in case.files.items():
            path = slot.project / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data.replace(SANDBOX.encode(), sandbox))
        slot.case = case
        slot.rss_at_fork = _vm_kb("VmRSS")
        mem = (_vm_kb("VmSize") << 10) + (self.mem_mb << 20) if self.mem_mb else 0
        sys.stdout.flush(), sys.stderr.flush()
        slot.started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _child(slot, self.commands, self.timeout, mem)
        slot.pid = pid

    def _free_slot(self) -> Slot:
        delay = 0.0005
        while True:
            for slot in self.slots:
                if slot.pid is None:
                    return slot
            if not self._poll():
                time.sleep(delay)
                delay = min(delay * 2, 0.01)

    def _poll(self) -> bool:
        """Reap finished (or overdue) children; True when a slot was freed."""
        freed = False
        for slot in self.slots:
            if slot.pid is None:
                continue
            pid, status, usage = os.wait4(slot.pid, os.WNOHANG)
            timed_out = False
            if pid == 0:
                if time.monotonic() - slot.started < self.timeout * WALL_FACTOR + KILL_GRACE:
                    continue
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(slot.pid, signal.SIGKILL)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(slot.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(slot.pid, 0)
                timed_out = True
            self._finish(slot, status, usage, timed_out)
            freed = True
        return freed

    def drain(self) -> None:
        while any(s.pid is not None for s in self.slots):
            if not self._poll():
                time.sleep(0.002)

    def _finish(self, slot: Slot, status: int, usage, timed_out: bool) -> None:
        seconds = time.monotonic() - slot.started
        case = slot.case
        slot.pid, slot.case = None, None
        outcome = self._judge(slot, status, usage, timed_out, seconds)
        self.cases += 1
        self.seconds += seconds
        self.durations.append(seconds)
        if seconds > self.slowest[0]:
            self.slowest = (seconds, case.label)
        self.max_rss_growth_mb = max(self.max_rss_growth_mb, outcome.rss_growth_mb)
        names = [argv[-1] for argv in self.commands]
        key = " ".join(f"{n}={c}" for n, c in zip(names, outcome.codes)) or "none"
        if timed_out or any(sig.startswith("hang") for sig, _ in outcome.problems):
            key += " (timeout)"
        self.codes[key] += 1
        self.tags.update(case.tags)
        for signature, detail in outcome.problems:
            finding = self.findings.get(signature)
            if finding is None:
                finding = self.findings[signature] = Finding(signature)
                new = True
            else:
                new = False
            finding.count += 1
            finding.tags.update(t for t in case.tags if t not in ("struct", "text", "bytes") or len(case.tags) == 1)
            if finding.case is None or case.size < finding.case.size:
                finding.case, finding.detail = case, detail
            if new and self.on_finding:
                self.on_finding(self, finding)
        if any(sig.startswith("wrote outside") for sig, _ in outcome.problems):
            shutil.rmtree(slot.root, ignore_errors=True)
            i = self.slots.index(slot)
            self.slots[i] = self._new_slot(i)

    def _judge(self, slot: Slot, status: int, usage, timed_out: bool, seconds: float) -> Outcome:
        meta = slot.meta

        def read(name: str) -> str:
            p = meta / name
            return p.read_text(errors="replace") if p.exists() else ""

        codes = json.loads(read("codes.json") or "[]")
        stdout, stderr = read("stdout"), read("stderr")
        problems: list[tuple[str, str]] = []
        peak = read("peak_kb")
        peak_kb = int(peak) if peak.strip().isdigit() else (usage.ru_maxrss if usage else 0)
        start = read("rss_start_kb")
        growth = max(0.0, (peak_kb - (int(start) if start.strip().isdigit() else slot.rss_at_fork)) / 1024)
        tail = stderr[-1500:]
        hang = read("hang.json")
        if timed_out or hang:
            info = json.loads(hang) if hang else {}
            where = "\n".join(f"  {_short(f)}:{line} in {name}" for f, name, line in info.get("frames", [])[-12:])
            limit = (f"used {self.timeout:g}s of CPU" if info.get("clock") == "CPU" else
                     f"no answer after {self.timeout * WALL_FACTOR:g}s (wall clock)")
            problems.append((_hang_signature(info) if hang else "hang (no Python frame: killed)",
                             f"{limit} without finishing\n{where}"))
        elif os.WIFSIGNALED(status):
            sig = signal.Signals(os.WTERMSIG(status)).name
            problems.append((f"killed by {sig}", f"child killed by {sig} after {seconds:.1f}s\n{tail}"))
        elif os.WEXITSTATUS(status) != 0:
            esc = read("escaped.txt")
            last = esc.strip().splitlines()[-1] if esc.strip() else f"exit status {os.WEXITSTATUS(status)}"
            problems.append((f"escaped run(): {last.split(':')[0]}", esc[-3000:] or tail))
        exc = read("exception.json")
        if exc:
            info = json.loads(exc)
            problems.append((_exception_signature(info), f"{info['type']}: {info['message']}\n{info['text'][-2500:]}"))
        for name, code in zip([a[-1] for a in self.commands], codes):
            if code not in OK_CODES and not exc:
                first = next((ln for ln in stderr.splitlines() if ln.strip()), "")
                problems.append((f"{name} exit {code}: {_normalize_message(first)}", tail))
        if "Traceback" in stdout + stderr and not exc:
            problems.append(("printed a Traceback", tail))
        elif "internal error" in stdout + stderr and not exc:
            problems.append(("printed 'internal error' (no exception seen)", tail))
        if self.mem_mb and growth > 0.75 * self.mem_mb:
            problems.append((f"memory grew by more than {0.75 * self.mem_mb:.0f} MB",
                             f"peak resident memory grew by {growth:.0f} MB in one case\n{tail}"))
        after = _snapshot(slot.root, slot.project)
        if after != slot.baseline:
            changed = sorted(set(after.items()) ^ set(slot.baseline.items()))
            paths = sorted({p for p, _ in changed})
            problems.append((f"wrote outside the project: {', '.join(p.split('/')[0] for p in paths[:3])}",
                             "changed outside proj/: " + ", ".join(paths[:20])))
        if "Traceback" in stdout + stderr and exc:  # -v is not passed; a traceback on screen is its own bug
            problems.append(("printed a Traceback", tail))
        return Outcome(codes, seconds, stdout, stderr, problems, growth)

    # ------------------------------------------------------------------ reporting
    def summary(self) -> dict:
        return {
            "target": self.target, "cases": self.cases, "duplicates_skipped": self.duplicates,
            "generator_restarts": self.restarts,
            "seconds_in_cases": round(self.seconds, 1),
            "median_case_seconds": (round(sorted(self.durations)[len(self.durations) // 2], 3)
                                    if self.durations else None),
            "slowest_case": {"seconds": round(self.slowest[0], 2), "label": self.slowest[1][:200]},
            "max_rss_growth_mb": round(self.max_rss_growth_mb, 1), "exit_codes": dict(self.codes.most_common()),
            "input_classes": dict(self.tags.most_common()),
            "findings": [{"signature": f.signature, "count": f.count, "input_classes": dict(f.tags.most_common(8)),
                          "smallest_input": f.case.label if f.case else "", "size": f.case.size if f.case else 0}
                         for f in sorted(self.findings.values(), key=lambda f: -f.count)],
        }

    def report(self) -> str:
        lines = [f"{self.target}: {self.cases} cases, {len(self.findings)} distinct failure signature(s); "
                 f"exit codes: {dict(self.codes.most_common())}"]
        for f in sorted(self.findings.values(), key=lambda f: -f.count):
            classes = ", ".join(f"{t}×{n}" for t, n in f.tags.most_common(6))
            lines.append(f"\n--- {f.signature}  [{f.count} case(s); input classes: {classes}]")
            if f.case:
                lines.append(f"smallest input: {f.case.label[:300]}")
                lines.append(f.case.preview(300))
            detail = f.detail.strip().splitlines()
            lines.append("  | " + "\n  | ".join(detail[-8:]))
        return "\n".join(lines)

    def save_findings(self, dest: Path) -> list[Path]:
        """Each finding's smallest input as files, plus info.json, under dest/<target>/<signature-hash>/."""
        saved = []
        for f in self.findings.values():
            if f.case is None:
                continue
            folder = dest / self.target / hashlib.sha1(f.signature.encode()).hexdigest()[:10]
            if folder.exists():
                shutil.rmtree(folder)
            for rel, data in f.case.files.items():
                p = folder / "project" / rel
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(data)
            (folder / "info.json").write_text(json.dumps(
                {"signature": f.signature, "count": f.count, "input_classes": dict(f.tags),
                 "label": f.case.label, "commands": [["director", *argv] for argv in self.commands],
                 "note": "@SANDBOX@ in inputs stands for a folder two levels above the project",
                 "detail": f.detail[-4000:]}, indent=2, ensure_ascii=False))
            saved.append(folder)
        return saved


# =============================================================================== driving hypothesis

class _BudgetSpent(BaseException):
    """Stops a hypothesis run from inside (a BaseException: hypothesis lets it through)."""


def fuzz(fuzzer: Fuzzer, seconds: float, seed: int | None = None, progress=None) -> int:
    """Feed ``fuzzer`` hypothesis-generated cases for ``seconds``; return the seed used (to reproduce)."""
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import seed as hyp_seed
    from hypothesis.errors import FlakyStrategyDefinition, Unsatisfiable

    if seed is None:
        seed = int.from_bytes(os.urandom(4), "big")
    strategy = case_strategy(fuzzer.target)
    deadline = time.monotonic() + seconds
    round_ = 0
    while time.monotonic() < deadline:
        @settings(max_examples=10**9, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck), derandomize=False, verbosity=Verbosity.quiet,
                  report_multiple_bugs=False, print_blob=False)
        @hyp_seed(seed + round_)
        @given(case=strategy)
        def one(case: Case) -> None:
            if time.monotonic() > deadline:
                raise _BudgetSpent
            fuzzer.submit(case)
            if progress:
                progress(fuzzer)

        try:
            one()
        except _BudgetSpent:
            break
        except (Unsatisfiable, FlakyStrategyDefinition) as exc:  # a generator hiccup: go on with the next seed
            fuzzer.restarts.append(f"seed {seed + round_}: {type(exc).__name__}")
        round_ += 1
    fuzzer.drain()
    return seed
