"""The job graph: any job whose inputs exist starts, on a pool for its resource class.

A stage offers its work in *units* (one per shot, or one for the episode). A unit whose inputs are
not made yet raises ``Unknown`` naming the input it waits on, and is tried again whenever a job
finishes -- so voices, music and subtitles run while keyframes and clips hold the GPU, and shot 1's
clip starts as soon as shot 1's keyframe and timing exist. Cached work is taken from the cache as
the unit is offered. A failed job skips exactly the units that wait on it (named in their records);
everything else finishes. A backend's models are released as soon as no unit of any stage using
that backend kind is left.

Resource classes: ``gpu`` for stages whose backend runs a model on a CUDA device, ``io`` for light
bookkeeping (timing, subtitles: never queued behind a clip), ``cpu`` for the rest; one GPU slot
per device (one device today: the multi-device workers of DESIGN §7 come next), ``workers`` CPU
slots, two io slots.
"""
from __future__ import annotations

import functools
import queue
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from director.errors import DirectorError, StageFailed
from director.runtime.context import RenderContext
from director.runtime.executors import WorkerLost
from director.stages.base import Job, Stage, Unknown
from director.store import steps


@dataclass
class Episode:
    """One episode's part of a run: its context (shots, results), its state index and its result records."""

    ctx: RenderContext
    state: object
    result: object

    @property
    def name(self) -> str:
        return self.ctx.loaded.episode


@dataclass
class Unit:
    ep: Episode
    stage: Stage
    id: str              # shot id, or "episode"
    shot: str | None
    waits_on: tuple[str, str] | None = None
    jobs: list[Job] = field(default_factory=list)
    open: int = 0        # jobs submitted and not finished
    offered: bool = False
    done: bool = False


def resource_of(ctx: RenderContext, stage: Stage, remote: bool = False) -> str:
    """``io`` for bookkeeping stages, ``gpu`` when the stage's backend runs a model on a CUDA device (with a remote
    executor: any model backend, which runs on the cluster's workers), else ``cpu``."""
    if getattr(stage, "resource", ""):
        return stage.resource
    if not stage.backend_kind:
        return "cpu"
    config = ctx.backends[stage.backend_kind]
    if remote and "device" in type(config).model_fields:
        return "gpu"
    device = getattr(config, "device", None)
    if device is None or device == "cpu":
        return "cpu"
    if device.startswith("cuda"):
        return "gpu"
    import importlib.util
    if importlib.util.find_spec("torch") is None:
        return "cpu"
    try:  # auto: a GPU if CUDA is usable (the final profile refuses to fall back to the CPU)
        import torch  # called once per stage from the scheduler's thread, before any worker imports torch
        return "gpu" if torch.cuda.is_available() else "cpu"
    except RuntimeError:
        return "cpu"


class _Futures(dict):
    """Submitted futures -> (unit, job), with a queue their completions land on: the loop waits on the queue
    instead of re-scanning every pending future after each completion (600 queued voices made that quadratic)."""

    def __init__(self):
        super().__init__()
        self.done: queue.SimpleQueue = queue.SimpleQueue()

    def __setitem__(self, future: Future, value) -> None:
        super().__setitem__(future, value)
        future.add_done_callback(self.done.put)

    def next_done(self) -> Future:
        while True:
            future = self.done.get()
            if future in self:
                return future

    def poll(self) -> Future | None:
        while True:
            try:
                future = self.done.get_nowait()
            except queue.Empty:
                return None
            if future in self:
                return future


def gpu_devices(ctx: RenderContext) -> list[str | None]:
    """The devices GPU jobs run on: ``devices:`` in director.yaml, else every visible CUDA device, else one."""
    if ctx.config.devices:
        return list(ctx.config.devices)
    torch = __import__("sys").modules.get("torch")
    try:
        count = torch.cuda.device_count() if torch is not None and torch.cuda.is_available() else 0
    except (RuntimeError, AttributeError):
        count = 0
    return [f"cuda:{i}" for i in range(count)] if count > 1 else [None]


def _shot_of(ep: Episode, ident: str) -> str | None:
    """The shot a job id belongs to (a voice line's shot), so a blocked chain can be followed to its unit."""
    for shot in ep.ctx.shots:
        if ident == shot.id or ident in shot.beats:
            return shot.id
    return None


