"""The contracts between stages and backends: typed requests, typed results, one protocol per kind.

A request is a frozen dataclass whose fields are exactly what the job's output depends on: the
job's cache-key material is *derived* from it (``key_material``), so a field added to a request
is in the key by construction, and each field says in its metadata what a user is told when it
changes (``keyed("line text changed")``). Fields that do not change the output are marked
``unkeyed()``; paths whose *content* counts are marked ``content(...)`` and keyed by digest; an
``Artifact`` (another job's output) is keyed by that job's key.

A result says which file in the job's folder plays which role (``image``, ``clip``, ``audio``),
what the run record shows (``report``: scores, takes, passes) and what the user is told
(``notes``). Consumers ask an artifact for a role, never for another stage's file name.
"""
from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol, runtime_checkable


def keyed(why: str, default: Any = MISSING, **kw) -> Any:
    """A request field that is part of the key; ``why`` is the reason shown when it changes."""
    if default is not MISSING:
        kw["default"] = default
    return field(metadata={"why": why}, **kw)


def added(why: str, default: Any, moved: str | None = None, **kw) -> Any:
    """A field added to a request after work was cached with it: in the key only when it differs from its
    default, so everything made before it existed keeps its key (and is not made again). ``moved``: the reason
    when only its numbers changed (times), where ``why`` names what else it holds (places)."""
    return field(default=default, metadata={"why": why, "omit_default": True, **({"moved": moved} if moved else {})},
                 **kw)


def content(why: str, default: Any = MISSING, **kw) -> Any:
    """A path (or tuple of paths) keyed by its file's content digest, not by where it lies."""
    if default is not MISSING:
        kw["default"] = default
    return field(metadata={"why": why, "content": True}, **kw)


def unkeyed(default: Any = MISSING, **kw) -> Any:
    """A field that names or locates the work but cannot change its output."""
    if default is not MISSING:
        kw["default"] = default
    return field(metadata={"key": False}, **kw)


@dataclass(frozen=True)
class Artifact:
    """A typed handle on another job's output: keyed by that job's key; files found by role."""

    stage: str
    key: str
    folder: str
    files: Mapping[str, str] = field(default_factory=dict)  # role -> file name in the folder

    def file(self, role: str) -> Path:
        try:
            return Path(self.folder) / self.files[role]
        except KeyError:
            raise KeyError(f"{self.stage} artifact {self.key[:12]} has no '{role}' file "
                           f"(it has: {', '.join(sorted(self.files)) or 'none'})") from None

    def has(self, role: str) -> bool:
        return role in self.files


def key_material(value: Any, digest: Callable[[Path], str]) -> Any:
    """What of ``value`` enters a cache key: requests field by field, artifacts by key, content by digest."""
    if isinstance(value, Artifact):
        return value.key
    if is_dataclass(value) and not isinstance(value, type):
        out = {}
        for f in fields(value):
            if f.metadata.get("key") is False:
                continue
            item = getattr(value, f.name)
            if f.metadata.get("omit_default") and item == f.default:
                continue
            if f.metadata.get("content") and item is not None:
                item = [digest(Path(p)) for p in item] if isinstance(item, (tuple, list)) else digest(Path(item))
            out[f.name] = key_material(item, digest)
        return out
    if isinstance(value, (tuple, list)):
        return [key_material(v, digest) for v in value]
    if isinstance(value, Mapping):
        return {str(k): key_material(v, digest) for k, v in value.items()}
    if hasattr(value, "model_dump"):  # a config slice (pydantic)
        return value.model_dump(mode="json")
    return value


def reasons(request: Any, prefix: str = "") -> dict[str, str]:
    """Field name -> what the user is told when it changes (for ``status`` and the run's log). Given a request
    *instance*, nested requests say their own words too: ``voice.sample`` -> "voice sample changed", and
    ``figures[].refs`` for a tuple of them."""
    out: dict[str, str] = {}
    for f in fields(request):
        if f.metadata.get("key") is False:
            continue
        out[prefix + f.name] = f.metadata.get("why", f"{f.name.replace('_', ' ')} changed")
        if "moved" in f.metadata:
            out[prefix + f.name + "~moved"] = f.metadata["moved"]
        if isinstance(request, type):
            continue
        value = getattr(request, f.name)
        if is_dataclass(value) and not isinstance(value, Artifact):
            out.update(reasons(value, f"{prefix}{f.name}."))
        elif isinstance(value, (tuple, list)) and value and is_dataclass(value[0]) and not isinstance(value[0], Artifact):
            out.update(reasons(value[0], f"{prefix}{f.name}[]."))
    return out


