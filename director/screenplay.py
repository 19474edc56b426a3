"""The screenplay format (docs/screenplay.md) as pydantic models, and validation that helps.

``load_screenplay`` reports every problem at once as ``file:line:col: message``. A series
shares one cast, one set of locations and one style: episode files name a series bible
with ``series: ../series.yaml`` and may not redefine what the bible defines.
"""
from __future__ import annotations

import os
import re
import typing
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from functools import partial
from typing import Annotated, Any, Literal

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError, field_validator,
                      model_validator)

from director.errors import Problem, ScreenplayError
from director.ids import id_problem
from director.media.inspect import audio_problem, image_problem
from director.paths import not_regular, path_text_problem
from director.vocab import (
    ANGLES,
    AUDIO_EXTS,
    BEAT_KINDS,
    CARD_KINDS,
    CARD_SECONDS,
    CARD_WORDS_ZH,
    CUE_KINDS,
    IMAGE_EXTS,
    INTENSITIES,
    MOVES,
    NARRATOR,
    NARRATOR_WORDS,
    SFX,
    SIZES,
    EMOTIONS,
    MOODS,
    TIMES,
    TRANSITIONS,
    VOICE_PRESETS,
    DELIVERIES,
    canonical_delivery,
    canonical_emotion,
    canonical_mood,
    canonical_preset,
    canonical_sfx,
    canonical_time,
    did_you_mean,
    one_of,
    shot_word,
    shot_words_hint,
)
from director.yamlpos import Positions, load_yaml

MAX_LINE_CHARS = 300
MAX_ACTION_CHARS = 800
LANG_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,4}$")
ASPECT_RE = re.compile(r"^(\d{1,4}):(\d{1,4})$")

# a shot field takes its code or a Chinese crew's word for it (size: 特写 is CU; shot set move=推), kept as the code
Size = Annotated[Literal[SIZES], BeforeValidator(partial(shot_word, "size"))]  # type: ignore[valid-type]
Angle = Annotated[Literal[ANGLES], BeforeValidator(partial(shot_word, "angle"))]  # type: ignore[valid-type]
Move = Annotated[Literal[MOVES], BeforeValidator(partial(shot_word, "move"))]  # type: ignore[valid-type]
Transition = Annotated[Literal[TRANSITIONS],  # type: ignore[valid-type]
                       BeforeValidator(partial(shot_word, "transition"))]
CardKind = Literal[CARD_KINDS]  # type: ignore[valid-type]



# a cue beat in the words of the screenplay's crew (the storyboard, the studio)
CUE_WORDS = {"en": {"sfx": "sfx: {}", "stop": "music stops", "music": "music: {}", "card": "{}: {}",
                    "pause": "pause {:g} s"},
             "zh": {"sfx": "音效：{}", "stop": "音乐停", "music": "音乐：{}", "card": "{}：{}", "pause": "停顿 {:g} 秒"}}

class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Format(Model):
    aspect: str = "9:16"
    width: int = 1080
    height: int = 1920
    fps: float = 24


class Style(Model):
    look: str = ""
    negative: str = ""


class Voice(Model):
    sample: str | None = None
    preset: str | None = None
    pitch: int | None = Field(default=None, ge=-50, le=50, description="semitone-like offset for preview voices")
    rate: float | None = Field(default=None, ge=0.3, le=3.0, description="speaking rate multiplier")
    styles: dict[str, str] = Field(default_factory=dict, description="emotion -> reference clip for cloning")


class Character(Model):
    name: str = ""
    description: str
    refs: list[str] = Field(default_factory=list)
    voice: Voice | None = None


class Narrator(Model):
    voice: Voice = Field(default_factory=lambda: Voice(preset="narrator"))


class Location(Model):
    description: str
    refs: list[str] = Field(default_factory=list)


class ShotHint(Model):
    size: Size | None = None
    angle: Angle | None = None
    move: Move | None = None
    duration: float | None = Field(default=None, ge=0.5, le=60)


_BREAK = re.compile(r"[ \t]*[\r\n][\s]*")
_WIDE = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")


def _noncharacter(c: str) -> bool:
    """U+FFFE, U+FFFF (and in every plane), U+FDD0-U+FDEF: never text; ffmpeg's subtitles refuse U+FFFE."""
    return (ord(c) & 0xFFFE) == 0xFFFE or 0xFDD0 <= ord(c) <= 0xFDEF


def one_line(text: str) -> str:
    """Spoken text as one line: a YAML block's line breaks (``text: |``) become spaces, or nothing between Chinese
    characters. The subtitles lay out their own lines; a break reached the text measurer (which refuses one: the
    render failed) and the ASS file, where a line is an event."""
    inner = text.strip()
    if "\n" not in inner and "\r" not in inner:  # a folded block's last break alone (`text: >`) is as it was
        return text
    def join(m: re.Match) -> str:
        before, after = text[m.start() - 1:m.start()], text[m.end():m.end() + 1]
        return "" if _WIDE.match(before) and _WIDE.match(after) else " "
    return _BREAK.sub(join, text).strip()


class Line(Model):
    who: str
    text: str
    emotion: str | None = None
    parenthetical: str | None = None
    delivery: str | None = None  # on | vo | os | inner | phone | radio (or a Chinese word: 画外音, 内心独白, 电话)
    overlap: float | None = Field(default=None, gt=0, le=3, description="seconds this line starts before the "
                                  "previous line ends (people talking over each other)")

    @field_validator("text")
    @classmethod
    def _one_line(cls, value: str) -> str:
        return one_line(value)

    @property
    def heard_as(self) -> str:
        """The line's delivery in canonical form (``on``: spoken on screen)."""
        return (canonical_delivery(self.delivery) if self.delivery else None) or "on"


class Narration(Model):
    text: str
    emotion: str | None = None

    @field_validator("text")
    @classmethod
    def _one_line(cls, value: str) -> str:
        return one_line(value)


class Music(Model):
    mood: str | None = None
    intensity: float | Literal["low", "medium", "high"] | None = None
    stop: bool = False

    @property
    def level(self) -> float:
        if isinstance(self.intensity, str):
            return INTENSITIES[self.intensity]
        return 0.6 if self.intensity is None else float(self.intensity)


class Sfx(Model):
    name: str
    volume: float = Field(default=1.0, ge=0, le=2)


class Card(Model):
    """On-screen text over the picture: a title, a character introduction (name + role), an insert (the text of
    a letter or a phone screen) or a time/place caption (【2002年夏】)."""

    kind: CardKind = "title"
    text: str
    who: str | None = None  # intro: the character introduced (the card shows their name above ``text``)
    duration: float | None = Field(default=None, ge=0.5, le=10)

    @property
    def seconds(self) -> float:
        """How long the card stays up: its ``duration``, else its kind's default."""
        return self.duration or CARD_SECONDS[self.kind]


