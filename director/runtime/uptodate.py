"""A render with nothing changed answers from a stamp, before the engine is imported (make's and DVC's "up to date").

After a whole render of an episode that failed nowhere, director writes ``.director/uptodate/<episode>.json``:

- a digest of everything a job's key is made from, by stat (size, modification and change times and inode: the
  cache's own stamps, which see a rewrite even when its size and modification time are put back): director's code, every file of the project outside ``.director/`` and ``out/`` (director.yaml, the
  screenplay and series bible, the shot lists with their seeds, reference pictures), the Python that ran and the
  render's own options;
- the same stamp of every file it produced or reused: each cache entry the episode's jobs used
  and each published output.

``director render`` (plain, or ``--episode``/``--profile``) finds the stamp of its own command line and compares
before importing anything heavy: when both match, the normal path would reuse every entry and publish the same
files, so it answers at once. Anything else takes the normal path; every render removes the project's stamps
first and a whole one that succeeds writes its own. An LLM reviewing keyframes makes renders depend on a
server, so such projects are never stamped.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from director.store.cache import file_stamp

FORMAT = 2
STATE = Path(".director") / "uptodate"
_SKIP_CODE = {"__pycache__"}


def _tree(h, root: Path, skip: set[str]) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in skip and d != "__pycache__")
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            try:
                stamp = file_stamp(os.stat(path))
            except OSError:
                continue
            h.update(f"{os.path.relpath(path, root)}\0{stamp}\n".encode("utf-8", "replace"))


def inputs_digest(root: Path, options: dict) -> str:
    """What a render's keys are made from, by stat: director's code, the project's files, the options."""
    h = hashlib.blake2b(digest_size=20)
    h.update(json.dumps({"format": FORMAT, "options": options, "python": sys.version, "environment": sys.prefix},
                        sort_keys=True).encode())
    _tree(h, Path(__file__).resolve().parents[1], _SKIP_CODE)
    # the project's root level: outputs and state are not inputs (.git neither); deeper levels are all walked
    h.update(b"\0project\0")
    _tree(h, root, {".director", "out", ".git"})
    return h.hexdigest()


def _stats(paths) -> dict[str, list[int]]:
    out = {}
    for path in paths:
        try:
            out[str(path)] = file_stamp(os.stat(path))
        except OSError:
            continue
    return out


def _entry_files(cache_dir: Path, jobs: list[dict]) -> list[str]:
    from director.store.cache import ArtifactCache

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
    folder = Path(root) / STATE
    for path in folder.glob("*.json") if folder.is_dir() else ():
        try:
            path.unlink()
        except OSError:
            pass


def remember(project, episode: str | None, profile: str | None, record: dict, outputs: dict[str, str],
             duration: float | None, run: Path | None) -> None:
    """After a whole render that failed nowhere: the inputs' digest and every file the episode is made of."""
    from director.store.files import write_json

    if project.config.llm.review_keyframes:
        return
    try:
        files = _entry_files(project.cache_dir, record["jobs"]) + list(outputs.values())
    except OSError:  # an entry gone already (cleaned while the render published): no stamp, the next render looks
        return
    summary = {"episode": record.get("episode"), "outputs": outputs, "duration": duration,
               "stages": {k: len(v.get("ran", [])) + v.get("cached", 0) for k, v in record["stages"].items()},
               "jobs": sum(1 for j in record["jobs"] if j.get("status") in ("ran", "cached")),
               "record": str(run) if run else None}
    write_json(stamp_path(project.root, episode, profile),
               {"format": FORMAT, "inputs": inputs_digest(project.root, {"episode": episode, "profile": profile}),
                "files": _stats(files), "summary": summary})


def answer(root: Path, episode: str | None, profile: str | None) -> dict | None:
    """The last render's summary when nothing it depends on changed since; None to take the normal path."""
    try:
        stamp = json.loads(stamp_path(root, episode, profile).read_text(encoding="utf-8"))
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
