"""Preview clips: an animatic of the storyboard panel that performs the shot's camera move.

Pan, tilt, dolly/zoom, truck, crane, orbit (a parallax approximation: foreground and
background layers move against each other) and handheld shake, at the project's fps for
exactly the requested number of frames. The panel's header stays fixed, like a slate.

The characters live: a speaker's mouth opens with the energy of their own voice (frame by frame
RMS of the line's recording, where the line plays in the shot), every face blinks at natural,
seeded intervals, and a listener blinks as a line ends. The panel says where each face is
(``faces.json``); only mouths and eyes change from frame to frame.

Two engines draw the same clip from one description of the move (``_path``: per camera setting, a
curve of the shot's time that Python evaluates and that also writes itself as an ffmpeg expression):

- ``ffmpeg`` (the default) moves the panel inside the encode -- not the clip's own: the clip is the
  *recipe* (``media.source``: the filter graph, copies of the layers beside it, the faces' patches), and
  the segment that shows the shot runs it inside its encode, with the subtitles and fades, so each frame is
  encoded once. ffmpeg decodes each layer (background, figures, the header band) once and loops it; a
  filter graph scales it (once for a constant zoom, per frame for a changing one), crops it where the
  camera looks, lays the figures over the background at their own parallax offset and the header on top,
  unmoved -- per frame, in C, with expressions of the frame's time. A handheld roll is two shears made of
  strips (bands of rows cropped at shifted columns, then columns cropped at shifted rows: pointers into the
  looped frame, not a per-pixel rotation). A static shot is the composed panel repeated. Python draws only
  what changes, the faces' mouths and closed eyes, on a small transparent patch in the figures' layer space
  (stored compressed with the recipe, fed to ffmpeg as a raw stream), which the graph lays on the layer
  *before* the move, so the move carries it. The mouth motion of the sync score is measured on that patch
  (what Python drew); the mouth boxes of ``faces.json`` come from the move's geometry, as the encoded frame
  has them. Placement is to the pixel (sub-pixel offsets are rounded).
- ``pillow`` (the first engine; the benchmark pairs the two) draws every frame in Python: each layer
  transformed, features redrawn over the moved frame, the header pasted back; a static shot patches only
  the face regions of one still frame. Raw RGB goes to ffmpeg.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
from PIL import Image, ImageDraw

from director.backends import BackendConfig
from director.backends.types import ClipRequest, Made
from director.media.ffmpeg import FrameWriter, rate, yuv
from director.media.source import write_patches, write_recipe
from director.backends.preview.faces import Face, Performance, load_faces
from director.media.lipsync import score
from director.store.files import write_json


# ---------------------------------------------------------------------------------------------- the camera
@dataclass(frozen=True)
class Cam:
    """Where the camera is at one moment: zoom and offset (share of the frame) per layer."""

    zoom: float = 1.0
    x: float = 0.0
    y: float = 0.0
    rot: float = 0.0
    fg_zoom: float | None = None
    fg_x: float | None = None
    fg_y: float | None = None


def _ease(t: float) -> float:
    return t * t * (3 - 2 * t)


@dataclass(frozen=True)
class Curve:
    """One camera setting through a shot, a function of its time t in [0, 1]: ``start`` eased (smoothstep) to
    ``end``, plus a shake (sines: amplitude, cycles per shot, phase in cycles)."""

    start: float
    end: float | None = None  # None: constant
    shake: tuple[tuple[float, float, float], ...] = ()

    @property
    def moving(self) -> bool:
        return (self.end is not None and self.end != self.start) or bool(self.shake)

    def at(self, t: float) -> float:
        value = self.start if self.end is None else self.start + (self.end - self.start) * _ease(t)
        return value + sum(a * math.sin(2 * math.pi * (f * t + p)) for a, f, p in self.shake)

    def expr(self, t: str) -> str:
        """The same curve as an ffmpeg expression, ``t`` being an expression of the shot's time."""
        out = _num(self.start)
        if self.end is not None and self.end != self.start:
            out += f"+({_num(self.end - self.start)})*{t}*{t}*(3-2*{t})"
        for a, f, p in self.shake:
            out += f"+({_num(a)})*sin(2*PI*({_num(f)}*{t}+{_num(p)}))"
        return f"({out})"

    def peak(self) -> float:
        """The largest magnitude the curve reaches (or a bound on it)."""
        end = self.start if self.end is None else self.end
        return max(abs(self.start), abs(end)) + sum(abs(a) for a, _, _ in self.shake)


