"""LLM agents as data: ``agents/<name>.yaml`` holds the role, prompt templates and output schema name."""
from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, create_model

from director.errors import ConfigError
from director.resources import data_dir
from director.screenplay import Angle, Move, Size, Transition


LLM_MIN_SECONDS, LLM_MAX_SECONDS = 1.0, 20.0  # a shot's length as the answer's schema and the rules both bound it


class PlannedShot(BaseModel):
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


def scene_plan_model(refs: list[str], characters: list[str]) -> type[BaseModel]:
    """ScenePlan narrowed to one scene: beats and characters become enums of what exists.

    With grammar-constrained decoding (llama.cpp, vLLM) the model cannot name a beat or a
    character that is not there; with any server the schema tells it what is valid.
    """
    beat = Literal[tuple(refs)] if refs else str  # type: ignore[valid-type]
    who = Literal[tuple(characters)] if characters else str  # type: ignore[valid-type]
    shot = create_model("PlannedShot", __base__=PlannedShot, characters=(list[who], Field(default_factory=list)),
                        beats=(list[beat], Field(description="refs of the beats this shot covers")))
    return create_model("ScenePlan", __base__=ScenePlan, shots=(list[shot], ...))


SCHEMAS: dict[str, type[BaseModel]] = {"ScenePlan": ScenePlan, "Review": Review, "KeyframeReview": KeyframeReview}


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

    @property
    def schema(self) -> type[BaseModel]:
        return SCHEMAS[self.output_schema]

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
                      improve=data.get("improve", ""))
    except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not a usable agent definition ({exc})") from None
    if agent.output_schema not in SCHEMAS:
        raise ConfigError(f"{path}: output_schema {agent.output_schema!r} is unknown (known: {', '.join(SCHEMAS)})")
    return agent
