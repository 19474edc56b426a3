"""The scheduler's dispatch rules, on the synthetic stages of ``bench schedule`` (jobs that sleep)."""
from __future__ import annotations

import time
from collections import deque
from pathlib import Path
from types import SimpleNamespace

import pytest

import bench.schedule as sim
from director.runtime import scheduler


def _scheduler(tmp_path: Path, monkeypatch, episodes: int, shots: int, devices: int,
               stages: list | None = None, early=None) -> scheduler.Scheduler:
    """``early``: a function of the episode giving its ``ctx.early``."""
    monkeypatch.setattr(sim, "SCALE", 1e-4)
    monkeypatch.setattr(scheduler, "resource_of", lambda ctx, stage, remote=False: getattr(stage, "resource", "") or (
        "gpu" if stage.backend_kind else "cpu"))
    state = SimpleNamespace(remember=lambda *a: None, previous=lambda *a: None, save=lambda: None)
    cache = SimpleNamespace(lookup=lambda stage, key: None,
                            produce=lambda stage, key, material, make: SimpleNamespace(meta=make(tmp_path) or {},
                                                                                      key=key))
    backends = {"keyframes": sim.Kind("keyframes", "cuda"), "video": sim.Kind("video", "cuda")}
    config = SimpleNamespace(devices=[f"sim:{i}" for i in range(devices)], executor=SimpleNamespace(kind="local"))
    built: dict = {}
    eps = []
    for e in range(episodes):
        ctx = sim.FakeCtx(f"ep{e}", [SimpleNamespace(id=f"s{i}", beats=[]) for i in range(shots)], backends, cache,
                          config, built)
        eps.append(scheduler.Episode(ctx, state, SimpleNamespace(records=[], failed=[], notes=[], stage_seconds={})))
        ctx.early = early(eps[-1]) if early else []
    return scheduler.Scheduler(eps, None, 2, stages or sim.stages(), sim.Helpers)


def test_the_first_gpu_jobs_start_while_the_rest_of_the_units_are_offered(tmp_path, monkeypatch):
    sched = _scheduler(tmp_path, monkeypatch, episodes=4, shots=30, devices=2)
    offered: list[float] = []
    real = scheduler.Scheduler.offer

    def offer(self, unit, pools, futures):
        if not offered or not unit.offered:
            time.sleep(2e-4)  # offering is slow (cache lookups, keys): the devices must not wait for all of it
        offered.append(time.perf_counter() - self.t0)
        return real(self, unit, pools, futures)

    monkeypatch.setattr(scheduler.Scheduler, "offer", offer)
    sched.run()
    starts = [info["start"] for ep in sched.episodes for stage, _, status, info in ep.result.records
              if status == "ran" and info.get("resource") == "gpu"]
    assert len(starts) == 4 * 30 * 2
    first_pass_ends = offered[len(sched.units) - 1]
    assert min(starts) < first_pass_ends / 2, (min(starts), first_pass_ends)


def test_a_job_is_not_handed_ahead_to_a_busy_device_while_another_holding_its_kind_runs_dry(tmp_path, monkeypatch):
    sched = _scheduler(tmp_path, monkeypatch, episodes=1, shots=3, devices=2)
    sched.devices = ["a", "b"]
    sched.device_kind = {"a": "video", "b": "video"}
    sched.device_load = {"a": 1, "b": 1}
    sched.executor = SimpleNamespace(release=lambda *a: None)
    handed: list = []
    pools = {"gpu": SimpleNamespace(submit=lambda fn, unit, job, device: handed.append((job, device)) or object())}
    unit = SimpleNamespace(stage=SimpleNamespace(name="clips"), ep=SimpleNamespace(name="ep"))
    queue = sched.gpu_queue.setdefault("video", deque([(unit, SimpleNamespace(name="clip-1"))]))

    sched._dispatch_gpu(pools, {}, others_running=True)
    assert handed == [] and len(queue) == 1  # both busy, one job: it goes to whichever device frees first

    sched.device_load["b"] = 0  # b finished its job
    sched._dispatch_gpu(pools, {}, others_running=True)
    assert [device for _, device in handed] == ["b"]

    queue.extend((unit, SimpleNamespace(name=f"clip-{i}")) for i in (2, 3, 4))
    sched.device_load = {"a": 1, "b": 1}
    sched._dispatch_gpu(pools, {}, others_running=True)  # more than the holders: each is handed its next job
    assert sorted(device for _, device in handed[1:]) == ["a", "b"] and len(queue) == 1


