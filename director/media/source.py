"""A clip's frames as an ffmpeg input: an encoded file, or the filter graph that draws them.

A video backend hands over a clip in one of two forms (its artifact's roles say which):

- ``clip``: an encoded video file (every diffusion backend; the animatic's Pillow engine);
- ``graph``: a *recipe* (``clip.json``): the filter graph that draws the clip from still pictures kept in
  the same cache entry, plus, optionally, one raw video stream of small patches (the animatic's faces)
  kept compressed beside it (``patches.bin``). Nothing is encoded when the clip is made; whoever needs
  the frames runs the graph inside their own encode. The preview's segments do, so each frame of the
  episode is drawn and encoded once, not encoded as a clip, decoded and encoded again as a segment.

``ClipSource.of(artifact)`` gives either form the same face: the ffmpeg arguments and filter chains that
put the clip's frames (timestamps: frame numbers at the clip's rate, from 0) on a pad of the caller's
graph. Several sources can share one graph (a dissolve, the one-pass reference encode): each one's inputs
are numbered after the ones before and its pads carry its own prefix. ``encode_clip`` writes the clip as
a file for those that need one (an editor's timeline, a test looking at the clip's own frames).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

from director.errors import StageFailed
from director.media.ffmpeg import BT709, filter_threads, rate, run_ffmpeg

if TYPE_CHECKING:  # duck-typed: anything with .has(role) and .file(role) (backends.types.Artifact)
    from director.backends.types import Artifact

RECIPE_FORMAT = 1
# what a clip's graph may use: the animatic's filters, none that reads or writes a file (``movie``, ``metadata``'s
# ``file``...) -- a recipe is data from a cache folder, and a project folder can come from anyone
GRAPH_FILTERS = frozenset({"crop", "pad", "fillborders", "format", "scale", "loop", "settb", "setpts", "overlay",
                           "split", "vstack", "hstack", "null", "trim", "fps"})
RAW_FORMATS = frozenset({"rgba", "rgb24", "yuva420p", "yuv420p"})
_LABEL = re.compile(r"\[([A-Za-z0-9_:]+)\]")
_INPUT = re.compile(r"^(\d+):v$")
_LOOPED = re.compile(r"loop=[^,;\[]*,settb=[^,;\[]*,setpts=N(?=[,;\[]|$)")  # a still through the shot


# ------------------------------------------------------------------------------------------------ patches
def write_patches(path: Path, frames: Iterable[bytes | None], blank: bytes, row: int) -> int:
    """Store a raw stream of equal-sized frames (rows of ``row`` bytes) compactly: the ``blank`` frame once, then
    per frame only the band of rows where it differs from the blank, as the zlib of their XOR with it (an empty
    record: the blank itself; ``None`` means the blank). Returns the count. A talking face changes a mouth's and
    two eyes' rows: compressing the band, not the frame, is most of the saving."""
    import numpy as np

    from director.media.png import deflate

    if not row or len(blank) % row:
        raise ValueError(f"a frame of {len(blank)} bytes is not made of {row}-byte rows")
    base = np.frombuffer(blank, np.uint8).reshape(-1, row)
    count = 0
    with open(path, "wb") as f:
        head = deflate(blank, 1)
        f.write(struct.pack("<III", len(blank), row, len(head)) + head)
        for data in frames:
            changed = None
            if data is not None and data is not blank:
                diff = np.bitwise_xor(np.frombuffer(data, np.uint8).reshape(-1, row), base)
                rows = np.flatnonzero(diff.any(axis=1))
                if len(rows):
                    first, last = int(rows[0]), int(rows[-1]) + 1
                    changed = (first, last, deflate(diff[first:last].tobytes(), 1))
            if changed is None:
                f.write(struct.pack("<I", 0))
            else:
                f.write(struct.pack("<III", len(changed[2]), changed[0], changed[1]) + changed[2])
            count += 1
    return count


