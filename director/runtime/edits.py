"""Edits a reviewer makes, shared by the CLI (`shot set`, `shot regen`, `take list|pick`) and the studio.

Every edit is written the way a hand edit would be: the YAML is edited in place with ruamel's
round-trip mode (the user's comments, key order and quoting survive), validated by exactly the
loader a hand-edited file goes through (errors as ``file:line:col``), and replaced atomically.

A *take* is one seed of a shot. Regenerating a shot records the seed it had and gives it a new
one; the old take's keyframe and clip stay in the cache (keys are made from the seed), so picking
an earlier take back is instant: the next render finds everything cached.
"""
from __future__ import annotations

import dataclasses
import functools
import io
import json
import re
import random
import secrets
import threading
from pathlib import Path
from typing import Any

from director.errors import DirectorError, EditConflict, ScreenplayError, UsageError
from director.project import Project, _declared_id
from director.screenplay import NARRATOR, LoadedScreenplay, load_screenplay
from director.shots import Shot, ShotList, load_shot_list
from director.store.files import atomic_write_text, read_own, write_json
from director.store.lock import EditLock
from director.yamlpos import load_yaml
from director.vocab import did_you_mean, shot_word

EDITS = threading.RLock()  # one edit of a project's files at a time (the studio serves requests on threads)
_held = threading.local()  # how deep this thread is in edits: the file lock is taken at the outermost only


def _serialised(fn):
    """One edit at a time: between the studio's threads (EDITS), and between processes (``EditLock``: two
    ``shot set`` at once, the studio beside the CLI or a render's planner, each read the file, changed it and
    wrote it back over the other's change)."""
    @functools.wraps(fn)
    def wrapper(project, *args, **kwargs):
        with EDITS:
            depth = getattr(_held, "depth", 0)
            if depth:
                _held.depth = depth + 1
                try:
                    return fn(project, *args, **kwargs)
                finally:
                    _held.depth = depth
            with EditLock(project.state):
                _held.depth = 1
                try:
                    return fn(project, *args, **kwargs)
                finally:
                    _held.depth = 0
    return wrapper


EDITABLE = ("size", "angle", "move", "duration", "prompt", "characters", "transition", "seed", "locked", "talking")


def _yaml(text: str = ""):
    """A round-trip YAML writer indenting as ``text`` does (the demo's ``  - id:`` stays, not ``- id:``: an edit
    re-indented every scene, and a diff of one line's change showed the whole file)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.util import load_yaml_guess_indent

    rt = YAML()
    rt.preserve_quotes = True
    rt.brace_single_entry_mapping_in_flow_sequence = True  # `[{line: {...}}]` stays so, not `[line: {...}]`
    # as wide as the file's longest line: an untouched long line (a Chinese line past 100 characters) was folded
    # in two by an edit of another one, a diff of a line nobody changed
    rt.width = max(100, max((len(line) for line in text.splitlines()), default=0) + 1)
    sequence, offset = 4, 2
    if text:
        try:
            _, found, dash = load_yaml_guess_indent(text)
        except Exception:  # noqa: BLE001 - unparsable text is refused by the load that follows, with its line
            found = dash = None
        if found is not None and dash is not None:
            sequence, offset = found, dash
    rt.indent(mapping=_mapping_indent(text), sequence=sequence, offset=offset)
    return rt


def _mapping_indent(text: str) -> int:
    """How far ``text`` indents a mapping under its key (2 where it shows none)."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    for above, below in zip(lines, lines[1:]):
        if above.rstrip().endswith(":") and not above.startswith((" ", "-")):
            rest = below.lstrip(" ")
            if not rest.startswith("-") and len(below) > len(rest):
                return len(below) - len(rest)
    return 2


def _dump(rt, data, before: str = "") -> str:
    buf = io.StringIO()
    rt.dump(data, buf)
    plain, spaced = _tidy(buf.getvalue()), _tidy(buf.getvalue(), before)
    if spaced != plain:  # the comments re-spaced only where that leaves every value as it was (a long quoted value
        # folded over lines holds " # " as text: the diff review's "press # then 42" became "press  # then 42")
        import yaml

        try:
            if yaml.safe_load(spaced) != yaml.safe_load(plain):
                return plain
        except yaml.YAMLError:
            return plain
    return spaced