class Beat(Model):
    action: str | None = None
    line: Line | None = None
    narration: Narration | None = None
    music: Music | None = None
    sfx: Sfx | None = None
    card: Card | None = None
    pause: float | None = Field(default=None, gt=0, le=10, description="seconds of silence before what follows")
    shot: ShotHint | None = None
    transition: Transition | None = None
    location: str | None = Field(default=None, description="where this beat happens, when not the scene's location")

    @field_validator("card", mode="before")
    @classmethod
    def _card_shorthand(cls, value: Any) -> Any:
        return {"text": value} if isinstance(value, str) else value

    @field_validator("narration", mode="before")
    @classmethod
    def _narration_shorthand(cls, value: Any) -> Any:
        return {"text": value} if isinstance(value, str) else value

    @field_validator("sfx", mode="before")
    @classmethod
    def _sfx_shorthand(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @field_validator("music", mode="before")
    @classmethod
    def _music_shorthand(cls, value: Any) -> Any:
        if value == "stop":
            return {"stop": True}
        return {"mood": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_kind(self) -> "Beat":
        kinds = [k for k in BEAT_KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            found = ", ".join(kinds) if kinds else "none"
            raise ValueError(f"a beat needs exactly one of {', '.join(BEAT_KINDS)} (found: {found})")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in BEAT_KINDS if getattr(self, k) is not None)

    @property
    def spoken(self) -> Line | Narration | None:
        return self.line or self.narration

    @property
    def text(self) -> str:
        """The words of the beat, for captions and duration estimates."""
        if self.action is not None:
            return self.action
        if self.spoken is not None:
            return self.spoken.text
        if self.sfx is not None:
            return self.sfx.name
        if self.card is not None:
            return self.card.text
        if self.pause is not None:
            return ""
        return self.music.mood or "stop" if self.music else ""

    @property
    def cue(self) -> bool:
        """A beat with no picture of its own (music, sfx, a card, a pause): it rides on the next shot."""
        return self.kind in CUE_KINDS


class Scene(Model):
    id: str
    location: str
    time: str = "day"
    description: str = ""
    intercut: list[str] | None = Field(default=None, description="places a call or chase cuts between: each "
                                       "speaker is shown at the place of their first line (a beat's location wins)")
    flashback: bool = False
    beats: list[Beat] = Field(default_factory=list)

    def unseen(self, beat: Beat) -> bool:
        """A line whose speaker the scene's picture does not show: off screen, in voice-over, on the phone or the
        radio (unless the scene intercuts the call, or the line has a place of its own, where the caller is seen)."""
        heard = beat.line.heard_as if beat.line is not None else "on"
        return heard in UNSEEN_DELIVERIES and not (self.intercut and heard == "phone") and not beat.location


UNSEEN_DELIVERIES = ("os", "phone", "radio", "vo")  # deliveries whose speaker the picture may not show


class Screenplay(Model):
    """One episode. Fields the series bible defines may be left out of episode files."""

    title: str
    id: str | None = Field(default=None, description="episode id; defaults to the file name")
    series: str | None = Field(default=None, description="path of the series bible this episode uses")
    language: str = "en"
    format: Format = Field(default_factory=Format)
    style: Style = Field(default_factory=Style)
    narrator: Narrator = Field(default_factory=Narrator)
    characters: dict[str, Character] = Field(default_factory=dict)
    locations: dict[str, Location] = Field(default_factory=dict)
    scenes: list[Scene] = Field(default_factory=list)
    license_ack: Literal["noncommercial"] | None = None

    def scene_time(self, scene: Scene) -> str:
        """The scene's time as one of ``vocab.TIMES`` (深夜 -> night; SAME/CONTINUOUS -> the previous scene's)."""
        time = "day"
        for s in self.scenes:
            found = canonical_time(s.time) if s.time is not None else "day"
            time = time if found in (None, "continuous") else found
            if s is scene:
                return time
        return canonical_time(scene.time) or "day"

    def beat_ref(self, scene: Scene, index: int) -> str:
        """Stable name of a beat in shot lists: ``scene-id/N`` (1-based)."""
        return f"{scene.id}/{index + 1}"

    def beat_locations(self, scene: Scene) -> list[str]:
        """Where each beat of ``scene`` happens: its own ``location``; in an ``intercut`` scene, a line happens
        where its speaker is (speakers take the intercut places in the order they first speak; one more speaks
        where the picture is when they first speak: a third person who walks into the flat was put in the office,
        the last place) and any other beat where the last line was; otherwise the scene's location (a beat's own
        location holds for that beat only)."""
        places = list(scene.intercut or [])
        home: dict[str, str] = {}
        current = places[0] if places else scene.location
        out = []
        for beat in scene.beats:
            # a voice off screen, over the radio or over the picture claims no place: the picture stays put
            heard = beat.line is not None and beat.line.heard_as not in ("os", "radio", "vo")
            if places and heard and beat.line.who not in home:
                home[beat.line.who] = places[len(home)] if len(home) < len(places) else current
            if beat.location:
                here = beat.location
                if beat.line is not None and places:
                    home[beat.line.who] = here
            elif places and heard:
                here = home[beat.line.who]
            else:
                here = current
            if places:  # in an intercut the picture stays where the last beat was; elsewhere at the scene's place
                current = here
            out.append(here)
        return out

    @property
    def chinese(self) -> bool:
        """Whether the screenplay is Chinese (zh-CN, zh-TW): its storyboard, timelines and examples say Chinese."""
        return self.language.lower().startswith("zh")

    def card_name(self, card: Card) -> str:
        """The name an intro card shows above its text (the character's name), or ""."""
        if not card.who or card.who not in self.characters:
            return ""
        return self.characters[card.who].name or card.who

    def cue_words(self, beat: Beat) -> str:
        """A cue beat as the storyboard and the studio list it: "sfx: door", "music stops", "intro card: ...";
        in a Chinese screenplay as its crew says it: "音效：雷声", "音乐停", "字幕卡：三天后"."""
        words = CUE_WORDS["zh" if self.chinese else "en"]
        if beat.sfx is not None:
            return words["sfx"].format(beat.sfx.name)
        if beat.music is not None:
            return words["stop"] if beat.music.stop else words["music"].format(beat.music.mood)
        if beat.card is not None:
            said = " — ".join(p for p in (self.card_name(beat.card), beat.card.text) if p)
            kind = CARD_WORDS_ZH[beat.card.kind] if self.chinese else f"{beat.card.kind} card"
            return words["card"].format(kind, said)
        return words["pause"].format(beat.pause) if beat.pause is not None else ""

    def beats(self) -> typing.Iterator[tuple[str, Scene, Beat]]:
        for scene in self.scenes:
            for i, beat in enumerate(scene.beats):
                yield self.beat_ref(scene, i), scene, beat

    def speaker_voice(self, who: str) -> Voice:
        if who == NARRATOR:
            return self.narrator.voice
        return self.characters[who].voice or Voice()


class SeriesBible(Model):
    """What every episode of a series shares, defined once."""

    title: str = ""
    language: str = "en"
    format: Format = Field(default_factory=Format)
    style: Style = Field(default_factory=Style)
    narrator: Narrator = Field(default_factory=Narrator)
    characters: dict[str, Character] = Field(default_factory=dict)
    locations: dict[str, Location] = Field(default_factory=dict)
    license_ack: Literal["noncommercial"] | None = None


SHARED_FIELDS = ("language", "format", "style", "narrator", "license_ack")


@dataclass
class LoadedScreenplay:
    """A validated screenplay and where it came from."""

    screenplay: Screenplay
    path: Path
    root: Path
    episode: str
    files: list[Path] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    series_title: str = ""  # the series bible's title, where the episode has a bible

    def resolve(self, relative: str, base: Path | None = None) -> Path:
        return ((base or self.path.parent) / relative).resolve()


# --------------------------------------------------------------------------- errors from pydantic

def _unwrap(annotation: Any) -> list[Any]:
    """The model classes (or literal tuples) an annotation can hold, through Optional/list/dict."""
    origin = typing.get_origin(annotation)
    if origin is None:
        return [annotation]
    if origin is Literal:
        return [annotation]
    out = []
    for arg in typing.get_args(annotation):
        if arg is type(None):
            continue
        out.extend(_unwrap(arg))
    return out


def _target(model: type[BaseModel], loc: tuple) -> tuple[type[BaseModel] | None, Any]:
    """Walk ``loc`` through ``model``'s fields; return (model holding the last key, its annotation)."""
    current: Any = model
    annotation: Any = None
    holder = None
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel) and isinstance(part, str):
            if part not in current.model_fields:
                return current, None
            holder = current
            annotation = current.model_fields[part].annotation
            container = typing.get_origin(annotation)
            candidates = [c for c in _unwrap(annotation) if isinstance(c, type) and issubclass(c, BaseModel)]
            current = candidates[0] if candidates else annotation
            if container is dict:
                current = ("dict", current)
            continue
        if isinstance(current, tuple) and current and current[0] == "dict":
            current = current[1]
            continue
        # list index or union branch name: stay on the element model
    return holder, annotation


_SINGULAR = {"scenes": "scene", "beats": "beat", "refs": "ref", "characters": "character",
             "locations": "location"}


def field_name(loc: tuple) -> str:
    """Short, readable field path: ('scenes', 1, 'beats', 2, 'line', 'who') -> 'line.who'."""
    parts = list(loc)
    if parts and isinstance(parts[-1], int):
        return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")
    last_int = max((i for i, p in enumerate(parts) if isinstance(p, int)), default=-1)
    tail = [str(p) for p in parts[last_int + 1:]]
    if last_int >= 0 and len(tail) < 2:
        container = parts[last_int - 1] if last_int >= 1 else ""
        tail = [_SINGULAR.get(str(container), str(container))] + tail
    return ".".join(tail) if tail else "document"


_TYPE_WORDS = {"string_type": "text", "int_type": "a whole number", "int_parsing": "a whole number",
               "int_from_float": "a whole number", "float_type": "a number", "float_parsing": "a number",
               "bool_type": "true or false", "bool_parsing": "true or false", "dict_type": "a mapping (key: value)",
               "list_type": "a list", "model_type": "a mapping (key: value)", "model_attributes_type":
               "a mapping (key: value)"}


def _clean_branch_loc(loc: tuple) -> tuple:
    """Drop pydantic's union-branch markers (e.g. 'float', "literal['low','medium','high']")."""
    return tuple(p for p in loc if not (isinstance(p, str) and (p in ("float", "str", "int", "bool")
                                                               or p.startswith("literal["))))


def pydantic_problems(exc: ValidationError, model: type[BaseModel], pos: Positions,
                      document: str = "the screenplay") -> list[Problem]:
    """Turn pydantic's errors into ``file:line:col`` problems that say what would be valid."""
    problems: dict[tuple, Problem] = {}
    # a value that may be a number or a word (intensity: 0.6 or low): the word's error names both, so it goes first
    for err in sorted(exc.errors(), key=lambda e: e["type"] != "literal_error"):
        loc = _clean_branch_loc(tuple(err["loc"]))
        kind, value = err["type"], err.get("input")
        name = field_name(loc)
        holder, annotation = _target(model, loc)
        if kind == "extra_forbidden":
            valid = list(holder.model_fields) if holder else []
            where = field_name(loc[:-1]) if loc[:-1] else document
            msg = f"unknown key '{loc[-1]}' in {where}{did_you_mean(loc[-1], valid)}; valid keys: {', '.join(valid)}"
            if isinstance(loc[-1], str) and ("\u3000" in loc[-1] or "：" in loc[-1]):  # the input method's
                msg += (" (the key holds a full-width " + ("space" if "\u3000" in loc[-1] else "colon '：'") +
                        ": YAML needs ordinary spaces and ':' followed by a space)")
            elif isinstance(loc[-1], str) and (tight := re.match(r"([A-Za-z_][\w-]*):(?=\S)", loc[-1])):
                # {who:lin, text:"你是谁？"}: no space after a key's colon, inside { } the whole is read as a key
                msg = (f"unknown key '{loc[-1]}' in {where}: no space after the colon of '{tight[1]}:'; YAML needs a "
                       f"space after ':' ('{tight[1]}: {loc[-1][tight.end() :].strip()}')")
            elif isinstance(loc[-1], str) and any(q in loc[-1] for q in "“”‘’「」"):  # pasted from Word or Docs
                msg += (" (curly quotes are not YAML's: the text's comma split it there; write the text in straight "
                        "double quotes \"...\")")
            elif isinstance(loc[-1], str) and (" " in loc[-1].strip() or "'" in loc[-1]):  # words, not a key
                msg += (" (it reads as text: unquoted text that holds a comma inside { }, or ': ', is cut into keys "
                        "there; write the text in double quotes \"...\")")
            problems.setdefault(loc, pos.problem(loc, msg, key=True))
            continue
        if kind == "missing":
            if any(e["type"] == "extra_forbidden" and _clean_branch_loc(tuple(e["loc"]))[:-1] == loc[:-1]
                   and str(e["loc"][-1]).startswith(f"{loc[-1]}:") for e in exc.errors()):
                continue  # there, written without the space after its colon: said once, as that
            msg = f"{name} is required"
            problems.setdefault(loc, pos.problem(loc[:-1], msg))
            continue
        if kind == "literal_error":
            choices = [a for lit in _unwrap(annotation) if typing.get_origin(lit) is Literal
                       for a in typing.get_args(lit)]
            msg = f"{name} {one_of(value, choices or [err.get('ctx', {}).get('expected', '?')])}"
            if isinstance(value, str) and re.search(r"[\u3400-\u9fff]", value):  # size: 巨大: the words it takes
                msg += shot_words_hint(choices)
            if any(a in (float, int) for a in _unwrap(annotation)):
                msg += ", or a number"
        elif kind in _TYPE_WORDS:
            msg = f"{name} must be {_TYPE_WORDS[kind]}, got {_short(value)}"
            wide = re.match(r"\s*([A-Za-z_]+)\s*：", value) if isinstance(value, str) else None
            if wide and "mapping" in _TYPE_WORDS[kind]:  # `- action：大门被推开` is a string to YAML
                msg += (f" (a full-width colon '：' after {wide[1]!r}: YAML needs ':' followed by a space, "
                        f"e.g. {wide[1]}: ...)")
        elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
            msg = f"{name} {value!r} is out of range: {err['msg'].lower()}"
        elif kind == "value_error":
            msg = str(err["msg"]).removeprefix("Value error, ")
        else:
            msg = f"{name}: {err['msg']} (got {_short(value)})"
        problems.setdefault(loc, pos.problem(loc, msg))
    return list(problems.values())


# a direction written at the start of a line's words: （冷笑）呵呵。, (sighs) Fine. -- not (555) 123-4567
_DIRECTION_FIRST = re.compile(r"\s*([(（][^()（）\d]{1,20}[)）])\s*(.*)", re.S)


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


# --------------------------------------------------------------------------- semantic checks

class _Checker:
    """Rules pydantic cannot express: references, paths, sizes, lengths."""

    def __init__(self, loaded: LoadedScreenplay, where: dict[tuple, Positions]):
        self.sp = loaded.screenplay
        self.loaded = loaded
        self.where = where  # loc prefix -> positions of the file that defines it
        self.problems: list[Problem] = []

    def pos_for(self, loc: tuple) -> Positions:
        for n in range(len(loc), -1, -1):
            if loc[:n] in self.where:
                return self.where[loc[:n]]
        return self.where[()]

    def err(self, loc: tuple, msg: str, key: bool = False, severity: str = "error") -> None:
        self.problems.append(self.pos_for(loc).problem(loc, msg, key=key, severity=severity))

    def run(self) -> list[Problem]:
        self.check_header()
        for cid, char in self.sp.characters.items():  # None: the entry failed the schema (reported already)
            self.check_id(("characters", cid), cid, "character")
            if char is not None:
                self.check_control(("characters", cid, "name"), char.name, "the character's name")
                self.check_control(("characters", cid, "description"), char.description, "description", lines=True)
                if isinstance(char.description, str) and char.description.lstrip().upper().startswith("TODO"):
                    # `director import` writes these: they passed validate, and the pictures were drawn from
                    # "TODO: describe 苏晴"
                    self.err(("characters", cid, "description"), f"{cid}'s description is still a TODO: the "
                             "keyframes and reference sheets are drawn from it (write the face, hair, age and "
                             "clothes, e.g. " + ("\"年轻女子，黑色长发，红色外套\")" if self.sp.chinese else
                                                "\"young woman, long black hair, red coat\")"), severity="warning")
                self.check_files(("characters", cid, "refs"), char.refs, IMAGE_EXTS, "reference image")
                if char.voice:
                    self.check_voice(("characters", cid, "voice"), char.voice)
        names: dict[str, str] = {}
        for cid, char in self.sp.characters.items():  # two characters one name: viewers, subtitles and the
            # editors' dialogue tracks cannot tell them apart (an episode's su_mei named 苏美, as the bible's sumei)
            name = (char.name or "").strip() if char is not None else ""
            if name and name in names:
                first = names[name]
                where = self.pos_for(("characters", first))
                self.err(("characters", cid, "name"), f"character {cid!r} is named {name!r}, as {first!r} is "
                         f"({where.file}:{where.at(('characters', first), key=True)[0]}): give one another name, or "
                         f"use {first!r} in this episode", severity="warning")
            names.setdefault(name, cid)
        for lid, location in self.sp.locations.items():
            self.check_id(("locations", lid), lid, "location")
            if location is not None:
                self.check_control(("locations", lid, "description"), location.description, "description", lines=True)
                self.check_files(("locations", lid, "refs"), location.refs, IMAGE_EXTS, "reference image")
        self.check_voice(("narrator", "voice"), self.sp.narrator.voice)
        seen: dict[str, int] = {}
        for i, scene in enumerate(self.sp.scenes):
            if scene is not None:
                self.check_scene(i, scene, seen)
        if not self.sp.scenes:
            self.err(("scenes",) if "scenes" in self.pos_for(()).keys else (), "the screenplay has no scenes")
        return self.problems

    def check_header(self) -> None:
        sp = self.sp
        if not sp.title.strip():
            self.err(("title",), "title is empty; give the episode a title")
        self.check_control(("title",), sp.title, "title")
        self.check_control(("style", "look"), sp.style.look, "style.look", lines=True)
        self.check_control(("style", "negative"), sp.style.negative, "style.negative", lines=True)
        if not LANG_RE.match(sp.language):
            self.err(("language",), f"language {sp.language!r} is not a BCP-47 tag; valid examples: en, en-US, zh-CN, ja")
        fmt = sp.format
        match = ASPECT_RE.match(fmt.aspect)
        sizes_ok = all(64 <= v <= 4096 for v in (fmt.width, fmt.height))
        if not match or 0 in (int(match[1]), int(match[2])):
            self.err(("format", "aspect"), f"format.aspect {_short(fmt.aspect)} is not valid; use W:H such as 9:16, "
                     "16:9, 1:1, 4:5")
        elif sizes_ok and abs(fmt.width / fmt.height - int(match[1]) / int(match[2])) > 0.01:
            w, h = int(match[1]), int(match[2])
            if abs(fmt.width / fmt.height - h / w) <= 0.01:  # 16:9 for 1080x1920: the two numbers swapped
                fix = f"did you mean aspect {h}:{w}? (W:H, width first)"
            else:
                fix = f"for {fmt.aspect} use for example {h and fmt.height * w // h // 2 * 2}x{fmt.height}"
            self.err(("format", "width"), f"format size {fmt.width}x{fmt.height} does not match aspect {fmt.aspect}; "
                     + fix)
        for name in ("width", "height"):
            value = getattr(fmt, name)
            if not 64 <= value <= 4096 or value % 2:
                self.err(("format", name), f"format.{name} {value} is not valid; use an even number of pixels from 64 to 4096")
        if not 1 <= fmt.fps <= 60:
            self.err(("format", "fps"), f"format.fps {fmt.fps:g} is not valid; use a frame rate from 1 to 60 (24, 25, 30 are usual)")

    def check_id(self, loc: tuple, ident: str, what: str) -> None:
        problem = id_problem(ident)
        if problem:
            self.err(loc, f"{what} id {_short(ident)} {problem}", key=True)
        if ident == NARRATOR:
            self.err(loc, f"'{NARRATOR}' is reserved for the narrator's voice; choose another {what} id", key=True)

    def check_files(self, loc: tuple, paths: list[str], exts: tuple, what: str) -> None:
        base = Path(self.pos_for(loc).file)
        for i, rel in enumerate(paths):
            self.check_file(loc + (i,), rel, exts, what, base)

    def check_file(self, loc: tuple, rel: str, exts: tuple, what: str, base: Path | None = None) -> None:
        base = base or Path(self.pos_for(loc).file)
        name = field_name(loc)
        if not rel.strip():
            self.err(loc, f"{name}: the {what} path is empty")
            return
        bad = path_text_problem(rel)
        if bad:
            self.err(loc, f"{name} {_short(rel)}: the path {bad}")
            return
        if Path(rel).is_absolute():
            self.err(loc, f"{name} {rel!r} is an absolute path; use a path relative to {base.name}")
            return
        root = self.loaded.root.resolve()
        try:
            target = (base.parent / rel).resolve()
            exists = target.is_file()
            odd = None if exists or not target.exists() else not_regular(target.stat().st_mode)
        except (OSError, RuntimeError) as exc:  # a symlink loop, a name the file system refuses
            self.err(loc, f"{name} {rel!r} cannot be opened ({getattr(exc, 'strerror', None) or exc})")
            return
        if not target.is_relative_to(root):
            self.err(loc, f"{name} {rel!r} leaves the project folder {root.name}/; "
                     "keep references inside the project")
            return
        if Path(rel).suffix.lower() not in exts:
            self.err(loc, f"{name} {rel!r} is not a {what}; valid file types: {', '.join(exts)}")
        elif odd:
            self.err(loc, f"{name} {rel!r} {odd}")
        elif not exists:
            self.err(loc, f"{name} {rel!r} does not exist (looked for {target})")
        else:
            problem = image_problem(target) if exts is IMAGE_EXTS else audio_problem(target)
            if problem:
                self.err(loc, f"{name} {rel!r} {problem}")

    def check_voice(self, loc: tuple, voice) -> None:
        if voice.preset is not None and canonical_preset(voice.preset) is None:
            self.err(loc + ("preset",), f"voice.preset {one_of(voice.preset, VOICE_PRESETS)}; or describe the voice "
                     "with gender, age and timbre words, e.g. 'female old warm' or 老年女性")
        if voice.sample is not None:
            self.check_file(loc + ("sample",), voice.sample, AUDIO_EXTS, "voice sample")
        for emotion, clip in voice.styles.items():
            self.check_file(loc + ("styles", emotion), clip, AUDIO_EXTS, "voice style clip")

    def check_control(self, loc: tuple, text: str | None, what: str, lines: bool = False) -> None:
        """Control characters in a name or title: they reach subtitles, cards and the editors' timelines (a new
        line in the title wrote an EDL event of its own); ``lines``: a description may break lines."""
        import unicodedata

        bad = next((c for c in text or "" if unicodedata.category(c) == "Cc" and not (lines and c in "\n\t")
                    or _noncharacter(c) or (not lines and c in "\u2028\u2029")), None)
        if bad in ("\n", "\r", "\u2028", "\u2029"):
            self.err(loc, f"{what} contains a line break (U+{ord(bad):04X}); keep it on one line")
        elif bad is not None:
            kind = "control character" if unicodedata.category(bad) == "Cc" else "noncharacter"
            self.err(loc, f"{what} contains the {kind} U+{ord(bad):04X}; remove it")

    def check_text(self, loc: tuple, text: str, what: str, limit: int) -> None:
        import unicodedata

        control = next((c for c in text if unicodedata.category(c) == "Cc" and c not in "\n\t"
                        or _noncharacter(c)), None)
        if not "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Zs", "Zl", "Zp")).strip():
            # spaces and invisible characters (zero-width spaces, joiners, BOMs) say nothing either
            self.err(loc, f"{what} is empty; write the words or remove the beat")
        elif control is not None:
            kind = "control character" if unicodedata.category(control) == "Cc" else "noncharacter"
            self.err(loc, f"{what} contains the {kind} U+{ord(control):04X}; remove it (a copy out of a PDF or a "
                     "word processor often carries one, and it would reach the subtitles as it is)")
        elif len(text) > limit:
            self.err(loc, f"{what} is {len(text)} characters long (at most {limit}); split it into several beats")

    def check_spoken(self, loc: tuple, text: str, what: str) -> None:
        """A line of emoji alone has nothing a voice can say (they are never read aloud, see ``unspoken``)."""
        from director.media.linebreak import EMOJI, unspoken

        if EMOJI.search(text) and not any(c.isalnum() for c in unspoken(text)):
            self.err(loc, f"{what} {_short(text)} has no words to speak (emoji are shown, never read aloud): write "
                     "the words, or make the reaction an action beat")
        elif lead := _DIRECTION_FIRST.match(text):  # （冷笑）呵呵。 was voiced and burned as words
            move = f"parenthetical: {lead[1]}" if what == "line.text" else "emotion:"
            self.err(loc, f"{what} starts with {lead[1]}, a direction, which the voice speaks and the subtitle "
                     f"shows; move it to the line's {move}", severity="warning")

    def check_scene(self, i: int, scene: Scene, seen: dict[str, int]) -> None:
        loc = ("scenes", i)
        if scene.id is None:  # failed the schema (reported already)
            return
        problem = id_problem(scene.id)
        if problem:
            self.err(loc + ("id",), f"scene id {_short(scene.id)} {problem}")
        if scene.id in seen:
            line = self.pos_for(loc).at(("scenes", seen[scene.id], "id"))[0]
            self.err(loc + ("id",), f"duplicate scene id {scene.id!r} (first used at line {line})")
        seen.setdefault(scene.id, i)
        # free text that reaches prompts, records and the terminal: validate said ok, and the planner's prompt
        # refused an ESC in a scene's description with an internal error
        self.check_control(loc + ("description",), scene.description, "scene.description", lines=True)
        if scene.location is not None:
            self.check_location(loc + ("location",), scene.location, "scene.location")
        if scene.time is not None and canonical_time(scene.time) is None:
            self.err(loc + ("time",), f"scene.time {one_of(scene.time, TIMES)}; Chinese words (深夜, 凌晨, 傍晚...) and "
                     "SAME/CONTINUOUS/LATER work too")
        if scene.beats is None:  # failed the schema (reported already)
            return
        if not scene.beats:
            self.err(loc, f"scene {scene.id!r} is empty; give it at least one action, line or narration")
        elif all(b is not None and b.cue for b in scene.beats):
            self.err(loc + ("beats",), f"scene {scene.id!r} has nothing to show; add an action, line or narration")
        for k, place in enumerate(scene.intercut or []):
            self.check_location(loc + ("intercut", k), place, "scene.intercut")
        if scene.intercut is not None and len(scene.intercut) < 2:
            self.err(loc + ("intercut",), "scene.intercut names the places the scene cuts between: give two or more "
                     "locations, e.g. intercut: [flat, office]")
        for j, beat in enumerate(scene.beats):
            if beat is not None:
                self.check_beat(loc + ("beats", j), beat)
                self.check_intro(loc + ("beats", j, "card"), scene, j)

    def check_intro(self, loc: tuple, scene: Scene, j: int) -> None:
        """An intro card shows over the next line's shot: say so where that line is someone else's (the card named
        顾言 over 苏晴's close-up), or where the character is never heard in the scene at all."""
        card = scene.beats[j].card
        if card is None or card.kind != "intro" or card.who not in self.sp.characters:
            return
        after = [b for b in scene.beats[j + 1:] if b is not None and b.spoken is not None]
        name = self.sp.characters[card.who].name or card.who
        seen = lambda b: not scene.unseen(b)  # noqa: E731 -- as the planner frames it

        if not any(b.line is not None and b.line.who == card.who and seen(b) for b in after):
            self.err(loc, f"the intro card of {card.who!r} ({name}) is followed by no line of theirs in this scene, "
                     "so it shows over whoever is on screen; put it right before one of their lines (or make it a "
                     "caption card)", severity="warning")
        elif after[0].line is None or after[0].line.who != card.who or not seen(after[0]):
            own = after[0].line is not None and after[0].line.who == card.who
            shot = "where they are heard, not seen" if own else \
                f"{after[0].line.who!r}'s" if after[0].line is not None else "the narration's"
            self.err(loc, f"the intro card of {card.who!r} ({name}) shows over the next line's shot, {shot}; move "
                     f"it to just before a line of theirs on screen", severity="warning")

    def check_location(self, loc: tuple, place: str, what: str) -> None:
        if not isinstance(place, str):  # missing: "is required" says so
            return
        if place not in self.sp.locations:
            known = ", ".join(map(str, self.sp.locations)) or "none defined"
            elsewhere = self._defined_elsewhere(place, "locations")
            hint = f" ({elsewhere})" if elsewhere else did_you_mean(place, self.sp.locations)
            self.err(loc, f"{what} {place!r} is not a location{hint} (known: {known})")

    def check_character(self, loc: tuple, who: str, what: str) -> None:
        if who not in self.sp.characters:
            known = ", ".join(map(str, self.sp.characters)) or "none defined"
            named = [cid for cid, c in self.sp.characters.items() if isinstance(who, str) and c is not None and c.name and
                     c.name.strip().lower() == who.strip().lower()]
            if named:  # the name shown on screen, where the character's id goes
                hint = f" (it is the name of '{named[0]}': write who: {named[0]})"
            elif isinstance(who, str) and who.strip().lower() in NARRATOR_WORDS:
                hint = " (the narrator speaks in a narration beat: - narration: \"...\")"
            elif not self.sp.characters and not self.sp.series and not getattr(self, "_told_cast", False):
                self._told_cast = True  # said once: an episode that forgot its bible has every line unknown
                hint = f" ({self._missing_bible()})"
            elif isinstance(who, str) and (elsewhere := self._defined_elsewhere(who)):
                hint = f" ({elsewhere})"
            else:
                hint = did_you_mean(who, self.sp.characters)
            self.err(loc, f"{what} {who!r} is not a character{hint} (known: {known})")

    def _defined_elsewhere(self, who: str, kind: str = "characters") -> str | None:
        """Where a character (or a place: ``kind="locations"``) this file does not know is defined beside it: in a
        series bible it does not name (a file of characters and places and no scenes, whatever its name), or in
        another episode only (a character of ep03 used in ep01 said only "known: lin, kai"); or whose name it is
        there (顾言 written for gu)."""
        if not hasattr(self, "_beside"):
            self._beside: list[tuple[Path, bool, dict]] = []  # (file, is a bible, its data)
            here, root = self.loaded.path.parent, self.loaded.root
            files = [here / "series.yaml", root / "series.yaml", here.parent / "series.yaml"]
            for folder in dict.fromkeys((here, root, here.parent)):
                try:
                    files += sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml"))[:50]
                except OSError:
                    pass
            for path in dict.fromkeys(files):
                try:
                    if path.resolve() == self.loaded.path.resolve() or not path.is_file() or \
                            not path.resolve().is_relative_to(root.resolve()) or path.name == "director.yaml":
                        continue
                except (OSError, RuntimeError):  # RuntimeError: a link that leads round to itself (Python 3.11)
                    continue
                data, _, problems = load_yaml(path)
                if isinstance(data, dict) and not problems:
                    self._beside.append((path, "scenes" not in data, data))
        for path, bible, data in self._beside:
            defined = data.get(kind) if isinstance(data.get(kind), dict) else {}
            rel = os.path.relpath(path, self.loaded.path.parent)
            if who not in defined:
                named = [cid for cid, c in defined.items() if isinstance(c, dict) and str(c.get("name", "")).strip()
                         and str(c.get("name")).strip().lower() == who.strip().lower()] if kind == "characters" else []
                if named:
                    return f"it is the name of '{named[0]}', whom {rel} defines: write who: {named[0]}"
                continue
            if bible and self.sp.series:  # (a bible the file names is in its cast already)
                continue
            if bible:  # said once: an episode that forgot its bible has every place and line unknown
                if getattr(self, "_told_cast", False):
                    return None
                self._told_cast = True
                return (f"the series bible {rel} defines it, and this file names no series bible: add `series: {rel}` "
                        "at its top")
            return f"{rel} defines it for itself only: move it to the series bible to use it in other episodes"
        return None

    def _missing_bible(self) -> str:
        """What to do about a file with no cast of its own and no series bible."""
        here = self.loaded.path.parent
        for bible in (here / "series.yaml", self.loaded.root / "series.yaml", here.parent / "series.yaml"):
            if bible.is_file() and bible.resolve().is_relative_to(self.loaded.root.resolve()):
                rel = os.path.relpath(bible, here)
                return (f"this file defines no characters and names no series bible: add `series: {rel}` at its "
                        "top, as the other episodes do")
        return "this file defines no characters: define them under characters:, or name a series bible with series:"

    def check_beat(self, loc: tuple, beat: Beat) -> None:
        if beat.location is not None:
            self.check_location(loc + ("location",), beat.location, "beat location")
        if beat.card is not None:
            self.check_text(loc + ("card", "text"), beat.card.text, "card.text", MAX_LINE_CHARS)
            if beat.card.who is not None:
                self.check_character(loc + ("card", "who"), beat.card.who, "card.who")
            elif beat.card.kind == "intro":
                self.err(loc + ("card",), "an intro card introduces a character: add who: <character id> (the card "
                         "shows their name, and text: their role)")
        if beat.line is not None:
            self.check_character(loc + ("line", "who"), beat.line.who, "line.who")
            self.check_text(loc + ("line", "text"), beat.line.text, "line.text", MAX_LINE_CHARS)
            self.check_spoken(loc + ("line", "text"), beat.line.text, "line.text")
        if beat.narration is not None:
            self.check_text(loc + ("narration",), beat.narration.text, "narration", MAX_LINE_CHARS)
            self.check_spoken(loc + ("narration",), beat.narration.text, "narration")
        if beat.action is not None:
            self.check_text(loc + ("action",), beat.action, "action", MAX_ACTION_CHARS)
        if beat.line is not None:
            self.check_control(loc + ("line", "parenthetical"), beat.line.parenthetical, "line.parenthetical")
            self.check_control(loc + ("line", "delivery"), beat.line.delivery, "line.delivery")
        if beat.sfx is not None:
            self.check_control(loc + ("sfx",), beat.sfx.name, "sfx")
        if beat.music is not None:
            self.check_control(loc + ("music", "mood"), beat.music.mood, "music mood")
        if beat.sfx is not None and not beat.sfx.name.strip():
            self.err(loc + ("sfx",), "sfx name is empty; name the sound, e.g. thunder, door, footsteps")
        elif beat.sfx is not None and canonical_sfx(beat.sfx.name) is None:
            self.err(loc + ("sfx",), f"sfx {one_of(beat.sfx.name, SFX)} (or a word naming one: door slam, 雷, "
                     "敲门...); the built-in effects will play silence for it", severity="warning")
        if beat.line is not None and beat.line.delivery and canonical_delivery(beat.line.delivery) is None:
            self.err(loc + ("line", "delivery"), f"line.delivery {one_of(beat.line.delivery, DELIVERIES)} "
                     "(or a Chinese word: 画外音, 画外, 内心独白, 电话, 对讲机)")
        spoken = beat.line or beat.narration
        emotion = getattr(spoken, "emotion", None) if spoken is not None else None
        where = ("line" if beat.line is not None else "narration", "emotion")
        control = bool(emotion) and any(unicodedata.category(c) == "Cc" for c in emotion)
        if control:
            self.check_control(loc + where, emotion, "emotion")
        elif emotion and canonical_emotion(emotion) is None:
            self.err(loc + where, f"emotion {one_of(emotion, EMOTIONS)} (or a Chinese word: 愤怒, 冷笑, 哽咽...); "
                     "the voice will speak it neutrally", severity="warning")
        music = beat.music
        if music is not None:
            if not music.stop and not (music.mood or "").strip():
                self.err(loc + ("music",), "music needs a mood (e.g. tense, sad, romantic) or stop: true")
            elif not music.stop and canonical_mood(music.mood) is None:
                self.err(loc + ("music", "mood"), f"music mood {one_of(music.mood, MOODS)} (or a Chinese word: 悬疑, "
                         "压抑, 温馨...); the preview score will play calm", severity="warning")
            if isinstance(music.intensity, float) and not 0 <= music.intensity <= 1:
                self.err(loc + ("music", "intensity"), f"music.intensity {music.intensity:g} is out of range; "
                         "use 0 to 1 or low, medium, high")