def read_patches(path: Path) -> Iterator[bytes]:
    """The frames ``write_patches`` stored, in order."""
    import numpy as np

    def damaged() -> StageFailed:
        return StageFailed(f"{path.name}: damaged patch stream")

    with open(path, "rb") as f:
        try:
            size, row, n = struct.unpack("<III", f.read(12))
            blank = zlib.decompress(f.read(n))
        except (struct.error, zlib.error):
            raise damaged() from None
        if len(blank) != size or not row or size % row:
            raise damaged()
        base = np.frombuffer(blank, np.uint8).reshape(-1, row)
        while head := f.read(4):
            (n,) = struct.unpack("<I", head)
            if n == 0:
                yield blank
                continue
            try:
                first, last = struct.unpack("<II", f.read(8))
                band = np.frombuffer(zlib.decompress(f.read(n)), np.uint8)
            except (struct.error, zlib.error):
                raise damaged() from None
            if not 0 <= first < last <= len(base) or band.size != (last - first) * row:
                raise damaged()
            frame = base.copy()
            np.bitwise_xor(frame[first:last], band.reshape(-1, row), out=frame[first:last])
            yield frame.tobytes()


# ffmpeg (7+) reads an option's value from a file where its name starts with '/' (crop=/w=/any/path): a recipe's
# graph names no file (its inputs are plain names of its own folder), so an option may not start with one
_FROM_FILE = re.compile(r"(?:^|[=:,;\]])\s*/")


def graph_filters(graph: str) -> list[str]:
    """The names of the filters a graph uses (labels and quoted arguments skipped)."""
    names, piece, quoted = [], [], False
    for ch in graph + ";":
        if ch == "'":
            quoted = not quoted
        if not quoted and ch in ",;":
            text = re.sub(r"^(\s*\[[^\]]*\])*\s*", "", "".join(piece))
            names.append(re.split(r"[=@\[\s]", text, maxsplit=1)[0])
            piece = []
        else:
            piece.append(ch)
    return names


# ------------------------------------------------------------------------------------------------ sources
@dataclass(frozen=True)
class Placed:
    """A source's part of a caller's ffmpeg run: its input arguments, its filter chains (maybe none) and the pad
    its frames come out on."""

    args: list[str]
    chains: list[str]
    pad: str
    inputs: int  # how many inputs it took


class ClipSource:
    """Where a clip's frames come from (see the module's docstring)."""

    @staticmethod
    def of(artifact: Artifact) -> ClipSource:
        if artifact.has("graph"):
            return GraphSource(Path(artifact.file("graph")))
        return FileSource(Path(artifact.file("clip")))

    def rate_args(self) -> list[str]:
        """Output options an encode of these frames alone needs (a graph's frames carry no rate of their own)."""
        return []

    def place(self, first: int, prefix: str, work: Path, start: int = 0) -> Placed:  # pragma: no cover
        """Inputs numbered from ``first``, pads named with ``prefix``; ``work``: a folder for what the run reads;
        ``start``: the clip's frames from that one on (still numbered as in the clip), where a source can skip the
        ones before cheaply (``skips``)."""
        raise NotImplementedError

    skips = False  # ``place(start=)`` skips the frames before ``start`` without drawing them


class FileSource(ClipSource):
    def __init__(self, path: Path):
        self.path = path

    def place(self, first: int, prefix: str, work: Path, start: int = 0) -> Placed:
        if not start:
            return Placed(["-i", str(self.path.resolve())], [], f"{first}:v", 1)
        return Placed(["-i", str(self.path.resolve())], [f"[{first}:v]trim=start_frame={start}[{prefix}from]"],
                      f"{prefix}from", 1)  # decoded, then dropped: a file's frames are not skipped cheaply


