"""A director project: a folder with ``director.yaml``, episodes, shot lists, cache and outputs."""
from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_serializer

from director.errors import ConfigError, DirectorError, Problem, ScreenplayError, UsageError
from director.ids import id_problem
from director.paths import inside, no_links, path_text_problem
from director.store.cache import file_stamp
from director.vocab import did_you_mean
from director.yamlpos import Positions, load_yaml

if TYPE_CHECKING:  # the screenplay's models load when an episode is read (a no-op render never reads one)
    from director.screenplay import LoadedScreenplay

CONFIG_NAME = "director.yaml"
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
                "placebo")
MAX_EPISODES = 2000
SAMPLE_RATES = (16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000)  # what AAC and the mix both take


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
    # sized for a local server that answers one request at a time on a CPU (calls of 2-8 minutes measured with a
    # 1.5B model): raise both for an API or a multi-slot vLLM server
    max_concurrency: int = Field(default=1, ge=1, le=64)
    timeout: float = Field(default=600, gt=0)
    max_repairs: int = Field(default=2, ge=0, le=10)
    max_retries: int = Field(default=4, ge=0, le=20, description="retries on 429, 5xx and timeouts")
    backoff: float = Field(default=1.0, ge=0, le=60, description="first retry delay in seconds (doubles, jittered)")
    review: bool = Field(default=False, description="let the continuity supervisor review each scene's plan (a call "
                         "per scene; a small local model's objections were rarely right)")
    answer: Literal["beats", "shots"] = Field(default="beats", description="beats: one slot per picture beat, the "
                                              "model judges the pictures and director keeps the books (sized for "
                                              "1-8B local models); shots: the model writes the whole shot list")
    improve_craft: bool = Field(default=False, description="ask once more for a scene whose valid plan scores "
                                "low on craft (plan/craft.py), naming what to improve; the better plan is kept")
    max_tokens: int = Field(default=2048, ge=64, le=32768, description="longest answer per call")
    use_responses_api: bool = Field(default=False, description="OpenAI's Responses API (api.openai.com only)")
    review_keyframes: bool = Field(default=False, description="a vision model (this endpoint) reviews every keyframe "
                                   "against its shot and the characters' reference sheets; a miss is made again")
    review_regenerations: int = Field(default=1, ge=0, le=3, description="keyframe review: how many times a "
                                      "keyframe the reviewer rejects is made again with its corrected prompt")


class PlannerConfig(_Cfg):
    backend: Literal["rules", "llm"] = "rules"


class TimingConfig(_Cfg):
    # short-drama pacing: lines follow each other closely (about 0.2 s of air across a cut); a pause the
    # script wants is asked for with a longer shot duration hint or these keys
    min_shot: float = Field(default=0.8, ge=0.5, le=10, description="no shot is shorter (seconds)")
    lead_in: float = Field(default=0.05, ge=0, le=3, description="silence before the first line of a shot")
    gap: float = Field(default=0.15, ge=0, le=3, description="pause between two lines in one shot")
    tail: float = Field(default=0.15, ge=0, le=5, description="hold after the last line of a shot")


class MixConfig(_Cfg):
    loudness: float = Field(default=-14.0, ge=-40, le=-5, description="integrated loudness target, LUFS")
    true_peak: float = Field(default=-1.0, ge=-9, le=0, description="true-peak ceiling, dBTP")
    duck_db: float = Field(default=-12.0, ge=-40, le=0, description="music level change while anyone speaks")
    music_db: float = Field(default=-4.0, ge=-40, le=6, description="music's level before ducking, in LU from "
                            "the dialogue's loudness: a cue alone (the hook's music, a scene without lines) plays "
                            "this far under the lines, and duck_db further under them while anyone speaks")
    sfx_duck_db: float = Field(default=-6.0, ge=-40, le=0, description="sound effects' level change while anyone "
                               "speaks (a phone's ring over the answer was 6 dB louder than it)")
    room_tone_db: float | None = Field(default=-50.0, ge=-80, le=-20, description="each scene's room tone "
                                       "(ambience shaped by its location), dBFS RMS under the mix before the "
                                       "master's gain; null: none (digital silence)")
    sample_rate: int = 48000

    @field_validator("sample_rate")
    @classmethod
    def _rate(cls, value: int) -> int:
        if value not in SAMPLE_RATES:
            raise ValueError(f"mix.sample_rate {value} is not valid{did_you_mean(str(value), map(str, SAMPLE_RATES))}; "
                             f"use one of {', '.join(map(str, SAMPLE_RATES))} (48000 is the video standard)")
        return value