def _path(move: str, phase: tuple[float, ...] = (0.0,) * 6) -> dict[str, Curve]:
    """A move as curves per ``Cam`` field (a field left out keeps its default): what both engines perform."""
    if move == "zoom-in":
        return {"zoom": Curve(1.0, 1.18)}
    if move == "zoom-out":
        return {"zoom": Curve(1.18, 1.0)}
    if move == "dolly-in":  # perspective: the subject grows faster than the room
        return {"zoom": Curve(1.0, 1.1), "fg_zoom": Curve(1.0, 1.22)}
    if move == "dolly-out":
        return {"zoom": Curve(1.1, 1.0), "fg_zoom": Curve(1.22, 1.0)}
    if move in ("pan-left", "pan-right"):
        sign = -1 if move == "pan-left" else 1
        return {"zoom": Curve(1.16), "x": Curve(-0.06 * sign, 0.06 * sign)}
    if move in ("tilt-up", "tilt-down"):
        sign = -1 if move == "tilt-up" else 1
        return {"zoom": Curve(1.16), "y": Curve(-0.06 * sign, 0.06 * sign)}
    if move in ("truck-left", "truck-right"):
        sign = -1 if move == "truck-left" else 1
        return {"zoom": Curve(1.14), "x": Curve(-0.03 * sign, 0.03 * sign), "fg_zoom": Curve(1.14),
                "fg_x": Curve(-0.07 * sign, 0.07 * sign)}
    if move in ("crane-up", "crane-down"):
        sign = -1 if move == "crane-up" else 1
        return {"zoom": Curve(1.14, 1.18), "y": Curve(-0.03 * sign, 0.03 * sign), "fg_zoom": Curve(1.14, 1.18),
                "fg_y": Curve(-0.07 * sign, 0.07 * sign)}
    if move == "orbit":  # background slides one way, subject the other
        return {"zoom": Curve(1.15), "x": Curve(0.06, -0.06), "fg_zoom": Curve(1.15), "fg_x": Curve(-0.05, 0.05)}
    if move == "handheld":  # sway (share of the frame) and roll (degrees): two sines each, seeded phases
        a, b, c, d, f, g = phase
        return {"zoom": Curve(1.07), "x": Curve(0.0, shake=((0.006, 5.2, a), (0.003, 12.4, b))),
                "y": Curve(0.0, shake=((0.006, 4.4, c), (0.003, 10.8, d))),
                "rot": Curve(0.0, shake=((0.5, 3.6, f), (0.2, 9.2, g)))}
    return {}


def camera(move: str, t: float, rng_phase: tuple[float, ...] = (0.0,) * 6) -> Cam:
    """The camera at time ``t`` in [0, 1] for a move."""
    return Cam(**{name: curve.at(t) for name, curve in _path(move, rng_phase).items()})


@dataclass(frozen=True)
class Layer:
    """How one layer moves through a shot: zoom, offset (shares of the frame) and roll (degrees)."""

    zoom: Curve = field(default_factory=lambda: Curve(1.0))
    x: Curve = field(default_factory=lambda: Curve(0.0))
    y: Curve = field(default_factory=lambda: Curve(0.0))
    rot: Curve = field(default_factory=lambda: Curve(0.0))

    @property
    def still(self) -> bool:
        """Whether the layer stays where the panel has it all shot long."""
        curves = (self.zoom, self.x, self.y, self.rot)
        return not any(c.moving for c in curves) and tuple(c.start for c in curves) == (1.0, 0.0, 0.0, 0.0)


def _layers(path: dict[str, Curve]) -> tuple[Layer, Layer | None]:
    """The background's move (the whole picture's, when it moves as one) and the figures' own, if they have one."""
    back = Layer(**{k: path[k] for k in ("zoom", "x", "y", "rot") if k in path})
    if "fg_zoom" not in path:
        return back, None
    return back, Layer(path["fg_zoom"], path.get("fg_x", back.x), path.get("fg_y", back.y), back.rot)


# ---------------------------------------------------------------------------------------------- pillow: frame by frame
def _transform(img: Image.Image, zoom: float, x: float, y: float, rot: float) -> Image.Image:
    w, h = img.size
    cx, cy = w / 2, h / 2
    cos, sin = math.cos(math.radians(rot)), math.sin(math.radians(rot))
    a, b = cos / zoom, sin / zoom
    d, e = -sin / zoom, cos / zoom
    ox, oy = cx + x * w, cy + y * h
    coeffs = (a, b, ox - a * cx - b * cy, d, e, oy - d * cx - e * cy)
    return img.transform((w, h), Image.AFFINE, coeffs, resample=Image.BILINEAR)


def _forward(width: int, height: int, zoom: float, x: float, y: float, rot: float):
    """Where ``_transform`` with these settings puts a point of its source: the map panel -> frame."""
    cx, cy = width / 2, height / 2
    ox, oy = cx + x * width, cy + y * height
    c, s = math.cos(math.radians(rot)), math.sin(math.radians(rot))

    def to_frame(px: float, py: float) -> tuple[float, float]:
        dx, dy = px - ox, py - oy
        return cx + zoom * (c * dx - s * dy), cy + zoom * (s * dx + c * dy)

    return to_frame