BLOCK_SCALAR = re.compile(r"^(\s*).*(:|-)\s+[|>][-+0-9]*\s*(#.*)?$")


END_COMMENT = re.compile(r"^(?P<body>.*?\S)(?P<gap> +)(?P<comment># [^\"']*)$")  # a value, then # a comment


def _tidy(text: str, before: str = "") -> str:
    """ruamel folds a long plain scalar with the space before the fold left at the line's end (YAML drops it
    when reading): those spaces are removed, except inside a literal or folded block, where they are text. On a
    line the edit changed, an end-of-line comment sits two spaces after its value: ruamel kept its column, and a
    longer or shorter line left it 1, 3 or 7 spaces away (the importer's `# script.txt:7` drifted with each edit)."""
    kept = set(before.split("\n")) if before else None
    out, block = [], None  # the indentation a block scalar's lines are deeper than, while in one
    for line in text.split("\n"):
        indent = len(line) - len(line.lstrip(" "))
        if block is not None and (not line.strip() or indent > block):
            out.append(line)
            continue
        block = None
        if match := BLOCK_SCALAR.match(line):
            block = len(match[1])
        line = line.rstrip(" ")
        if kept is not None and line not in kept and (found := END_COMMENT.match(line)) and \
                not found["body"].lstrip().startswith("#"):
            line = f"{found['body']}  {found['comment']}"
        out.append(line)
    return "\n".join(out)


def _validated(path: Path, text: str, check):
    """Validate ``text`` as ``path`` would be (``check(tmp)`` raises ScreenplayError), then replace ``path``;
    returns what ``check`` returned, its warnings naming ``path``."""
    # its stem is a valid episode id and no episode glob matches it; one per edit, so edits never share it
    tmp = path.with_name(f"{path.stem}-edit-{secrets.token_hex(4)}.tmp")
    atomic_write_text(tmp, text)
    def named(problems):  # the messages name the user's file, not the scratch copy (beside it, and named as the
        # loader names files: relative to the working folder where it can be)
        return [dataclasses.replace(p, file=p.file[:-len(tmp.name)] + path.name) if p.file.endswith(tmp.name) else p
                for p in problems]

    try:
        done = check(tmp)
    except ScreenplayError as exc:
        raise ScreenplayError(named(exc.problems)) from None
    finally:
        tmp.unlink(missing_ok=True)
    atomic_write_text(path, text)
    if isinstance(getattr(done, "warnings", None), list):
        done.warnings = named(done.warnings)
    return done


def parse_value(key: str, raw: Any) -> Any:
    """A value typed on the command line (or sent by the studio) as the shot list holds it."""
    if key not in EDITABLE:
        raise UsageError(f"shot field {key!r} cannot be set{did_you_mean(key, list(EDITABLE))}; settable: "
                         f"{', '.join(EDITABLE)}")
    if not isinstance(raw, str):  # the studio's JSON: the type the shot list holds, or a clear refusal
        kinds = {"locked": (bool,), "talking": (bool, type(None)), "duration": (int, float), "seed": (int,),
                 "characters": (list,)}.get(key, ())
        fits = isinstance(raw, kinds) and not (key in ("duration", "seed") and isinstance(raw, bool)) and \
            (key != "characters" or all(isinstance(c, str) for c in raw))
        if not fits:
            want = {"locked": "true or false", "talking": "true, false or null", "duration": "a number of seconds",
                    "seed": "a whole number", "characters": "a list of character ids"}.get(key, "text")
            raise UsageError(f"shot field {key}: {type(raw).__name__} {str(raw)[:60]!r} is not {want}")
        return raw
    text = raw.strip()
    if key == "characters":
        return [c.strip() for c in text.replace("，", ",").split(",") if c.strip()]
    if key in ("locked", "talking"):
        low = text.lower()
        if key == "talking" and low in ("auto", "none", "null", ""):
            return None
        if low in ("true", "yes", "1", "on"):
            return True
        if low in ("false", "no", "0", "off"):
            return False
        raise UsageError(f"{key}={raw!r}: use true or false" + (" (or auto)" if key == "talking" else ""))
    if key == "duration":
        try:
            return float(text)
        except ValueError:
            raise UsageError(f"duration={raw!r}: a number of seconds, e.g. 2.5") from None
    if key == "seed":
        try:
            return int(text)
        except ValueError:
            raise UsageError(f"seed={raw!r}: a whole number, e.g. 42") from None
    if key == "prompt" and not text:  # an unquoted prompt in a shell, or a cleared field: never a wanted picture
        raise UsageError("prompt is empty: write what the frame shows, quoted, e.g. prompt=\"Mei at the window, rain\"")
    if key in ("size", "angle", "move", "transition"):  # size=特写 or size=cu is written as the list keeps it: CU
        return shot_word(key, text)
    return text


