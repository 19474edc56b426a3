"""A render with nothing changed answers from a stamp, before the engine is imported (make's and DVC's "up to date").

After a whole render of an episode that failed nowhere, director writes ``.director/uptodate/<tag>.json``, one per
way of asking (``render``, ``render --episode b``, ``--profile final``):

- a digest of everything a job's key is made from, by the cache's file stamps (size, modification and change
  times, inode: a rewrite shows even when its size and modification time are put back): director's code, every
  file of the project (linked folders followed where they stay inside it; only the top level's ``.director/``,
  ``out/`` and ``.git/`` left out), the Python environment and the render's options, taken once the render has read its inputs;
- the same stamp of every file the episode is made of: each cache entry its jobs used, everything published in
  its output folder, the modules of its backends.

``director render`` (plain, or ``--episode``/``--profile``) finds the stamp of its own command line and compares
before importing anything heavy: when both match, the normal path would reuse every entry and publish the same
files, so it answers at once. Anything else takes the normal path; every render removes the project's stamps
first and a whole one that succeeds writes its own. An LLM reviewing keyframes makes renders depend on a
server, and a project found by a screenplay file names its episode by that file: neither is ever stamped.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
from pathlib import Path

from director.paths import no_links
from director.store.cache import ArtifactCache, file_stamp
from director.store.files import read_own

FORMAT = 2
STATE = Path(".director") / "uptodate"
PROJECT = "project:"  # how a snapshot names the project's files


def _tree(out: dict[str, str], root: Path, prefix: str, skip: set[str]) -> None:
    """Every file under ``root`` by its stamp, ``skip`` naming folders of the top level only; linked folders are
    followed where their target is inside ``root`` (the target named too, each real folder walked once)."""
    seen: set[str] = set()
    inside = os.path.realpath(root) + os.sep
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:  # a link loop, or a folder reached twice
            dirnames[:] = []
            continue
        seen.add(real)
        top = os.path.samefile(dirpath, root)
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not (top and d in skip))
        for name in list(dirnames):
            link = os.path.join(dirpath, name)
            if os.path.islink(link):
                out[prefix + os.path.relpath(link, root) + "/"] = "-> " + os.readlink(link)
                if not (os.path.realpath(link) + os.sep).startswith(inside):
                    # nothing a render reads can lie outside the project (validation refuses such a path), so
                    # a link to / or /usr is not walked: it made every render stat the whole file system
                    dirnames.remove(name)
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                out[prefix + os.path.relpath(path, root)] = str(file_stamp(os.stat(path)))
            except OSError:
                continue


def project_files(root: Path, prefix: str = "") -> dict[str, str]:
    """The project's files by stamp (outputs, state and .git at its top level aside), each named ``prefix`` + its
    path in the project."""
    out: dict[str, str] = {}
    _tree(out, Path(root), prefix, {".director", "out", ".git"})
    return out


def snapshot(root: Path, options: dict) -> dict[str, str]:
    """What a render's keys are made from, file by file, by stamp: director's code, the project's files
    (``project_files``), the Python environment and the render's options."""
    out = {"": json.dumps({"format": FORMAT, "options": options, "python": sys.version, "environment": sys.prefix},
                          sort_keys=True)}
    out.update(code_files())
    out.update(project_files(root, PROJECT))
    return out


@functools.lru_cache(maxsize=1)
def _code_files() -> tuple[tuple[str, str], ...]:
    out: dict[str, str] = {}
    _tree(out, Path(__file__).resolve().parents[1], "code:", set())
    return tuple(out.items())


def code_files() -> dict[str, str]:
    """director's code by stamp, as this process first found it: a process that stays (``render --watch``) runs the
    code it started with, and its stamps must not claim code changed on disk since (a fresh process compares its
    own and renders)."""
    return dict(_code_files())


def digest(snap: dict[str, str]) -> str:
    return hashlib.blake2b(json.dumps(sorted(snap.items())).encode("utf-8", "replace"), digest_size=20).hexdigest()


def inputs_digest(root: Path, options: dict) -> str:
    return digest(snapshot(root, options))


def changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The names (files) added, removed or rewritten between two snapshots or looks."""
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def settled(before: dict[str, str], planned: dict[str, str], written: Path, root: Path) -> str | None:
    """The inputs' digest a render may stamp, taken once it has read them (after planning): None when anything
    changed meanwhile but the shot list the planner itself wrote (``written``)."""
    mine = PROJECT + os.path.relpath(written, root)
    return digest(planned) if set(changes(before, planned)) <= {mine} else None


def _stats(paths) -> dict[str, list[int]]:
    out = {}
    for path in paths:
        try:
            out[str(path)] = file_stamp(os.stat(path))
        except OSError:
            continue
    return out


def _entry_files(cache_dir: Path, jobs: list[dict]) -> list[str]:
    cache = ArtifactCache(cache_dir)
    files = []
    for job in jobs:
        if job.get("key") and job.get("status") in ("ran", "cached"):
            files += [str(p) for p in sorted(cache.entry_path(job["stage"], job["key"]).iterdir()) if p.is_file()]
    return files


def stamp_path(root: Path, episode: str | None, profile: str | None) -> Path:
    """One stamp per way of asking (``render``, ``render --episode b``, ``--profile final``): the short path needs
    nothing but the command line to find it, not even director.yaml's models."""
    tag = hashlib.blake2b(json.dumps([episode, profile]).encode(), digest_size=10).hexdigest()
    return Path(root) / STATE / f"{tag}.json"


def forget(root: Path) -> None:
    """Every stamp of the project, at the start of any render (under its lock): the next whole render writes its
    own again."""
    folder = no_links(Path(root), Path(root) / STATE, "the render's stamps")  # never empties a linked folder
    for path in folder.glob("*.json") if folder.is_dir() else ():
        try:
            path.unlink()
        except OSError:
            pass


def remember(project, episode: str | None, profile: str | None, before: str | None, record: dict,
             outputs: dict[str, str], duration: float | None, out_dir: Path, code: list[str]) -> None:
    """After a whole render that failed nowhere: the inputs' digest ``before`` (``settled``: taken once the render
    had read them; written only if it is still the same, an edit made while the render ran being a change) and
    every file the episode is made of (its cache entries, its output folder, its backends' modules)."""
    from director.store.files import write_json

    if project.config.llm.review_keyframes or project.config_path is None or before is None:
        return  # a project found by its screenplay file names its episode by that file: the short path never asks
    if inputs_digest(project.root, {"episode": episode, "profile": profile}) != before:
        return  # an input changed while the render ran: what it made may not be what the inputs say now
    try:
        files = _entry_files(project.cache_dir, record["jobs"]) + code  # the outputs are in out_dir
        files += [os.path.join(d, f) for d, _, names in os.walk(out_dir) for f in names]
    except OSError:  # an entry gone already (cleaned while the render published): no stamp, the next render looks
        return
    summary = {"episode": record.get("episode"), "outputs": outputs, "duration": duration,
               "stages": {k: len(v.get("ran", [])) + v.get("cached", 0) for k, v in record["stages"].items()},
               "jobs": sum(1 for j in record["jobs"] if j.get("status") in ("ran", "cached")),
               "record": str(out_dir / "run.json") if (out_dir / "run.json").exists() else None}
    write_json(stamp_path(project.root, episode, profile),
               {"format": FORMAT, "inputs": before, "files": _stats(sorted(set(files))), "summary": summary})


def answer(root: Path, episode: str | None, profile: str | None) -> dict | None:
    """The last render's summary when nothing it depends on changed since; None to take the normal path."""
    try:
        stamp = json.loads(read_own(stamp_path(root, episode, profile)))
    except (OSError, ValueError):
        return None
    if not isinstance(stamp, dict) or stamp.get("format") != FORMAT or not isinstance(stamp.get("files"), dict):
        return None
    files = stamp["files"]
    if not files or _stats(files) != files:  # an entry or output removed, rewritten or torn
        return None
    if stamp.get("inputs") != inputs_digest(Path(root), {"episode": episode, "profile": profile}):
        return None
    return stamp.get("summary") if isinstance(stamp.get("summary"), dict) else None
