"""The content-addressed artifact cache (docs/architecture.md).

An entry lives at ``<cache>/<stage>/<key[:2]>/<key>/``. It is produced in a temporary
folder beside it, closed with a manifest (every file, its size and its BLAKE2b digest)
written last, and renamed into place. ``lookup`` verifies content, not just presence: an
entry whose manifest is missing, unreadable or disagrees with its files is torn or
corrupted, and is discarded with a log line and redone, never used.

Verifying content without re-reading gigabytes on every render: after a file's digest has
been checked, its (size, mtime, ctime, inode) are kept in ``.verified.json`` beside it, and
a later lookup re-hashes only the files whose stat changed. Any write to a file (even one
that keeps its size and puts the mtime back with ``touch -d``) moves its ctime, which no
user-level call can set, so every edit is re-hashed. Silent bit rot changes no stat field:
``director clean --verify`` re-hashes everything.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import stat
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from director.paths import UnsafePath
from director.secrets import redact_data
from director.store.files import canonical_json, read_own

log = logging.getLogger("director.cache")
MANIFEST = "manifest.json"
STAMPS = ".verified.json"
TMP_PREFIX = ".tmp-"
FORMAT = 2  # 1: sizes only (no longer trusted)


def fingerprint(material: dict[str, Any]) -> str:
    """sha256 over canonical JSON of exactly what affects a result."""
    return hashlib.sha256(canonical_json(material).encode("utf-8")).hexdigest()


def content_digest(path: Path) -> str:
    """BLAKE2b of a file's bytes, streamed."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "blake2b").hexdigest()


class Corrupt(Exception):
    """A cache entry that must not be used."""


@dataclass(frozen=True)
class Entry:
    stage: str
    key: str
    path: Path
    meta: dict[str, Any] = field(default_factory=dict)

    def file(self, name: str) -> Path:
        return self.path / name

    def has(self, role: str) -> bool:
        """Whether the job that made it said a file plays ``role``."""
        return role in (self.meta.get("files") or {})

    def role(self, role: str) -> Path:
        """The file playing ``role`` (``image``, ``clip``, ``audio``) as the job that made it said."""
        files = self.meta.get("files") or {}
        if role not in files:
            raise KeyError(f"{self.stage} entry {self.key[:12]} has no '{role}' file (it has: "
                           f"{', '.join(sorted(files)) or 'none'})")
        return self.path / files[role]


def file_stamp(st: os.stat_result) -> list[int]:
    """What a file's stat says of its content: a rewrite changes the ctime and often the inode, even when the size and
    modification time are put back."""
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