def _shot_list(project: Project, loaded: LoadedScreenplay) -> tuple[Path, ShotList]:
    path = project.shots_path(loaded.episode)
    if not path.exists():
        raise UsageError(f"episode {loaded.episode} has no shot list yet; plan it first (`director plan -e "
                         f"{loaded.episode}`, or the studio's Plan the shots now)")
    return path, load_shot_list(path, loaded.screenplay)


@_serialised
def set_shot(project: Project, episode: str | None, shot_id: str, changes: dict[str, Any],
             was: dict[str, Any] | None = None) -> dict:
    """Set fields of one shot (validated as a hand edit is); returns the shot as saved. ``was``: each field's value
    as the editor showed it; a field changed since (another tab, a hand edit) is an ``EditConflict``, not
    overwritten."""
    loaded = project.load_episode(episode)
    try:
        path, shots = _shot_list(project, loaded)
        already: set[str] = set()
    except ScreenplayError as exc:  # the screenplay changed under the list (a character renamed, a locked shot
        # that names the old one): the list is still edited, so that the shot can be fixed or unlocked here --
        # refused, only a text editor could -- and an edit may leave the problems it found, never add one
        path = project.shots_path(loaded.episode)
        try:
            shots = load_shot_list(path)
        except ScreenplayError:
            raise exc from None
        already = {p.message for p in exc.problems}
    if not any(s.id == shot_id for s in shots.shots):
        raise UsageError(f"no shot {shot_id!r} in episode {loaded.episode}{_elsewhere(project, loaded.episode, shot_id)}"
                         f"; shots: {', '.join(s.id for s in shots.shots)}")
    values = {key: parse_value(key, raw) for key, raw in changes.items()}
    current = next(s for s in shots.shots if s.id == shot_id)
    for key, shown in (was or {}).items():
        now = getattr(current, key, None)
        try:  # read as the edit is; an empty prompt shown is "" (parse_value refuses it as a new value)
            seen = parse_value(key, shown)
        except UsageError:
            seen = shown
        if not _same_value(seen, now):
            raise EditConflict(f"shot {shot_id}'s {key} changed since this page showed it (another tab or a hand "
                               f"edit): it is now {str(now)[:80]!r}; look at it again before changing it")
    source = path.read_text(encoding="utf-8")
    rt = _yaml(source)
    data = rt.load(source)
    node = next(s for s in data["shots"] if s.get("id") == shot_id)
    if values.get("locked") is True and not node.get("locked") and "duration" not in values:
        # a locked shot's duration is a floor for its length: the planner's estimate (3.2 s over a 2.6 s line)
        # lengthened it, moved every later shot and re-cut the music. Locked at the length it has in the episode,
        # where its duration is still the planner's (a duration set by hand is the user's floor, kept)
        timed = _timed_seconds(project, loaded, shot_id)
        length = float(node.get("duration") or 0)  # (was ``current``: locked=true size=CU then read a float's size)
        if timed is not None and timed < length and _planned_duration(project, loaded.episode, shot_id) == length:
            values["duration"] = timed
    if ("size" in values or "angle" in values) and "prompt" not in values:
        from director.plan.rules import reframed  # the prompt's opening framing follows the size set by hand
        prompt = str(node.get("prompt") or "")
        now = reframed(prompt, (current.size, current.angle),
                       (values.get("size", current.size), values.get("angle", current.angle)))
        if now != prompt:
            node["prompt"] = now
    if "characters" in values and "prompt" not in values:
        from director.plan.rules import framing, recast  # the prompt's cast follows the characters set by hand
        prompt = str(node.get("prompt") or "")
        now = recast(prompt, loaded.screenplay, framing(values.get("size", current.size),
                                                        values.get("angle", current.angle)),
                     list(current.characters), list(values["characters"]))
        if now != prompt:
            node["prompt"] = now
    for key, value in values.items():
        node[key] = value
    seeds = [t["seed"] for t in all_takes(project, loaded.episode, [current])[shot_id]] if "seed" in values else []

    def check(tmp: Path) -> None:
        try:
            load_shot_list(tmp, loaded.screenplay)
        except ScreenplayError as exc:
            load_shot_list(tmp)  # the schema's problems are never the screenplay's
            if not already or any(p.message not in already for p in exc.problems):
                raise

    _validated(path, _dump(rt, data, source), check)
    saved = next(s for s in load_shot_list(path).shots if s.id == shot_id)
    if saved.seed != current.seed:  # a new take, as ``shot regen`` makes one: the take it leaves stays listed
        _remember(project, loaded.episode, shot_id, seeds + ([saved.seed] if saved.seed not in seeds else []),
                  current.seed)
    return saved.model_dump(mode="json")


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(a - b) <= 1e-5 * max(1.0, abs(b))  # the page shows 6 significant digits (12.345649 as 12.3456)
    if isinstance(a, str) and isinstance(b, str):  # a text area's line ends, a field's trimmed spaces
        return " ".join(a.split()) == " ".join(b.split())
    return a == b


