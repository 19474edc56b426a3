"""A director project: a folder with ``director.yaml``, episodes, shot lists, cache and outputs."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from director.errors import ConfigError, Problem, ScreenplayError, UsageError
from director.screenplay import LoadedScreenplay, load_screenplay, pydantic_problems
from director.yamlpos import load_yaml

CONFIG_NAME = "director.yaml"


class _Cfg(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BackendChoice(_Cfg):
    """Which backend a stage uses, and that backend's own settings."""

    model_config = ConfigDict(extra="allow")
    backend: str


class LLMConfig(_Cfg):
    base_url: str | None = None
    model: str | None = None
    temperature: float = Field(default=0.4, ge=0, le=2)
    max_concurrency: int = Field(default=4, ge=1, le=64)
    timeout: float = Field(default=60, gt=0)
    max_repairs: int = Field(default=2, ge=0, le=10)
    max_retries: int = Field(default=4, ge=0, le=20, description="retries on 429, 5xx and timeouts")
    backoff: float = Field(default=1.0, ge=0, le=60, description="first retry delay in seconds (doubles, jittered)")
    review: bool = Field(default=True, description="let the continuity supervisor review each scene")
    max_tokens: int = Field(default=2048, ge=64, le=32768, description="longest answer per call")
    use_responses_api: bool = Field(default=False, description="OpenAI's Responses API (api.openai.com only)")


class PlannerConfig(_Cfg):
    backend: Literal["rules", "llm"] = "rules"


class TimingConfig(_Cfg):
    min_shot: float = Field(default=1.5, ge=0.5, le=10, description="no shot is shorter (seconds)")
    lead_in: float = Field(default=0.35, ge=0, le=3, description="silence before the first line of a shot")
    gap: float = Field(default=0.25, ge=0, le=3, description="pause between two lines in one shot")
    tail: float = Field(default=0.5, ge=0, le=5, description="hold after the last line of a shot")


class MixConfig(_Cfg):
    loudness: float = Field(default=-14.0, ge=-40, le=-5, description="integrated loudness target, LUFS")
    true_peak: float = Field(default=-1.0, ge=-9, le=0, description="true-peak ceiling, dBTP")
    duck_db: float = Field(default=-12.0, ge=-40, le=0, description="music level change while anyone speaks")
    music_db: float = Field(default=-8.0, ge=-40, le=6, description="music bed level before ducking")
    sample_rate: int = 48000


class SubtitleConfig(_Cfg):
    burn: bool = True
    max_lines: int = Field(default=2, ge=1, le=3)
    size: float = Field(default=0.034, gt=0.01, le=0.1, description="font size as a share of the frame height")


class EncodeConfig(_Cfg):
    crf: int = Field(default=20, ge=0, le=51)
    preset: str = "veryfast"
    audio_bitrate: str = "192k"


class ProjectConfig(_Cfg):
    """``director.yaml``: everything about a project that is not the story."""

    episodes: list[str] = Field(default_factory=lambda: ["screenplay.yaml"])
    profile: Literal["preview", "final"] = "preview"
    backends: dict[str, BackendChoice] = Field(default_factory=dict, description="per-stage backend overrides")
    planner: PlannerConfig = Field(default_factory=PlannerConfig)
    license_ack: Literal["noncommercial"] | None = Field(
        default=None, description="allow models whose license forbids commercial use")
    llm: LLMConfig = Field(default_factory=LLMConfig)
    timing: TimingConfig = Field(default_factory=TimingConfig)
    mix: MixConfig = Field(default_factory=MixConfig)
    subtitles: SubtitleConfig = Field(default_factory=SubtitleConfig)
    encode: EncodeConfig = Field(default_factory=EncodeConfig)
    workers: int = Field(default=2, ge=1, le=64, description="parallel CPU jobs per stage")


@dataclass
class Project:
    root: Path
    config: ProjectConfig
    config_path: Path | None = None

    # --------------------------------------------------------------- locating
    @classmethod
    def find(cls, where: Path | None) -> "Project":
        """The project at ``where``: a folder with director.yaml, or a screenplay file's folder."""
        where = Path(where or Path.cwd())
        if where.is_file():
            if where.name == CONFIG_NAME:
                return cls.load(where.parent)
            project = cls.find(where.parent) if (where.parent / CONFIG_NAME).exists() else \
                cls(where.parent.resolve(), ProjectConfig(episodes=[where.name]))
            return project
        if not where.exists():
            raise UsageError(f"no such project folder or file: {where}")
        if (where / CONFIG_NAME).exists():
            return cls.load(where)
        if (where / "screenplay.yaml").exists():
            return cls(where.resolve(), ProjectConfig())
        raise UsageError(f"{where} is not a director project (no {CONFIG_NAME} or screenplay.yaml); "
                         "create one with: director new NAME")

    @classmethod
    def load(cls, root: Path) -> "Project":
        path = root / CONFIG_NAME
        data, pos, problems = load_yaml(path, str(path))
        if data is None and not problems:
            data = {}
        if problems:
            raise ScreenplayError(problems)
        if not isinstance(data, dict):
            raise ScreenplayError([Problem(str(path), 1, 1, "director.yaml must be a mapping of settings")])
        try:
            config = ProjectConfig.model_validate(data)
        except ValidationError as exc:
            raise ScreenplayError(pydantic_problems(exc, ProjectConfig, pos)) from None
        return cls(root.resolve(), config, path)

    # --------------------------------------------------------------- paths
    @property
    def state(self) -> Path:
        return self.root / ".director"

    @property
    def cache_dir(self) -> Path:
        return self.state / "cache"

    def episode_paths(self) -> list[Path]:
        paths = []
        for pattern in self.config.episodes:
            matches = sorted(self.root.glob(pattern)) if any(c in pattern for c in "*?[") else [self.root / pattern]
            paths.extend(matches)
        return paths

    def episode_path(self, episode: str | None) -> Path:
        paths = self.episode_paths()
        if not paths:
            raise ConfigError(f"{self.config_path or self.root}: no episode files match {self.config.episodes}")
        if episode is None:
            return paths[0]
        for path in paths:
            if path.stem == episode or str(path.relative_to(self.root)) == episode:
                return path
        names = ", ".join(p.stem for p in paths)
        raise UsageError(f"no episode {episode!r} in this project (episodes: {names})")

    def load_episode(self, episode: str | None = None) -> LoadedScreenplay:
        return load_screenplay(self.episode_path(episode), self.root)

    def shots_path(self, episode: str) -> Path:
        return self.root / "shots" / f"{episode}.yaml"

    def out_dir(self, episode: str) -> Path:
        return self.root / "out" / episode


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes (reference images and voice samples enter fingerprints this way)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def as_dict(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
