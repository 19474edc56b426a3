"""The render engine: stages -> jobs -> cache lookups -> the jobs that must run, in parallel.

The same walk, with ``explain=True``, is ``director status``: it computes every key it can,
runs nothing, and says per shot and stage "cached" or why the job must run, by comparing
the job's inputs with those of its last render (DVC's changed-deps message is the model).
"""
from __future__ import annotations

import functools
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from director import __version__
from director.errors import DirectorError, StageFailed
from director.runtime.context import RenderContext
from director.stages import STAGE_ORDER, all_stages
from director.stages.base import Job, Pending, Stage, Unknown
from director.store import steps
from director.store.cache import fingerprint
from director.store.files import read_own, write_json

log = logging.getLogger("director.render")

# What the engine itself adds to every job's key; each stage's own fields say their reasons (Job.reasons).
ENGINE_REASONS = {"backend": "backend changed", "version": "stage version changed"}


class Reporter(Protocol):
    def stage_started(self, stage: str, total: int, to_run: int) -> None: ...
    def job_done(self, stage: str, job: Job, seconds: float) -> None: ...
    def stage_done(self, stage: str) -> None: ...


@dataclass
class JobRecord:
    stage: str
    id: str
    shot: str | None
    key: str | None
    status: str  # cached | ran | runs | waits | failed | skipped
    reason: str = ""
    seconds: float = 0.0
    info: dict = field(default_factory=dict)  # what the backend reported: scores, takes, passes, seams

    def as_dict(self) -> dict:
        out = self.__dict__.copy()
        if not out["info"]:
            del out["info"]
        return out


def _info(entry) -> dict:
    """What a job's result asked the run record to show (``Made.report``)."""
    report = entry.meta.get("report")
    return dict(report) if isinstance(report, dict) else {}


@dataclass
class RunResult:
    records: list[JobRecord] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    work_seconds: dict[str, float] = field(default_factory=dict)  # inside the jobs (backends, encoders)
    notes: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def count(self, status: str, stage: str | None = None) -> int:
        return sum(1 for r in self.records if r.status == status and (stage is None or r.stage == stage))


def job_key(stage: Stage, ctx: RenderContext, job: Job) -> str:
    """The job's key: its request's material, its stage's version and its backend's identity. The last two
    join ``job.material`` (what ``status`` compares), so a backend change is reported as one."""
    backend = ctx.backends[stage.backend_kind].identity() if stage.backend_kind else None
    job.material = {**job.material, "version": stage.version, "backend": backend}
    return fingerprint({"stage": stage.name, **job.material})


def why(previous: dict | None, current: dict, reasons: dict[str, str] | None = None) -> str:
    """Human reason a job must run: which of its inputs differ from its last render, in the words its request's
    fields give (``keyed(...)`` in ``backends/types.py``)."""
    if previous is None:
        return "never rendered"
    changed = [k for k in sorted(set(previous) | set(current)) if previous.get(k) != current.get(k)]
    if not changed:
        return "not in the cache (cleaned or torn)"
    words = {**ENGINE_REASONS, **(reasons or {})}
    labels = []
    for k in changed:
        for label in _changed_words(k, previous.get(k), current.get(k), words):
            if label not in labels:
                labels.append(label)
    return ", ".join(labels)


def _changed_words(key: str, old, new, words: dict[str, str]) -> list[str]:
    """The most specific words for a changed field: a nested request's own (``voice.sample``), else the field's."""
    if f"{key}~moved" in words and _numbers_only(old, new):  # the same scenes and places, at other times
        return [words[f"{key}~moved"]]
    here = [words.get(key, f"{key.rsplit('.', 1)[-1].replace('_', ' ')} changed")]
    if isinstance(old, dict) and isinstance(new, dict):
        sub = [s for s in sorted(set(old) | set(new)) if old.get(s) != new.get(s)]
        found = [w for s in sub if f"{key}.{s}" in words for w in _changed_words(f"{key}.{s}", old.get(s), new.get(s), words)]
        return found or here
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        found = []
        for a, b in zip(old, new):
            if a != b and isinstance(a, dict) and isinstance(b, dict):
                found += [w for s in sorted(set(a) | set(b)) if a.get(s) != b.get(s) and f"{key}[].{s}" in words
                          for w in _changed_words(f"{key}[].{s}", a.get(s), b.get(s), words)]
        return found or here
    return here


def _numbers_only(old, new) -> bool:
    """Whether two JSON values differ in their numbers only (the same shape, strings and flags)."""
    if isinstance(old, (list, tuple)) and isinstance(new, (list, tuple)):
        return len(old) == len(new) and all(_numbers_only(a, b) for a, b in zip(old, new))
    if isinstance(old, dict) and isinstance(new, dict):
        return old.keys() == new.keys() and all(_numbers_only(old[k], new[k]) for k in old)
    numbers = (int, float)
    if isinstance(old, numbers) and isinstance(new, numbers) and not isinstance(old, bool) and not isinstance(new, bool):
        return True
    return old == new


