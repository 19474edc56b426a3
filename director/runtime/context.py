"""Everything a render's stages read, passed explicitly (stages never read globals or the environment)."""
from __future__ import annotations

import gc
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from contextvars import ContextVar
from functools import cached_property
from pathlib import Path

from director.backends import BackendConfig
from director.backends.types import Artifact
from director.project import Project, file_digest
from director.screenplay import Beat, LoadedScreenplay
from director.shots import Shot
from director.stages.base import Unknown
from director.store.cache import ArtifactCache, Entry


_IMPORTING = threading.Lock()


def _import_requirements(config) -> None:
    """Import a backend's libraries (torch, diffusers...) before it builds; an import that fails is left to the
    build, which names what is missing."""
    import importlib

    for name in getattr(config, "requires", ()):
        try:
            importlib.import_module(name)
        except Exception:
            return


@dataclass
class Placement:
    """A spoken beat placed in the episode."""

    ref: str
    start: float
    duration: float
    entry: Entry


# The device the running job was routed to (set by the scheduler around each GPU job; None: the default one).
current_device: ContextVar[str | None] = ContextVar("director_device", default=None)


def free_accelerator_memory() -> None:
    """Collect what a released model left and hand the GPU's cached blocks back (when torch is loaded: without it
    no backend held a model, and a full collection on the scheduler's thread cost a preview ~30 ms per kind)."""
    torch = sys.modules.get("torch")
    if torch is not None:
        gc.collect()
        try:  # a worker thread may be importing torch right now: a half-initialised module has no .cuda yet
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except (RuntimeError, AttributeError):
            pass