@pytest.mark.parametrize("devices", [1, 3])
def test_every_job_runs_once_on_the_devices_that_hold_its_model(tmp_path, monkeypatch, devices):
    sched = _scheduler(tmp_path, monkeypatch, episodes=3, shots=7, devices=devices)
    sched.run()
    ran = [(ep.name, stage, job) for ep in sched.episodes for stage, job, status, _ in ep.result.records
           if status == "ran"]
    assert len(ran) == len(set(ran)) == 3 * 7 * 4
    held = {}
    for ep in sched.episodes:
        for stage, _, _, info in ep.result.records:
            if info.get("resource") == "gpu":
                held.setdefault(info["device"], set()).add(stage)
    assert set(held) <= {f"sim:{i}" for i in range(devices)}


@pytest.mark.parametrize("done_early", [True, False])
def test_a_device_starts_its_next_job_once_the_last_ones_gpu_work_is_done(tmp_path, monkeypatch, done_early):
    """A clip's encoding (CPU) overlaps the next clip's denoising on the same device, never two denoisings."""
    from director.stages.base import Job, Stage
    from director.store import steps

    class Clips(Stage):
        name, backend_kind = "clips", "video"

        def jobs(self, ctx):
            for shot in ctx.shots:
                def run(out, ctx=ctx):
                    ctx.backend("video")
                    time.sleep(0.06)  # denoising
                    if done_early:
                        steps.gpu_done()
                    time.sleep(0.06)  # fitting and encoding
                    return {}
                yield Job(self.name, shot.id, {"id": shot.id}, run, shot=shot.id, label=shot.id)

    sched = _scheduler(tmp_path, monkeypatch, episodes=1, shots=4, devices=1, stages=[Clips()])
    sched.run()
    spans = sorted((info["start"], info["end"]) for ep in sched.episodes for _, _, status, info in ep.result.records
                   if status == "ran")
    assert len(spans) == 4
    pairs = list(zip(spans, spans[1:]))
    assert all(b_start - a_start >= 0.055 for (a_start, _), (b_start, _) in pairs)  # one denoising at a time
    overlapped = [b_start < a_end - 0.02 for (_, a_end), (b_start, _) in pairs]
    assert all(overlapped) if done_early else not any(overlapped)


@pytest.mark.parametrize("outcome", ["lost", "failed", "made"])
def test_a_job_two_episodes_share_runs_once_and_its_outcome_reaches_both(tmp_path, monkeypatch, outcome):
    """Twins: the same (stage, key) in two episodes is made once; a failure, or every worker lost, fails both."""
    from director.errors import StageFailed
    from director.runtime.executors import WorkerLost
    from director.stages.base import Job, Stage

    made: list[str] = []

    class Clips(Stage):
        name, backend_kind = "clips", "video"

        def jobs(self, ctx):
            for shot in ctx.shots:
                def run(out, ctx=ctx, shot=shot):
                    ctx.backend("video")
                    made.append(shot.id)
                    time.sleep(0.02)
                    if outcome == "lost":
                        raise WorkerLost("sim:0", "the worker died")
                    if outcome == "failed":
                        raise StageFailed("boom")
                    return {}
                yield Job(self.name, shot.id, {"id": shot.id}, run, shot=shot.id, label=shot.id)

    sched = _scheduler(tmp_path, monkeypatch, episodes=2, shots=3, devices=1, stages=[Clips()])
    sched.run()
    statuses = {(ep.name, job): status for ep in sched.episodes for _, job, status, _ in ep.result.records}
    assert set(statuses) == {(f"ep{e}", f"s{i}") for e in range(2) for i in range(3)}  # every job has an outcome
    assert all(u.done or outcome == "lost" for u in sched.units) and not sched.twins
    if outcome == "made":
        assert sorted(made) == ["s0", "s1", "s2"]  # once each, not once per episode
        assert sorted(statuses.values()).count("cached") == 3
    else:
        assert set(statuses.values()) == {"failed"}