class GraphSource(ClipSource):
    """A recipe (``clip.json``) and the files beside it."""

    def __init__(self, recipe: Path):
        self.folder = recipe.parent
        try:
            data = json.loads(recipe.read_text(encoding="utf-8"))
            if data.get("format") != RECIPE_FORMAT:
                raise ValueError(f"format {data.get('format')!r}, this director reads {RECIPE_FORMAT}")
            self.graph: str = data["graph"]
            if "\\" in self.graph or self.graph.count("'") % 2:  # escapes could hide a filter from the check
                raise ValueError("its graph has an escape or an unbalanced quote")
            unknown = sorted(set(graph_filters(self.graph)) - GRAPH_FILTERS)
            if unknown:
                raise ValueError(f"its graph uses {', '.join(map(repr, unknown))}; a clip's graph may use only "
                                 f"{', '.join(sorted(GRAPH_FILTERS))}")
            if _FROM_FILE.search(self.graph.replace("'", "")):  # (quotes are gone by the time a filter reads it)
                raise ValueError("its graph loads an option's value from a file ('/option=path')")
            self.frames, self.fps = int(data["frames"]), float(data["fps"])
            self.files = [self._local(name) for name in data["inputs"]]
            raw = data.get("raw")
            self.raw = None if raw is None else (self._local(raw["file"]), int(raw["width"]), int(raw["height"]),
                                                 str(raw["pix_fmt"]))
            if self.raw is not None and (self.raw[3] not in RAW_FORMATS or min(self.raw[1:3]) < 1):
                raise ValueError(f"its patches are {self.raw[1]}x{self.raw[2]} {self.raw[3]!r}")
            self.crf, self.preset = int(data["encode"]["crf"]), str(data["encode"]["preset"])
            # its stills looped as the animatic loops them: the frames before ``start`` are dropped before any filter
            # draws them (a graph made otherwise is drawn from its first frame and trimmed, as a file is)
            self.skips = bool(_LOOPED.search(self.graph))
            self._inputs: dict[Path, list[str]] = {}  # per work folder: the input arguments of what was unpacked
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StageFailed(f"clip recipe {recipe}: unreadable ({exc})") from None

    def _local(self, name: str) -> Path:
        """A file of the recipe's own entry (a plain name: a recipe cannot point anywhere else)."""
        if not isinstance(name, str) or Path(name).name != name or name in ("", ".", ".."):
            raise ValueError(f"input {name!r} is not a file of the clip's own folder")
        return self.folder / name

    def rate_args(self) -> list[str]:
        return ["-r", rate(self.fps)]

    def place(self, first: int, prefix: str, work: Path, start: int = 0) -> Placed:
        # the layers and the faces' stream are unpacked into ``work`` once: the halves of a segment encoded side by
        # side place the same clip twice in one folder
        args = self._inputs.get(work)
        if args is None or not all(Path(args[i + 1]).exists() for i, a in enumerate(args) if a == "-i"):
            args = self._inputs[work] = self._unpack(prefix, work)  # (again where the folder was emptied since)
        chains = []
        patches = len(self.files) if self.raw is not None else None
        if start and patches is not None:  # the faces' stream from the same frame as the stills (its own numbers)
            chains.append(f"[{first + patches}:v]trim=start_frame={start}[{prefix}patchesfrom]")

        def relabel(m: re.Match) -> str:
            label = m.group(1)
            number = _INPUT.match(label)
            if number and start and int(number.group(1)) == patches:
                return f"[{prefix}patchesfrom]"
            return f"[{first + int(number.group(1))}:v]" if number else f"[{prefix}{label}]"

        if start and not self.skips:
            raise ValueError("this recipe's frames cannot start past its first (GraphSource.skips)")
        graph = _LABEL.sub(relabel, self.graph)
        if start:  # each looped still numbered by its frames (setpts=N), then the ones before ``start`` dropped
            graph = _LOOPED.sub(lambda m: f"{m.group(0)},trim=start_frame={start}", graph)
        count = len(self.files) + (self.raw is not None)
        # exactly the clip's frames, numbered from 0 at its rate (from ``start``, numbered as in the clip), and the
        # rate said (tpad and xfade read it; a still's input says 25): as a decoded file gives them. The fps filter
        # passes each frame as it is.
        fr = rate(self.fps)
        tail = (f"[{prefix}out]trim=end_frame={self.frames - start},settb=1/({fr}),setpts=N+{start},fps={fr}"
                f"[{prefix}src]")
        return Placed(list(args), [*chains, graph, tail], f"{prefix}src", count)

    def _unpack(self, prefix: str, work: Path) -> list[str]:
        """ffmpeg's input arguments for the stills and the faces' stream, written into ``work`` as it reads them."""
        import numpy as np

        from director.media.png import CHANNELS, unpacked_png

        args = []
        for i, still in enumerate(self.files):
            # a layer the animatic wrote is handed over as raw pixels: ffmpeg decodes a PNG twice (~21 ms for a
            # 1080x1920 layer, three layers a segment), unpacking it here is an inflate; any other file as it is
            unpacked = unpacked_png(still) if still.suffix.lower() == ".png" else None
            if unpacked is None:
                args += ["-i", str(still.resolve())]
                continue
            pixels, pix_fmt = unpacked
            raw = work / f"{prefix}still{i}.raw"
            with open(raw, "wb") as f:
                f.write(np.ascontiguousarray(pixels).data)  # the rows without their filter bytes (one copy:
                # ``tofile`` wrote a strided view's bytes one at a time, 20x slower)
            width = pixels.shape[1] // CHANNELS[pix_fmt]
            args += ["-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", f"{width}x{pixels.shape[0]}", "-i",
                     str(raw.resolve())]
        if self.raw is not None:
            stored, w, h, fmt = self.raw
            unpacked = work / f"{prefix}patches.raw"
            with open(unpacked, "wb") as f:
                for data in read_patches(stored):
                    f.write(data)
            args += ["-f", "rawvideo", "-pix_fmt", fmt, "-s", f"{w}x{h}", "-framerate", rate(self.fps),
                     "-i", str(unpacked.resolve())]
        return args


