"""The content-addressed artifact cache (DESIGN.md §5).

An entry lives at ``<cache>/<stage>/<key[:2]>/<key>/``. It is produced in a temporary
folder beside it, closed with a manifest (every file and its size) written last, and
renamed into place; an entry whose manifest is missing or disagrees with its files is
torn, and is discarded with a log line, never used.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from director.runtime.files import canonical_json

log = logging.getLogger("director.cache")
MANIFEST = "manifest.json"
TMP_PREFIX = ".tmp-"


def fingerprint(material: dict[str, Any]) -> str:
    """sha256 over canonical JSON of exactly what affects a result."""
    return hashlib.sha256(canonical_json(material).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Entry:
    stage: str
    key: str
    path: Path
    meta: dict[str, Any] = field(default_factory=dict)

    def file(self, name: str) -> Path:
        return self.path / name


class ArtifactCache:
    def __init__(self, root: Path):
        self.root = root

    def entry_path(self, stage: str, key: str) -> Path:
        return self.root / stage / key[:2] / key

    def lookup(self, stage: str, key: str) -> Entry | None:
        """The complete entry for ``key``, or None. Torn entries are removed."""
        path = self.entry_path(stage, key)
        if not path.is_dir():
            return None
        try:
            manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
            for name, size in manifest["files"].items():
                if (path / name).stat().st_size != size:
                    raise ValueError(f"{name} has the wrong size")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("discarding torn cache entry %s/%s (%s)", stage, key[:12], exc)
            shutil.rmtree(path, ignore_errors=True)
            return None
        return Entry(stage, key, path, manifest.get("meta", {}))

    def produce(self, stage: str, key: str, material: dict, make: Callable[[Path], dict | None]) -> Entry:
        """Run ``make(tmpdir)`` and publish its files as the entry for ``key``, atomically."""
        final = self.entry_path(stage, key)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f"{TMP_PREFIX}{key}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            meta = make(tmp) or {}
            files = {p.name: p.stat().st_size for p in sorted(tmp.iterdir()) if p.is_file()}
            manifest = {"stage": stage, "key": key, "files": files, "meta": meta, "inputs": material}
            with open(tmp / MANIFEST, "w", encoding="utf-8") as f:
                json.dump(manifest, f, indent=1, sort_keys=True, ensure_ascii=False)
                f.flush()
                os.fsync(f.fileno())
            _fsync_dir(tmp)
            try:
                os.replace(tmp, final)
            except OSError:  # another process published the same key first: theirs is as good
                if self.lookup(stage, key) is None:
                    raise
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _fsync_dir(final.parent)
        return Entry(stage, key, final, meta)

    def inputs(self, stage: str, key: str) -> dict | None:
        try:
            return json.loads((self.entry_path(stage, key) / MANIFEST).read_text(encoding="utf-8"))["inputs"]
        except (OSError, ValueError, KeyError):
            return None

    def entries(self) -> list[tuple[str, str, Path]]:
        out = []
        if not self.root.is_dir():
            return out
        for stage_dir in sorted(p for p in self.root.iterdir() if p.is_dir()):
            for shard in stage_dir.iterdir():
                if not shard.is_dir():
                    continue
                for entry in shard.iterdir():
                    out.append((stage_dir.name, entry.name, entry))
        return out

    def sweep_temporaries(self) -> int:
        """Remove folders left by writers that died mid-entry (call only while holding the lock)."""
        removed = 0
        for _, name, path in self.entries():
            if name.startswith(TMP_PREFIX):
                log.info("removing unfinished cache write %s", path.name)
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
        return removed


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