class SubtitleConfig(_Cfg):
    burn: bool = True
    max_lines: int = Field(default=2, ge=1, le=3)
    size: float = Field(default=0.034, gt=0.01, le=0.1, description="the characters' height (em) as a share of the frame height")
    style: Literal["auto", "zh-drama", "plain"] = Field(
        default="auto", description="zh-drama: no 。，at line ends, internal commas as spaces (auto: for Chinese)")
    inner: Literal["italic", "parentheses", "both"] = Field(
        default="italic", description="how an inner-monologue line is told from speech: italic, in (parentheses)")


# The preview's picture is a sketch and the loop people edit in (a project's own ``encode:`` values win): x264's
# fastest preset at a constant quantiser, and AAC at 128 kbit/s, which encodes in half the time of 192 (the mix's
# AAC is on a one-line edit's path). CRF has x264 measure every frame (a half-size copy and its costs) to choose
# its quantiser; with ultrafast's other analysis off that was ~20% of a segment's encode. QP 20 matches CRF 23's
# SSIM on the animatic (0.9950 against 0.9953 on a dolly) in fewer bytes; docs/performance.md measures each.
PREVIEW_ENCODE = {"preset": "ultrafast", "crf": 23, "qp": 20, "audio_bitrate": "128k"}


class EncodeConfig(_Cfg):
    crf: int = Field(default=20, ge=0, le=51, description="x264 quality, CRF (lower: better, larger); the preview "
                     "encodes at qp 20 unless crf is set")
    qp: int | None = Field(default=None, ge=0, le=51, description="x264 constant quantiser instead of crf (faster: "
                           "no per-frame rate analysis); preview: 20 unless crf is set")
    preset: str = Field(default="veryfast", description="x264 preset; preview: ultrafast unless set")
    audio_bitrate: str = Field(default="192k", description="AAC bitrate; preview: 128k unless set")
    join: Literal["segments", "single"] = Field(
        default="segments", description="segments: each shot's picture is encoded once and the episode joined by "
        "stream copy (an edit re-encodes only what it touches); single: the whole episode in one encode")

    @field_validator("preset")
    @classmethod
    def _preset(cls, value: str) -> str:
        if value not in X264_PRESETS:
            raise ValueError(f"encode.preset {value!r} is not an x264 preset{did_you_mean(value, X264_PRESETS)}; "
                             f"valid: {', '.join(X264_PRESETS)}")
        return value

    def for_profile(self, profile: str) -> "EncodeConfig":
        """The settings a render uses: the preview's fast defaults where the project did not choose its own."""
        if profile != "preview":
            return self
        chosen = self.model_fields_set | ({"qp"} if "crf" in self.model_fields_set else set())  # a crf of one's own
        return self.model_copy(update={k: v for k, v in PREVIEW_ENCODE.items() if k not in chosen})

    def rate_args(self) -> list[str]:
        """x264's rate control as ffmpeg options: the constant quantiser where one is set, else CRF."""
        return ["-qp", str(self.qp)] if self.qp is not None else ["-crf", str(self.crf)]

    @model_serializer(mode="wrap")
    def _without_unset_qp(self, handler):
        """No ``qp`` where none is set: the settings (and so the cache keys of every encode) read as they did
        before the field existed, so a project's finished segments are not made again for nothing."""
        data = handler(self)
        if self.qp is None and isinstance(data, dict):
            data.pop("qp", None)
        return data

    @field_validator("audio_bitrate", mode="before")
    @classmethod
    def _bitrate(cls, value) -> str:
        return f"{audio_bits(value) // 1000}k"