def read_jobs(path: Path) -> dict[str, dict]:
    """A state file's jobs (each a key and the material it was made from); {} where the file is missing, torn or
    not of that shape (``null``, a list): it is rebuilt by the next render, never a crash of every command."""
    try:
        jobs = json.loads(read_own(path))["jobs"]
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return {}
    if not isinstance(jobs, dict):
        return {}
    return {k: v for k, v in jobs.items() if isinstance(v, dict) and isinstance(v.get("key"), str)
            and isinstance(v.get("material"), dict)}


class StateIndex:
    """The inputs each job had at its last render, per episode: what status compares against."""

    def __init__(self, path: Path):
        self.path = path
        self.jobs: dict[str, dict] = read_jobs(path)

    def previous(self, stage: str, ident: str) -> dict | None:
        item = self.jobs.get(f"{stage}:{ident}")
        return item["material"] if item else None

    def rendered(self, stage: str) -> bool:
        """Whether any of the stage's jobs has been rendered for this episode."""
        return any(k.startswith(f"{stage}:") for k in self.jobs)

    def remember(self, stage: str, ident: str, key: str, material: dict) -> None:
        self.jobs[f"{stage}:{ident}"] = {"key": key, "material": material}

    def save(self) -> None:
        write_json(self.path, {"version": 1, "jobs": self.jobs})

    def keys(self) -> set[str]:
        return {v["key"] for v in self.jobs.values()}


@dataclass
class Selection:
    """What part of the render to run."""

    only: str | None = None
    until: str | None = None
    shots: set[str] | None = None

    def stages(self) -> list[str]:
        if self.only:
            return [self.only]
        end = STAGE_ORDER.index(self.until) + 1 if self.until else len(STAGE_ORDER)
        return list(STAGE_ORDER[:end])


def execute(ctx: RenderContext, state: StateIndex, selection: Selection = Selection(),
            reporter: Reporter | None = None, workers: int = 1, graph: bool = True) -> RunResult:
    """Run (or, with ctx.explain, explain) the stages; cached work is reused, the rest runs."""
    result = RunResult()
    wanted = selection.stages()
    stages = all_stages()
    if graph and not ctx.explain and not selection.only and not selection.shots:
        return _stage_notes(_run_graph(ctx, state, selection, result, reporter, workers,
                                       [s for s in stages if s.name in wanted]), stages)
    if not ctx.explain and ctx.config.executor.kind != "local":
        result.notes.append(f"--only/--shots run their jobs in this process; the {ctx.config.executor.kind} executor "
                            "schedules whole renders")
    last_use = {s.backend_kind: i for i, s in enumerate(stages) if s.backend_kind and s.name in wanted}
    unrendered: list[str] = []  # --shots: other shots' work not in the cache (the episode cannot be remade)
    skipped: list[str] = []  # --shots: the episode's stages not run for that (one note names them all)
    for index, stage in enumerate(stages):
        active = stage.name in wanted
        if not active and not ctx.explain and stage.name in STAGE_ORDER[STAGE_ORDER.index(wanted[-1]) + 1:]:
            break
        episode_level = stage.scope in ("episode", "cue", "joined")  # joined: remade whole from the cache
        if selection.shots and episode_level and not ctx.explain:
            # the named shots are made; the episode is remade from them and every other shot's cached work
            if unrendered or selection.only:
                skipped.append(stage.name)
                continue
            started = time.perf_counter()
            _run_stage(ctx, stage, state, Selection(selection.only, selection.until), result, reporter, workers,
                       active)
            result.stage_seconds[stage.name] = round(time.perf_counter() - started, 3)
            if result.failed:
                break
            continue
        started = time.perf_counter()
        _run_stage(ctx, stage, state, selection, result, reporter, workers, active)
        if selection.shots and not ctx.explain and not unrendered:
            unrendered += _cached_rest(ctx, stage, selection)
        if stage.backend_kind and last_use.get(stage.backend_kind) == index and not ctx.explain:
            ctx.release(stage.backend_kind)  # no later stage needs these models: free the GPU for the next ones
        result.stage_seconds[stage.name] = round(time.perf_counter() - started, 3)
        if result.failed and not ctx.explain:
            break
    if skipped:
        result.notes.append(f"the episode was not remade ({', '.join(skipped)} skipped): --shots renders only the "
                            "named shots" + (f", and the other shots are not all rendered yet (first missing: "
                                             f"{unrendered[0]}); a full render makes the episode" if unrendered
                                             else " when --only is given"))
    if not ctx.explain:
        ctx.release_all()
    return _stage_notes(result, stages)


