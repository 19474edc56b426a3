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
slots, two io slots. Ready CPU jobs wait in the scheduler until a slot is free: small uncosted ones
first, then the long costed ones longest first (``Job.cost``), and each may ask its share of the
cores (``steps.cores``). A context's early work (``ctx.early``: the storyboard) starts on a thread
of its own once every unit of the stages it shows is done and a core is free of CPU jobs.
"""
from __future__ import annotations

import functools
import heapq
import itertools
import queue
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from director.errors import DirectorError, StageFailed, system_trouble
from director.media.ffmpeg import usable_cores
from director.runtime.context import RenderContext
from director.runtime.heap import give_back_heap, one_heap
from director.runtime.executors import WorkerLost
from director.stages import STAGE_ORDER
from director.stages.base import Job, Stage, Unknown
from director.store import steps

_EARLY = object()  # marks the futures of early work (``ctx.early``) among the jobs
DEPTH = 2  # jobs handed to a device at once: the next one waits on the device's lock, so a device never idles
# while the scheduler does its bookkeeping between two jobs


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


class _Hold:
    """A device's lock held by one job and released once: when the job's GPU work is done, or at its end."""

    def __init__(self, lock: threading.Lock):
        self.lock, self.held = lock, False

    def __enter__(self) -> "_Hold":
        self.lock.acquire()
        self.held = True
        return self

    def release(self) -> None:
        if self.held:  # only the job's own thread calls this (gpu_done, then the exit): no race
            self.held = False
            self.lock.release()

    def __exit__(self, *exc) -> None:
        self.release()


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
        # stage -> its shot units not offered yet: one job each, most likely, counted in the progress's totals before
        # they are known ("timing [1/2]" ... "[6/6]": a total that grew with every shot read as done, then more)
        self.unoffered: dict[str, int] = {}
        for unit in self.units:
            if unit.shot is not None:
                self.unoffered[unit.stage.name] = self.unoffered.get(unit.stage.name, 0) + 1
        self.stage_left: dict[tuple[str, str], int] = {}  # (episode, stage) -> its units not done
        for unit in self.units:
            key = (unit.ep.name, unit.stage.name)
            self.stage_left[key] = self.stage_left.get(key, 0) + 1
        # (episode, stage names, fn) of the work each episode does once those stages are finished (``ctx.early``)
        self.early = [(ep, frozenset(names), fn) for ep in episodes for names, fn in ep.ctx.early]
        unknown = sorted({n for _, names, _ in self.early for n in names} - set(STAGE_ORDER))
        if unknown:
            raise ValueError(f"early work waits on stages that do not exist: {', '.join(unknown)}")
        self.left: dict[str, int] = {}  # backend kind -> its units not done (O(1) checks on every completion)
        for unit in self.units:
            if unit.stage.backend_kind:
                self.left[unit.stage.backend_kind] = self.left.get(unit.stage.backend_kind, 0) + 1
        self.failed: set[tuple[str, str, str]] = set()  # (episode, stage, job id) that failed or were skipped
        self.started_stage: dict[str, float] = {}
        self.ended_stage: dict[str, float] = {}
        # the same per episode: `render --all` said every episode's stages took the whole run's times
        self.started_ep: dict[tuple[str, str], float] = {}
        self.ended_ep: dict[tuple[str, str], float] = {}
        self.counts: dict[str, list[int]] = {}
        self.t0 = time.perf_counter()
        self.last_save = 0.0
        self.ready: deque[tuple[str, str, str]] = deque()  # (episode, stage, id) of entries that just appeared
        self.gpu_queue: dict[str, deque] = {}  # backend kind -> (unit, job) waiting for a GPU
        self.devices: list = [None]
        self.device_kind: dict = {}  # the kind whose models each device holds
        self.device_load: dict = {}  # device -> jobs handed to it and not finished (at most DEPTH)
        self.device_locks: dict = {}  # device -> held while one of its jobs runs
        self.job_device: dict[int, str | None] = {}
        self.job_ready: dict[int, float] = {}  # when each job became ready to run (its queue wait starts)
        self.durations: dict[str, list[float]] = {}  # backend kind -> seconds of its finished GPU jobs
        # (stage, key) of every job queued or running -> the same jobs of other units (a series' shared cast sheets,
        # a line two episodes share): made once, handed to each when it lands
        self.twins: dict[tuple[str, str], list[tuple[Unit, Job]]] = {}
        # CPU jobs wait here, not in the pool's FIFO, until a worker is free: jobs without a cost (the small
        # upstream ones: voices, panels, clips) in the order they became ready, then the costed ones costliest first
        # (``Job.cost``: segments, the mix), so the workers end together instead of one idling while the other runs
        # a long job that started last
        self.cpu_ready: list[tuple[bool, float, int, Unit, Job]] = []
        self.cpu_order = itertools.count()  # ties keep the order jobs became ready in
        self.cpu_running = 0
        self.cpu_open = 0  # CPU jobs ready or running: what a job's share of the cores is decided from
        self.cpu_lock = threading.Lock()

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
        if unit.shot is not None:
            self.unoffered[stage.name] -= 1
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
            twins = self.twins.get((stage.name, job.key))
            if twins is not None:  # being made for another unit right now: this one takes it when it lands
                twins.append((unit, job))
                unit.open += 1
                continue
            self.twins[(stage.name, job.key)] = []
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
            if resource == "cpu":
                heapq.heappush(self.cpu_ready, (job.cost > 0, -job.cost, next(self.cpu_order), unit, job))
                with self.cpu_lock:
                    self.cpu_open += 1
                continue
            self._started(unit)
            futures[pools[resource].submit(self._produce, unit, job)] = (unit, job)
        if not unit.open:
            self._finish_unit(unit)
        return True

    def _grow(self, stage: str, total: int, to_run: int) -> None:
        count = self.counts.get(stage)
        if self.reporter is None:
            return
        pending = getattr(self.reporter, "stage_pending", None)
        if pending:
            pending(stage, self.unoffered.get(stage, 0))
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
        lock = self.device_locks.get(device) if self.resources[unit.stage.name] == "gpu" else None
        if lock is None:
            return self._produce_now(unit, job, device)
        # the device's next job is handed over early and waits here, not on the scheduler; it starts as soon as
        # this one's GPU work is done (``steps.gpu_done``: a clip's encoding overlaps the next clip's denoising)
        with _Hold(lock) as hold, steps.on_device(hold.release):
            return self._produce_now(unit, job, device)

    def _produce_now(self, unit: Unit, job: Job, device: str | None = None):
        started = time.perf_counter()
        stage = unit.stage
        progress = getattr(self.reporter, "job_progress", None)
        executor = self.executor if self.resources[stage.name] == "gpu" else self.local
        if executor is not self.local and not executor.runs_remotely(job):
            executor = self.local
        begun = getattr(self.reporter, "job_started", None)
        if begun:
            begun(stage.name, job, executor.where(device))
        cpu = self.resources[stage.name] == "cpu"
        try:
            with steps.reporting(functools.partial(progress, stage.name, job) if progress else None), \
                    steps.sharing(self._cores if cpu else None):
                entry = unit.ep.ctx.cache.produce(stage.name, job.key, job.material,
                                                  functools.partial(executor.make, job, device))
            return entry, started, time.perf_counter(), None
        except (DirectorError, OSError, ValueError, RuntimeError) as exc:
            return None, started, time.perf_counter(), exc
        finally:
            if cpu:
                with self.cpu_lock:
                    self.cpu_open -= 1
                # what a CPU job allocated here (a panel, a mix) goes back to the system, not to the heap; not
                # after a GPU job, which may still hold its device, nor after the small io jobs
                give_back_heap()

    def _feed_cpu(self, pools: dict, futures: dict) -> None:
        """Start ready CPU jobs while a worker is free (``cpu_ready``'s order)."""
        while self.cpu_ready and self.cpu_running < self.workers:
            *_, unit, job = heapq.heappop(self.cpu_ready)
            self.cpu_running += 1
            self._started(unit)
            futures[pools["cpu"].submit(self._produce, unit, job)] = (unit, job)

    def _started(self, unit: Unit) -> None:
        now = time.perf_counter()
        self.started_stage.setdefault(unit.stage.name, now)
        self.started_ep.setdefault((unit.ep.name, unit.stage.name), now)

    def _cores(self) -> int:
        """A CPU job's share of the cores now: all of them when it runs alone, one of ``workers`` equal shares when
        the pool is full (``steps.cores``)."""
        with self.cpu_lock:
            beside = max(1, min(self.cpu_open, self.workers))
        return max(1, usable_cores() // beside)

    # ------------------------------------------------------------------ finishing
    def _finish_unit(self, unit: Unit) -> None:
        if unit.done:
            return
        unit.done = True
        self.ended_stage[unit.stage.name] = self.ended_ep[(unit.ep.name, unit.stage.name)] = time.perf_counter()
        self.stage_left[(unit.ep.name, unit.stage.name)] -= 1
        kind = unit.stage.backend_kind
        if kind:
            self.left[kind] -= 1
        if kind and not self.left[kind]:
            self.executor.release(kind)  # no unit left needs these models: free the GPU for the next ones

    def _start_early(self, pools: dict, futures: dict) -> None:
        """Start the early work whose stages have no unit left (a stage not in this run counts as finished), on a
        thread of its own, once a core is free of CPU jobs: it never holds an io slot, and never takes a core from
        the jobs while they fill the machine (after a one-line edit the storyboard, ~0.3 s of drawing, ran beside the
        mix, the render's longest job, and the shot's encode; it waits for the encode to finish instead). A core,
        not a CPU slot: with one worker on a larger machine it draws beside the job. A core is free at the latest
        when the last CPU job ends."""
        if self.cpu_running >= usable_cores():
            return
        for item in [e for e in self.early if all(not self.stage_left.get((e[0].name, n)) for n in e[1])]:
            self.early.remove(item)
            futures[pools["early"].submit(item[2])] = (_EARLY, item[0])

    def _preload_on(self, preload, kind: str, device) -> None:
        with self.device_locks[device]:
            try:
                preload(kind, device)
            except Exception:  # noqa: BLE001 - a model that cannot load fails its first job, with the job's error
                pass

    def _collect(self, future: Future, futures: dict) -> None:
        unit, job = futures.pop(future)
        if unit is _EARLY:  # work beside the jobs (``ctx.early``) finished; ``job`` is its episode
            if future.exception() is not None:
                job.result.notes.append(f"early work failed: {future.exception()}")
            return
        if unit is None:  # a device finished loading models ahead of its jobs
            if job in self.device_load:
                self.device_load[job] -= 1
            return
        ep = unit.ep
        entry, started, ended, error = future.result()
        stage = unit.stage.name
        if self.resources[stage] == "cpu":
            self.cpu_running -= 1
        device = self.job_device.pop(id(job), None)
        if self.resources[stage] == "gpu" and device in self.device_load:
            self.device_load[device] -= 1
        timing = {"start": round(started - self.t0, 3), "end": round(ended - self.t0, 3),
                  "wait": round(started - self.job_ready.pop(id(job), started), 3), "resource": self.resources[stage]}
        if self.resources[stage] == "gpu":
            timing["device"] = device
            if error is None:
                self.durations.setdefault(unit.stage.backend_kind, []).append(ended - started)
        if isinstance(error, WorkerLost):
            lost = error.device
            if lost in self.devices:  # the first of its jobs to find out (the next one waits on its lock)
                self.executor.lose(lost)  # gone for good: its work goes to the devices that are left
                self.devices.remove(lost)
                self.device_kind.pop(lost, None)
                self.device_load.pop(lost, None)
                ep.result.notes.append(f"{error} -- its jobs went to the other workers")
            if self.devices:
                self.gpu_queue.setdefault(unit.stage.backend_kind, deque()).appendleft((unit, job))
                self.job_ready[id(job)] = time.perf_counter()
                return
        if error is not None:
            if isinstance(error, DirectorError) and not isinstance(error, StageFailed):
                raise error
            said = system_trouble(error) or str(error)  # a full disk: where, and what to do
            self.helpers.record(ep.result, stage, job, "failed", said, ended - started, timing)
        else:
            self.helpers.record(ep.result, stage, job, "ran", job.reason, ended - started,
                                {**self.helpers.info(entry), **timing})
            ep.result.notes.extend(entry.meta.get("notes", []))
            if self.reporter:
                self.reporter.job_done(stage, job, ended - started)
        for twin_unit, twin_job in [(unit, job)] + self.twins.pop((stage, job.key), []):
            self._settle(twin_unit, twin_job, entry, error, made=twin_job is job)
        if time.perf_counter() - self.last_save > 1.0:  # a kill loses at most a second of "why" records
            ep.state.save()
            self.last_save = time.perf_counter()

    def _settle(self, unit: Unit, job: Job, entry, error, made: bool) -> None:
        """A job's outcome in its unit: the entry it made (or its twin made for it), or the error that stopped it."""
        ep, stage = unit.ep, unit.stage.name
        if error is not None:
            self._fail(unit, job, system_trouble(error) or str(error), record=not made)
        else:
            ep.ctx.results.setdefault(stage, {})[job.id] = entry
            self.ready.append((ep.name, stage, job.id))
            ep.state.remember(stage, job.id, job.key, job.material)
            if not made:
                self.helpers.record(ep.result, stage, job, "cached", info=self.helpers.info(entry))
        unit.open -= 1
        if unit.open == 0:
            self._finish_unit(unit)

    def _fail(self, unit: Unit, job: Job, why: str, record: bool = True) -> None:
        self.failed.add((unit.ep.name, unit.stage.name, job.id))
        unit.ep.result.failed.append(f"{unit.stage.name} {job.id}: {why}")
        if record:
            self.helpers.record(unit.ep.result, unit.stage.name, job, "failed", why)

    # ------------------------------------------------------------------ devices
    def _remaining(self) -> dict[str, int]:
        """GPU model kind -> its units not finished yet (queued, running, or still waiting on inputs)."""
        gpu = {s.backend_kind for s in self.stages if s.backend_kind and self.resources[s.name] == "gpu"}
        return {k: n for k, n in self.left.items() if n and k in gpu}

    def _costs(self, kinds) -> dict[str, float]:
        """Seconds per job of each kind: measured (median of finished jobs) once every kind has run some, else
        each backend's own estimate (``job_seconds``) when all have one, else equal."""
        def median(xs: list[float]) -> float:
            return sorted(xs)[len(xs) // 2]

        if all(self.durations.get(k) for k in kinds):
            return {k: median(self.durations[k]) for k in kinds}
        hints = {k: self.ctx.backends[k].job_seconds() if k in self.ctx.backends else None for k in kinds}
        if all(hints.values()):
            return hints
        return dict.fromkeys(kinds, 1.0)

    def _choose(self, device, queued: list[str]) -> str | None:
        """The kind an idle device loads next: the one with the most work left per device holding it, counting this
        one (devices split between kinds in proportion to their work, so each loads as few models as it can:
        with 8 devices a 3.2 s keyframe and a 5.3 s clip per shot make 3 keyframe and 5 clip devices). A kind
        with nothing queued yet (clips waiting on keyframes) is taken only while another device works a queued
        kind, so nothing ever waits on a device that waits."""
        order = {s.backend_kind: i for i, s in reversed(list(enumerate(self.stages)))}
        others = [k for d, k in self.device_kind.items() if d != device and k is not None]
        remaining = self._remaining()
        costs = self._costs(sorted(set(remaining) | set(queued)))
        # jobs per second the devices on queued kinds make: a kind waiting on them gets no more devices than
        # they can feed (with 8 devices, 3 keyframe devices feed 5 clip devices; with 4, 2 feed 2)
        feeding = sum(others.count(q) / costs[q] for q in queued)
        candidates = [k for k in remaining if k in queued or feeding >= 0.95 * (others.count(k) + 1) / costs[k]]
        candidates = candidates or queued
        if not candidates:
            return None
        return max(candidates, key=lambda k: (remaining.get(k, 1) * costs[k] / (others.count(k) + 1),
                                              k in queued, -order.get(k, 99)))

    def _dispatch_gpu(self, pools: dict, futures: dict, others_running: bool) -> None:
        """Feed every idle device: jobs of the kind it holds first (affinity: no reload); a device switches kinds
        only when its kind has nothing queued and either all its units are done (release it there) or nothing
        else can move; a device holds one kind's models at a time."""
        for depth in range(1, DEPTH + 1):  # every idle device gets a job before a busy one is handed its next
            for device in self.devices:
                while self.device_load.get(device, DEPTH) < depth:
                    if not self._dispatch_one(device, pools, futures, others_running):
                        break

    def _dispatch_one(self, device, pools: dict, futures: dict, others_running: bool) -> bool:
        """Hand ``device`` its next job (or start loading the models of the kind it takes next); False when
        there is nothing for it now."""
        current = self.device_kind[device]
        if current is not None and self.gpu_queue.get(current):
            queue = self.gpu_queue[current]
            if self.device_load[device] and len(queue) < sum(k == current for k in self.device_kind.values()):
                return False  # handed ahead, it would wait here while another device holding the kind runs dry
        elif self.device_load[device]:
            return False  # a change of kind waits until the device has finished what it holds
        else:
            waiting = [k for k, q in self.gpu_queue.items() if q]
            busy_elsewhere = any(self.device_load.values())
            if current is not None:
                if not waiting:
                    return False
                current_done = not self.left.get(current)
                if not current_done and (others_running or busy_elsewhere):
                    return False  # its next jobs are on their way (voices, timing): keep its models
            chosen = self._choose(device, waiting)
            if chosen is None:
                return False
            if current is not None and chosen != current:
                holders = sum(1 for d, k in self.device_kind.items() if k == chosen and d != device)
                if len(self.gpu_queue.get(chosen, ())) <= holders and busy_elsewhere:
                    return False  # the devices holding it take these next: cheaper than loading its models here
                self.executor.release(current, device)  # another model loads here next: never two at once
                self.device_kind[device] = None
            self.device_kind[device] = chosen
            queue = self.gpu_queue.get(chosen)
            if not queue:  # its first inputs are being made on another device: load its models meanwhile
                preload = getattr(self.executor, "preload", None)
                if preload is not None:
                    self.device_load[device] += 1
                    futures[pools["gpu"].submit(self._preload_on, preload, chosen, device)] = (None, device)
                return False
        unit, job = queue.popleft()
        self.device_load[device] += 1
        self.job_device[id(job)] = device
        self._started(unit)
        futures[pools["gpu"].submit(self._produce, unit, job, device)] = (unit, job)
        return True

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

        one_heap()  # before any pool's thread exists

        local_devices = gpu_devices(self.ctx) if "gpu" in self.resources.values() else [None]
        self.local = LocalExecutor(self.ctx, local_devices)
        self.executor = (executor_for(self.ctx, local_devices, self.executor_kind)
                         if "gpu" in self.resources.values() else self.local)
        self.devices = self.executor.devices()
        self.device_kind = {d: None for d in self.devices}
        self.device_load = {d: 0 for d in self.devices}
        self.device_locks = {d: threading.Lock() for d in self.devices}
        try:
            self._run()
        finally:
            if self.executor is not self.local:
                self.executor.close()

    def _run(self) -> None:
        gpu = ThreadPoolExecutor(max_workers=len(self.devices) * DEPTH, thread_name_prefix="director-gpu")
        cpu = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="director-cpu")
        io = ThreadPoolExecutor(max_workers=2, thread_name_prefix="director-io")
        early = ThreadPoolExecutor(max_workers=1, thread_name_prefix="director-early")
        pools = {"gpu": gpu, "cpu": cpu, "io": io, "early": early}
        futures = _Futures()  # submitted jobs; finished ones arrive on its queue (O(1) per completion)
        waiting: dict[tuple[str, str], list[Unit]] = {}

        def attempt(unit: Unit) -> None:
            if not self.offer(unit, pools, futures):
                waiting.setdefault(unit.waits_on, []).append(unit)

        try:
            for unit in self.units:
                attempt(unit)
                if self.resources[unit.stage.name] == "gpu":  # the first jobs start while the rest are offered
                    self._dispatch_gpu(pools, futures, others_running=True)
                self._feed_cpu(pools, futures)
            while True:
                while self.ready:
                    for unit in waiting.pop(self.ready.popleft(), []):
                        attempt(unit)
                self._feed_cpu(pools, futures)
                self._start_early(pools, futures)
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
        for waiting_jobs in self.gpu_queue.values():  # left when every device was lost (and their twins)
            while waiting_jobs:
                unit, job = waiting_jobs.popleft()
                for twin_unit, twin_job in [(unit, job)] + self.twins.pop((unit.stage.name, job.key), []):
                    self._fail(twin_unit, twin_job, "no worker left to run it")
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
                if len(self.episodes) == 1:
                    ep.result.stage_seconds[stage.name] = seconds
                    continue
                key = (ep.name, stage.name)
                start = self.started_ep.get(key, self.ended_ep.get(key))
                ep.result.stage_seconds[stage.name] = round(self.ended_ep.get(key, start) - start, 3) \
                    if start is not None else 0.0
            if self.reporter and stage.name in self.counts:
                self.reporter.stage_done(stage.name)