def _planned_duration(project: Project, episode: str, shot_id: str) -> float | None:
    from director.plan import planned_state

    try:
        return float(planned_state(project, episode, "durations")[shot_id])
    except (KeyError, ValueError):
        return None


def _timed_seconds(project: Project, loaded: LoadedScreenplay, shot_id: str) -> float | None:
    """The shot's length in the episode as last rendered (its timing artifact), rounded down to 0.1 ms so that as a
    floor it gives the same frames; None where it was never timed, or timed at another frame rate."""
    import json
    import math

    from director.runtime.engine import StateIndex
    from director.store.cache import ArtifactCache

    try:
        item = StateIndex(project.state_file("state", f"{loaded.episode}.json")).jobs.get(f"timing:{shot_id}")
        if item and item["material"].get("fps") != loaded.screenplay.format.fps:
            return None
        entry = ArtifactCache(project.cache_dir).lookup("timing", item["key"]) if item else None
        seconds = float(json.loads(read_own(entry.role("timing")))["duration"]) if entry is not None else None
    except (OSError, ValueError, KeyError, TypeError, DirectorError):
        return None
    return math.floor(seconds * 10000) / 10000 if seconds and seconds > 0 else None


def episode_holding(project: Project, episode: str | None, shot: str | None = None, scene: str | None = None
                    ) -> str | None:
    """The episode an edit of ``shot`` (or of a line of ``scene``) is for: the one named, the project's only one,
    else the one episode whose shot list has that shot (whose screenplay has that scene). The first episode stood
    in for it silently: `shot set` and `line` edited ep01's pickup scene when ep02 was meant."""
    if episode is not None:
        return episode
    paths = project.episode_paths()
    if len(paths) <= 1:
        return None
    holding = [path.stem for path in paths if (_lists(_shots_of(project, path), "shots", shot) if shot is not None
                                               else _lists(path, "scenes", str(scene)))]
    what = f"shot {shot}" if shot is not None else f"scene {scene}"
    if len(holding) == 1:
        return holding[0]
    if holding:
        raise UsageError(f"{what} is in episodes {', '.join(holding)}: name one with --episode NAME "
                         f"(-e {holding[0]})")
    names = ", ".join(p.stem for p in paths[:8]) + (" ..." if len(paths) > 8 else "")
    raise UsageError(f"no episode of this project has {what} (episodes: {names}): name its episode with "
                     "--episode NAME")


def _lists(file: Path | None, key: str, ident: str) -> bool:
    """Whether the YAML ``file`` lists an item of id ``ident`` under ``key`` (a shot list's shots, a screenplay's
    scenes), however it is laid out (a regex on ``- id:`` missed indented lists and commented ids). Parsed only where
    the id is in its text at all: a season's `line` read every episode."""
    try:
        if file is None or not file.is_file() or ident not in file.read_text(encoding="utf-8"):
            return False
    except (OSError, ValueError):
        return False
    data, _, problems = load_yaml(file, str(file))
    items = data.get(key) if isinstance(data, dict) and not problems else None
    return isinstance(items, list) and any(isinstance(i, dict) and str(i.get("id")) == ident for i in items)