# --------------------------------------------------------------------------- loading

def _validate(data: Any, model: type[BaseModel], pos: Positions) -> tuple[Any, list[Problem]]:
    if not isinstance(data, dict):
        kind = type(data).__name__
        return None, [pos.problem((), f"the file must be a mapping of keys (title:, scenes:, ...), got {kind}")]
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, pydantic_problems(exc, model, pos)


def _valid_or_none(model: Any, value: Any) -> Any:
    try:
        if isinstance(model, type) and issubclass(model, BaseModel):
            return model.model_validate(value)
        return TypeAdapter(model).validate_python(value)
    except ValidationError:
        return None


def _partial_scene(value: Any) -> Scene | None:
    if not isinstance(value, dict):
        return None
    scene = _valid_or_none(Scene, value)
    if scene is not None:
        return scene
    fields = {name: _valid_or_none(info.annotation, value[name]) if name in value else info.get_default(
        call_default_factory=True) for name, info in Scene.model_fields.items() if name != "beats"}
    beats = value.get("beats", [])
    fields["beats"] = [_valid_or_none(Beat, b) for b in beats] if isinstance(beats, list) else None
    return Scene.model_construct(**fields)


def partial_screenplay(data: dict) -> Screenplay:
    """The parts of a screenplay that pass the schema, so the reference checks still run on them.

    Validation reports every problem at once: an unknown key must not hide an unknown location.
    A part that fails is None (characters, locations, scenes, beats) or its default (header
    fields); the checker skips what is None, since the schema error already names it.
    """
    fields: dict[str, Any] = {}
    for name, info in Screenplay.model_fields.items():
        if name not in data:
            continue
        value = data[name]
        if name in ("characters", "locations"):
            model = Character if name == "characters" else Location
            fields[name] = {k: _valid_or_none(model, v) for k, v in value.items()} if isinstance(value, dict) else {}
        elif name == "scenes":
            fields[name] = [_partial_scene(v) for v in value] if isinstance(value, list) else []
        else:
            checked = _valid_or_none(info.annotation, value)
            if checked is not None:
                fields[name] = checked
    fields.setdefault("title", "(title)")  # missing or invalid: the schema error names it
    return Screenplay.model_construct(**fields)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load_screenplay(path: Path, root: Path | None = None) -> LoadedScreenplay:
    """Load and validate an episode file (and its series bible); raise ScreenplayError with every problem."""
    path = Path(path)
    root = (root or path.parent).resolve()
    if not path.is_file() and not path.exists():
        raise ScreenplayError([Problem(_display(path), 1, 1, "no such screenplay file")])
    data, pos, problems = load_yaml(path, _display(path))
    where: dict[tuple, Positions] = {(): pos}
    files = [path]
    bible: SeriesBible | None = None
    bible_data: dict = {}
    series = data.get("series") if isinstance(data, dict) else None
    bible_path = _series_path(path, series, root, pos, problems) if isinstance(series, str) else None
    if bible_path is not None:
        if not bible_path.is_relative_to(root):
            problems.append(pos.problem(("series",), f"series {data['series']!r} leaves the project folder"))
        elif not bible_path.is_file():
            problems.append(pos.problem(("series",), f"series {data['series']!r} does not exist (looked for {bible_path})"))
        else:
            files.append(bible_path)
            bible_data, bpos, bproblems = load_yaml(bible_path, _display(bible_path))
            problems += bproblems
            # a bible that does not parse is its syntax error alone (not also "must be a mapping, got NoneType")
            bible, more = (None, []) if bible_data is None and bproblems else _validate(bible_data, SeriesBible, bpos)
            problems += more
            if bible is None and any(p.severity == "error" for p in bproblems + more):  # everything leans on it:
                raise ScreenplayError(problems)  # its mistakes first, not each of the episode's names "unknown"
            bible_data = bible_data if isinstance(bible_data, dict) else {}
            problems += _merge_bible(data, bible_data, pos, bpos, where)
    sp, more = (None, []) if data is None and problems else _validate(data, Screenplay, pos)
    problems += more
    if sp is None:
        if not isinstance(data, dict):
            raise ScreenplayError(problems)
        sp = partial_screenplay(data)  # keep checking: every problem at once
    if bible is not None:
        update = {k: getattr(bible, k) for k in SHARED_FIELDS if k in bible_data}
        update["characters"] = {**bible.characters, **sp.characters}
        update["locations"] = {**bible.locations, **sp.locations}
        sp = sp.model_copy(update=update)
    episode = sp.id if isinstance(sp.id, str) else path.stem
    problem = id_problem(episode)
    if problem and isinstance(sp.id, str):
        problems.append(pos.problem(("id",), f"episode id {_short(episode)} {problem}; it names the episode's "
                                              "files (shots/<id>.yaml, out/<id>/)"))
    elif problem:
        problems.append(Problem(pos.file, 1, 1, f"the episode id comes from the file name {path.stem!r}, which "
                                                f"{problem}; add `id: <name>` to the file or rename it"))
    loaded = LoadedScreenplay(sp, path.resolve(), root, episode, files)
    problems += _Checker(loaded, where).run()
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ScreenplayError(problems)
    loaded.warnings = [p for p in problems if p.severity != "error"]
    if bible is not None:
        loaded.screenplay = _rebased(loaded.screenplay, bible_data, bible_path.parent, path.resolve().parent)
        loaded.series_title = bible_data["title"] if isinstance(bible_data.get("title"), str) else ""
    return loaded