def _box(region, width: int, height: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = region
    return max(0, int(x0)), max(0, int(y0)), min(width, int(x1) + 1), min(height, int(y1) + 1)


def _ordered_map(fn, items, threads: int):
    """fn over items on a few threads, results in order, at most 2x threads frames in flight."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= 2 * max(1, threads):
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


# ---------------------------------------------------------------------------------------------- ffmpeg: one filter graph
EIGHT_BIT = frozenset({"RGB", "RGBA", "L", "LA", "P"})  # modes a layer's part is cropped from in Python, exactly


class _Graph:
    """One shot's filter graph being written: its inputs (the panel's layers, a frame each), chains of filters
    between named pads, and the chains that move a layer the way the camera does."""

    def __init__(self, req: ClipRequest):
        self.keyframe, self.frame, self.frames, self.fps = req.keyframe, (req.width, req.height), req.frames, req.fps
        self.files: list[str | Image.Image] = []  # a file, or a part of one to write beside the recipe
        self.chains: list[str] = []
        self.pictures: dict[str, Image.Image] = {}
        self.boxed: dict[str, tuple[int, int, int, int]] = {}  # pads that carry only a box of their picture
        # the shot's time in [0, 1], from the frame's timestamp (frame numbers, ``n``, are counted differently by
        # different filters: overlay and scale count the frame in hand, crop does not)
        self.t = f"(round(t*{rate(req.fps)})/{max(1, req.frames - 1)})"

    def chain(self, inputs: list[str], filters: list[str]) -> str:
        """Append ``inputs`` -> filters -> a new pad; returns the pad."""
        if not filters:
            (pad,) = inputs
            return pad
        pad = f"p{len(self.chains)}"
        self.chains.append("".join(f"[{p}]" for p in inputs) + ",".join(filters) + f"[{pad}]")
        return pad

    def split(self, pad: str, k: int) -> list[str]:
        """``k`` pads carrying ``pad``'s frames (references to them, not copies)."""
        if k == 1:
            return [pad]
        outs = [f"p{len(self.chains)}s{i}" for i in range(k)]
        self.chains.append(f"[{pad}]split={k}" + "".join(f"[{o}]" for o in outs))
        return outs

    def stack(self, pads: list[str], how: str) -> str:
        return pads[0] if len(pads) == 1 else self.chain(pads, [f"{how}=inputs={len(pads)}"])

    def text(self, out: str) -> str:
        """The graph, its last pad renamed ``out``."""
        *head, last = self.chains
        return ";".join([*head, last[: last.rindex("[")] + f"[{out}]"])

    def picture(self, role: str) -> Image.Image:
        """One of the keyframe's pictures, opened once."""
        if role not in self.pictures:
            self.pictures[role] = Image.open(self.keyframe.file(role))
        return self.pictures[role]

    def still(self, role: str, box: tuple[int, int, int, int] | None = None) -> str:
        """A pad with one of the keyframe's pictures (one frame), at the clip's size; ``box``: only that part of it
        (clip pixels). A part is kept as a picture of its own beside the recipe, where the sizes agree: every run
        of the graph decodes it, and a header band or a figure is a fraction of the 1080x1920 layer it sits in
        (the header's PNG decoded in ~2 ms, not ~20)."""
        img = self.picture(role)
        part = box is not None and box != (0, 0, *self.frame)
        if part and img.size == self.frame and img.mode in EIGHT_BIT:  # deeper samples: ffmpeg crops them
            piece = img.crop(box)
            self.files.append(piece if piece.mode in ("RGB", "RGBA", "L") else piece.convert("RGBA"))
            pad = f"{len(self.files) - 1}:v"
            self.boxed[pad] = box
            return pad
        self.files.append(self.keyframe.file(role))
        pad = f"{len(self.files) - 1}:v"
        if img.size != self.frame:
            pad = self.chain([pad], [f"scale={self.frame[0]}:{self.frame[1]}:flags=lanczos"])
        if part:
            x0, y0, x1, y1 = box
            pad = self.chain([pad], [f"crop={x1 - x0}:{y1 - y0}:{x0}:{y0}"])
            self.boxed[pad] = box
        return pad

    def looped(self, pad: str, filters: list[str]) -> str:
        """``filters`` once, then their frame repeated through the shot (timestamps: frame numbers at ``fps``)."""
        return self.chain([pad], [*filters, f"loop=loop={self.frames - 1}:size=1:start=0",
                                  f"settb=1/({rate(self.fps)})", "setpts=N"])

    def zoomed(self, layer: Layer, pad: str, box: tuple[int, int, int, int], fmt: str, faces=None,
               border: int = 0) -> tuple[str, str, str]:
        """A layer of the panel (``box``: the part of it the layer is) through the shot, at the zoom the camera has,
        the faces' patch laid on first (``faces``: the chain that does it). ``border``: pixels of the layer's edge
        repeated around it, for crops that reach a little beyond it. Returns its pad and, as expressions, where the
        frame's top-left corner falls in it: the camera looks at the panel's point c + (x, y) * frame, which the
        zoom carries to the frame's centre c."""
        (w, h), t = self.frame, self.t
        x0, y0, x1, y1 = box
        width, height = x1 - x0 + 2 * border, y1 - y0 + 2 * border
        size = _prescaled(width, height, layer.zoom)
        filters = [] if box == (0, 0, w, h) or self.boxed.get(pad) == box else [f"crop={x1 - x0}:{y1 - y0}:{x0}:{y0}"]
        if border:
            filters += [f"pad={width}:{height}:{border}:{border}",
                        f"fillborders=left={border}:right={border}:top={border}:bottom={border}:mode=smear"]
        filters.append(yuv(fmt) if fmt.startswith("yuv") else f"format={fmt}")
        if size != (width, height):  # a constant zoom: scaled once
            filters.append(f"scale={size[0]}:{size[1]}:flags=bicubic")
        pad = self.looped(pad, filters)
        if faces is not None:
            pad = faces(pad)
        if layer.zoom.moving:  # scaled per frame, grown by even numbers of pixels as _prescaled does
            z = layer.zoom.expr(t)
            sw, sh = f"({width}+2*round({width}*({z}-1)/2))", f"({height}+2*round({height}*({z}-1)/2))"
            pad = self.chain([pad], [f"scale=w='{sw}':h='{sh}':eval=frame:flags=bilinear"])
            zx, zy = f"({sw}/{width})", f"({sh}/{height})"
        else:
            zx, zy = _num(size[0] / width), _num(size[1] / height)
        kx = f"{zx}*({_num(w / 2 - x0 + border)}+{w}*{layer.x.expr(t)})-{_num(w / 2)}"
        ky = f"{zy}*({_num(h / 2 - y0 + border)}+{h}*{layer.y.expr(t)})-{_num(h / 2)}"
        return pad, kx, ky

    def cropped(self, pad: str, kx: str, ky: str) -> str:
        """The frame where the camera looks (``kx``, ``ky``: from ``zoomed``), to the pixel."""
        w, h = self.frame
        return self.chain([pad], [f"crop={w}:{h}:x='round({kx})':y='round({ky})':exact=1"])

    def rolled(self, pad: str, kx: str, ky: str, rot: Curve) -> str:
        """The frame where the camera looks, rolled by ``rot`` (degrees) about its centre: two shears (first order:
        within a fifth of a pixel at a degree). Bands of rows are cropped at shifted columns and stacked, then
        strips of columns at shifted rows; neighbouring strips differ by a pixel at most, as in a nearest-neighbour
        rotation. Each crop is a pointer into the frame: only the two stacks copy pixels, a fraction of the cost
        of ffmpeg's per-pixel rotate filter."""
        (w, h), angle, peak = self.frame, f"({rot.expr(self.t)}*PI/180)", math.radians(rot.peak())
        step = max(2, int(1 / max(peak, 1e-6)) // 2 * 2)  # a pixel of shift from one strip to the next
        margin = math.ceil(peak * w / 2) + 2  # rows the column shifts reach beyond the frame
        margin += margin % 2
        rows = _spans(h + 2 * margin, step)
        bands = []
        for (r0, r1), p in zip(rows, self.split(pad, len(rows))):
            b = (r0 + r1) / 2 - (h / 2 + margin)  # the band's middle row, from the centre
            bands.append(self.chain([p], [f"crop={w}:{r1 - r0}:x='round({kx}+({_num(b)})*{angle})'"
                                          f":y='round({ky})+{r0 - margin}':exact=1"]))
        tall = self.stack(bands, "vstack")
        cols = _spans(w, step)
        strips = []
        for (c0, c1), p in zip(cols, self.split(tall, len(cols))):
            a = (c0 + c1) / 2 - w / 2  # the strip's middle column, from the centre
            strips.append(self.chain([p], [f"crop={c1 - c0}:{h}:x={c0}:y='round({margin}-({_num(a)})*{angle})'"
                                           ":exact=1"]))
        return self.stack(strips, "hstack")


def _num(v: float) -> str:
    """A number for an expression: short, and exact where it is whole."""
    return f"{v:.12g}"


def _spans(total: int, step: int) -> list[tuple[int, int]]:
    return [(a, min(total, a + step)) for a in range(0, total, step)]


def _prescaled(width: int, height: int, zoom: Curve) -> tuple[int, int]:
    """A layer's size in the graph before any per-frame work: scaled once by a zoom that does not change, grown by
    an even number of pixels (so that its middle stays on the pixel grid)."""
    if zoom.moving or zoom.start == 1:
        return width, height
    return width + 2 * round(width * (zoom.start - 1) / 2), height + 2 * round(height * (zoom.start - 1) / 2)


def _even_box(box, width: int, height: int) -> tuple[int, int, int, int]:
    """``box`` grown to even corners within the frame (yuv420p places and crops whole chroma pixels)."""
    x0, y0, x1, y1 = box
    x0, y0 = max(0, math.floor(x0)) // 2 * 2, max(0, math.floor(y0)) // 2 * 2
    x1, y1 = min(width, math.ceil(x1)), min(height, math.ceil(y1))
    x1, y1 = min(width, x1 + (x1 - x0) % 2), min(height, y1 + (y1 - y0) % 2)
    return x0, y0, x1, y1


def _alpha_box(img: Image.Image, width: int, height: int) -> tuple[int, int, int, int] | None:
    """The box around a layer's visible pixels, in the clip's pixels (even corners); None if it has none."""
    box = img.getbbox()  # RGBA: where alpha > 0
    if box is None:
        return None
    sx, sy = width / img.width, height / img.height
    return _even_box((box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy), width, height)


class _FacePatch:
    """The faces' changing features, for the ffmpeg engine: per frame, a strip of pieces, one per face, each the
    box around that face's mouth and eyes in the space of the layer the figures are on (where the graph lays it,
    before that layer moves), transparent but for the features drawn; and the mouth motion of the sync score,
    measured on the pieces (what Python drew)."""

    MARGIN = 2  # pixels around a face's features

    def __init__(self, performance: Performance, talkers: list[Face], origin: tuple[int, int, int, int],
                 size: tuple[int, int]):
        ox0, oy0, ox1, oy1 = origin  # the layer's box on the panel, and its size in the graph
        sx, sy = size[0] / (ox1 - ox0), size[1] / (oy1 - oy0)
        self.performance, self.zoom, self.origin, self.scale = performance, (sx + sy) / 2, origin, (sx, sy)

        def to_layer(px: float, py: float) -> tuple[float, float]:
            return (px - ox0) * sx, (py - oy0) * sy

        self.to_layer = to_layer
        m = self.MARGIN
        self.pieces: list[tuple[tuple[int, int, int, int], int]] = []  # (box in the layer, x in the strip)
        self.mouths: dict[str, tuple[int, list[int]]] = {}  # talker: (piece, mouth box in it)
        x = 0
        for face in performance.faces:
            fx0, fy0, fx1, fy1 = face.features()
            box = _even_box(((fx0 - ox0) * sx - m, (fy0 - oy0) * sy - m, (fx1 - ox0) * sx + m,
                             (fy1 - oy0) * sy + m), *size)
            if box[2] - box[0] < 2 or box[3] - box[1] < 2:  # off the layer
                continue
            if face in talkers:

                def to_piece(px: float, py: float, b=box) -> tuple[float, float]:
                    lx, ly = to_layer(px, py)
                    return lx - b[0], ly - b[1]

                self.mouths[face.id] = (len(self.pieces), face.mouth_box(to_piece, self.zoom, box[2] - box[0],
                                                                         box[3] - box[1]))
            self.pieces.append((box, x))
            x += box[2] - box[0]
        self.size = (max(2, x), max([b[3] - b[1] for b, _ in self.pieces], default=2))
        self.blanks: list[Image.Image] = []  # see paint
        self.blank = b""

    def paint(self, panel: Image.Image) -> None:
        """The pieces as they are when nothing changes: transparent, over the colours of the panel beneath (yuv420p
        averages colour over 2x2 pixels, and the edge of a feature must not average with black)."""
        (ox0, oy0, _, _), (sx, sy) = self.origin, self.scale
        self.blanks = []
        for (x0, y0, x1, y1), _ in self.pieces:
            blank = panel.resize((x1 - x0, y1 - y0), Image.BILINEAR,
                                 box=(ox0 + x0 / sx, oy0 + y0 / sy, ox0 + x1 / sx, oy0 + y1 / sy)).convert("RGBA")
            blank.putalpha(0)
            self.blanks.append(blank)
        self.blank = self._strip(self.blanks)

    def _strip(self, pieces: list[Image.Image]) -> bytes:
        strip = Image.new("RGBA", self.size)
        for (_, x), piece in zip(self.pieces, pieces):
            strip.paste(piece, (x, 0))
        return strip.tobytes()

    def frame(self, k: int, motion: _Motion) -> bytes:
        """Frame ``k``'s strip (RGBA bytes); records its mouth motion."""
        pieces = self.blanks
        if self.performance.active(k):
            pieces = [blank.copy() for blank in self.blanks]
            for (box, _), piece in zip(self.pieces, pieces):  # every face, clipped to the piece: faces may overlap
                self.performance.draw(ImageDraw.Draw(piece), k, self.to_layer, self.zoom, box[:2])
        for who in motion.values:
            if who in self.mouths:
                i, box = self.mouths[who]
                motion.add(who, np.asarray(pieces[i].crop(box))[..., :3])
            else:  # off the layer: not seen
                motion.values[who].append(0.0)
        return self.blank if pieces is self.blanks else self._strip(pieces)

    def laid(self, g: _Graph, pad: str, patches: str) -> str:
        """``pad`` (the layer) with the strip's pieces laid where they belong."""
        for ((x0, y0, x1, y1), x), piece in zip(self.pieces, g.split(patches, len(self.pieces))):
            piece = g.chain([piece], [f"crop={x1 - x0}:{y1 - y0}:{x}:0"])
            pad = g.chain([pad, piece], [f"overlay=x={x0}:y={y0}"])
        return pad


class _Motion:
    """Per talker, the mouth's motion: mean absolute grey-level change inside its box from one frame to the next."""

    def __init__(self, talkers: list[Face]):
        self.values: dict[str, list[float]] = {f.id: [] for f in talkers}
        self.last: dict[str, np.ndarray] = {}

    def add(self, who: str, pixels: np.ndarray) -> None:
        grey = pixels[..., 0].astype(np.int32) + pixels[..., 1] + pixels[..., 2]  # thrice the grey level, exact
        before = self.last.get(who)
        same = before is not None and before.shape == grey.shape and grey.size
        self.values[who].append(float(np.abs(grey - before).mean()) / 3 if same else 0.0)
        self.last[who] = grey


@dataclass
class _Shot:
    """What both engines draw: the request, its layers and their moves, and the faces' performance."""

    req: ClipRequest
    layered: bool
    phase: tuple[float, ...]
    back: Layer
    front: Layer | None  # the figures' own move (parallax); None: the picture moves as one
    faces: list[Face]
    performance: Performance | None
    talkers: list[Face]
    boxes: dict[str, list[list[int]]]  # per face and frame, its mouth's box in the frame (faces.json)

    def placed(self, i: int):
        """Frame ``i``'s camera as a map from panel points to frame points (the figures' layer), and its zoom."""
        req = self.req
        cam = camera(req.move, i / max(1, req.frames - 1), self.phase)
        if self.front is not None:
            zoom = cam.fg_zoom or cam.zoom
            x = cam.fg_x if cam.fg_x is not None else cam.x
            y = cam.fg_y if cam.fg_y is not None else cam.y
        else:
            zoom, x, y = cam.zoom, cam.x, cam.y
        return _forward(req.width, req.height, zoom, x, y, cam.rot), zoom


class AnimaticConfig(BackendConfig):
    name: ClassVar[str] = "preview-animatic"
    kind: ClassVar[str] = "video"
    # 2: frames drawn on all cores, layers pasted in place; 3: talking faces; 4: the move inside ffmpeg's encode;
    # 5: the clip is the graph's recipe, run inside the segment's encode (media.source); 6: a layer's part the graph
    # uses (the header's band, the figures) kept cropped beside the recipe; 7: the recipe's conversions to YUV by
    # BT.709 (media/ffmpeg.yuv)
    version: ClassVar[str] = "7"
    uses_speech: ClassVar[bool] = True
    reacts_to_speech: ClassVar[bool] = True  # listeners blink when a line ends, in any shot
    license: ClassVar[str] = "Apache-2.0 (director's own code; frames encoded by ffmpeg run as a separate program)"
    target: ClassVar[str] = "director.backends.preview.animatic:AnimaticBackend"

    crf: int = 17
    preset: str = "ultrafast"
    threads: int = 2  # pillow: frames drawn at once
    engine: Literal["ffmpeg", "pillow"] = "ffmpeg"  # who moves the camera (see the module's docstring)


class AnimaticBackend:
    def __init__(self, config: AnimaticConfig):
        self.config = config

    def render(self, req: ClipRequest, out: Path) -> Made:
        src = req.keyframe  # a panel's layers move apart (parallax); any other keyframe moves as one picture
        layered = src.has("background") and src.has("foreground")
        rng = random.Random(req.seed)
        phase = tuple(rng.random() for _ in range(6))
        back, front = _layers(_path(req.move, phase))
        faces = load_faces(src, req.width, req.height) if layered else []
        performance = Performance(faces, req) if faces else None
        talkers = [f for f in faces if performance is not None and f.id in performance.opening]
        shot = _Shot(req, layered, phase, back, front if layered else None, faces, performance, talkers, {})
        for face in faces:  # one box size through the shot: a moving camera still compares
            first = face.mouth_box(*shot.placed(0), req.width, req.height)
            size = (first[2] - first[0], first[3] - first[1])
            shot.boxes[face.id] = [face.mouth_box(*shot.placed(i), req.width, req.height, size)
                                   for i in range(req.frames)]
        # the graph rolls a layer only when it is the whole picture at one zoom (all handheld is)
        graphable = back.rot.peak() == 0 or (shot.front is None and not back.zoom.moving)
        if self.config.engine == "ffmpeg" and graphable:
            motion, files = self._ffmpeg(shot, out)
        else:
            motion, files = self._pillow(shot, out / "clip.mp4"), {"clip": "clip.mp4"}
        report: dict = {"passes": 1}
        if performance is not None:
            sync = {}
            for face in talkers:
                energy = performance.energy(face.id)
                sync[face.id] = score(np.asarray(motion.values[face.id]), energy).as_dict()
            report["sync"] = sync
            write_json(out / "faces.json", {"fps": req.fps, "frames": req.frames, "talking": sorted(sync),
                                            "mouths": shot.boxes, "faces": [f.id for f in faces]})
            files["faces"] = "faces.json"
        return Made(files, report=report,
                    info={"frames": req.frames, "fps": req.fps, "width": req.width, "height": req.height,
                          "move": req.move})

    # ------------------------------------------------------------------------------------------ ffmpeg
    def _ffmpeg(self, shot: _Shot, out: Path) -> tuple[_Motion, dict[str, str]]:
        """The clip as a recipe (``media.source``): the filter graph that loops and moves the layers, the layers
        beside it, and the faces' patches Python draws. Whoever needs the frames runs it inside their encode."""
        req, src = shot.req, shot.req.keyframe
        w, h = full = (req.width, req.height)
        g = _Graph(req)
        back, front = shot.back, shot.front
        fg_box = _alpha_box(g.picture("foreground"), w, h) if front is not None else None
        if fg_box is None:  # no figures to move apart
            front = None
        still = front is None and back.still
        slate = shot.layered and src.has("header")
        if shot.layered:
            bg, fg = g.still("background"), g.still("foreground", fg_box if front is not None else None)
            flat = g.chain([bg, fg], ["overlay=format=rgb"]) if front is None else None
        else:
            flat = g.still("image")
        band = header = None
        if slate and still:  # the header joins the panel once
            flat = g.chain([flat, g.still("header")], ["overlay=format=rgb"])
        elif slate:  # laid on every frame: only its band
            band = _alpha_box(g.picture("header"), w, h)
            if band is not None:
                header = g.chain([g.still("header", band)], [yuv("yuva420p")])
        patches = f"{len(g.files)}:v"  # the faces' patches: the input after the files

        patch = None
        if shot.performance is not None:  # on the figures' layer, or on the picture that moves as one
            box, layer = (fg_box, front) if front is not None else ((0, 0, w, h), back)
            patch = _FacePatch(shot.performance, shot.talkers, box,
                               _prescaled(box[2] - box[0], box[3] - box[1], layer.zoom))
            patch = patch if patch.pieces else None  # every face off its layer: nothing to lay on it

        def faces(pad: str) -> str:
            """The faces' patch laid on the layer that carries them."""
            return patch.laid(g, pad, patches) if patch is not None else pad

        if still:  # a static shot: the panel (with its header) once, repeated
            pad = faces(g.looped(flat, [yuv()]))
        elif front is None:  # the picture moves as one: cropped where the camera looks, or rolled
            pad, kx, ky = g.zoomed(back, flat, (0, 0, w, h), "yuv420p", faces)
            pad = g.rolled(pad, kx, ky, back.rot) if back.rot.peak() > 0 else g.cropped(pad, kx, ky)
        else:  # parallax: the figures laid on the background where their own move puts them
            pad, kx, ky = g.zoomed(back, bg, (0, 0, w, h), "yuv420p", border=2)
            fpad, fkx, fky = g.zoomed(front, fg, fg_box, "yuva420p", faces)
            fx, fy = f"round(-({fkx}))", f"round(-({fky}))"  # where the figures' corner falls in the frame
            # overlay places yuv420p at even pixels only: the background is cropped a pixel wider and taller,
            # shifted by the parity of the figures' place so that it is even there, and the frame cut from that
            sx, sy = f"({fx}-2*floor({fx}/2))", f"({fy}-2*floor({fy}/2))"
            pad = g.chain([pad], [f"crop={w + 2}:{h + 2}:x='round({kx})-{sx}':y='round({ky})-{sy}':exact=1"])
            pad = g.chain([pad, fpad], [f"overlay=x='{fx}+{sx}':y='{fy}+{sy}'",
                                        f"crop={w}:{h}:x='{sx}':y='{sy}':exact=1"])
        if header is not None:  # the slate stays where it is
            pad = g.chain([pad, header], [f"overlay=x={band[0]}:y={band[1]}"])
        g.chain([pad], [yuv()])
        motion = _Motion(shot.talkers)
        raw = None
        if patch is not None:  # drawn now (the sync score measures them), kept for whoever runs the graph
            panel = Image.open(src.file("image")).convert("RGB")
            patch.paint(panel if panel.size == full else panel.resize(full, Image.LANCZOS))
            write_patches(out / "patches.bin", (patch.frame(k, motion) for k in range(req.frames)), patch.blank,
                          4 * patch.size[0])
            raw = ("patches.bin", *patch.size, "rgba")
        for values in motion.values.values():  # talkers no patch shows
            values += [0.0] * (req.frames - len(values))
        inputs = [f if isinstance(f, Image.Image) else Path(f) for f in g.files]
        files = write_recipe(out, g.text("out"), inputs, req.fps, req.frames, w, h, self.config.crf,
                             self.config.preset, raw)
        return motion, files

    # ------------------------------------------------------------------------------------------ pillow
    def _pillow(self, shot: _Shot, path: Path) -> _Motion:
        """Every frame drawn in Python and piped to ffmpeg as raw RGB."""
        req, src = shot.req, shot.req.keyframe
        key = Image.open(src.file("image")).convert("RGB")
        if key.size != (req.width, req.height):
            key = key.resize((req.width, req.height), Image.LANCZOS)
        bg = fg = header = None
        if shot.layered:
            bg = Image.open(src.file("background")).convert("RGB")
            fg = Image.open(src.file("foreground")).convert("RGBA")
            if src.has("header"):
                header = Image.open(src.file("header")).convert("RGBA")
        parallax = shot.front is not None
        flat = key
        if shot.layered and not parallax:  # one layer moves: composite once, move once
            flat = Image.alpha_composite(bg.convert("RGBA"), fg).convert("RGB")
        band = header.getbbox() if header is not None else None
        band_img = header.crop(band) if band else None
        performance, faces = shot.performance, shot.faces
        motion = _Motion(shot.talkers)

        def compose(i: int) -> Image.Image:
            cam = camera(req.move, i / max(1, req.frames - 1), shot.phase)
            if parallax:
                frame = _transform(bg, cam.zoom, cam.x, cam.y, cam.rot)
                front = _transform(fg, cam.fg_zoom or cam.zoom, cam.fg_x if cam.fg_x is not None else cam.x,
                                   cam.fg_y if cam.fg_y is not None else cam.y, cam.rot)
                frame.paste(front, (0, 0), front)  # RGBA over RGB in place: no full-frame conversions
            elif req.move == "static":
                frame = flat.copy()
            else:
                frame = _transform(flat, cam.zoom, cam.x, cam.y, cam.rot)
            return frame

        def slate(frame: Image.Image) -> Image.Image:
            if band_img is not None:
                region = frame.crop(band).convert("RGBA")
                frame.paste(Image.alpha_composite(region, band_img).convert("RGB"), band[:2])
            return frame

        def draw(i: int) -> bytes:
            frame = compose(i)
            if performance is not None:
                to_frame, zoom = shot.placed(i)
                performance.draw(ImageDraw.Draw(frame), i, to_frame, zoom)
            return slate(frame).tobytes()

        def measure(i: int, pixels: np.ndarray) -> None:
            """Mouth motion of the frame as written (the sync score's input)."""
            for face in shot.talkers:
                x0, y0, x1, y1 = shot.boxes[face.id][i]
                motion.add(face.id, pixels[y0:y1, x0:x1])

        with FrameWriter(path, req.width, req.height, req.fps, self.config.crf, self.config.preset) as writer:
            if req.move == "static":
                still = slate(compose(0))
                pixels = np.asarray(still).copy()  # written every frame; only face regions change
                if performance is None:
                    data = pixels.tobytes()
                    for _ in range(req.frames):
                        writer.write(data)
                else:
                    original = pixels.copy()
                    regions = [_box(f.region(), req.width, req.height) for f in faces]
                    identity = _forward(req.width, req.height, 1.0, 0.0, 0.0, 0.0)
                    for i in range(req.frames):
                        for x0, y0, x1, y1 in regions:
                            pixels[y0:y1, x0:x1] = original[y0:y1, x0:x1]
                        if performance.active(i):
                            for x0, y0, x1, y1 in regions:
                                patch = Image.fromarray(pixels[y0:y1, x0:x1])
                                performance.draw(ImageDraw.Draw(patch), i, identity, 1.0, (x0, y0))
                                pixels[y0:y1, x0:x1] = np.asarray(patch)
                        measure(i, pixels)
                        writer.write(memoryview(pixels))
            else:
                # Pillow releases the GIL while it transforms, so frames are drawn on all cores
                for i, data in enumerate(_ordered_map(draw, range(req.frames), self.config.threads)):
                    if faces:
                        measure(i, np.frombuffer(data, np.uint8).reshape(req.height, req.width, 3))
                    writer.write(data)
        return motion
