"""LLM agents as data: ``agents/<name>.yaml`` holds the role, prompt templates and output schema name."""
from __future__ import annotations

import string
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, create_model, field_validator

from director.errors import ConfigError
from director.resources import data_dir
from director.screenplay import Angle, Move, Size, Transition
from director.vocab import SIZES, TRANSITIONS, shot_word


SAME = "same"  # a beat-anchored slot that keeps the shot on screen
PROMPT_CHARS = 240  # a grammar bounds the string: a small model otherwise restates the beat at length
LLM_MIN_SECONDS, LLM_MAX_SECONDS = 1.0, 20.0  # a shot's length as the answer's schema and the rules both bound it


# what models write instead of the vocabulary's short forms, read leniently (a server without a grammar)
SIZE_NAMES = {"extreme close-up": "ECU", "extreme closeup": "ECU", "close-up": "CU", "closeup": "CU",
              "close": "CU", "medium close-up": "MCU", "medium closeup": "MCU", "medium shot": "MS", "medium": "MS",
              "medium wide": "MWS", "medium wide shot": "MWS", "medium long shot": "MWS", "wide": "WS",
              "wide shot": "WS", "long shot": "WS", "full shot": "WS", "extreme wide": "EWS",
              "extreme wide shot": "EWS", "extreme long shot": "EWS", "establishing": "EWS"}
ANGLE_NAMES = {"eye level": "eye-level", "over the shoulder": "ots", "over-the-shoulder": "ots",
               "high angle": "high", "low angle": "low", "birds eye": "overhead", "bird's eye": "overhead",
               "dutch angle": "dutch", "point of view": "pov"}


def _size(value):
    if not isinstance(value, str):
        return value
    word = value.strip()
    return SIZE_NAMES.get(word.lower().replace("_", " "), word.upper() if word.upper() in SIZES else word)


def _angle(value):
    if not isinstance(value, str):
        return value
    word = value.strip().lower().replace("_", " ")
    return ANGLE_NAMES.get(word, word.replace(" ", "-"))


def _move(value):
    return value.strip().lower().replace("_", "-").replace(" ", "-") if isinstance(value, str) else value