def _rebased(sp: Screenplay, bible: dict, there: Path, here: Path) -> Screenplay:
    """The bible's file paths (refs, voice samples and styles), written relative to the bible, made relative to the
    episode's folder, which every reader of the loaded screenplay resolves them against: validate found
    ``refs/linxi.png`` beside series.yaml, and the render looked for it under episodes/ (an internal error)."""
    if there.resolve() == here.resolve():
        return sp

    def move(rel: str) -> str:
        return os.path.relpath(there / rel, here)

    def voice(v: Voice | None) -> Voice | None:
        if v is None:
            return None
        return v.model_copy(update={"sample": move(v.sample) if v.sample else v.sample,
                                    "styles": {emotion: move(clip) for emotion, clip in v.styles.items()}})

    update: dict[str, Any] = {}
    for kind in ("characters", "locations"):
        theirs = bible.get(kind) or {}
        update[kind] = {ident: item.model_copy(update={"refs": [move(r) for r in item.refs]} | (
                            {"voice": voice(item.voice)} if kind == "characters" else {}))
                        if ident in theirs and item is not None else item
                        for ident, item in getattr(sp, kind).items()}
    if "narrator" in bible and sp.narrator is not None:
        update["narrator"] = sp.narrator.model_copy(update={"voice": voice(sp.narrator.voice)})
    return sp.model_copy(update=update)