def _shots_of(project: Project, path: Path) -> Path | None:
    """An episode file's shot list; None where its `id:` can name no file (that episode's own commands say so: one
    such file made every episode's `shot set` fail)."""
    try:
        return project.shots_path(_declared_id(path) or path.stem)
    except DirectorError:
        return None


def _elsewhere(project: Project, episode: str, shot_id: str) -> str:
    """' (it is in episode ep02: add -e ep02)' where another episode's shot list has the shot, else ''."""
    for path in project.episode_paths():
        if (_declared_id(path) or path.stem) != episode and _lists(_shots_of(project, path), "shots", shot_id):
            return f" (it is in episode {path.stem}: add -e {path.stem})"
    return ""


# ---------------------------------------------------------------------------------------------- takes
def _takes_path(project: Project, episode: str) -> Path:
    return project.state_file("takes", f"{episode}.json")


def _load_takes(project: Project, episode: str, keys: dict | None = None) -> dict[str, list[int]]:
    """Shot -> its takes' seeds in order; ``keys``, where given, is filled with shot -> seed -> the cache keys of
    that take's artifacts (kept when another take replaced it)."""
    import json

    path = _takes_path(project, episode)
    try:
        data = json.loads(read_own(path))
        seeds = {k: [int(s) for s in v] for k, v in data.get("takes", {}).items()}
        if keys is not None:
            keys.update({shot: {int(seed): [k for k in ks if isinstance(k, str)] for seed, ks in kept.items()
                                if isinstance(ks, list)}
                         for shot, kept in data.get("keys", {}).items() if isinstance(kept, dict)})
        return seeds
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, AttributeError, TypeError) as exc:
        import logging
        logging.getLogger("director").warning(
            "%s cannot be read (%s): the earlier takes it lists are not shown; restore it from a backup or remove it",
            path, type(exc).__name__)
        return {}


def takes(project: Project, episode: str | None, shot_id: str) -> list[dict]:
    """The takes of a shot in the order they were made: number, seed, whether it is the current one."""
    loaded = project.load_episode(episode)
    _, shots = _shot_list(project, loaded)
    shot = next((s for s in shots.shots if s.id == shot_id), None)
    if shot is None:
        raise UsageError(f"no shot {shot_id!r} in episode {loaded.episode}{_elsewhere(project, loaded.episode, shot_id)}")
    return [{k: v for k, v in take.items() if k != "keys"} for take in all_takes(project, loaded.episode, [shot])[shot_id]]


def all_takes(project: Project, episode: str, shots: list) -> dict[str, list[dict]]:
    """``takes`` for many shots at once (one read of the takes file)."""
    keys: dict[str, dict[int, list[str]]] = {}
    known = _load_takes(project, episode, keys)
    out = {}
    for shot in shots:
        seeds = known.get(shot.id) or []
        if shot.seed not in seeds:
            seeds = seeds + [shot.seed]
        out[shot.id] = [{"take": i + 1, "seed": seed, "current": seed == shot.seed,
                         "keys": keys.get(shot.id, {}).get(seed, [])} for i, seed in enumerate(seeds)]
    return out


TAKE_STAGES = ("keyframes", "clips", "segments")  # a take's own artifacts: what a seed makes


def take_keys(project: Project) -> set[str]:
    """Every cache key an earlier take of any shot is made of: ``clean`` keeps them, so picking one back is
    instant (they were removed as unreferenced, and a pick rendered the take again)."""
    import json

    keys: set[str] = set()
    for path in project.state_file("takes").glob("*.json"):
        try:
            kept = json.loads(read_own(path)).get("keys", {})
            keys |= {k for seeds in kept.values() for ks in seeds.values() for k in ks if isinstance(k, str)}
        except (OSError, ValueError, AttributeError, TypeError) as exc:  # what it lists is unknown: keep it all
            raise UsageError(f"{path} cannot be read ({type(exc).__name__}); `clean` would remove the earlier takes "
                             f"it lists. Restore it from a backup or remove it, then clean again") from None
    return keys