def audio_bits(value) -> int:
    """An AAC bitrate such as ``192k``, ``192000`` or ``0.192M`` in bits per second (32k-512k)."""
    import re

    text = str(value).strip()
    match = re.fullmatch(r"(\d{1,7}(?:\.\d{1,3})?)\s*([kKmM]?)(?:bps|b/s)?", text) if len(text) < 20 else None
    if not match or isinstance(value, bool):
        raise ValueError(f"encode.audio_bitrate {str(value)[:40]!r} is not a bitrate; write it like 128k, 192k or 256k")
    bits = float(match[1]) * {"": 1, "k": 1000, "m": 1_000_000}[match[2].lower()]
    if not 32_000 <= bits <= 512_000:
        raise ValueError(f"encode.audio_bitrate {text!r} is out of range; use 32k to 512k (192k is usual)")
    return int(bits)


class ExecutorConfig(_Cfg):
    """Where GPU jobs run: this process (``local``) or one Ray actor per GPU of a Ray cluster (``ray``)."""

    kind: Literal["local", "ray"] = "local"
    address: str | None = Field(default=None, description="ray: the cluster to join (host:port, or auto); "
                                "none: start a Ray instance on this machine")
    resource: str = Field(default="GPU", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,39}$",
                          description="ray: the resource one worker holds (GPU, or a custom resource name)")
    retries: int = Field(default=2, ge=0, le=10, description="ray: restarts of a worker that dies, and retries "
                         "of the job it was running")


def _home_of(file: Path) -> Path | None:
    """The nearest folder above ``file`` whose director.yaml may speak for it: the walk stops at a folder anyone may
    write to (/tmp) and takes only a director.yaml of this user's own or of the file's own owner (a container
    running as root over a volume of the host's user) -- a stranger's /tmp/director.yaml, naming its own LLM
    endpoint, was used for a screenplay below it: the user's key and script went to that endpoint. The caller
    also requires the project to list the file among its episodes."""
    me = {os.geteuid()} if hasattr(os, "geteuid") else set()
    try:
        me.add(os.stat(file).st_uid)
    except OSError:
        pass
    for up in file.parents:
        try:
            folder = os.stat(up)
        except OSError:
            return None
        if folder.st_mode & stat.S_IWOTH:  # world-writable (sticky or not): anyone could have put a config there
            return None
        config = up / CONFIG_NAME
        try:
            info = os.stat(config)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode) or (me and info.st_uid not in me):
            return None
        return up
    return None


PROJECT_FOLDERS = frozenset({"shots", "out", "refs", "episodes", ".director"})  # what a project holds, by name


def _holds_screenplay(folder: Path) -> bool:
    return (folder / "screenplay.yaml").is_file()


def _ours(file: Path, where: Path) -> bool:
    """Whether ``file`` is this user's, or belongs to whoever owns ``where`` (a container's root over a volume)."""
    try:
        owner = os.stat(file).st_uid
        return not hasattr(os, "geteuid") or owner in (os.geteuid(), os.stat(where).st_uid)
    except OSError:
        return False


def _natural(path: Path) -> list:
    """A path's sort key with its numbers as numbers: ep2 before ep10 (ep1, ep10, ep2 as text; Chinese 第2集 too)."""
    return [int(part) if i % 2 else part for i, part in enumerate(re.split(r"(\d+)", str(path)))]