def encode_clip(source: ClipSource, path: Path, crf: int, preset: str, filters: str = "null") -> Path:
    """A source's frames, through ``filters``, encoded to H.264 at ``path`` (atomically): a recipe made a file
    (``clip_file``), an editor's clip with its dissolve handles (``export``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    work = path.parent / f".{path.name}.work"
    partial = path.parent / f".{path.name}.part.mp4"
    work.mkdir(exist_ok=True)
    try:
        placed = source.place(0, "c", work)
        run_ffmpeg([*placed.args, *filter_threads(), "-filter_complex",
                    ";".join([*placed.chains, f"[{placed.pad}]{filters}[v]"]), "-map", "[v]", "-an", "-c:v", "libx264",
                    "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p", *BT709, *source.rate_args(),
                    str(partial.resolve())], f"encoding {path.name}")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    return path


def write_recipe(out: Path, graph: str, inputs: list, fps: float, frames: int, width: int, height: int,
                 crf: int, preset: str, raw: tuple[str, int, int, str] | None = None) -> dict[str, str]:
    """A backend's side: the recipe in ``out`` with its still inputs beside it -- each a file, copied, or a picture
    (Pillow, RGB, RGBA or grey), written as a PNG; ``raw``: (file already in ``out``, width, height, pixel
    format). Returns the entry's files by role. The stills are copied, not linked: a few hundred kB, and an entry
    that shares no inode with another is verified, collected and repaired alone (a link also changes the other
    file's ctime, which the cache's stamps read as a change)."""
    from director.media.png import write_png

    files = {"graph": "clip.json"}
    names = []
    for i, src in enumerate(inputs):
        if isinstance(src, (str, os.PathLike)):
            name = f"input-{i}{Path(src).suffix}"
            shutil.copyfile(src, out / name)
        else:
            name = f"input-{i}.png"
            write_png(out / name, src)
        names.append(name)
    recipe = {"format": RECIPE_FORMAT, "graph": graph, "inputs": names, "fps": fps, "frames": frames,
              "width": width, "height": height, "encode": {"crf": crf, "preset": preset}, "raw": None}
    if raw is not None:
        recipe["raw"] = {"file": raw[0], "width": raw[1], "height": raw[2], "pix_fmt": raw[3]}
        files["patches"] = raw[0]
    (out / "clip.json").write_text(json.dumps(recipe, indent=1), encoding="utf-8")
    return files


def clip_file(folder: Path, into: Path | None = None) -> Path:
    """The clip a video backend made in ``folder`` as a video file: its own, or its recipe encoded (once) to
    ``into`` (default: beside the recipe, for a folder that is not a cache entry)."""
    folder = Path(folder)
    if (folder / "clip.mp4").is_file():
        return folder / "clip.mp4"
    if into is None and (folder / "clip.materialized.mp4").is_file():
        return folder / "clip.materialized.mp4"
    source = GraphSource(folder / "clip.json")
    return encode_clip(source, into or folder / "clip.materialized.mp4", source.crf, source.preset)