def _cached_rest(ctx: RenderContext, stage: Stage, selection: Selection) -> list[str]:
    """``--shots``: take the other shots' work of this stage from the cache (never made here), so the
    episode-level stages can be remade; returns what is missing ("clips one-01")."""
    bucket = ctx.results.setdefault(stage.name, {})
    missing = []
    for shot in ctx.shots:
        if shot.id in selection.shots:
            continue
        try:
            jobs = [j for j in stage.jobs(ctx.with_shots([shot])) if isinstance(j, Job)]
        except Unknown as gone:
            return [f"{gone.stage} {gone.ident}"]
        for job in jobs:
            if job.id in bucket:
                continue
            entry = ctx.cache.lookup(stage.name, job_key(stage, ctx, job))
            if entry is None:
                return [f"{stage.name} {job.id}" + (f" of shot {shot.id}" if job.id != shot.id else "")]
            bucket[job.id] = entry
    return missing


def _stage_notes(result: RunResult, stages) -> RunResult:
    """What the stages told the user while offering their jobs, once each."""
    for stage in stages:
        result.notes.extend(n for n in dict.fromkeys(stage.notes) if n not in result.notes)
    return result


class _Helpers:
    """What the scheduler shares with the stage walk: keys, reasons, records."""

    job_key = staticmethod(job_key)
    why = staticmethod(why)
    info = staticmethod(_info)

    @staticmethod
    def record(result: RunResult, stage: str, job: Job, status: str, reason: str = "", seconds: float = 0.0,
               info: dict | None = None) -> None:
        result.records.append(JobRecord(stage, job.id, job.shot, job.key, status, reason, round(seconds, 3),
                                        info or {}))
        if status in ("ran", "failed"):  # the stage's job-seconds (its jobs overlap: more than its span can be)
            result.work_seconds[stage] = round(result.work_seconds.get(stage, 0.0) + seconds, 3)

    @staticmethod
    def record_unit(result: RunResult, stage: str, ident: str, shot: str | None, reason: str) -> None:
        result.records.append(JobRecord(stage, ident, shot, None, "skipped", reason))


def _run_graph(ctx, state, selection, result, reporter, workers, stages) -> RunResult:
    """A whole render (or one up to ``--until``) as a job graph: see ``runtime/scheduler.py``."""
    from director.runtime.scheduler import Episode, Scheduler

    try:
        Scheduler([Episode(ctx, state, result)], reporter, workers, stages, _Helpers).run()
    finally:
        ctx.release_all()
    return result


def execute_many(runs: list[tuple[RenderContext, StateIndex]], selection: Selection = Selection(),
                 reporter: Reporter | None = None, workers: int = 1) -> list[RunResult]:
    """Several episodes through one scheduler: their contexts share the built backends, so each model loads
    once for the whole run, and the GPU works through every episode's keyframes before anyone's clips."""
    from director.runtime.scheduler import Episode, Scheduler

    results = [RunResult() for _ in runs]
    stages = [s for s in all_stages() if s.name in selection.stages()]
    episodes = [Episode(ctx, state, result) for (ctx, state), result in zip(runs, results)]
    try:
        Scheduler(episodes, reporter, workers, stages, _Helpers).run()
    finally:
        runs[0][0].release_all()
    return results


def _collect(ctx: RenderContext, stage: Stage, selection: Selection, active: bool = True) -> list[Job | Pending]:
    """The stage's jobs. Input not rendered is an error for a stage that is to run; for one only looked up (the
    stages before ``--only``'s), its items wait, and those whose inputs are cached are found."""
    items: list[Job | Pending] = []
    if selection.shots:  # the stage sees only the selected shots (and so asks only for their inputs)
        ctx = ctx.with_shots([s for s in ctx.shots if s.id in selection.shots])
    generator = stage.jobs(ctx)
    while True:
        try:
            item = next(generator)
        except StopIteration:
            break
        except Unknown as missing:
            if not ctx.explain and active:
                raise StageFailed(f"{stage.name} needs {missing.stage} {missing.ident}, which is not rendered; render "
                                  "the earlier stages first: " + ctx.project.command("render", "--until", missing.stage,
                                                                                     episode=ctx.loaded.episode)
                                  ) from None
            items.append(Pending(stage.name, "*", f"{missing.stage} {missing.ident}"))
            break
        items.append(item)
    if (ctx.explain or not active) and items and isinstance(items[-1], Pending) and stage.scope != "episode" and \
            stage.per_shot_explained:
        items = _per_item_pending(ctx, stage)
    return items