def _declared_id(path: Path) -> str | None:
    """An episode file's own top-level ``id:``, read without parsing the file (it names the episode instead of the
    file's stem); None where it has none or cannot be read."""
    import re

    from director.paths import not_regular

    try:
        st = path.stat()
        if not_regular(st.st_mode):  # a named pipe would block the read; validation names it
            return None
        stamp = (str(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
        if stamp in _IDS:  # every episode's head is read on each look at the episodes (a season's render looks
            return _IDS[stamp]  # once per episode): read once while the file is as it was
        with path.open("rb") as f:
            head = f.read(65536).decode("utf-8-sig", "replace")  # a BOM before `id:` (Windows editors write one)
    except OSError:
        return None
    match = re.search(r"(?m)^id:[ \t]*['\"]?([^'\"\s#]+)", head)
    found = match[1] if match and match[1] not in ("~", "null", "Null", "NULL") else None  # null: no id
    if len(_IDS) > 4 * MAX_EPISODES:
        _IDS.clear()
    _IDS[stamp] = found
    return found


_IDS: dict[tuple, str | None] = {}  # (path, size, mtime, ctime, inode) -> the id it declares


class ProjectConfig(_Cfg):
    """``director.yaml``: everything about a project that is not the story."""

    episodes: list[str] = Field(default_factory=lambda: ["screenplay.yaml"])
    profile: Literal["preview", "final"] = "preview"
    tier: Literal["draft", "quality"] = Field(
        default="draft", description="final profile: draft (step-distilled, one take) or quality (full schedules)")
    backends: dict[str, BackendChoice] = Field(default_factory=dict, description="per-stage backend overrides")
    preview_scale: float = Field(default=1.0, ge=0.25, le=1.0, description="preview profile: draw and encode at "
                                 "this share of the frame size (0.5: 540x960 for 1080x1920), for long episodes")
    planner: PlannerConfig = Field(default_factory=PlannerConfig)
    license_ack: Literal["noncommercial"] | None = Field(
        default=None, description="allow models whose license forbids commercial use")
    llm: LLMConfig = Field(default_factory=LLMConfig)
    timing: TimingConfig = Field(default_factory=TimingConfig)
    mix: MixConfig = Field(default_factory=MixConfig)
    subtitles: SubtitleConfig = Field(default_factory=SubtitleConfig)
    encode: EncodeConfig = Field(default_factory=EncodeConfig)
    workers: int = Field(default=2, ge=1, le=64, description="parallel CPU jobs per stage")
    devices: list[str] | None = Field(default=None, description="GPUs the scheduler uses (cuda:0, cuda:1, ...); "
                                      "default: every visible CUDA device, else one")
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)

    @field_validator("devices")
    @classmethod
    def _devices(cls, value: list[str] | None) -> list[str] | None:
        import re

        if value is None:
            return None
        if not value or len(value) > 64:
            raise ValueError("devices lists 1 to 64 devices, e.g. [cuda:0, cuda:1]")
        for device in value:
            if not re.fullmatch(r"cuda(:\d{1,2})?|cpu|sim:\d{1,2}", str(device)):
                raise ValueError(f"devices entry {str(device)[:40]!r} is not a device; use cuda:N (or cpu)")
        if len(set(value)) != len(value):
            raise ValueError("devices lists a device twice")
        return value

    @field_validator("episodes")
    @classmethod
    def _episodes(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("episodes is empty; list the episode files, e.g. [screenplay.yaml] or [episodes/*.yaml]")
        for pattern in value:
            bad = path_text_problem(pattern) or ("is empty" if not pattern.strip() else None)
            if bad:
                raise ValueError(f"episodes entry {pattern[:60]!r}: the path {bad}")
            parts = Path(pattern).parts
            if Path(pattern).is_absolute() or ".." in parts or pattern.startswith("~"):
                raise ValueError(f"episodes entry {pattern!r} leaves the project folder; use a path or glob relative "
                                 "to director.yaml, e.g. episodes/*.yaml")
            if "**" in pattern and len(parts) > 8:
                raise ValueError(f"episodes entry {pattern!r} is too deep a glob")
        return value


@dataclass
class Project:
    root: Path
    config: ProjectConfig
    config_path: Path | None = None
    # director.yaml's stamp (``store.cache.file_stamp``) taken before it was read: a render whose config changed on
    # disk after it was read leaves no up-to-date stamp (runtime/render.py)
    config_stamp: list[int] | None = field(default=None, compare=False)
    # the episode whose file -p named (``-p episodes/ep01.yaml``): the one a command without --episode works on
    chosen: Path | None = field(default=None, compare=False)

    def command(self, *args: str, episode: str | None = None) -> str:
        """A director command line for this project, as the user pastes it where they are: ``-p`` and the project's
        folder unless that is the working directory (an export's hint said `director render -e ep01` to a user of
        ``-p proj``: pasted, "not a director project"); ``-e episode`` where the project has several."""
        import shlex

        try:
            here = self.root.resolve() == Path.cwd().resolve()
        except OSError:
            here = False
        try:
            several = episode is not None and len(self.episode_paths()) > 1
        except DirectorError:
            several = True
        return " ".join(["director", *([] if here else ["-p", shlex.quote(str(self.root))]), *args,
                         *(["-e", shlex.quote(episode)] if several else [])])

    # --------------------------------------------------------------- locating
    @classmethod
    def find(cls, where: Path | None) -> "Project":
        """The project at ``where``: a folder with director.yaml, or a screenplay file's folder."""
        where = Path(where or Path.cwd())
        try:
            return cls._find(where)
        except OSError as exc:  # a name too long for the file system, a folder we may not read
            raise UsageError(f"cannot open {str(where)[:200]}: {exc.strerror or exc}") from None

    @classmethod
    def _find(cls, where: Path) -> "Project":
        if where.is_file():
            if where.name == CONFIG_NAME:
                return cls.load(where.parent)
            # the project a file is in: the nearest folder above it with director.yaml (a series' episodes/ep02.yaml
            # was checked on its own, its bible "outside the project" and every character unknown), else its folder
            home = _home_of(Path(os.path.abspath(where)))
            if home is not None:
                project = cls.load(home)
                named = next((p for p in project.episode_paths() if p.resolve() == where.resolve()), None)
                if named is not None:
                    project.chosen = named
                    return project
            return cls(where.parent.resolve(), ProjectConfig(episodes=[where.name]))
        if not where.exists():
            raise UsageError(f"no such project folder or file: {where}")
        if (where / CONFIG_NAME).exists():
            return cls.load(where)
        here = Path(os.path.abspath(where))
        if (where / "screenplay.yaml").exists() and not (here.name == "shots" and _holds_screenplay(here.parent)):
            return cls(where.resolve(), ProjectConfig())
        # a folder inside a project (shots/, out/ep01, episodes/, refs/), as git finds its repository: shots/ holds
        # a screenplay.yaml too (the shot list), which was read as a screenplay ("title is required")
        home = _home_of(here / CONFIG_NAME)
        if home is not None:
            return cls.load(home)
        for up in here.parents:
            try:  # as _home_of: never past a folder anyone may write to, never a stranger's screenplay
                if os.stat(up).st_mode & stat.S_IWOTH:
                    break
            except OSError:
                break
            inside = here.relative_to(up).parts[0]
            if inside in PROJECT_FOLDERS and _holds_screenplay(up) and _ours(up / "screenplay.yaml", here):
                return cls(up.resolve(), ProjectConfig())
        raise UsageError(f"{where} is not a director project (no {CONFIG_NAME} or screenplay.yaml); "
                         "create one with: director new NAME")

    @classmethod
    def load(cls, root: Path) -> "Project":
        path = root / CONFIG_NAME
        try:
            stamp = file_stamp(os.stat(path))
        except OSError:
            stamp = None
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
            from director.screenplay import pydantic_problems
            raise ScreenplayError(pydantic_problems(exc, ProjectConfig, pos, CONFIG_NAME)) from None
        problems = backend_problems(config, pos)
        if problems:
            raise ScreenplayError(problems)
        return cls(root.resolve(), config, path, stamp)

    # --------------------------------------------------------------- paths
    @property
    def state(self) -> Path:
        """``.director``; refused (UnsafePath) where it or its cache is a symbolic link: a link planted there
        (git and tar keep them) made a render write, and ``clean`` delete, wherever it pointed."""
        return no_links(self.root, self.root / ".director" / "cache", "director's state folder").parent

    @property
    def cache_dir(self) -> Path:
        return self.state / "cache"

    def episode_paths(self) -> list[Path]:
        paths = []
        for pattern in self.config.episodes:
            try:
                matches = sorted(self.root.glob(pattern), key=_natural) if any(c in pattern for c in "*?[") else \
                    [self.root / pattern]
            except (ValueError, NotImplementedError, OSError) as exc:
                raise ConfigError(f"{self.config_path or CONFIG_NAME}: episodes {pattern!r} is not a usable pattern "
                                  f"({exc})") from None
            literal = not any(c in pattern for c in "*?[")
            for p in matches:
                if p in paths or p.name == CONFIG_NAME:  # ``*.yaml`` matches director.yaml too: not an episode
                    continue
                if _within(self.root, p):
                    paths.append(p)
                elif literal and (p.exists() or p.is_symlink()):  # named, there, and refused: say so
                    raise ConfigError(f"{self.config_path or CONFIG_NAME}: episode {pattern!r} leads outside the "
                                      f"project folder (a link, or a link loop): copy the file into the project")
        if len(paths) > MAX_EPISODES:
            raise ConfigError(f"{self.config_path or CONFIG_NAME}: episodes matches {len(paths)} files; a project holds "
                              f"at most {MAX_EPISODES} episodes (split the series into several projects)")
        seen: dict[str, Path] = {}
        for path in paths:  # an episode is named by its file's stem (or its `id:`): its state, shot list and out/
            # every file's head is read for its id (~0.1 ms): an `id:` naming another episode made one episode's
            # render replace the other's shot list and video
            name = _declared_id(path) or path.stem
            if name in seen:
                raise ConfigError(f"{self.config_path or CONFIG_NAME}: episodes {seen[name].relative_to(self.root)} "
                                  f"and {path.relative_to(self.root)} are both named {name!r} (an episode is named by "
                                  "its file name or its `id:`, and one would silently stand in for the other): " +
                                  (f"change the `id:` of {path.relative_to(self.root)}" if _declared_id(path) else
                                   f"change the `id:` of {seen[name].relative_to(self.root)}" if _declared_id(seen[name])
                                   else "rename one, e.g. s2-" + path.name + ", or give it an `id:`"))
            seen[name] = path
        return paths

    def episode_path(self, episode: str | None) -> Path:
        paths = self.episode_paths()
        if not paths:
            raise ConfigError(f"{self.config_path or self.root}: no episode files match {self.config.episodes}")
        if episode is None and self.chosen is not None and self.chosen in paths:
            return self.chosen
        if episode is None:
            if len(paths) > 1:  # the first one stood in silently: `line`, `shot set` edited it, `render` made it
                names = ", ".join(p.stem for p in paths[:8]) + (" ..." if len(paths) > 8 else "")
                raise UsageError(f"this project has {len(paths)} episodes ({names}): name one with --episode NAME "
                                 f"(-e {paths[0].stem}), or every one with --all where the command takes it")
            return paths[0]
        for path in paths:
            if path.stem == episode or str(path.relative_to(self.root)) == episode:
                return path
        for path in paths:  # by its `id:`, the name its outputs and the studio's pages use
            if _declared_id(path) == episode:
                return path
        names = ", ".join(p.stem for p in paths)
        raise UsageError(f"no episode {episode!r} in this project (episodes: {names})")

    def orphan_shot_lists(self) -> list[Path]:
        """Shot lists of no episode: ``shots/ep02.yaml`` after ep02.yaml was renamed (its shots, locks and takes were
        silently planned anew under the new name, every keyframe with a new seed)."""
        folder = self.root / "shots"
        try:
            if folder.is_symlink() or not folder.is_dir():
                return []
            names = {_declared_id(p) or p.stem for p in self.episode_paths()}
            return [f for f in sorted(folder.glob("*.yaml")) if f.stem not in names and f.is_file()
                    and not f.name.startswith(".")]
        except (OSError, DirectorError):
            return []

    def load_episode(self, episode: str | None = None) -> LoadedScreenplay:
        from director.screenplay import load_screenplay
        return load_screenplay(self.episode_path(episode), self.root)

    def inside(self, path: Path, what: str = "a file") -> Path:
        """``path``, checked to stay inside the project (every write goes through this or an id check)."""
        return inside(self.root, path, what)

    def shots_path(self, episode: str) -> Path:
        return self.inside(self.root / "shots" / f"{_safe(episode)}.yaml", "the shot list")

    def out_dir(self, episode: str) -> Path:
        return self.inside(self.root / "out" / _safe(episode), "the episode's outputs")

    def state_file(self, *parts: str) -> Path:
        """A file under .director/ (state, runs, backups): every part a safe name."""
        for part in parts:
            if "/" in part or "\\" in part or part in ("", ".", "..") or "\x00" in part:
                raise UsageError(f"refusing to write {part!r} under {self.state}: not a plain file name")
        return self.inside(self.state.joinpath(*parts), "a state file")


def _safe(ident: str) -> str:
    problem = id_problem(ident)
    if problem:
        raise UsageError(f"id {ident[:80]!r} {problem}; it cannot name a file")
    return ident


def _within(root: Path, path: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):
        return False


class _Prefixed:
    """Positions seen from a sub-document (``backends.video``), for pydantic errors of a nested model."""

    def __init__(self, pos: Positions, prefix: tuple):
        self.pos, self.prefix = pos, prefix

    def problem(self, loc, message: str, key: bool = False, severity: str = "error") -> Problem:
        return self.pos.problem(self.prefix + tuple(loc), message, key, severity)


def backend_problems(config: ProjectConfig, pos: Positions) -> list[Problem]:
    """``backends:`` checked at load, located: stage names, backend names, each backend's own settings."""
    if not config.backends:
        return []
    from director.backends import KINDS, NOT_PLUGGED, Registry

    registry = Registry.discover()
    problems = []
    for kind, choice in config.backends.items():
        if kind in NOT_PLUGGED:
            problems.append(pos.problem(("backends", kind), f"backends.{kind}: {NOT_PLUGGED[kind]}", key=True))
            continue
        if kind not in KINDS:
            problems.append(pos.problem(("backends", kind), f"backends.{kind}: {kind!r} is not a stage with a backend"
                                        f"{did_you_mean(kind, KINDS)}; valid: {', '.join(KINDS)}", key=True))
            continue
        name = choice.backend
        try:
            cls = registry.config_class(name)
        except Exception:
            known = sorted(n for n in registry.targets if _kind_of(registry, n) == kind)
            problems.append(pos.problem(("backends", kind, "backend"), f"backends.{kind}.backend {name!r} is not "
                                        f"installed{did_you_mean(name, known)}; {kind} backends: {', '.join(known)}"))
            continue
        if cls.kind != kind:
            problems.append(pos.problem(("backends", kind, "backend"), f"backends.{kind}.backend {name!r} is a "
                                        f"{cls.kind} backend, not a {kind} backend"))
            continue
        try:
            cls.model_validate(choice.model_dump())
        except ValidationError as exc:
            from director.screenplay import pydantic_problems
            problems += pydantic_problems(exc, cls, _Prefixed(pos, ("backends", kind)), f"backends.{kind}")
    return problems


def _kind_of(registry, name: str) -> str | None:
    try:
        return registry.config_class(name).kind
    except Exception:
        return None


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes (reference images and voice samples enter fingerprints this way)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def as_dict(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