class ArtifactCache:
    def __init__(self, root: Path, rehash: bool = False):
        self.root = root
        self.rehash = rehash  # True: trust no stamp, hash every file (``clean --verify``)

    def entry_path(self, stage: str, key: str) -> Path:
        return self.root / stage / key[:2] / key

    def _linked(self, path: Path) -> bool:
        """Whether the entry's folder, its shard or its stage's folder is a symbolic link (director makes none:
        one was put there, and following it reads, writes or deletes outside the cache)."""
        return any(os.path.islink(p) for p in (path, path.parent, path.parent.parent))

    def lookup(self, stage: str, key: str) -> Entry | None:
        """The complete, verified entry for ``key``, or None. Torn or corrupted entries are removed; an entry
        reached through a symbolic link is not used, and nothing is removed through it."""
        path = self.entry_path(stage, key)
        if self._linked(path):
            log.warning("ignoring cache entry %s/%s: a symbolic link on its way (%s); it will be made again "
                        "elsewhere only once the link is removed", stage, key[:12], path)
            return None
        if not path.is_dir():
            return None
        try:
            manifest = _read_manifest(path)
            self._verify(path, manifest["files"])
        except (OSError, ValueError, Corrupt) as exc:
            log.warning("discarding torn or corrupted cache entry %s/%s: %s; it will be made again",
                        stage, key[:12], exc)
            shutil.rmtree(path, ignore_errors=True)
            return None
        return Entry(stage, key, path, manifest["meta"])

    def _verify(self, path: Path, files: dict[str, dict]) -> None:
        try:
            stamps = json.loads(read_own(path / STAMPS))
            stamps = stamps if isinstance(stamps, dict) else {}
        except (OSError, ValueError):
            stamps = {}
        fresh = {}
        for name, record in files.items():
            st = (path / name).lstat()
            if not stat.S_ISREG(st.st_mode):  # a link in an entry would publish whatever it points to
                raise Corrupt(f"{name} is not a plain file")
            if st.st_size != record["size"]:
                raise Corrupt(f"{name} has {st.st_size} bytes, the manifest says {record['size']}")
            stamp = file_stamp(st)
            if not self.rehash and stamps.get(name) == stamp:
                fresh[name] = stamp
                continue
            if content_digest(path / name) != record["blake2b"]:
                raise Corrupt(f"{name} does not match its digest (the file was changed or damaged)")
            fresh[name] = stamp
        if fresh != stamps:
            _write_stamps(path, fresh)

    def produce(self, stage: str, key: str, material: dict, make: Callable[[Path], dict | None]) -> Entry:
        """Run ``make(tmpdir)`` and publish its files as the entry for ``key``, atomically."""
        final = self.entry_path(stage, key)
        if self._linked(final):
            raise UnsafePath(f"refusing to write a cache entry under {final.parent}: a symbolic link on its way "
                             f"(director never makes links in its cache; remove it)")
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f"{TMP_PREFIX}{key}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            meta = make(tmp)
            meta = meta if isinstance(meta, dict) else {}
            declared = meta.get("files") if isinstance(meta.get("files"), dict) else {}
            missing = [f"{role} ({name})" for role, name in declared.items() if not (tmp / str(name)).is_file()]
            if missing:  # a result that names a file it did not write would break every consumer later
                raise ValueError(f"{stage}: the result names files it did not write: {', '.join(missing)}")
            files, stamps = {}, {}
            for p in sorted(tmp.iterdir()):
                if p.is_file():
                    files[p.name] = {"size": p.stat().st_size, "blake2b": content_digest(p)}
                    stamps[p.name] = file_stamp(p.stat())
            manifest = redact_data({"format": FORMAT, "stage": stage, "key": key, "files": files, "meta": meta,
                                    "inputs": material})
            with open(tmp / MANIFEST, "w", encoding="utf-8") as f:
                json.dump(manifest, f, indent=1, sort_keys=True, ensure_ascii=False)
                f.flush()
                os.fsync(f.fileno())
            _write_stamps(tmp, stamps)
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
            return _read_manifest(self.entry_path(stage, key))["inputs"]
        except (OSError, ValueError):
            return None

    def entries(self) -> list[tuple[str, str, Path]]:
        out = []
        if not self.root.is_dir():
            return out
        if os.path.islink(self.root):
            return out

        def folders(path: Path) -> list[os.DirEntry]:  # links skipped: clean must never delete through one
            with os.scandir(path) as it:
                return sorted((e for e in it if e.is_dir(follow_symlinks=False)), key=lambda e: e.name)

        for stage_dir in folders(self.root):
            for shard in folders(Path(stage_dir.path)):
                for entry in folders(Path(shard.path)):
                    out.append((stage_dir.name, entry.name, Path(entry.path)))
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


def _read_manifest(path: Path) -> dict:
    """The manifest of an entry, its shape checked (ValueError when it is not one this version wrote)."""
    manifest = json.loads(read_own(path / MANIFEST))
    if not isinstance(manifest, dict):
        raise ValueError("the manifest is not a JSON object")
    if manifest.get("format") != FORMAT:
        raise ValueError(f"cache format {manifest.get('format', 1)!r} (this version writes {FORMAT})")
    files, meta = manifest.get("files"), manifest.get("meta", {})
    if not isinstance(files, dict) or not isinstance(meta, dict):
        raise ValueError("the manifest has no file list")
    for name, record in files.items():
        if (not isinstance(name, str) or "/" in name or name in ("", ".", "..", MANIFEST, STAMPS)
                or not isinstance(record, dict) or not isinstance(record.get("size"), int)
                or not isinstance(record.get("blake2b"), str)):
            raise ValueError(f"the manifest's entry for {str(name)[:40]!r} is malformed")
    roles = meta.get("files", {})  # what each role's file is: one of the files checked, nothing else (a path
    # written there, absolute or with "..", had the render publish any file it could read as the episode)
    if not isinstance(roles, dict) or any(not isinstance(name, str) or name not in files for name in roles.values()):
        raise ValueError("the manifest names a file for a role that is not one of its files")
    manifest["meta"] = meta
    return manifest


def _write_stamps(path: Path, stamps: dict) -> None:
    tmp = path / f"{STAMPS}.{os.getpid()}-{uuid.uuid4().hex[:6]}"
    try:
        tmp.write_text(json.dumps(stamps), encoding="utf-8")
        os.replace(tmp, path / STAMPS)
    except OSError:  # a read-only cache still verifies, by hashing every time
        try:
            tmp.unlink(missing_ok=True)
        except OSError:  # EROFS where nothing could be written in the first place
            pass


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
