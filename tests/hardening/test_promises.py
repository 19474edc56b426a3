"""Item 9: the smaller promises (planner resolution, hand edits, Ctrl-C, file modes, clean, mix, hints, logs)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml

from director.cli.main import run
from tests.conftest import ROOT, director, make_project, planned_with_a_hand_edit
from tests.hardening.helpers import assert_clean_failure
from tests.llm_server import ScriptedLLM
from tests.plan.test_llm import KEY, good_answer


@pytest.fixture
def llm_project(tmp_path, monkeypatch):
    path = make_project(tmp_path, ROOT / "projects/demo", size=(108, 192))
    cfg = yaml.safe_load((path / "director.yaml").read_text())
    # the answers good_answer scripts are whole shot lists (llm.answer: shots): a failed answer is not cached,
    # so these promises are kept with answers the planner takes
    cfg.update({"planner": {"backend": "llm"}, "llm": {"backoff": 0.01, "timeout": 5, "max_retries": 1,
                                                       "review": False, "answer": "shots"}})
    (path / "director.yaml").write_text(yaml.safe_dump(cfg))
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("DIRECTOR_LLM_MODEL", "test-model")
    return path


def _sp(project):
    from director.screenplay import load_screenplay
    return load_screenplay(project / "screenplay.yaml").screenplay


def test_render_plans_with_the_planner_director_yaml_names(llm_project, monkeypatch, capsys):
    with ScriptedLLM(good_answer(_sp(llm_project))) as llm:
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        code = run(["-p", str(llm_project), "render", "--until", "timing"])
        err = capsys.readouterr().err
        assert code == 0, err
        assert llm.calls(), "render re-planned without asking the LLM"
        assert "no OPENAI_API_KEY" not in err
    assert yaml.safe_load((llm_project / "shots/screenplay.yaml").read_text())["planner"] == "llm"


def test_clean_keeps_the_llm_answers_the_current_plan_used(llm_project, monkeypatch, capsys):
    with ScriptedLLM(good_answer(_sp(llm_project))) as llm:
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        assert run(["-p", str(llm_project), "plan"]) == 0
        calls = len(llm.calls())
        assert run(["-p", str(llm_project), "clean"]) == 0
        (llm_project / "shots/screenplay.yaml").unlink()
        assert run(["-p", str(llm_project), "--json", "plan"]) == 0
        assert len(llm.calls()) == calls, "clean deleted the answers, so re-planning paid for the calls again"
        assert run(["-p", str(llm_project), "clean", "--everything"]) == 0
    capsys.readouterr()


def _hand_edited_then_replanned(tmp_path):
    """A planned project whose first shot's prompt was edited by hand, then a line and the place that prompt
    describes changed (the re-plan writes that prompt again: the edit cannot stay): (project, that shot's id, the
    screenplay's path)."""
    project, _, data = planned_with_a_hand_edit(tmp_path)
    sp_path = project / "screenplay.yaml"
    sp_path.write_text(sp_path.read_text().replace("Only since Tuesday.", "Only since Monday.")
                       .replace("wet city street under neon signs", "dry city street under neon signs"))
    return project, data["shots"][0]["id"], sp_path


def test_a_re_plan_keeps_the_fields_edited_by_hand_that_it_would_not_change(tmp_path):
    """The studio audit: a move and a transition set in the studio were gone after any change to the screenplay
    (a re-plan gave every unlocked shot the planner's values back, with a note in the log strip)."""
    project, shots_file, data = planned_with_a_hand_edit(tmp_path)
    last = data["shots"][-1]
    director("-p", str(project), "shot", "set", last["id"], "move=crane-up", "transition=fade", check=True)
    sp_path = project / "screenplay.yaml"
    sp_path.write_text(sp_path.read_text().replace("Only since Tuesday.", "Only since Monday, and Tuesday."))
    proc = director("-p", str(project), "plan", check=True)
    assert "edited by hand" not in proc.stderr, proc.stderr
    now = {s["id"]: s for s in yaml.safe_load(shots_file.read_text())["shots"]}
    assert now[last["id"]]["move"] == "crane-up" and now[last["id"]]["transition"] == "fade"
    assert now[data["shots"][0]["id"]]["prompt"] == "MY CAREFUL HAND-WRITTEN PROMPT"
    assert not (project / ".director/backups").exists()
    # plan --fresh plans them all again, keeping a copy
    proc = director("-p", str(project), "plan", "--fresh", check=True)
    assert "edited by hand" in proc.stderr and last["id"] in proc.stderr, proc.stderr
    assert yaml.safe_load(shots_file.read_text())["shots"][-1]["move"] != "crane-up"


def test_plan_keeps_hand_edits_without_asking_the_llm_again(llm_project, monkeypatch, capsys):
    """`plan` over a hand-edited list ran the planner (an LLM's calls where its answers are not cached) and then
    threw its shots away to keep the list."""
    import shutil

    with ScriptedLLM(good_answer(_sp(llm_project))) as llm:
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        assert run(["-p", str(llm_project), "plan"]) == 0
        asked = len(llm.calls())
        shots_file = llm_project / "shots/screenplay.yaml"
        data = yaml.safe_load(shots_file.read_text())
        data["shots"][0]["prompt"] = "MY CAREFUL HAND-WRITTEN PROMPT"
        shots_file.write_text(yaml.safe_dump(data, sort_keys=False))
        shutil.rmtree(llm_project / ".director/cache/llm")  # answers not cached: a re-plan would ask again
        capsys.readouterr()
        assert run(["-p", str(llm_project), "plan"]) == 0
        assert "kept the shot list as it is" in capsys.readouterr().err
        assert len(llm.calls()) == asked
    assert "MY CAREFUL HAND-WRITTEN PROMPT" in shots_file.read_text()


def test_a_hand_edit_stays_with_its_beats_when_a_re_plan_renumbers_the_shots(tmp_path):
    """The review: ids are places in a scene (one-03), so a line added above Bo's gave one-03 to Ana's line, and the
    merge put Bo's transition and talking=false on her close-up (she spoke with her lips still), without a note."""
    project = make_project(tmp_path)
    director("-p", str(project), "plan", check=True)
    shots_file = project / "shots/screenplay.yaml"
    bo = next(s for s in yaml.safe_load(shots_file.read_text())["shots"] if s["beats"] == ["one/3"])
    director("-p", str(project), "shot", "set", bo["id"], "transition=fade", "talking=false", check=True)
    sp_path = project / "screenplay.yaml"
    data = yaml.safe_load(sp_path.read_text())
    data["scenes"][0]["beats"].insert(1, {"action": "Ana turns."})
    sp_path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    proc = director("-p", str(project), "plan", check=True)
    now = yaml.safe_load(shots_file.read_text())["shots"]
    ana = next(s for s in now if s["beats"] == ["one/3"])
    assert ana["transition"] != "fade" and ana.get("talking") is not False, ana
    # and the edit follows Bo's line to its new ref (the sixteenth round: it was dropped as "replaced", backed up)
    bo_now = next(s for s in now if s["beats"] == ["one/4"])
    assert bo_now["transition"] == "fade" and bo_now.get("talking") is False, bo_now
    assert "edited by hand" not in proc.stderr, proc.stderr


def test_replanning_over_hand_edits_warns_and_keeps_a_copy(tmp_path):
    project, first, sp_path = _hand_edited_then_replanned(tmp_path)
    ahead = director("-p", str(project), "status", check=True)  # said before the render does it
    assert f"the re-plan will replace shot(s) {first}, edited by hand" in ahead.stdout + ahead.stderr, ahead.stderr
    proc = director("-p", str(project), "plan", check=True)
    assert first in proc.stderr and "edited by hand" in proc.stderr
    backups = list((project / ".director/backups").glob("*.yaml"))
    assert len(backups) == 1 and "MY CAREFUL HAND-WRITTEN PROMPT" in backups[0].read_text()
    # a plan nobody edited is replaced silently, as before
    sp_path.write_text(sp_path.read_text().replace("Only since Monday.", "Only since Sunday."))
    assert "edited by hand" not in director("-p", str(project), "plan", check=True).stderr


def test_plan_keeps_hand_edits_while_the_screenplay_is_unchanged(tmp_path):
    """The new-user audit: `shot set` then `plan --show` (the README's way to look at the list) replaced the edit."""
    project, shots_file, data = planned_with_a_hand_edit(tmp_path)
    proc = director("-p", str(project), "plan", "--show", check=True)
    assert "kept the shot list as it is" in proc.stderr and data["shots"][0]["id"] in proc.stderr, proc.stderr
    assert "MY CAREFUL HAND-WRITTEN PROMPT" in shots_file.read_text()
    assert not (project / ".director/backups").exists()
    # --fresh plans it again, and keeps a copy as any re-plan over an edit does
    proc = director("-p", str(project), "plan", "--fresh", check=True)
    assert "edited by hand" in proc.stderr, proc.stderr
    assert "MY CAREFUL HAND-WRITTEN PROMPT" not in shots_file.read_text()
    assert "MY CAREFUL HAND-WRITTEN PROMPT" in next((project / ".director/backups").glob("*.yaml")).read_text()
    # with nothing edited, plan plans (the same list: unchanged)
    assert "kept the shot list" not in director("-p", str(project), "plan", check=True).stderr


@pytest.mark.parametrize("args", [("render", "--until", "timing"), ("render", "--all")])
def test_a_render_that_replans_over_hand_edits_says_so_before_its_jobs(tmp_path, args):
    """The note was printed with the render's summary only: a render stopped early (Ctrl-C, the studio's Cancel)
    replaced the hand edits without a word; `render --all` (a season's render) never said it."""
    project, _, _ = _hand_edited_then_replanned(tmp_path)
    err = director("-p", str(project), *args, check=True).stderr
    said = err.find("edited by hand")
    assert 0 <= said < err.find("voice ["), err


def test_ctrl_c_prints_the_resume_message_and_exits_130(tmp_path):
    project = make_project(tmp_path, size=None)
    # a shell that starts the test run in the background hands every child SIGINT *ignored* (POSIX), and then
    # Python installs no KeyboardInterrupt handler: give the render the default disposition a terminal gives
    proc = subprocess.Popen([sys.executable, "-m", "director", "-p", str(project), "render"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 60
    while time.time() < deadline and not list((project / ".director" / "cache").glob("voice/*/*/manifest.json")):
        time.sleep(0.2)
    assert proc.poll() is None, "the render finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-1000:]
    assert "interrupted: finished artifacts are kept" in err and "Traceback" not in err


def test_sigterm_stops_a_render_as_ctrl_c_does_and_it_resumes(tmp_path):
    """SIGTERM (docker stop, systemd, a scheduler) killed the render with no message and no state saved."""
    project = make_project(tmp_path, size=None)
    proc = subprocess.Popen([sys.executable, "-m", "director", "-p", str(project), "render"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not list((project / ".director" / "cache").glob("voice/*/*/manifest.json")):
        time.sleep(0.2)
    assert proc.poll() is None, "the render finished before it could be stopped"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err[-1000:]
    assert "interrupted: finished artifacts are kept" in err and "Traceback" not in err
    assert (project / ".director" / "state" / "screenplay.json").exists()  # what ran is remembered
    again = json.loads(director("-p", str(project), "--json", "render", check=True).stdout)
    assert again["reused"] >= 1


@pytest.mark.parametrize("sig,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_stop_sent_to_director_alone_reaches_its_running_encodes(tmp_path, sig, code):
    """A SIGTERM (docker stop) or a SIGINT to director's process alone (the studio's Cancel) did not reach the
    ffmpeg it was running: the render waited for every encode to finish (a final episode's: minutes; docker
    kills at 10 s) before it could save its state. Here every x264 encode is a minute long."""
    import imageio_ffmpeg

    project = make_project(tmp_path)
    started = tmp_path / "encoding"
    slow = tmp_path / "slow-ffmpeg"
    slow.write_text(f'#!/bin/sh\ncase "$*" in *libx264*) touch "{started}"; exec sleep 60;; esac\n'
                    f'exec "{imageio_ffmpeg.get_ffmpeg_exe()}" "$@"\n')
    slow.chmod(0o755)
    proc = subprocess.Popen([sys.executable, "-m", "director", "-p", str(project), "render"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "IMAGEIO_FFMPEG_EXE": str(slow)},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not started.exists() and proc.poll() is None:
            time.sleep(0.1)
        assert started.exists(), proc.communicate(timeout=60)[1][-2000:]
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=20)  # not the minute of the encodes it was running
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == code, err[-1000:]
    assert "interrupted: finished artifacts are kept" in err and "Traceback" not in err
    done = json.loads(director("-p", str(project), "--json", "render", check=True).stdout)
    assert done["reused"] >= 1 and (project / "out/screenplay/episode.mp4").stat().st_size > 0


INTERRUPTED_WHILE_LOCKED = """
import os, signal, sys, threading, time
from director.cli import fast
from director.media import ffmpeg

signal.signal(signal.SIGINT, fast._interrupt)
done = []

def long_encode():
    try:
        ffmpeg.run_ffmpeg(["-re", "-f", "lavfi", "-i", "anullsrc", "-t", "600", "-f", "null", "-"], "a long encode")
    except Exception as exc:
        done.append(type(exc).__name__)
worker = threading.Thread(target=long_encode)
worker.start()
while not ffmpeg._LIVE:
    time.sleep(0.01)
try:
    with ffmpeg._LIVE_LOCK:  # the main thread starting or ending an encode of its own when the signal comes
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(2)
except KeyboardInterrupt:
    print("interrupted")
worker.join(timeout=20)
print("encode:", done, "alive:", worker.is_alive())
"""


def test_a_signal_arriving_while_the_main_thread_holds_the_encodes_lock_never_hangs():
    """The handler passing the stop on took the encodes' lock, which the main thread (an export runs ffmpeg there)
    could be holding when the signal came: it waited on itself for ever."""
    proc = subprocess.run([sys.executable, "-c", INTERRUPTED_WHILE_LOCKED], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # the interrupt is raised, and the encode running in a worker thread was stopped (its job fails)
    assert proc.stdout.splitlines() == ["interrupted", "encode: ['StageFailed'] alive: False"], proc.stdout


def test_a_failed_render_leaves_the_last_episode_with_its_own_subtitles_and_odd_state_is_no_crash(tmp_path):
    """A render whose segments failed published the new subtitles beside the old episode (captions that no
    longer match it). And a state file of the wrong JSON shape made every command an internal error."""
    project = make_project(tmp_path)
    director("-p", str(project), "render", check=True)
    out = project / "out" / "screenplay"
    before = {name: (out / name).read_bytes() for name in ("episode.mp4", "episode.srt", "episode.ass")}
    sp = project / "screenplay.yaml"
    sp.write_text(sp.read_text().replace("Only since Tuesday.", "Only since last August, honestly."))
    segments = project / ".director" / "cache" / "segments"
    shutil.rmtree(segments)
    segments.write_text("not a folder")  # every new segment fails to be stored
    proc = director("-p", str(project), "render")
    assert proc.returncode == 1 and "segments" in proc.stderr, proc.stderr[-2000:]
    assert {name: (out / name).read_bytes() for name in before} == before
    segments.unlink()
    for odd in ("null", '{"version": 1, "jobs": [1, 2]}', '{"jobs": {"a": 1, "b": {"key": 3}}}'):
        (project / ".director" / "state" / "screenplay.json").write_text(odd)
        for command in ("status", "clean"):
            proc = director("-p", str(project), command)
            assert proc.returncode == 0 and "internal error" not in proc.stderr, (odd, command, proc.stderr)
    director("-p", str(project), "render", check=True)
    assert (out / "episode.srt").read_text() != before["episode.srt"].decode()  # the new line, with its episode


def test_a_published_file_rewritten_in_place_is_put_back(tmp_path):
    """out/ files were checked by size and mtime: the same size of zeros with the mtime put back was kept."""
    project = make_project(tmp_path)
    director("-p", str(project), "render", check=True)
    episode = project / "out" / "screenplay" / "episode.mp4"
    sheet = project / "out" / "screenplay" / "storyboard.png"
    good, st = episode.read_bytes(), episode.stat()
    episode.write_bytes(bytes(len(good)))
    os.utime(episode, ns=(st.st_atime_ns, st.st_mtime_ns))
    sheet.write_bytes(sheet.read_bytes()[:1000])
    director("-p", str(project), "render", check=True)
    assert episode.read_bytes() == good
    from PIL import Image
    Image.open(sheet).load()  # drawn again whole


def test_an_unreadable_takes_file_is_said_and_clean_keeps_what_it_may_list(tmp_path):
    project = make_project(tmp_path)
    takes = project / ".director" / "takes"
    takes.mkdir(parents=True)
    (takes / "screenplay.json").write_text('{"keys": {"a": 5}')  # torn
    proc = director("-p", str(project), "clean")
    assert_clean_failure(proc, 2)
    assert "takes" in proc.stderr and "Restore it from a backup or remove it" in proc.stderr


def test_atomic_writes_keep_a_replaced_files_mode_and_give_new_files_the_umask_mode(tmp_path):
    from director.store.files import atomic_write_text

    new = tmp_path / "new.txt"
    old_mask = os.umask(0o022)
    try:
        atomic_write_text(new, "x")
    finally:
        os.umask(old_mask)
    assert stat.S_IMODE(new.stat().st_mode) == 0o666 & ~0o022
    kept = tmp_path / "kept.txt"
    kept.write_text("a")
    kept.chmod(0o640)
    atomic_write_text(kept, "b")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640 and kept.read_text() == "b"


def test_the_shot_list_a_user_can_read_is_not_private(tmp_path):
    project = make_project(tmp_path)
    director("-p", str(project), "plan", check=True)
    assert stat.S_IMODE((project / "shots/screenplay.yaml").stat().st_mode) & 0o044


def test_master_reaches_the_target_or_says_why():
    from director.stages.mix import master

    rate = 48000
    rng = np.random.default_rng(0)
    n = rate * 20
    x = (rng.standard_normal(n) * 0.01).astype(np.float32) * (np.sin(np.arange(n) / rate * 2) > 0.2)
    for k in range(0, n, rate // 8):  # dense loud hits: the limiter holds them, loudness is hard to reach
        x[k:k + 200] += rng.standard_normal(200).astype(np.float32) * 0.9
    out, stats = master(np.stack([x, x], 1).astype(np.float32), rate, -14.0, -1.0)
    assert stats["true_peak"] <= -1.0
    assert abs(stats["lufs"] + 14) < 1.0 or any("LUFS" in n for n in stats["notes"]), stats
    speech = (0.2 * np.sin(np.arange(n) / rate * 2 * np.pi * 180) * (rng.random(n) > 0.001)).astype(np.float32)
    _, ok = master(np.stack([speech, speech], 1), rate, -14.0, -1.0)
    assert abs(ok["lufs"] + 14) < 0.3 and not ok["notes"]


def test_new_help_says_what_new_does():
    out = director("new", "--help").stdout
    assert "validates and plans" not in out and "template" in out


def test_a_gbk_screenplay_gets_a_conversion_hint(tmp_path):
    path = tmp_path / "screenplay.yaml"
    path.write_bytes("title: 最后一单\nscenes: []\n".encode("gb18030"))
    proc = director("validate", str(path))
    assert_clean_failure(proc)
    assert "GB18030" in proc.stderr and "iconv" in proc.stderr


def test_with_stderr_not_a_terminal_each_finished_job_prints_a_line(tmp_path):
    project = make_project(tmp_path)
    proc = director("-p", str(project), "render")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert sum(1 for x in lines if x.startswith("voice [")) == 3, proc.stderr
    assert any(x.startswith("assemble [1/1]") for x in lines)
    # each stage's count, said once its work is all known (a count made at its start was its first shot's)
    import re

    said = {m[1]: int(m[2]) for x in lines if (m := re.fullmatch(r"(\w+): (\d+) ran, 0 reused", x))}
    assert said and all(said[stage] == sum(1 for x in lines if x.startswith(f"{stage} [")) for stage in said), said
    assert said["voice"] == 3 and not any("to run" in x for x in lines)
    import os

    os.utime(project / "director.yaml")  # an input's stamp changed, no key did: the full path, everything reused
    again = director("-p", str(project), "render").stderr
    assert "assemble: all 1 reused" in again
    assert "up to date" in director("-p", str(project), "render").stdout  # nothing at all: answered from the stamp


def test_log_records_are_redacted(capsys):
    import logging

    from director.cli.output import Output
    from director.secrets import register

    register("sk-live-ABCDEFGHIJKLMNOP")
    Output().setup_logging()
    logging.getLogger("director.test").warning("key %s at http://u:pw1234@h/v1 Authorization: Bearer abcdefgh12",
                                               "sk-live-ABCDEFGHIJKLMNOP")
    err = capsys.readouterr().err
    assert "ABCDEFGH" not in err and "pw1234" not in err and "abcdefgh12" not in err and "***" in err


def test_secrets_never_enter_run_records_or_manifests(tmp_path):
    from director.store.cache import ArtifactCache
    from director.store.files import write_json
    from director.secrets import register

    register("sk-proj-SECRETSECRETSECRET")
    write_json(tmp_path / "r.json", {"endpoint": "http://a:sk-proj-SECRETSECRETSECRET@h", "x": ["sk-proj-SECRETSECRETSECRET"]})
    entry = ArtifactCache(tmp_path / "c").produce("s", "ab" * 32, {"k": "sk-proj-SECRETSECRETSECRET"},
                                                  lambda d: {"note": "sk-proj-SECRETSECRETSECRET"})
    for path in (tmp_path / "r.json", entry.path / "manifest.json"):
        assert "SECRET" not in path.read_text()
    assert json.loads((tmp_path / "r.json").read_text())["x"] == ["***"]


@pytest.mark.parametrize("code, words", [("ENOSPC", "no space left"), ("EACCES", "permission denied"),
                                         ("EROFS", "the file system is read-only")])
def test_a_full_disk_or_a_refused_write_is_said_as_such_not_as_a_bug(tmp_path, monkeypatch, capsys, code, words):
    """An OSError the machine raises where no stage catches it (the render's state saved between jobs): a line
    that says what to fix, exit 1; an internal error asked the user to report a full disk as a bug."""
    import errno

    from director.runtime.engine import StateIndex

    project = make_project(tmp_path)

    def full(self):
        raise OSError(getattr(errno, code), os.strerror(getattr(errno, code)), str(self.path))

    monkeypatch.setattr(StateIndex, "save", full)
    assert run(["-p", str(project), "render", "--until", "voice"]) == 1
    err = capsys.readouterr().err
    assert f"error: {words}" in err and "internal error" not in err and "report" not in err, err
    assert "run the same command again" in err and ".director" in err


def test_edits_at_the_same_moment_from_two_processes_are_both_kept(tmp_path):
    """Two `shot set` at once (or the CLI beside the studio) each read the shot list, changed it and wrote it back:
    one edit was lost in 5 runs of 6, both reporting success."""
    project = make_project(tmp_path)
    director("-p", str(project), "plan", check=True)
    shots = [s["id"] for s in yaml.safe_load((project / "shots/screenplay.yaml").read_text())["shots"]][:4]
    procs = [subprocess.Popen([sys.executable, "-m", "director", "-p", str(project), "shot", "set", shot,
                               f"prompt=EDIT {i}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i, shot in enumerate(shots)]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    saved = {s["id"]: s["prompt"] for s in yaml.safe_load((project / "shots/screenplay.yaml").read_text())["shots"]}
    assert [saved[shot] for shot in shots] == [f"EDIT {i}" for i in range(len(shots))]


def test_a_shot_locked_while_the_planner_works_is_kept(tmp_path, monkeypatch):
    """A render that re-planned wrote its plan over a shot locked (or edited) in the studio meanwhile, with no
    copy kept. The planner now saves only over the file it planned from, else plans again from what is there."""
    import director.plan as plan
    from director.project import Project
    from director.runtime.edits import set_shot

    project = make_project(tmp_path)
    director("-p", str(project), "plan", check=True)
    sp = project / "screenplay.yaml"
    sp.write_text(sp.read_text().replace("Only since Tuesday.", "Only since Monday."))
    first = yaml.safe_load((project / "shots/screenplay.yaml").read_text())["shots"][0]["id"]
    real, calls = plan._plan_once, []

    def planning(*args, **kwargs):
        result = real(*args, **kwargs)
        if not calls:  # the studio locks a shot with a prompt of its own while this plan is being made
            set_shot(Project.find(project), None, first, {"prompt": "LOCKED IN THE STUDIO", "locked": True})
        calls.append(1)
        return result

    monkeypatch.setattr(plan, "_plan_once", planning)
    found = Project.find(project)
    plan.plan_episode(found, found.load_episode(None))
    assert len(calls) == 2  # planned again from the edited file
    saved = {s["id"]: s for s in yaml.safe_load((project / "shots/screenplay.yaml").read_text())["shots"]}
    assert saved[first]["prompt"] == "LOCKED IN THE STUDIO" and saved[first]["locked"] is True


def test_a_render_that_read_a_line_edit_half_done_keeps_the_plan_it_brought(tmp_path, monkeypatch):
    """`director line` writes the screenplay, then the shot list's digest: a render (under --watch) that read between
    the two planned again and replaced the hand edits. Now it finds the shot list brought up to date and keeps it."""
    import director.plan as plan
    from director.project import Project
    from director.runtime.edits import set_line

    project = make_project(tmp_path)
    director("-p", str(project), "plan", check=True)
    first = yaml.safe_load((project / "shots/screenplay.yaml").read_text())["shots"][0]["id"]
    director("-p", str(project), "shot", "set", first, "prompt=MY HAND EDIT", check=True)
    found = Project.find(project)
    sp = project / "screenplay.yaml"
    sp.write_text(sp.read_text().replace("Only since Tuesday.", "Only since Monday."))  # the render reads this...
    loaded = found.load_episode(None)
    sp.write_text(sp.read_text().replace("Only since Monday.", "Only since Tuesday."))
    real = plan._plan_once

    def planning(*args, **kwargs):  # ...and while it plans, the line edit lands, shot list and all
        result = real(*args, **kwargs)
        set_line(found, None, "one/3", text="Only since Monday.")
        monkeypatch.setattr(plan, "_plan_once", real)
        return result

    monkeypatch.setattr(plan, "_plan_once", planning)
    shots, notes = plan.current_shots(found, loaded)
    assert notes == [] and next(s for s in shots.shots if s.id == first).prompt == "MY HAND EDIT"
    saved = {s["id"]: s for s in yaml.safe_load((project / "shots/screenplay.yaml").read_text())["shots"]}
    assert saved[first]["prompt"] == "MY HAND EDIT" and not list((project / ".director/backups").glob("*"))