def _remember(project: Project, episode: str, shot_id: str, seeds: list[int], leaving: int | None = None) -> None:
    """The shot's takes (seeds in order) saved; ``leaving``: the seed of the take being replaced, whose cache keys
    (as the last render made them) are kept with it."""
    import json

    path = _takes_path(project, episode)
    try:
        keys = json.loads(read_own(path)).get("keys", {})
    except (OSError, ValueError, AttributeError):
        keys = {}
    data = _load_takes(project, episode)
    data[shot_id] = seeds
    if leaving is not None:
        try:
            jobs = json.loads(read_own(project.state_file("state", f"{episode}.json")))["jobs"]
        except (OSError, ValueError, KeyError):
            jobs = {}
        made = {stage: jobs.get(f"{stage}:{shot_id}") for stage in TAKE_STAGES}
        key = made["keyframes"]
        if key and key.get("material", {}).get("seed") == leaving:  # rendered with that seed, not since changed
            keys.setdefault(shot_id, {})[str(leaving)] = [m["key"] for m in made.values() if m and "key" in m]
    keys = {shot: {seed: ks for seed, ks in kept.items() if int(seed) in data.get(shot, [])}
            for shot, kept in keys.items() if isinstance(kept, dict)}
    write_json(path, {"version": 1, "takes": data, "keys": keys})


@_serialised
def regenerate(project: Project, episode: str | None, shot_id: str, seed: int | None = None) -> dict:
    """A new take: the shot gets a new seed (``seed``, or a fresh random one); its earlier takes stay cached,
    ``clean`` included, and a re-plan keeps the take chosen (``plan._keep_takes``)."""
    loaded = project.load_episode(episode)
    listed = takes(project, loaded.episode, shot_id)
    known = [t["seed"] for t in listed]
    current = next(t["seed"] for t in listed if t["current"])
    if seed is None:
        rng = random.SystemRandom()
        seed = rng.randrange(0, 2**31 - 1)
        while seed in known:
            seed = rng.randrange(0, 2**31 - 1)
    shot = set_shot(project, loaded.episode, shot_id, {"seed": int(seed)})
    _remember(project, loaded.episode, shot_id, known + ([int(seed)] if int(seed) not in known else []), current)
    return {"shot": shot, "take": known.index(seed) + 1 if seed in known else len(known) + 1, "seed": int(seed)}


@_serialised
def pick(project: Project, episode: str | None, shot_id: str, number: int) -> dict:
    """Make take ``number`` (1-based) the shot's current one."""
    loaded = project.load_episode(episode)
    listed = takes(project, loaded.episode, shot_id)
    if not 1 <= number <= len(listed):
        raise UsageError(f"shot {shot_id} has {len(listed)} take(s); pick 1-{len(listed)}")
    seed = listed[number - 1]["seed"]
    current = next(t["seed"] for t in listed if t["current"])
    _remember(project, loaded.episode, shot_id, [t["seed"] for t in listed], current if current != seed else None)
    return {"shot": set_shot(project, loaded.episode, shot_id, {"seed": seed}), "take": number, "seed": seed}


# ---------------------------------------------------------------------------------------------- lines
def _lines_of(scene_id: str, scene) -> str:
    """'; its lines: s1/5 (苏晴: 你来晚了…), ...' -- N counts every beat, which a writer cannot see at a glance."""
    found = []
    for n, beat in enumerate(scene.get("beats", []) or [], start=1):
        line = beat.get("line") if hasattr(beat, "get") else None
        told = beat.get("narration") if hasattr(beat, "get") else None
        if hasattr(line, "get") or told is not None:
            who, text = (line.get("who"), line.get("text", "")) if hasattr(line, "get") else \
                (NARRATOR, told.get("text", "") if hasattr(told, "get") else told)
            text = str(text)
            found.append(f"{scene_id}/{n} ({who}: {text[:12]}{'…' if len(text) > 12 else ''})")
    more = f" and {len(found) - 8} more" if len(found) > 8 else ""
    return f"; its lines: {', '.join(found[:8])}{more}" if found else "; it has no lines"