def _series_path(path: Path, series: str, root: Path, pos: Positions, problems: list[Problem]) -> Path | None:
    bad = path_text_problem(series) or ("is empty" if not series.strip() else None)
    if bad:
        problems.append(pos.problem(("series",), f"series {_short(series)}: the path {bad}"))
        return None
    try:
        return (path.parent / series).resolve()
    except (OSError, RuntimeError) as exc:
        problems.append(pos.problem(("series",), f"series {series!r} cannot be opened ({exc})"))
        return None


def _merge_bible(data: dict, bible: dict, pos: Positions, bpos: Positions, where: dict) -> list[Problem]:
    """Episode + bible: shared fields live in the bible only; ids are defined once."""
    problems = []
    for key in SHARED_FIELDS:
        if key in data and key in bible:
            problems.append(pos.problem((key,), f"{key} is defined by the series bible ({bpos.file}:"
                                        f"{bpos.at((key,), key=True)[0]}); remove it here", key=True))
    for kind in ("characters", "locations"):
        mine, theirs = data.get(kind) or {}, bible.get(kind) or {}
        if not isinstance(mine, dict) or not isinstance(theirs, dict):
            continue
        for ident in mine:
            if ident in theirs:
                first = bpos.at((kind, ident), key=True)[0]
                problems.append(pos.problem((kind, ident), f"{kind[:-1]} {ident!r} is already defined in the series "
                                            f"bible ({bpos.file}:{first}); define it once", key=True))
        for ident in theirs:
            where[(kind, ident)] = bpos
    for key in SHARED_FIELDS:
        if key in bible and key not in data:
            where[(key,)] = bpos
    if "title" not in data:
        data["title"] = bible.get("title", "")
    return problems


def screenplay_problems(path: Path, root: Path | None = None) -> tuple[LoadedScreenplay | None, list[Problem]]:
    """Validate without raising: (loaded or None, problems including warnings)."""
    try:
        loaded = load_screenplay(path, root)
    except ScreenplayError as exc:
        return None, exc.problems
    return loaded, loaded.warnings