def test_ready_cpu_jobs_start_uncosted_first_then_costliest_and_a_lone_job_gets_every_core(tmp_path, monkeypatch):
    """Two CPU workers: small uncosted jobs (voices, panels) in the order they became ready, then the costed long
    ones (segments, the mix) costliest first, so the workers end together; and ``steps.cores`` gives a job one
    share of the cores while others wait or run beside it, every core when it runs alone."""
    from director.stages.base import Job, Stage
    from director.store import steps

    monkeypatch.setattr(scheduler, "usable_cores", lambda: 4)
    started: list[str] = []  # in the order the scheduler hands them to the pool (its own thread)
    real_pop = scheduler.heapq.heappop
    monkeypatch.setattr(scheduler.heapq, "heappop",
                        lambda heap: (item := real_pop(heap), started.append(item[-1].id))[0])
    shares: dict[str, int] = {}

    def job(ident: str, cost: float, seconds: float) -> Job:
        def run(out):
            shares[ident] = steps.cores()
            time.sleep(seconds)
            return {}
        made = Job("work", ident, {"id": ident}, run, label=ident)
        made.cost = cost
        return made

    class Work(Stage):
        name, unit = "work", "episode"

        def jobs(self, ctx):
            yield job("first", 0.0, 0.05)  # holds both workers for a while, so everything below is queued at once
            yield job("second", 0.0, 0.05)
            for ident, cost in (("short", 0.2), ("small", 0.0), ("long", 0.9), ("middle", 0.5), ("tiny", 0.0)):
                yield job(ident, cost, 0.01)

    class After(Stage):  # offered once "work" is done, so "alone" runs with nothing beside it
        name, unit = "after", "episode"

        def jobs(self, ctx):
            for ident in ("first", "second", "short", "small", "long", "middle", "tiny"):
                ctx.entry("work", ident)
            yield job("alone", 0.0, 0.01)

    sched = _scheduler(tmp_path, monkeypatch, episodes=1, shots=1, devices=1, stages=[Work(), After()])
    sched.run()
    assert started[:2] == ["first", "second"]
    assert started[2:7] == ["small", "tiny", "long", "middle", "short"], started
    assert shares["first"] == 2 and shares["long"] == 2  # four cores, two workers, both busy or queued
    assert shares["alone"] == 4


def test_early_work_starts_once_when_its_stages_are_finished_while_later_jobs_still_run(tmp_path, monkeypatch):
    """``ctx.early`` (the storyboard): run once, on a thread of its own, as soon as every unit of its stages is done
    -- not after the last job; an episode's early work sees only its own stages; its error is a note."""
    calls: list[tuple[str, int, int]] = []

    def early(ep):
        def fn():
            calls.append((ep.name, len(ep.ctx.results.get("keyframes", {})), len(sim.DONE)))
            if ep.name == "ep1":
                raise OSError("disk full")
        return [(("keyframes", "voice"), fn)]

    sched = _scheduler(tmp_path, monkeypatch, episodes=2, shots=6, devices=1, early=early)
    monkeypatch.setattr(sim, "SCALE", 2e-3)  # clips take long enough to still be running
    sim.DONE.clear()
    sched.run()
    assert sorted(name for name, _, _ in calls) == ["ep0", "ep1"]  # once per episode
    assert all(made == 6 for _, made, _ in calls)  # after its stages: every keyframe of that episode
    assert min(clips for _, _, clips in calls) < 12  # before the last clip of the run
    assert sched.episodes[1].result.notes == ["early work failed: disk full"] and not sched.episodes[0].result.notes
    with pytest.raises(ValueError, match="keyframe"):  # a misspelt stage would start it at once
        _scheduler(tmp_path, monkeypatch, 1, 1, 1, early=lambda ep: [(("keyframe",), lambda: None)])


def test_early_work_waits_for_a_free_core_and_never_for_the_last_job(tmp_path, monkeypatch):
    """The storyboard takes no core from the jobs while they fill every core (after an edit: the mix and the shot's
    encode): it starts when the first of them ends, not after the last one."""
    from director.stages.base import Job, Stage

    times: dict[str, float] = {}

    def job(ident: str, seconds: float) -> Job:
        def run(out):
            time.sleep(seconds)
            times[ident] = time.perf_counter()
            return {}
        return Job("segments", ident, {"id": ident}, run, label=ident)

    class Refs(Stage):
        name, unit = "refs", "episode"

        def jobs(self, ctx):
            yield Job("refs", "sheet", {"id": "sheet"}, lambda out: {}, label="sheet")

    class Segments(Stage):  # offered once the sheet is made: both workers busy, one for longer
        name, unit = "segments", "episode"

        def jobs(self, ctx):
            ctx.entry("refs", "sheet")
            yield job("short", 0.15)
            yield job("long", 0.6)

    def early(ep):
        return [(("refs",), lambda: times.setdefault("early", time.perf_counter()))]

    monkeypatch.setattr(scheduler, "usable_cores", lambda: 2)  # two workers on two cores, as on a small machine
    sched = _scheduler(tmp_path, monkeypatch, episodes=1, shots=1, devices=1, stages=[Refs(), Segments()], early=early)
    sched.run()
    assert times["short"] <= times["early"] < times["long"], times
    # one worker on a larger machine: a core is free beside the running job, so it starts at once
    times.clear()
    monkeypatch.setattr(scheduler, "usable_cores", lambda: 4)
    sched = _scheduler(tmp_path, monkeypatch, episodes=1, shots=1, devices=1, stages=[Refs(), Segments()], early=early)
    sched.workers = 1
    sched.run()
    assert times["early"] < times["short"], times
