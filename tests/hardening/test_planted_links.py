"""Symbolic links planted in director's own folder (``.director``: git and tar keep links, so opening someone's
project is enough). director makes no links there; each of these once made a render write, or ``clean`` delete,
outside the project, with exit 0."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import director, make_project
from tests.hardening.helpers import assert_clean_failure, snapshot


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    project = make_project(tmp_path_factory.mktemp("links"))
    director("-p", str(project), "render", check=True)
    return project


@pytest.fixture
def arena(rendered, tmp_path):
    """A fresh copy of the rendered project, and a victim's folder beside it."""
    project = tmp_path / "work"
    shutil.copytree(rendered, project, symlinks=True)
    victim = tmp_path / "victim"
    (victim / "src" / "repo" / ".git").mkdir(parents=True)
    (victim / "src" / "repo" / "lib").mkdir()
    (victim / "src" / "repo" / "lib" / "main.py").write_text("code\n")
    (victim / "notes.txt").write_text("IMPORTANT USER DATA\n")
    (victim / "settings.json").write_text("{}\n")
    return project, victim


def _touch(project: Path) -> None:
    """An input's stamp moved: the render takes the long path (locks, forgets its stamps)."""
    os.utime(project / "screenplay.yaml")


def test_clean_never_deletes_through_a_linked_folder_in_the_cache(arena):
    project, victim = arena
    before = snapshot(victim)
    os.symlink(victim / "src", project / ".director" / "cache" / "keyframes-x")
    proc = director("-p", str(project), "clean", "--everything")
    assert proc.returncode == 0, proc.stderr
    assert snapshot(victim) == before and (victim / "src" / "repo" / ".git").is_dir()
    assert (project / ".director" / "cache" / "keyframes-x").is_symlink()  # not ours to remove either


def test_a_linked_lock_is_refused_and_the_file_it_names_kept(arena):
    project, victim = arena
    lock = project / ".director" / "lock"
    lock.unlink(missing_ok=True)
    os.symlink(victim / "notes.txt", lock)
    _touch(project)
    for command in (["render"], ["clean"]):
        proc = director("-p", str(project), *command)
        assert_clean_failure(proc)
        assert "is a symbolic link" in proc.stderr and "lock" in proc.stderr
    assert (victim / "notes.txt").read_text() == "IMPORTANT USER DATA\n"


def test_a_linked_stamps_folder_is_refused_and_its_files_kept(arena):
    project, victim = arena
    shutil.rmtree(project / ".director" / "uptodate", ignore_errors=True)
    os.symlink(victim, project / ".director" / "uptodate")
    _touch(project)
    before = snapshot(victim)
    proc = director("-p", str(project), "render")
    assert_clean_failure(proc)
    assert "uptodate" in proc.stderr and "symbolic link" in proc.stderr
    assert snapshot(victim) == before


@pytest.mark.parametrize("which", [".director", ".director/cache"])
def test_a_linked_state_or_cache_folder_is_refused_before_anything_is_written(arena, tmp_path, which):
    project, victim = arena
    target = tmp_path / "elsewhere"
    shutil.move(project / which, target)
    os.symlink(target, project / which)
    _touch(project)
    before = snapshot(target)
    for command in (["render"], ["clean", "--everything"]):
        proc = director("-p", str(project), *command)
        assert_clean_failure(proc)
        assert "symbolic link" in proc.stderr, proc.stderr
    director("-p", str(project), "plan")  # the rule planner keeps nothing there; whatever it does, nothing there
    assert snapshot(target) == before


def test_a_cache_file_swapped_for_a_link_to_the_same_bytes_is_made_again(arena):
    """The digest matches (the link points at a copy of the file): the entry is still not used, since a link
    would publish whatever it points at; removing the entry removes the link, not its target."""
    project, victim = arena
    entry = next(p for p in (project / ".director" / "cache" / "voice").glob("*/*") if p.is_dir())
    wav = next(entry.glob("*.wav"))
    copy = victim / "copy.wav"
    shutil.copyfile(wav, copy)
    wav.unlink()
    os.symlink(copy, wav)
    proc = director("-p", str(project), "render")
    assert proc.returncode == 0, proc.stderr
    assert copy.is_file()
    assert not wav.is_symlink() and wav.is_file()  # the entry made again, as a file of its own


