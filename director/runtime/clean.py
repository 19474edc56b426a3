"""`director clean`: remove cache entries that no episode's current state references, nor any shot's earlier
take (``take pick`` brings one back from the cache)."""
from __future__ import annotations

import shutil

from director.project import Project
from director.store.cache import ArtifactCache


def referenced_keys(project: Project) -> set[str]:
    keys: set[str] = set()
    from director.runtime.engine import read_jobs

    for path in (project.state / "state").glob("*.json"):
        keys |= {v["key"] for v in read_jobs(path).values()}
    return keys


def clean_cache(project: Project, everything: bool = False, dry_run: bool = False,
                verify: bool = False, listed: list[dict] | None = None) -> tuple[int, int, int, int]:
    """(entries removed, entries kept, bytes freed, damaged entries found by re-hashing and removed); ``listed``,
    where given, gets each entry removed (or, dry, that would be): stage, key, bytes, and what it was made for
    (a line's words, a prompt's start, a sheet's id, a cue's mood, where its inputs have one)."""
    from director.store.lock import ProjectLock

    cache = ArtifactCache(project.cache_dir)
    with ProjectLock(project.state, "clean") as lock:
        # a render killed before it recorded what it finished (its state is saved once a second): what it made
        # since it started is kept, for the next render to take up (the current plan uses it)
        crashed = None if everything or lock.died is None else lock.died["since"] - 1.0
        if everything:
            keep: set[str] = set()
        else:
            from director.runtime.edits import take_keys

            keep = referenced_keys(project) | take_keys(project)  # and the takes a pick may bring back
        removed = kept = freed = damaged = 0
        if verify and not dry_run:  # every file hashed again, whatever its stat says (bit rot)
            checker = ArtifactCache(project.cache_dir, rehash=True)
            for stage, key, path in cache.entries():
                if not key.startswith(".") and checker.lookup(stage, key) is None:
                    damaged += 1
        for stage, key, path in cache.entries():
            if key in keep or (stage == "exports" and (cache.inputs(stage, key) or {}).get("clip") in keep) or (
                    crashed is not None and _made_since(path, crashed)):
                # an editor's copy of a clip still in use stays with its clip
                kept += 1
                continue
            size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
            freed += size
            removed += 1
            if listed is not None:
                material = cache.inputs(stage, key) or {}
                what = next((str(material[k]) for k in ("id", "name", "text", "mood", "prompt") if material.get(k)), "")
                what = what if len(what) <= 40 else what[:39] + "…"
                listed.append({"stage": stage, "key": key, "bytes": size, "for": what})
            if not dry_run:
                shutil.rmtree(path, ignore_errors=True)
    return removed, kept, freed, damaged


def _made_since(path, when: float) -> bool:
    try:
        return path.stat().st_mtime >= when
    except OSError:
        return False