@_serialised
def set_line(project: Project, episode: str | None, ref: str, text: str | None = None,
             emotion: str | None = None, was: str | None = None) -> dict:
    """Edit a line's text or emotion in the screenplay (``ref``: scene-id/N, N counting the scene's beats from
    1), validated as the whole screenplay is. ``was``: the line's text as the editor showed it; a line that no
    longer says it (a beat inserted above moved another line to ``ref``; another tab's edit) is an
    ``EditConflict``: the edit landed on another character's line."""
    loaded = project.load_episode(episode)
    scene_id, _, number = ref.rpartition("/")
    path = Path(loaded.path)
    source = path.read_text(encoding="utf-8")
    rt = _yaml(source)
    data = rt.load(source)
    scene = next((s for s in data.get("scenes", []) if str(s.get("id")) == scene_id), None)
    if scene is None:
        scenes = [str(s.get("id")) for s in data.get("scenes", []) if hasattr(s, "get")]
        raise UsageError(f"no beat {ref!r} in {path.name}; refs look like scene-id/N (N from 1), scenes: "
                         f"{', '.join(scenes[:20]) or 'none'}")
    if not number.isdigit() or not 1 <= int(number) <= len(scene.get("beats", [])):
        raise UsageError(f"no beat {ref!r} in {path.name}: scene {scene_id} has {len(scene.get('beats', []))} "
                         f"beats{_lines_of(scene_id, scene)}")
    beat = scene["beats"][int(number) - 1]
    line = beat.get("line") if hasattr(beat, "get") else None
    narrated = line is None and hasattr(beat, "get") and beat.get("narration") is not None  # spoken and subtitled
    if narrated:  # as a line is; its shorthand (- narration: "...") becomes a mapping only to take an emotion
        if emotion is not None and emotion.strip() and not hasattr(beat["narration"], "get"):
            beat["narration"] = _mapping(beat["narration"])
        line = beat["narration"] if hasattr(beat["narration"], "get") else None
    elif line is None:  # N counts every beat (action, cards, music): say which numbers are lines
        raise UsageError(f"beat {ref} is not a line or a narration (only their text and emotion are edited here)"
                         f"{_lines_of(scene_id, scene)}")
    said = str(beat["narration"] if line is None else line.get("text", ""))
    if was is not None and not _same_value(str(was), said):
        raise EditConflict(f"line {ref} changed since this page showed it (another tab or a hand edit): it is now "
                           f"{NARRATOR if narrated else line.get('who')}: {said[:80]!r}; look at it again before "
                           "changing it")
    if text is not None and not text.strip():
        raise UsageError("a line's text cannot be empty")
    if line is None:  # a narration's shorthand: its text is the value
        if text is not None:
            beat["narration"] = text
    else:
        if text is not None:
            line["text"] = text
        if emotion is not None:
            if emotion.strip():
                line["emotion"] = emotion.strip()
            elif "emotion" in line:
                del line["emotion"]
    text_now = _dump(rt, data, source)
    first, last = _beat_lines(rt.load(text_now), scene_id, int(number))  # the edited beat's lines in the file now
    after = _validated(path, text_now, lambda tmp: load_screenplay(tmp, project.root))
    _keep_plan(project, loaded)
    # what validate warns of on the edited beat (an unknown emotion, a direction the text opens on), as it says it
    warnings = [f"{w.file}:{w.line}:{w.col}: {w.message}" for w in getattr(after, "warnings", [])
                if first <= w.line <= max(first, last) and Path(w.file).name == path.name]  # (beats on one line)
    feeling = line.get("emotion") if line is not None else None
    return {"ref": ref, "who": NARRATOR if narrated else str(line["who"]),
            "text": str(beat["narration"] if line is None else line["text"]), "emotion": feeling, "warnings": warnings}


def _beat_lines(data, scene_id: str, number: int) -> tuple[int, int]:
    """(first, last) line in the file (1-based) of beat ``number`` of scene ``scene_id``, in ruamel's loaded data."""
    scenes = data.get("scenes", [])
    at = next((k for k, sc in enumerate(scenes) if str(sc.get("id")) == scene_id), None)
    beats = scenes[at].get("beats") if at is not None else None
    if not hasattr(beats, "lc") or not 1 <= number <= len(beats):
        return 0, 0
    first = beats.lc.item(number - 1)[0] + 1
    if number < len(beats):
        return first, beats.lc.item(number)[0]
    return first, (scenes.lc.item(at + 1)[0] if hasattr(scenes, "lc") and at + 1 < len(scenes) else 10 ** 9)