def _per_item_pending(ctx: RenderContext, stage: Stage) -> list[Job | Pending]:
    """Explaining: retry shot by shot, so cached items still say cached and the rest say what they wait on."""
    out: list[Job | Pending] = []
    for shot in ctx.shots:
        made: list[Job | Pending] = []
        try:
            made.extend(stage.jobs(ctx.with_shots([shot])))
        except Unknown as missing:  # the shot's items made before it was raised say cached or runs; the rest wait
            done, order = {item.id for item in made}, stage.item_ids(ctx, shot)
            made += [Pending(stage.name, ident, f"{missing.stage} {missing.ident}", shot=shot.id)
                     for ident in order if ident not in done]
            made.sort(key=lambda item: order.index(item.id) if item.id in order else len(order))
        out += made
    return out


def _run_stage(ctx, stage, state, selection, result, reporter, workers, active) -> None:
    items = _collect(ctx, stage, selection, active)
    todo: list[Job] = []
    bucket = ctx.results.setdefault(stage.name, {})
    for item in items:
        if isinstance(item, Pending):
            if state.rendered(stage.name):
                result.records.append(JobRecord(stage.name, item.id, item.shot, None, "waits",
                                                f"on {item.waits_on}, if that changes it"))
            else:  # nothing of the stage was ever made here: it runs, whatever it waits on makes
                result.records.append(JobRecord(stage.name, item.id, item.shot, None, "runs",
                                                f"never rendered (after {item.waits_on})"))
            continue
        item.key = job_key(stage, ctx, item)
        entry = ctx.cache.lookup(stage.name, item.key)
        if entry is not None:
            bucket[item.id] = entry
            result.records.append(JobRecord(stage.name, item.id, item.shot, item.key, "cached", info=_info(entry)))
            state.remember(stage.name, item.id, item.key, item.material)
            continue
        reason = why(state.previous(stage.name, item.id), item.material, item.reasons)
        if ctx.explain or not active:
            result.records.append(JobRecord(stage.name, item.id, item.shot, item.key, "runs", reason))
            continue
        todo.append(item)
        item.reason = reason
        item.label = f"{item.label} ({reason})"
    if ctx.explain or not active:
        return
    if reporter:
        reporter.stage_started(stage.name, len(items), len(todo))
    if stage.backend_kind and todo:
        ctx.backend(stage.backend_kind)  # build (load the model) once, before the workers start

    def produce(job: Job) -> tuple[Job, float, BaseException | None]:
        started = time.perf_counter()
        progress = getattr(reporter, "job_progress", None)
        try:
            with steps.reporting(functools.partial(progress, stage.name, job) if progress else None):
                bucket[job.id] = ctx.cache.produce(stage.name, job.key, job.material, job.run)
            return job, time.perf_counter() - started, None
        except (DirectorError, OSError, ValueError, RuntimeError) as exc:
            return job, time.perf_counter() - started, exc

    pool_size = 1 if stage.scope == "episode" else max(1, workers)
    pool_started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=pool_size) as pool:
        for job, seconds, error in pool.map(produce, todo):
            if error is not None:
                if isinstance(error, DirectorError) and not isinstance(error, StageFailed):
                    raise error
                result.failed.append(f"{stage.name} {job.id}: {error}")
                result.records.append(JobRecord(stage.name, job.id, job.shot, job.key, "failed", str(error), seconds))
                continue
            state.remember(stage.name, job.id, job.key, job.material)
            result.records.append(JobRecord(stage.name, job.id, job.shot, job.key, "ran", job.reason, round(seconds, 3),
                                            info=_info(bucket[job.id])))
            result.notes.extend(bucket[job.id].meta.get("notes", []))
            if reporter:
                reporter.job_done(stage.name, job, seconds)
    result.work_seconds[stage.name] = round(time.perf_counter() - pool_started, 3)
    state.save()
    if reporter:
        reporter.stage_done(stage.name)


def run_record(ctx: RenderContext, result: RunResult, selection: Selection, seconds: float,
               outputs: dict[str, str]) -> dict:
    """The resolved config, fingerprints and timings of one render, saved beside the cache."""
    return {
        "director": __version__, "episode": ctx.loaded.episode, "profile": ctx.config.profile,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - seconds)),
        "seconds": round(seconds, 3), "selection": {"only": selection.only, "until": selection.until,
                                                    "shots": sorted(selection.shots or [])},
        "config": ctx.config.model_dump(mode="json"),
        "backends": {k: v.identity() | {"license": v.license, "models": {n.id: n.license.name for n in v.needs()}}
                     for k, v in ctx.backends.items()},
        "stages": {name: {"seconds": s, "work_seconds": result.work_seconds.get(name, 0.0),
                          "ran": [r.id for r in result.records if r.stage == name and r.status == "ran"],
                          "cached": result.count("cached", name)} for name, s in result.stage_seconds.items()},
        "jobs": [r.as_dict() for r in result.records], "notes": result.notes, "failed": result.failed,
        "models": ctx.model_events,
        "outputs": outputs,
    }