def _entry(project: Path, stage: str) -> Path:
    return next((project / ".director" / "cache" / stage).glob("*/*/manifest.json")).parent


def test_a_manifest_naming_a_file_outside_its_entry_is_not_used(arena):
    """A manifest's roles (`meta.files`) were never checked against its verified files: one rewritten to name
    /etc/hostname (or ../..) had the render publish that file as episode.mp4, and export copy it, exit 0."""
    import json

    project, victim = arena
    manifest = _entry(project, "assemble") / "manifest.json"
    data = json.loads(manifest.read_text())
    data["meta"]["files"]["video"] = str(victim / "notes.txt")
    manifest.write_text(json.dumps(data))
    (project / "out" / "screenplay" / "episode.mp4").unlink()
    _touch(project)
    proc = director("-p", str(project), "render")
    assert proc.returncode == 0, proc.stderr
    episode = (project / "out" / "screenplay" / "episode.mp4").read_bytes()
    assert episode[4:8] == b"ftyp" and b"IMPORTANT USER DATA" not in episode
    assert "discarding torn or corrupted cache entry assemble" in proc.stderr, proc.stderr


def test_named_pipes_in_directors_own_files_are_no_hang(arena):
    """A named pipe in place of a manifest, the render state or out/'s publish index blocked the render forever (a
    SIGTERM did not stop it); one in place of the lock was an "internal error"."""
    project, _ = arena
    for path in (_entry(project, "subtitles") / "manifest.json", project / ".director" / "state" / "screenplay.json",
                 project / "out" / "screenplay" / ".published.json"):
        path.unlink()
        os.mkfifo(path)
    _touch(project)
    proc = director("-p", str(project), "render", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert not any(p.is_fifo() for p in (project / ".director" / "state" / "screenplay.json",
                                         project / "out" / "screenplay" / ".published.json"))
    lock = project / ".director" / "lock"
    lock.unlink(missing_ok=True)
    os.mkfifo(lock)
    _touch(project)
    proc = director("-p", str(project), "render", timeout=120)
    assert_clean_failure(proc)
    assert "named pipe" in proc.stderr and "lock" in proc.stderr


def test_a_folder_where_an_output_goes_is_said_not_an_internal_error(arena):
    project, _ = arena
    (project / "out" / "screenplay" / "episode.mp4").unlink()
    (project / "out" / "screenplay" / "episode.mp4").mkdir()
    _touch(project)
    proc = director("-p", str(project), "render")
    assert proc.returncode != 0 and "internal error" not in proc.stderr and "Traceback" not in proc.stderr
    assert "a folder is where director writes a file" in proc.stderr and "episode.mp4" in proc.stderr, proc.stderr


def test_asking_who_holds_a_piped_lock_does_not_wait(tmp_path):
    """The studio asks who holds the lock on every poll: opening a named pipe there waited for a writer forever."""
    import threading

    from director.store.lock import lock_holder

    state = tmp_path / ".director"
    state.mkdir()
    os.mkfifo(state / "lock")
    answer: list = []
    asker = threading.Thread(target=lambda: answer.append(lock_holder(state)), daemon=True)
    asker.start()
    asker.join(30)
    assert answer == [None]


def test_a_draft_folder_linked_out_of_the_project_and_a_piped_draft_mark_are_refused(arena):
    """A link at out/<episode>/jianying had the draft written (and, with --force, replaced) wherever it led; a named
    pipe in place of the draft's mark hung the export."""
    project, victim = arena
    before = snapshot(victim)
    folder = project / "out" / "screenplay" / "jianying"
    shutil.rmtree(folder, ignore_errors=True)
    os.symlink(victim, folder)
    proc = director("-p", str(project), "export", "-f", "jianying", "--force", timeout=120)
    assert proc.returncode != 0 and "outside the project" in proc.stderr, proc.stderr
    assert snapshot(victim) == before
    folder.unlink()
    director("-p", str(project), "export", "-f", "jianying", check=True, timeout=120)
    mark = next(folder.glob("*.director.json"))
    mark.unlink()
    os.mkfifo(mark)
    proc = director("-p", str(project), "export", "-f", "jianying", timeout=60)
    assert proc.returncode == 2 and "was not exported from this project" in proc.stderr, proc.stderr


def test_links_planted_at_the_old_temp_names_are_never_written_through(arena):
    """Every publish, export and lock wrote a fixed temp name beside its file (``out/ep/.episode.srt.tmp``) with a
    plain open, then renamed it: a link planted there had the SRT (with lines of the screenplay's choosing) written
    into ~/.bashrc, the episode, the storyboard and the timelines over any file the user could write. The temp
    files are made by mkstemp now (a random name, O_EXCL)."""
    project, victim = arena
    before = snapshot(victim)
    out = project / "out" / "screenplay"
    shutil.rmtree(out)
    out.mkdir(parents=True)
    planted = {".episode.mp4.tmp": "notes.txt", ".episode.srt.tmp": "settings.json",
               ".episode.ass.tmp": "notes.txt", ".storyboard.png.tmp.png": "settings.json"}
    exports = project / "exports"
    (exports / "screenplay").mkdir(parents=True)
    planted_exports = {".screenplay.otio.tmp": "notes.txt", ".screenplay.xml.tmp": "settings.json",
                       ".screenplay.edl.tmp": "notes.txt"}
    for name, target in planted.items():
        os.symlink(victim / target, out / name)
    for name, target in planted_exports.items():
        os.symlink(victim / target, exports / "screenplay" / name)
    _touch(project)
    director("-p", str(project), "render", check=True)
    for fmt in ("otio", "fcp7", "edl"):
        director("-p", str(project), "export", "-f", fmt, "-o", str(exports), check=True, timeout=120)
    assert snapshot(victim) == before
    assert (out / "episode.srt").read_text(encoding="utf-8").startswith("1\n")
    assert not (out / "episode.srt").is_symlink() and (exports / "screenplay" / "screenplay.otio").stat().st_size
    assert (out / "episode.srt").stat().st_mode & 0o777 == 0o666 & ~_umask()  # the mode a plain write gives
    # the Jianying draft: its fixed build folder and a planted file inside it
    drafts = project / "drafts"
    drafts.mkdir()
    director("-p", str(project), "export", "-f", "jianying", "-o", str(drafts), check=True, timeout=120)
    name = next(p.name for p in drafts.iterdir() if p.is_dir())
    shutil.rmtree(drafts / name)
    (victim / "evil").mkdir()
    os.symlink(victim / "notes.txt", victim / "evil" / "draft_content.json")
    os.symlink(victim / "evil", drafts / f".{name}.tmp")
    before = snapshot(victim)
    director("-p", str(project), "export", "-f", "jianying", "-o", str(drafts), "--force", check=True, timeout=120)
    assert snapshot(victim) == before
    assert (drafts / name).is_dir() and not (drafts / name).is_symlink()
    assert json.loads((drafts / name / "draft_content.json").read_text(encoding="utf-8"))["tracks"]


def _umask() -> int:
    from director.store.files import UMASK

    return UMASK


def test_a_draft_replaced_over_a_file_of_its_name_leaves_nothing_behind(arena):
    """A plain file where the draft goes: the replacement renamed it over an empty folder (which fails), exited 1
    saying "a folder is where director writes a file", and left an empty temp folder beside the drafts."""
    project, _ = arena
    drafts = project / "drafts"
    drafts.mkdir()
    director("-p", str(project), "export", "-f", "jianying", "-o", str(drafts), check=True, timeout=120)
    name = next(p.name for p in drafts.iterdir() if p.is_dir())
    shutil.rmtree(drafts / name)
    (drafts / name).write_text("not a draft")
    director("-p", str(project), "export", "-f", "jianying", "-o", str(drafts), "--force", check=True, timeout=120)
    assert (drafts / name).is_dir() and (drafts / name / "draft_content.json").is_file()
    assert sorted(p.name for p in drafts.iterdir()) == sorted([name, f"{name}.director.json"])