def _prompt(value):
    """A prompt over the bound is cut at a word before it, not refused (the grammar bounds it where there is one);
    a control character a model wrote (a \r of a \r\n) is a space: the shot list refuses them."""
    if isinstance(value, str) and not value.isprintable():
        value = "".join(" " if unicodedata.category(c) == "Cc" and c not in "\n\t" else c for c in value)
    if not isinstance(value, str) or len(value) <= PROMPT_CHARS:
        return value
    cut = value[:PROMPT_CHARS]
    space = max(cut.rfind(" "), cut.rfind("，"), cut.rfind(","))
    return (cut[:space] if space > PROMPT_CHARS // 2 else cut).rstrip(" ,，")


def _duration(value):
    """Seconds as models write them ("3s", "2.5 秒", 0, 600), read and brought inside the bound: repair fits the
    shots to the lines anyway, and one odd number threw the whole scene's answer away."""
    if isinstance(value, str):
        number = value.strip().lower().removesuffix("seconds").removesuffix("秒").removesuffix("s").strip()
        try:
            value = float(number)
        except ValueError:
            return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:  # not NaN
        return min(max(float(value), LLM_MIN_SECONDS), LLM_MAX_SECONDS)
    return value


def _transition(value):
    """A transition the vocabulary does not have ("whip pan", "match cut") is a cut."""
    if not isinstance(value, str):
        return value
    word = shot_word("transition", value.strip().lower())  # 叠化 is dissolve (it was a cut)
    return word if word in TRANSITIONS else "cut"


READERS = {"size": _size, "angle": _angle, "move": _move, "prompt": _prompt, "duration": _duration,
           "transition": _transition}


class _Lenient(BaseModel):
    """Size, angle, move and prompt as a model without a grammar writes them ("close-up", "dolly in", a long
    prompt), read into the vocabulary."""

    @field_validator(*READERS, mode="before", check_fields=False)
    @classmethod
    def _read(cls, value, info: ValidationInfo):
        return READERS[info.field_name](value)


def cast_reader(cast: dict[str, str]):
    """A before-validator for ``characters``: ids or names in any case, to ids; others dropped (repair frames a
    speaker who goes missing)."""
    def read(cls, value):
        if not isinstance(value, list):
            return value
        out = []
        for item in value:
            cid = cast.get(str(item).strip().lower()) if isinstance(item, str) else None
            if cid and cid not in out:
                out.append(cid)
        return out
    return field_validator("characters", mode="before")(read)


def beats_reader(refs: list[str]):
    """A before-validator for ``beats``: refs of this scene kept, in any spacing; others (another scene's, a number
    past the scene's end) dropped, as repair drops them. One such ref failed the enum and threw the whole answer away
    on a server without a grammar, and the scene was planned by the rules."""
    known = set(refs)

    def read(cls, value):
        if not isinstance(value, list):
            return value
        return [ref for ref in (str(item).strip().replace(" ", "") for item in value) if ref in known]
    return field_validator("beats", mode="before")(read)


class PlannedShot(_Lenient, BaseModel):
    """One shot as the storyboard artist answers it (director assigns ids and seeds)."""

    size: Size
    angle: Angle = "eye-level"
    move: Move = "static"
    duration: float = Field(ge=LLM_MIN_SECONDS, le=LLM_MAX_SECONDS, description="seconds on screen")
    characters: list[str] = Field(default_factory=list, description="character ids in frame")
    prompt: str = Field(description="what the frame shows, in one or two sentences")
    beats: list[str] = Field(description="refs of the beats this shot covers, e.g. arrival/2")
    transition: Transition = "cut"


class ScenePlan(BaseModel):
    """The storyboard artist's answer for one scene."""

    shots: list[PlannedShot]


class Review(BaseModel):
    """The continuity supervisor's answer."""

    model_config = ConfigDict(extra="ignore")
    approved: bool
    fixes: list[str] = Field(default_factory=list, description="what to change, naming the shot")


class KeyframeReview(BaseModel):
    """The continuity reviewer's answer about one generated keyframe."""

    model_config = ConfigDict(extra="ignore")
    matches: bool = Field(description="the picture shows the shot as planned")
    characters_present: list[str] = Field(default_factory=list, max_length=8,
                                          description="character ids recognisable in the picture")
    problems: list[str] = Field(default_factory=list, max_length=6,
                                description="what is wrong: a missing or wrong character, wardrobe, place, framing")
    corrected_prompt: str = Field(default="", max_length=400,
                                  description="when it does not match: the prompt to generate it again with")


def _cast(characters: list[str], names: dict[str, str] | None) -> dict[str, str]:
    return {c.lower(): c for c in characters} | {k.lower(): v for k, v in (names or {}).items()}


def scene_plan_model(refs: list[str], characters: list[str], names: dict[str, str] | None = None
                     ) -> type[BaseModel]:
    """ScenePlan narrowed to one scene: beats and characters become enums of what exists.

    With grammar-constrained decoding (llama.cpp, vLLM) the model cannot name a beat or a
    character that is not there; with any server the schema tells it what is valid.
    """
    beat = Literal[tuple(refs)] if refs else str  # type: ignore[valid-type]
    who = Literal[tuple(characters)] if characters else str  # type: ignore[valid-type]
    readers = {"_beats": beats_reader(refs)} if refs else {}
    if characters:
        readers["_cast"] = cast_reader(_cast(characters, names))
    shot = create_model("PlannedShot", __base__=PlannedShot, characters=(list[who], Field(default_factory=list)),
                        beats=(list[beat], Field(description="refs of the beats this shot covers")),
                        __validators__=readers or None)
    # every shot covers a beat: a thousand shots past ten a beat is no plan to repair (a 100,000-shot answer took
    # ~50 s to repair, its notes 3 MB); a few hundred empty ones are still sent back saying they cover no beat
    return create_model("ScenePlan", __base__=ScenePlan,
                        shots=(list[shot], Field(max_length=10 * len(refs) + 1000)))


class NewShot(_Lenient, BaseModel):
    """A slot that opens a shot. Field order is the order a grammar makes the model write them."""

    model_config = ConfigDict(extra="ignore")
    characters: list[str] = Field(default_factory=list, max_length=4, description="character ids in frame")
    size: Size
    angle: Angle = "eye-level"
    move: Move = "static"
    prompt: str = Field(default="", max_length=PROMPT_CHARS,
                        description="what the frame shows: who, doing what, where, light")


class BeatPlan(BaseModel):
    """The storyboard artist's beat-anchored answer for one scene: keys b1..bN, one per picture beat."""

    model_config = ConfigDict(extra="ignore")


def beat_plan_model(count: int, characters: list[str], names: dict[str, str] | None = None) -> type[BaseModel]:
    """BeatPlan for a scene with ``count`` picture beats: b1 opens a shot; b2..bN are "same" or a new shot.
    Every key is required, so a grammar writes them all, once, in order."""
    who = Literal[tuple(characters)] if characters else str  # type: ignore[valid-type]
    shot = create_model("NewShot", __base__=NewShot, characters=(list[who], Field(max_length=4)), angle=(Angle, ...),
                        move=(Move, ...), prompt=(str, Field(max_length=PROMPT_CHARS)),
                        __validators__={"_cast": cast_reader(_cast(characters, names))} if characters else None)
    fields: dict = {"b1": (shot, ...)}
    for n in range(2, count + 1):
        fields[f"b{n}"] = (Union[Literal[SAME], shot], ...)  # noqa: UP007 -- pydantic writes anyOf either way
    return create_model("BeatPlan", __base__=BeatPlan, **fields)


SCHEMAS: dict[str, type[BaseModel]] = {"ScenePlan": ScenePlan, "BeatPlan": BeatPlan, "Review": Review,
                                       "KeyframeReview": KeyframeReview}


@dataclass(frozen=True)
class Agent:
    name: str
    version: int
    role: str
    output_schema: str
    system: str
    user: str
    repair: str = ""
    settings: dict = field(default_factory=dict)
    improve: str = ""  # the storyboard artist: asked once more for a valid plan with little craft
    examples: dict = field(default_factory=dict)  # a worked example per language (its primary subtag)
    example_words: tuple = ()  # the examples' names and props: a prompt naming one copied the example

    @property
    def schema(self) -> type[BaseModel]:
        return SCHEMAS[self.output_schema]

    def example(self, language: str) -> str:
        """The worked example for a screenplay's language (zh-CN -> zh), else English, else none."""
        return self.examples.get(language.split("-")[0].lower()) or self.examples.get("en", "")

    def fill(self, template: str, **values) -> str:
        """Fill a template; a placeholder the template names but the caller lacks is an error."""
        names = {f for _, f, _, _ in string.Formatter().parse(template) if f}
        missing = names - set(values)
        if missing:
            raise ConfigError(f"agent {self.name}: template needs {', '.join(sorted(missing))}")
        return template.format(**values)


def load_agent(name: str, folder: Path | None = None) -> Agent:
    path = (folder or data_dir("agents")) / f"{name}.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        agent = Agent(**{k: data[k] for k in ("name", "version", "role", "output_schema", "system", "user")},
                      repair=data.get("repair", ""), settings=data.get("settings") or {},
                      improve=data.get("improve", ""), examples=data.get("examples") or {},
                      example_words=tuple(data.get("example_words") or ()))
    except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not a usable agent definition ({exc})") from None
    if agent.output_schema not in SCHEMAS:
        raise ConfigError(f"{path}: output_schema {agent.output_schema!r} is unknown (known: {', '.join(SCHEMAS)})")
    return agent
