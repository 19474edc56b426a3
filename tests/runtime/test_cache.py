"""The artifact cache: keys, atomic entries, torn entries, a real kill, the project lock."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from director.store.cache import ArtifactCache, fingerprint
from tests.conftest import director


def test_fingerprint_is_canonical():
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})


def test_produce_then_lookup(tmp_path):
    cache = ArtifactCache(tmp_path)
    key = fingerprint({"x": 1})
    entry = cache.produce("s", key, {"x": 1}, lambda d: (d / "f.txt").write_text("hi") and {"n": 1})
    assert entry.path == tmp_path / "s" / key[:2] / key
    again = cache.lookup("s", key)
    assert again is not None and again.meta == {"n": 1} and again.file("f.txt").read_text() == "hi"


def test_a_cache_on_a_read_only_disk_still_verifies_its_entries(tmp_path, monkeypatch):
    """A copied or archived project on a read-only mount: the entry's stamps cannot be refreshed, and removing the
    scratch file raised EROFS too, which made every entry "torn or corrupted" (status: all to run; export failed)."""
    import errno
    from pathlib import Path as P

    cache = ArtifactCache(tmp_path)
    key = fingerprint({"x": 2})
    cache.produce("s", key, {"x": 2}, lambda d: (d / "f.txt").write_text("hi") and {"n": 1})
    (tmp_path / "s" / key[:2] / key / ".verified.json").unlink()  # stamps to write again: a copy's new inodes

    def read_only(*_a, **_k):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(P, "write_text", read_only)
    monkeypatch.setattr(P, "unlink", read_only)
    entry = ArtifactCache(tmp_path).lookup("s", key)
    assert entry is not None and entry.meta == {"n": 1}


def test_torn_entry_is_discarded_with_a_log_line(tmp_path, caplog):
    cache = ArtifactCache(tmp_path)
    key = fingerprint({"x": 2})
    entry = cache.produce("s", key, {}, lambda d: (d / "f.bin").write_bytes(b"0" * 1000))
    with open(entry.file("f.bin"), "r+b") as f:  # a power cut left half a file
        f.truncate(10)
    assert cache.lookup("s", key) is None
    assert "discarding torn or corrupted cache entry" in caplog.text
    assert not entry.path.exists()


def test_failed_producer_leaves_nothing(tmp_path):
    cache = ArtifactCache(tmp_path)

    def boom(d):
        (d / "partial").write_text("x")
        raise ValueError("backend crashed")

    try:
        cache.produce("s", "ab" * 32, {}, boom)
    except ValueError:
        pass
    assert cache.lookup("s", "ab" * 32) is None
    assert list((tmp_path / "s").rglob("partial")) == []


WRITER = """
import sys, time
from pathlib import Path
from director.store.cache import ArtifactCache
def make(d):
    (d / "big.bin").write_bytes(b"1" * 100000)
    print("writing", flush=True)
    time.sleep(60)
ArtifactCache(Path(sys.argv[1])).produce("s", "cd" * 32, {}, make)
"""


def test_a_process_killed_mid_write_leaves_no_usable_entry(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    cache = ArtifactCache(tmp_path)
    assert cache.lookup("s", "cd" * 32) is None
    leftovers = [p for p in (tmp_path / "s").rglob("*") if p.is_dir() and p.name.startswith(".tmp-")]
    assert leftovers, "the killed writer's temporary folder should be there (and never used)"
    assert cache.sweep_temporaries() == 1
    assert cache.lookup("s", "cd" * 32) is None


def _wait_for(pred, timeout=60.0, every=0.05):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(every)
    return False


def test_render_killed_during_clips_resumes_and_loses_nothing_finished(small_project):
    proc = subprocess.Popen([sys.executable, "-m", "director", "-q", "-p", str(small_project), "render"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    clips = small_project / ".director/cache/clips"
    # a small clip is written in tens of milliseconds: looked for every 5 ms (at 50 ms a loaded machine missed them)
    assert _wait_for(lambda: clips.exists() and any(p.name.startswith(".tmp-") for p in clips.rglob("*")),
                     every=0.005), "the render never started writing a clip"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    keyframes_before = {p.parent.name for p in (small_project / ".director/cache/keyframes").rglob("manifest.json")
                        if not p.parent.name.startswith(".tmp-")}  # finished: published under its key
    assert keyframes_before
    out = director("-p", str(small_project), "--json", "render", check=True)
    record = json.loads(out.stdout)
    jobs = json.loads(Path(record["record"]).read_text())["jobs"]
    made_again = {j["key"] for j in jobs if j["stage"] == "keyframes" and j["status"] == "ran"}
    reused = {j["key"] for j in jobs if j["stage"] == "keyframes" and j["status"] == "cached"}
    # nothing finished was lost: every panel made before the kill is reused; only one still being drawn (a clip
    # may start beside the last panel) is made again
    assert reused == keyframes_before and not made_again & keyframes_before
    assert not [p for p in clips.rglob("*") if p.name.startswith(".tmp-")]
    assert Path(record["outputs"]["video"]).exists()


def test_a_second_concurrent_render_gets_the_lock_message(small_project):
    proc = subprocess.Popen([sys.executable, "-m", "director", "-q", "-p", str(small_project), "render"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lock = small_project / ".director/lock"
    try:
        assert _wait_for(lambda: lock.exists() and lock.read_text().startswith("{"))
        second = director("-p", str(small_project), "render")
        assert second.returncode == 1
        assert "locked by another command" in second.stderr and f"pid {proc.pid}" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        proc.kill()
        proc.wait()