def _mapping(text):
    """A narration given as its text alone, as a mapping (``{text: ...}``) that can take an emotion."""
    from ruamel.yaml.comments import CommentedMap

    out = CommentedMap()
    out["text"] = text
    return out


def _reword_emotions(before, after, shots: list) -> dict[str, tuple[str, str]]:
    """The prompts of the shots over a line whose emotion changed say the new one ("Lin speaks, angry."): the
    kept shot list still said the old one, and the final profile's keyframe contradicted the voice. Returns
    shot id -> (prompt before, prompt now)."""
    from director.plan.rules import speaking

    changed: dict[str, tuple[str, str]] = {}
    was = {ref: beat.line for ref, _, beat in before.beats() if beat.line is not None}
    for ref, _, beat in after.beats():
        line, old = beat.line, was.get(ref)
        if line is None or old is None or old.who != line.who or old.emotion == line.emotion:
            continue
        name = after.characters[line.who].name or line.who if line.who in after.characters else line.who
        said = (speaking(name, old.emotion) + ".", speaking(name, line.emotion) + ".")
        for shot in shots:  # a locked shot's prompt is the user's, kept as it is
            prompt = shot.get("prompt") if hasattr(shot, "get") and not shot.get("locked") else None
            if isinstance(prompt, str) and ref in (shot.get("beats") or []) and said[0] in prompt:
                shot["prompt"] = prompt.replace(said[0], said[1], 1)
                changed[str(shot.get("id"))] = (changed.get(str(shot.get("id")), (prompt,))[0], shot["prompt"])
    return changed


def _keep_plan(project: Project, before: LoadedScreenplay) -> None:
    """A line's words changed, not its beats: the shot list planned from the screenplay as it was still fits,
    so it is marked as planned from the new one (a re-plan would drop the reviewer's shot edits and takes)."""
    from director.shots import legacy_screenplay_digest, plan_digest, screenplay_digest

    path = project.shots_path(before.episode)
    if not path.exists():
        return
    after = project.load_episode(before.episode)
    source = path.read_text(encoding="utf-8")
    rt = _yaml(source)
    data = rt.load(source)
    planner = str(data.get("planner") or "rules")
    old, new = plan_digest(before.screenplay, planner), plan_digest(after.screenplay, planner)
    if data.get("screenplay") not in (old, plan_digest(before.screenplay), screenplay_digest(before.screenplay),
                                      legacy_screenplay_digest(before.screenplay)) or old == new:
        return  # the plan was already out of date: the next render re-plans as before
    data["screenplay"] = new
    reworded = _reword_emotions(before.screenplay, after.screenplay, data.get("shots") or [])
    _validated(path, _dump(rt, data, source), lambda tmp: load_shot_list(tmp, after.screenplay))
    # the shots cover the same beats, now with these words: a later re-plan carries their edits (``covers``)
    from director.plan import beat_digests, covered, shot_digest

    state = project.state_file("state", f"{before.episode}.plan.json")
    try:
        record = json.loads(read_own(state))
    except (OSError, ValueError):
        return
    if isinstance(record, dict) and isinstance(record.get("covers"), dict):
        shots = load_shot_list(path, after.screenplay).shots
        record["covers"] = {**record["covers"], **{k: v for k, v in covered(after.screenplay, shots).items()
                                                   if k in record["covers"]}}
        if isinstance(record.get("beats"), dict):  # the beats as they read now (a re-plan follows them by these)
            record["beats"] = beat_digests(after.screenplay)
        planned = record.get("planned") if isinstance(record.get("planned"), dict) else {}
        for shot_id, (was, now) in reworded.items():  # as the planner would word it now: not a hand edit
            if isinstance(planned.get(shot_id), dict) and planned[shot_id].get("prompt") == was:
                planned[shot_id]["prompt"] = now
                try:
                    if isinstance(record.setdefault("shots", {}), dict):  # a damaged record is left as it is
                        record["shots"][shot_id] = shot_digest(Shot.model_validate(planned[shot_id]))
                except ValueError:
                    pass
        write_json(state, record)
