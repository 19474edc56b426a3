"""The Ray executor on a real local multi-node Ray cluster (ray.cluster_utils.Cluster, on this machine).

Two worker nodes each offer one ``director_gpu`` (a custom resource standing in for a GPU); the head
offers none, so every model job runs on a worker node's actor. Tiny random-weight diffusers models
make keyframes and clips; voices, music, timing and the mix stay in the driver.
"""
from __future__ import annotations

import json
import os
import signal
import threading
import time

import numpy as np
import pytest
import yaml

from director.media.probe import video_frame
from director.project import Project
from director.runtime.render import render
from tests.conftest import make_project

pytestmark = pytest.mark.ray_cluster  # opt-in: make test-ray (about a minute)
ray = pytest.importorskip("ray")
pytest.importorskip("diffusers")
RESOURCE = "director_gpu"


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})  # nodes on this machine's own address
    for _ in range(2):
        c.add_node(num_cpus=1, resources={RESOURCE: 1})
    c.wait_for_nodes()
    yield c
    if ray.is_initialized():
        ray.shutdown()
    c.shutdown()


def _project(tmp_path, tiny, executor: dict | None, steps: int = 2):
    project = make_project(tmp_path, size=(72, 128))
    cfg = yaml.safe_load((project / "director.yaml").read_text())
    cfg["backends"] = {
        "keyframes": {"backend": "qwen-image-edit", "model": str(tiny("qwen_image_edit_plus")), "steps": 2,
                      "resolution": 32, "reference_side": 32, "condition_side": 28, "device": "cpu",
                      "scorer": str(tiny("clip_scorer"))},
        "video": {"backend": "wan-i2v", "model": str(tiny("wan_ti2v")), "steps": steps, "resolution": 64,
                  "device": "cpu"}}
    if executor:
        cfg["executor"] = executor
    (project / "director.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return project


def _record(project):
    return json.loads((project / "out" / "screenplay" / "run.json").read_text())


def _keys(record, stages=("keyframes", "clips", "voice", "timing", "mix", "assemble")):
    return {(j["stage"], j["id"]): j["key"] for j in record["jobs"] if j["stage"] in stages}


@pytest.mark.timeout(240)
def test_ray_renders_the_same_artifacts_as_local(cluster, tiny, tmp_path):
    local = _project(tmp_path / "local", tiny, None)
    render(Project.find(local))
    remote = _project(tmp_path / "ray", tiny, {"kind": "ray", "address": cluster.address, "resource": RESOURCE})
    render(Project.find(remote))
    a, b = _record(local), _record(remote)
    assert _keys(a) == _keys(b)  # the same cache keys ...
    model_jobs = [j for j in b["jobs"] if j["stage"] in ("keyframes", "clips", "refs") and j["status"] == "ran"]
    assert model_jobs and all(j["info"]["device"].startswith("ray:") for j in model_jobs)
    assert len({j["info"]["device"] for j in model_jobs}) == 2  # both worker nodes' actors took jobs
    loads = [(e["kind"], e["device"]) for e in b["models"] if e["event"] == "load" and e["device"]]
    assert len(loads) == len(set(loads)), loads  # each actor loaded each model at most once
    assert all(e["worker"] != os.getpid() for e in b["models"] if e.get("worker"))  # in the actors' processes
    # ... and the same pictures: the keyframes' pixels and the episode's frames (x264 is not bit-exact run to run)
    from PIL import Image
    for shot in (j["id"] for j in a["jobs"] if j["stage"] == "keyframes"):
        pa = _entry_file(local, "keyframes", _keys(a)[("keyframes", shot)], "keyframe.png")
        pb = _entry_file(remote, "keyframes", _keys(b)[("keyframes", shot)], "keyframe.png")
        assert np.array_equal(np.asarray(Image.open(pa)), np.asarray(Image.open(pb)))
    fa = video_frame(local / "out" / "screenplay" / "episode.mp4", 0.5)
    fb = video_frame(remote / "out" / "screenplay" / "episode.mp4", 0.5)
    assert np.abs(np.asarray(fa, float) - np.asarray(fb, float)).mean() < 2.0


def _entry_file(project, stage, key, name):
    return project / ".director" / "cache" / stage / key[:2] / key / name


@pytest.mark.timeout(240)
def test_a_worker_killed_mid_job_is_restarted_and_nothing_finished_is_redone(cluster, tiny, tmp_path):
    """SIGKILL the actor process running the second clip, while it runs: Ray restarts the actor and retries that
    job; every other job ran exactly once, and the episode is complete."""
    project = _project(tmp_path, tiny, {"kind": "ray", "address": cluster.address, "resource": RESOURCE,
                                        "retries": 2}, steps=12)
    killed: dict = {}

    class Killer:
        clips = 0

        def stage_started(self, *a): ...
        def stage_done(self, *a): ...
        def job_done(self, *a): ...

        def job_started(self, stage, job, where):
            if stage != "clips":
                return
            Killer.clips += 1
            if Killer.clips == 2 and where.get("pid"):
                def kill():
                    time.sleep(0.8)  # the job is on the actor by now (a 12-step tiny clip takes seconds)
                    os.kill(where["pid"], signal.SIGKILL)
                    killed.update(where)
                threading.Thread(target=kill, daemon=True).start()

    outcome = render(Project.find(project), reporter=Killer())
    assert killed, "the kill never happened"
    assert not outcome.result.failed, outcome.result.failed
    record = _record(project)
    ran = [(j["stage"], j["id"]) for j in record["jobs"] if j["status"] == "ran"]
    assert len(ran) == len(set(ran))  # nothing redone: each job ran once (the killed one was retried inside Ray)
    assert all(j["status"] in ("ran", "cached") for j in record["jobs"])
    clip_loads = [e for e in record["models"] if e["event"] == "load" and e["kind"] == "video"
                  and e["device"] == killed["device"]]
    assert clip_loads and clip_loads[-1]["worker"] != killed["pid"]  # the restarted actor (a new process) reloaded
    assert (project / "out" / "screenplay" / "episode.mp4").stat().st_size > 0
    again = render(Project.find(project), reporter=None)
    assert again.result.count("ran") == 0  # and everything it made is in the cache


@pytest.mark.timeout(240)
def test_a_worker_lost_for_good_hands_its_jobs_to_the_others(cluster, tiny, tmp_path):
    """retries: 0 -- the killed worker is not restarted: its device leaves the run, its job and the rest of the
    queue go to the worker that is left, and the episode completes."""
    project = _project(tmp_path, tiny, {"kind": "ray", "address": cluster.address, "resource": RESOURCE,
                                        "retries": 0}, steps=12)
    killed: dict = {}

    class Killer:
        def stage_started(self, *a): ...
        def stage_done(self, *a): ...
        def job_done(self, *a): ...

        def job_started(self, stage, job, where):
            if stage == "clips" and not killed and where.get("pid"):
                killed.update(where)
                threading.Thread(target=lambda: (time.sleep(0.8), os.kill(where["pid"], signal.SIGKILL)),
                                 daemon=True).start()

    outcome = render(Project.find(project), reporter=Killer())
    assert killed and not outcome.result.failed, outcome.result.failed
    assert any("its jobs went to the other workers" in n for n in outcome.result.notes), outcome.result.notes
    record = _record(project)
    clips = [j for j in record["jobs"] if j["stage"] == "clips" and j["status"] == "ran"]
    assert {j["info"]["device"] for j in clips} == ({"ray:0", "ray:1"} - {killed["device"]})


def test_a_cluster_that_cannot_be_joined_is_a_clear_error(tmp_path, tiny):
    from tests.conftest import director

    project = _project(tmp_path, tiny, {"kind": "ray", "address": "no-such-host:1", "resource": RESOURCE})
    out = director("-p", str(project), "render")
    assert out.returncode == 3 and "cannot join the Ray cluster" in out.stderr and "Traceback" not in out.stderr