def artifact_paths(value: Any) -> list[Path]:
    """Every input file a request names (content fields and artifacts' files): what a remote worker needs."""
    out: list[Path] = []
    if isinstance(value, Artifact):
        return [Path(value.folder) / name for name in value.files.values()]  # Path(): normalised, as relocate looks up
    if is_dataclass(value) and not isinstance(value, type):
        for f in fields(value):
            item = getattr(value, f.name)
            if f.metadata.get("content") and item is not None:
                out += [Path(p) for p in (item if isinstance(item, (tuple, list)) else [item])]
            else:
                out += artifact_paths(item)
    elif isinstance(value, (tuple, list)):
        for v in value:
            out += artifact_paths(v)
    return out


def relocate(value: Any, moved: Mapping[str, str]) -> Any:
    """The same request with every input path (content fields, artifact folders) mapped through ``moved``."""
    from dataclasses import replace

    if isinstance(value, Artifact):
        return replace(value, folder=moved.get(str(Path(value.folder)), value.folder))
    if is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for f in fields(value):
            item = getattr(value, f.name)
            if f.metadata.get("content") and item is not None:
                new = type(item)(moved.get(str(Path(p)), str(p)) for p in item) if isinstance(item, (tuple, list)) \
                    else moved.get(str(Path(item)), str(item))
            else:
                new = relocate(item, moved)
            if new is not item:
                changes[f.name] = new
        return replace(value, **changes) if changes else value
    if isinstance(value, (tuple, list)):
        items = type(value)(relocate(v, moved) for v in value)
        return items if any(a is not b for a, b in zip(items, value)) else value
    return value


@dataclass(frozen=True)
class FigureSpec:
    id: str = keyed("characters changed")
    name: str = keyed("a character's name changed")
    description: str = keyed("a character's description changed")
    refs: tuple[str, ...] = content("a character's reference changed", default=())  # absolute image paths


@dataclass(frozen=True)
class FrameRequest:
    """One keyframe: the shot's picture at the project's size."""

    shot_id: str = keyed("shot renamed")  # previews print it on the panel
    size: str = keyed("shot size changed")
    angle: str = keyed("camera angle changed")
    width: int = keyed("frame size changed")
    height: int = keyed("frame size changed")
    prompt: str = keyed("prompt changed")
    caption: str = keyed("action, speaker or emotion changed")  # what the panel says (keyframes.caption)
    location_id: str = keyed("location changed")
    location: str = keyed("location description changed")
    time: str = keyed("time of day changed")
    look: str = keyed("style changed")
    negative: str = keyed("negative prompt changed")
    seed: int = keyed("seed changed")
    figures: tuple[FigureSpec, ...] = keyed("characters changed", default=())
    move: str = keyed("camera move changed", default="static")
    location_refs: tuple[str, ...] = content("location reference changed", default=())
    language: str = added("language changed", "")  # text drawn on previews takes its glyph forms (zh-CN)


@dataclass(frozen=True)
class SheetRequest:
    """A reference sheet: a character (front and three-quarter views) or an empty location plate."""

    kind: str = keyed("sheet kind changed")  # "character" or "location"
    id: str = keyed("subject changed")
    name: str = keyed("name changed")
    description: str = keyed("description changed")
    look: str = keyed("style changed")
    negative: str = keyed("negative prompt changed")
    seed: int = keyed("seed changed")
    width: int = keyed("frame size changed")
    height: int = keyed("frame size changed")
    time: str = keyed("time of day changed", default="day")


@dataclass(frozen=True)
class SpeechSpan:
    """A line spoken over a clip: who says it, when (seconds into the clip), and the voice that says it."""

    who: str = keyed("speaker changed")
    offset: float = keyed("dialogue timing changed")
    audio: Artifact = keyed("voice changed")  # role: audio