class Scheduler:
    """One scheduler for every episode of a run: models load once for all of them (``render --all``)."""

    def __init__(self, episodes: list[Episode], reporter, workers: int, stages: list[Stage], helpers,
                 executor: str | None = None):
        self.episodes, self.reporter = episodes, reporter
        self.ctx = episodes[0].ctx  # backends, built models and the cache are shared by every episode
        self.workers = max(1, workers)
        self.helpers = helpers  # engine functions: job_key, why, record, info
        self.stages = stages
        self.executor_kind = executor or self.ctx.config.executor.kind
        self.executor = None  # made when the run starts (a Ray executor joins its cluster then)
        # decided once, here, before any worker thread exists (a worker importing torch must never race it)
        remote = self.executor_kind != "local"
        self.resources = {stage.name: resource_of(self.ctx, stage, remote) for stage in stages}
        self.units: list[Unit] = []
        for stage in stages:  # stage-major: every episode's keyframes before anyone's clips, model by model
            for ep in episodes:
                if getattr(stage, "unit", "shot") == "shot":
                    self.units += [Unit(ep, stage, shot.id, shot.id) for shot in ep.ctx.shots]
                else:
                    self.units.append(Unit(ep, stage, "episode", None))
        self.failed: set[tuple[str, str, str]] = set()  # (episode, stage, job id) that failed or were skipped
        self.started_stage: dict[str, float] = {}
        self.ended_stage: dict[str, float] = {}
        self.counts: dict[str, list[int]] = {}
        self.t0 = time.perf_counter()
        self.last_save = 0.0
        self.ready: deque[tuple[str, str, str]] = deque()  # (episode, stage, id) of entries that just appeared
        self.gpu_queue: dict[str, deque] = {}  # backend kind -> (unit, job) waiting for a GPU
        self.devices: list = [None]
        self.device_kind: dict = {}  # the kind whose models each device holds
        self.device_busy: dict = {}
        self.job_device: dict[int, str | None] = {}
        self.job_ready: dict[int, float] = {}  # when each job became ready to run (its queue wait starts)

    # ------------------------------------------------------------------ offering units
    def offer(self, unit: Unit, pools: dict, futures: dict) -> bool:
        """Try to turn a unit into jobs; True when it was offered (or finished from the cache)."""
        ep = unit.ep
        ctx = ep.ctx if unit.shot is None else ep.ctx.with_shots([s for s in ep.ctx.shots if s.id == unit.shot])
        try:
            jobs = list(unit.stage.jobs(ctx))
        except Unknown as missing:
            unit.waits_on = (ep.name, missing.stage, missing.ident)
            return False
        unit.offered, unit.waits_on = True, None
        stage = unit.stage
        bucket = ep.ctx.results.setdefault(stage.name, {})
        todo = []
        for job in jobs:
            job.key = self.helpers.job_key(stage, ep.ctx, job)
            entry = ep.ctx.cache.lookup(stage.name, job.key)
            if entry is not None:
                bucket[job.id] = entry
                self.ready.append((ep.name, stage.name, job.id))
                self.helpers.record(ep.result, stage.name, job, "cached", info=self.helpers.info(entry))
                ep.state.remember(stage.name, job.id, job.key, job.material)
                continue
            reason = self.helpers.why(ep.state.previous(stage.name, job.id), job.material, job.reasons)
            job.label = f"{job.label} ({reason})"
            job.reason = reason
            todo.append(job)
        self._grow(stage.name, len(jobs), len(todo))
        resource = self.resources[stage.name]
        for job in todo:
            unit.open += 1
            self.job_ready[id(job)] = time.perf_counter()
            if resource == "gpu":  # the GPU takes one model at a time: queued by kind, dispatched by affinity
                self.gpu_queue.setdefault(stage.backend_kind, deque()).append((unit, job))
                continue
            self.started_stage.setdefault(stage.name, time.perf_counter())
            futures[pools[resource].submit(self._produce, unit, job)] = (unit, job)
        if not todo:
            self._finish_unit(unit)
        return True

    def _grow(self, stage: str, total: int, to_run: int) -> None:
        count = self.counts.get(stage)
        if self.reporter is None:
            return
        if count is None:
            self.counts[stage] = [total, to_run]
            self.reporter.stage_started(stage, total, to_run)
        else:
            count[0] += total
            count[1] += to_run
            grow = getattr(self.reporter, "stage_grow", None)
            if grow:
                grow(stage, total, to_run)

    def _produce(self, unit: Unit, job: Job, device: str | None = None):
        started = time.perf_counter()
        stage = unit.stage
        progress = getattr(self.reporter, "job_progress", None)
        executor = self.executor if self.resources[stage.name] == "gpu" else self.local
        if executor is not self.local and not executor.runs_remotely(job):
            executor = self.local
        begun = getattr(self.reporter, "job_started", None)
        if begun:
            begun(stage.name, job, executor.where(device))
        try:
            with steps.reporting(functools.partial(progress, stage.name, job) if progress else None):
                entry = unit.ep.ctx.cache.produce(stage.name, job.key, job.material,
                                                  functools.partial(executor.make, job, device))
            return entry, started, time.perf_counter(), None
        except (DirectorError, OSError, ValueError, RuntimeError) as exc:
            return None, started, time.perf_counter(), exc

    # ------------------------------------------------------------------ finishing
    def _finish_unit(self, unit: Unit) -> None:
        unit.done = True
        self.ended_stage[unit.stage.name] = time.perf_counter()
        kind = unit.stage.backend_kind
        if kind and all(u.done for u in self.units if u.stage.backend_kind == kind):
            self.executor.release(kind)  # no unit left needs these models: free the GPU for the next ones

    def _collect(self, future: Future, futures: dict) -> None:
        unit, job = futures.pop(future)
        ep = unit.ep
        entry, started, ended, error = future.result()
        stage = unit.stage.name
        device = self.job_device.pop(id(job), None)
        if self.resources[stage] == "gpu" and device in self.device_busy:
            self.device_busy[device] = False
        timing = {"start": round(started - self.t0, 3), "end": round(ended - self.t0, 3),
                  "wait": round(started - self.job_ready.pop(id(job), started), 3), "resource": self.resources[stage]}
        if self.resources[stage] == "gpu":
            timing["device"] = device
        lost = error.device if isinstance(error, WorkerLost) else None
        if lost is not None and lost in self.devices:
            self.executor.lose(lost)  # gone for good: its work goes to the devices that are left
            self.devices.remove(lost)
            self.device_kind.pop(lost, None)
            self.device_busy.pop(lost, None)
            ep.result.notes.append(f"{error} -- its jobs went to the other workers")
            if self.devices:
                self.gpu_queue.setdefault(unit.stage.backend_kind, deque()).appendleft((unit, job))
                self.job_ready[id(job)] = time.perf_counter()
                return
        if error is not None:
            if isinstance(error, DirectorError) and not isinstance(error, StageFailed):
                raise error
            self.failed.add((ep.name, stage, job.id))
            ep.result.failed.append(f"{stage} {job.id}: {error}")
            self.helpers.record(ep.result, stage, job, "failed", str(error), ended - started, timing)
        else:
            ep.ctx.results.setdefault(stage, {})[job.id] = entry
            self.ready.append((ep.name, stage, job.id))
            ep.state.remember(stage, job.id, job.key, job.material)
            self.helpers.record(ep.result, stage, job, "ran", job.reason, ended - started,
                                {**self.helpers.info(entry), **timing})
            ep.result.notes.extend(entry.meta.get("notes", []))
            if self.reporter:
                self.reporter.job_done(stage, job, ended - started)
        unit.open -= 1
        if unit.open == 0:
            self._finish_unit(unit)
        if time.perf_counter() - self.last_save > 1.0:  # a kill loses at most a second of "why" records
            ep.state.save()
            self.last_save = time.perf_counter()

    def _dispatch_gpu(self, pools: dict, futures: dict, others_running: bool) -> None:
        """Feed every idle device: jobs of the kind it holds first (affinity: no reload); a device switches kinds
        only when its kind has nothing queued and either all its units are done (release it there) or nothing
        else can move; a device holds one kind's models at a time."""
        order = {s.backend_kind: i for i, s in reversed(list(enumerate(self.stages)))}
        for device in self.devices:
            if self.device_busy[device]:
                continue
            current = self.device_kind[device]
            if current is not None and self.gpu_queue.get(current):
                queue = self.gpu_queue[current]
            else:
                waiting = [k for k, q in self.gpu_queue.items() if q]
                if not waiting:
                    continue
                if current is not None:
                    current_done = all(u.done for u in self.units if u.stage.backend_kind == current)
                    busy_elsewhere = any(self.device_busy.values())
                    if not current_done and (others_running or busy_elsewhere):
                        continue  # its next jobs are on their way (voices, timing): keep its models
                    self.executor.release(current, device)  # another model loads here next: never two at once
                self.device_kind[device] = min(waiting, key=lambda k: order.get(k, 99))
                queue = self.gpu_queue[self.device_kind[device]]
            unit, job = queue.popleft()
            self.device_busy[device] = True
            self.job_device[id(job)] = device
            self.started_stage.setdefault(unit.stage.name, time.perf_counter())
            futures[pools["gpu"].submit(self._produce, unit, job, device)] = (unit, job)

    def _blocked(self, unit: Unit) -> str | None:
        """The failed input a waiting unit depends on (directly, or through another blocked unit), if any."""
        seen = set()
        while unit is not None and unit.waits_on is not None and id(unit) not in seen:
            seen.add(id(unit))
            episode, stage, ident = unit.waits_on
            if (episode, stage, ident) in self.failed:
                return f"{stage} {ident}"
            unit = next((u for u in self.units if u.ep.name == episode and u.stage.name == stage and not u.done
                         and (u.id == ident or u.id == "episode" or u.shot == _shot_of(u.ep, ident))),
                        None)
        return None

    # ------------------------------------------------------------------ the loop
    def run(self) -> None:
        """Offer every unit once in stage order; then, as entries appear, retry exactly the units waiting on them."""
        from director.runtime.executors import LocalExecutor, executor_for

        local_devices = gpu_devices(self.ctx) if "gpu" in self.resources.values() else [None]
        self.local = LocalExecutor(self.ctx, local_devices)
        self.executor = (executor_for(self.ctx, local_devices, self.executor_kind)
                         if "gpu" in self.resources.values() else self.local)
        self.devices = self.executor.devices()
        self.device_kind = {d: None for d in self.devices}
        self.device_busy = {d: False for d in self.devices}
        try:
            self._run()
        finally:
            if self.executor is not self.local:
                self.executor.close()

    def _run(self) -> None:
        gpu = ThreadPoolExecutor(max_workers=len(self.devices), thread_name_prefix="director-gpu")
        cpu = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="director-cpu")
        io = ThreadPoolExecutor(max_workers=2, thread_name_prefix="director-io")
        pools = {"gpu": gpu, "cpu": cpu, "io": io}
        futures = _Futures()  # submitted jobs; finished ones arrive on its queue (O(1) per completion)
        waiting: dict[tuple[str, str], list[Unit]] = {}

        def attempt(unit: Unit) -> None:
            if not self.offer(unit, pools, futures):
                waiting.setdefault(unit.waits_on, []).append(unit)

        try:
            for unit in self.units:
                attempt(unit)
            while True:
                while self.ready:
                    for unit in waiting.pop(self.ready.popleft(), []):
                        attempt(unit)
                self._dispatch_gpu(pools, futures, others_running=bool(futures))
                if not futures:
                    break
                self._collect(futures.next_done(), futures)
                while (future := futures.poll()) is not None:  # everything else already finished
                    self._collect(future, futures)
        finally:
            if self.executor is not self.local:  # interrupted or failed: stop remote jobs rather than wait for them
                self.executor.close()
            for pool in pools.values():
                pool.shutdown(wait=True, cancel_futures=True)
            for ep in self.episodes:
                ep.state.save()
        for waiting_jobs in self.gpu_queue.values():  # left when every device was lost
            while waiting_jobs:
                unit, job = waiting_jobs.popleft()
                self.failed.add((unit.ep.name, unit.stage.name, job.id))
                unit.ep.result.failed.append(f"{unit.stage.name} {job.id}: no worker left to run it")
                self.helpers.record(unit.ep.result, unit.stage.name, job, "failed", "no worker left to run it")
        for unit in self.units:
            if unit.offered:
                continue
            blocker = self._blocked(unit)
            waits = f"{unit.waits_on[1]} {unit.waits_on[2]}" if unit.waits_on else "an earlier stage"
            reason = f"skipped: depends on {blocker}, which failed" if blocker else f"skipped: waits on {waits}"
            self.failed.add((unit.ep.name, unit.stage.name, unit.id))
            self.helpers.record_unit(unit.ep.result, unit.stage.name, unit.id, unit.shot, reason)
        for stage in self.stages:
            if stage.name in self.started_stage or stage.name in self.ended_stage:
                start = self.started_stage.get(stage.name, self.ended_stage.get(stage.name, self.t0))
                seconds = round(self.ended_stage.get(stage.name, start) - start, 3)
            else:
                seconds = 0.0
            for ep in self.episodes:
                ep.result.stage_seconds[stage.name] = seconds
            if self.reporter and stage.name in self.counts:
                self.reporter.stage_done(stage.name)
