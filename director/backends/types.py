"""What stages hand to backends and get back: small frozen dataclasses, no heavy imports."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FigureSpec:
    id: str
    name: str
    description: str
    refs: tuple[str, ...] = ()  # absolute paths of reference images


@dataclass(frozen=True)
class FrameRequest:
    """One keyframe: the shot's picture at the project's size."""

    shot_id: str
    size: str
    angle: str
    width: int
    height: int
    prompt: str
    caption: str
    location_id: str
    location: str
    time: str
    look: str
    negative: str
    seed: int
    figures: tuple[FigureSpec, ...] = ()
    move: str = "static"
    location_refs: tuple[str, ...] = ()  # the location's reference or generated plate


@dataclass(frozen=True)
class SheetRequest:
    """A reference sheet: a character (front and three-quarter views) or an empty location plate."""

    kind: str  # "character" or "location"
    id: str
    name: str
    description: str
    look: str
    negative: str
    seed: int
    width: int
    height: int
    time: str = "day"


@dataclass(frozen=True)
class ClipRequest:
    """One clip: the keyframe brought to life for exactly ``frames`` frames at ``fps``."""

    shot_id: str
    keyframe: str  # folder of the keyframe entry (keyframe.png, optional layers)
    move: str
    width: int
    height: int
    fps: float
    frames: int
    seed: int
    prompt: str = ""
    negative: str = ""
    next_keyframe: str | None = None


@dataclass(frozen=True)
class VoiceParams:
    """A resolved voice: the same speaker always gets the same parameters."""

    speaker: str
    preset: str
    sample: str | None = None
    pitch: int = 0
    rate: float = 1.0


@dataclass(frozen=True)
class SpeechRequest:
    text: str
    language: str
    voice: VoiceParams
    emotion: str | None = None
    parenthetical: str | None = None
    seed: int = 0


@dataclass(frozen=True)
class AudioResult:
    """An audio file a backend wrote, with what it measured."""

    path: str
    sample_rate: int
    channels: int
    duration: float
    notes: tuple[str, ...] = field(default_factory=tuple)  # shown to the user
    detail: dict = field(default_factory=dict)  # recorded in the job's meta (e.g. the prompt used)


@dataclass(frozen=True)
class MusicRequest:
    mood: str
    intensity: float
    seconds: float
    seed: int