@dataclass(frozen=True)
class ClipRequest:
    """One clip: the keyframe brought to life for exactly ``frames`` frames at ``fps``."""

    shot_id: str = unkeyed()  # names the work in messages
    keyframe: Artifact = keyed("keyframe changed")  # roles: image, and optionally background/foreground
    move: str = keyed("camera move changed")
    width: int = keyed("frame size changed")
    height: int = keyed("frame size changed")
    fps: float = keyed("frame rate changed")
    frames: int = keyed("duration changed")
    seed: int = keyed("seed changed")
    prompt: str = keyed("prompt changed", default="")
    negative: str = keyed("negative prompt changed", default="")
    next_keyframe: Artifact | None = keyed("next shot's keyframe changed", default=None)
    # talking shots (only for backends that drive mouths from the voice: ``uses_speech``)
    talking: tuple[str, ...] = added("talking characters changed", ())  # speakers whose face is on screen
    speech: tuple[SpeechSpan, ...] = added("dialogue changed", ())  # every line spoken over the clip


@dataclass(frozen=True)
class VoiceParams:
    """A resolved voice: the same speaker always gets the same parameters."""

    speaker: str = keyed("voice changed")
    preset: str = keyed("voice changed")
    sample: str | None = content("voice sample changed", default=None)
    pitch: int = keyed("voice changed", default=0)
    rate: float = keyed("voice changed", default=1.0)


@dataclass(frozen=True)
class SpeechRequest:
    text: str = keyed("line text changed")
    language: str = keyed("language changed")
    voice: VoiceParams = keyed("voice changed")
    emotion: str | None = keyed("emotion changed", default=None)
    parenthetical: str | None = keyed("parenthetical changed", default=None)
    seed: int = keyed("seed changed", default=0)


@dataclass(frozen=True)
class MusicRequest:
    mood: str = keyed("mood changed")
    intensity: float = keyed("music level changed")
    seconds: float = keyed("cue length changed")
    seed: int = keyed("seed changed")


@dataclass(frozen=True)
class SfxRequest:
    name: str = keyed("sound effect changed")
    seed: int = keyed("seed changed")


# ------------------------------------------------------------------ results
@dataclass(frozen=True)
class Made:
    """What a job made in its folder: files by role, what the run record shows, what the user is told."""

    files: Mapping[str, str]  # role -> file name in the job's folder
    report: Mapping[str, Any] = field(default_factory=dict)  # run record: scores, tries, take, passes, seams
    info: Mapping[str, Any] = field(default_factory=dict)  # kept in the entry (prompt used, native size)
    notes: tuple[str, ...] = ()

    def meta(self) -> dict:
        return {**self.info, "files": dict(self.files), "report": dict(self.report), "notes": list(self.notes)}


@dataclass(frozen=True)
class AudioResult:
    """An audio file a backend wrote, with what it measured."""

    path: str
    sample_rate: int
    channels: int
    duration: float
    notes: tuple[str, ...] = field(default_factory=tuple)  # shown to the user
    detail: dict = field(default_factory=dict)  # recorded in the job's meta (e.g. the prompt used)

    def meta(self) -> dict:
        return {**self.detail, "files": {"audio": Path(self.path).name}, "duration": self.duration,
                "sample_rate": self.sample_rate, "channels": self.channels, "notes": list(self.notes)}


# ------------------------------------------------------------------ what each kind of backend does
@runtime_checkable
class KeyframeBackend(Protocol):
    """``keyframes``: a shot's picture (role ``image``; previews add ``background``/``foreground``) and sheets."""

    def render(self, req: FrameRequest, out: Path) -> Made: ...
    def sheet(self, req: SheetRequest, out: Path) -> Made: ...


@runtime_checkable
class VideoBackend(Protocol):
    """``video``: a clip of exactly ``req.frames`` frames (role ``clip``)."""

    def render(self, req: ClipRequest, out: Path) -> Made: ...


@runtime_checkable
class VoiceBackend(Protocol):
    """``voice``: one line spoken (role ``audio``)."""

    def synthesize(self, req: SpeechRequest, out: Path) -> AudioResult: ...


@runtime_checkable
class MusicBackend(Protocol):
    """``music``: a score at least ``req.seconds`` long (role ``audio``)."""

    def compose(self, req: MusicRequest, out: Path) -> AudioResult: ...


@runtime_checkable
class SfxBackend(Protocol):
    """``sfx``: one sound effect (role ``audio``)."""

    def make(self, req: SfxRequest, out: Path) -> AudioResult: ...


PROTOCOLS: dict[str, type] = {"keyframes": KeyframeBackend, "video": VideoBackend, "voice": VoiceBackend,
                              "music": MusicBackend, "sfx": SfxBackend}