@dataclass
class RenderContext:
    project: Project
    loaded: LoadedScreenplay
    shots: list[Shot]
    backends: dict[str, BackendConfig]
    cache: ArtifactCache
    explain: bool = False  # status: compute keys, run nothing
    results: dict[str, dict[str, Entry]] = field(default_factory=dict)
    _built: dict[str, object] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _digests: dict[Path, str] = field(default_factory=dict)
    _all_shots: list[Shot] | None = None
    model_events: list[dict] = field(default_factory=list)  # loads and releases, in order, for the run record
    _loading: dict[str, threading.Lock] = field(default_factory=dict)  # model@device -> held while it loads
    review: object | None = None  # keyframe review (plan/review.ReviewSpec): part of the keyframes' keys when on
    reviewer: object | None = None  # the reviewer itself (plan/review.KeyframeReviewer), when rendering
    # (stage names, fn): work a render does beside the jobs as soon as those stages are finished (the storyboard,
    # drawn while the segments and the mix still run); the scheduler calls each fn once, on a thread of its own
    early: list = field(default_factory=list)
    drawn_storyboard: tuple | None = None  # (outputs, signature) of the storyboard drawn early (runtime/render.py)

    @property
    def all_shots(self) -> list[Shot]:
        """Every shot of the episode, also when this view holds only some (``--shots``)."""
        return self._all_shots if self._all_shots is not None else self.shots

    @property
    def sp(self):
        return self.loaded.screenplay

    @property
    def config(self):
        return self.project.config

    @cached_property
    def beats(self) -> dict[str, Beat]:
        return {ref: beat for ref, _, beat in self.sp.beats()}

    def with_shots(self, shots: list[Shot]) -> "RenderContext":
        """The same render (results, built backends) seen through a subset of its shots."""
        return RenderContext(self.project, self.loaded, shots, self.backends, self.cache, self.explain,
                             self.results, self._built, self._lock, self._digests, self.all_shots, self.model_events,
                             self._loading, self.review, self.reviewer)

    def backend(self, kind: str):
        """The built backend for a kind on the job's device: built once per device per run (models stay resident)."""
        device = current_device.get()
        key = kind if device is None else f"{kind}@{device}"
        with self._lock:  # one lock per model and device: devices load their models at the same time
            built = self._built.get(key)
            if built is not None:
                return built
            lock = self._loading.setdefault(key, threading.Lock())
        with lock:
            if key not in self._built:
                config = self.backends[kind]
                if device is not None and device.startswith("cuda") and "device" in type(config).model_fields:
                    config = config.model_copy(update={"device": device})
                started = time.perf_counter()
                with _IMPORTING:  # two threads importing torch at once see it half-initialised ("partially
                    _import_requirements(config)  # initialized module 'torch'"): imports go one at a time
                made = config.build()
                with self._lock:
                    self._built[key] = made
                    self.model_events.append({"event": "load", "kind": kind, "backend": self.backends[kind].name,
                                              "device": device, "seconds": round(time.perf_counter() - started, 3)})
            return self._built[key]

    def release(self, kind: str, device: str | None = None) -> None:
        """Unload a kind's backend (its models) -- on one device, or everywhere -- so the next models fit."""
        with self._lock:
            keys = [k for k in self._built if k.split("@")[0] == kind and
                    (device is None or k == (kind if device is None else f"{kind}@{device}"))]
            released = [(k, self._built.pop(k)) for k in keys]
            for k, _ in released:
                self.model_events.append({"event": "release", "kind": kind, "backend": self.backends[kind].name,
                                          "device": k.partition("@")[2] or None})
        for _, built in released:
            close = getattr(built, "close", None)
            if callable(close):
                close()
        del released
        if keys:
            free_accelerator_memory()

    def release_all(self) -> None:
        for key in list(self._built):
            self.release(key.split("@")[0])

    def entry(self, stage: str, ident: str) -> Entry:
        try:
            return self.results[stage][ident]
        except KeyError:
            raise Unknown(stage, ident) from None

    def artifact(self, stage: str, ident: str) -> Artifact:
        """Another job's output as a typed handle (keyed by its key, files by role)."""
        entry = self.entry(stage, ident)
        return Artifact(stage, entry.key, str(entry.path), dict(entry.meta.get("files") or {}))

    def digest(self, path: Path) -> str:
        if path not in self._digests:
            self._digests[path] = file_digest(path)
        return self._digests[path]

    def ref_digests(self, paths: list[str]) -> list[str]:
        return [self.digest(self.loaded.resolve(p)) for p in paths]

    # ------------------------------------------------------------------ timeline
    def timing(self, shot: Shot) -> dict:
        entry = self.entry("timing", shot.id)
        path = entry.role("timing")
        cached = self._digests.get(("timing", path))  # read once per render: segments ask for every shot's length
        if cached is None:
            cached = self._digests[("timing", path)] = json.loads(path.read_text())
        return cached

    def frames(self, shot: Shot) -> int:
        return int(self.timing(shot)["frames"])

    def starts(self) -> dict[str, float]:
        """Start time of every shot: shots sit back to back (transitions happen inside spans)."""
        fps = self.sp.format.fps
        out, frames = {}, 0
        for shot in self.shots:
            out[shot.id] = frames / fps
            frames += self.frames(shot)
        out["__end__"] = frames / fps
        return out

    def total_frames(self) -> int:
        return sum(self.frames(s) for s in self.shots)

    def placements(self) -> list[Placement]:
        starts = self.starts()
        out = []
        for shot in self.shots:
            for item in self.timing(shot)["voices"]:
                # a line that talks over the cut starts in the shot before (a J-cut); never before the episode
                out.append(Placement(item["ref"], max(0.0, starts[shot.id] + item["offset"]), item["duration"],
                                     self.entry("voice", item["ref"])))
        return out

    def cue_times(self) -> list[tuple[str, float]]:
        """(beat ref, time) of every cue beat (music, sfx, card, pause): where it sits among the shot's spoken
        beats; a pause moves what follows it later by its length."""
        starts = self.starts()
        out = []
        for shot in self.shots:
            voices = {v["ref"]: v for v in self.timing(shot)["voices"]}
            t = starts[shot.id]
            for ref in shot.beats:
                beat = self.beats[ref]
                if ref in voices:
                    t = starts[shot.id] + voices[ref]["offset"] + voices[ref]["duration"]
                elif beat.cue:
                    out.append((ref, t))
                    t += beat.pause or 0.0
        return out
