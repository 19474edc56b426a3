"""Preview clips: an animatic of the storyboard panel that performs the shot's camera move.

Pan, tilt, dolly/zoom, truck, crane, orbit (a parallax approximation: foreground and
background layers move against each other) and handheld shake, at the project's fps for
exactly the requested number of frames. The panel's header stays fixed, like a slate.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from PIL import Image

from director.backends import BackendConfig
from director.backends.types import ClipRequest, Made
from director.media.ffmpeg import FrameWriter


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


def camera(move: str, t: float, rng_phase: tuple[float, ...] = (0.0,) * 6) -> Cam:
    """The camera at time ``t`` in [0, 1] for a move."""
    e = _ease(t)
    if move == "zoom-in":
        return Cam(zoom=1.0 + 0.18 * e)
    if move == "zoom-out":
        return Cam(zoom=1.18 - 0.18 * e)
    if move == "dolly-in":  # perspective: the subject grows faster than the room
        return Cam(zoom=1.0 + 0.1 * e, fg_zoom=1.0 + 0.22 * e)
    if move == "dolly-out":
        return Cam(zoom=1.1 - 0.1 * e, fg_zoom=1.22 - 0.22 * e)
    if move in ("pan-left", "pan-right"):
        sign = -1 if move == "pan-left" else 1
        return Cam(zoom=1.16, x=sign * (-0.06 + 0.12 * e))
    if move in ("tilt-up", "tilt-down"):
        sign = -1 if move == "tilt-up" else 1
        return Cam(zoom=1.16, y=sign * (-0.06 + 0.12 * e))
    if move in ("truck-left", "truck-right"):
        sign = -1 if move == "truck-left" else 1
        return Cam(zoom=1.14, x=sign * (-0.03 + 0.06 * e), fg_zoom=1.14, fg_x=sign * (-0.07 + 0.14 * e))
    if move in ("crane-up", "crane-down"):
        sign = -1 if move == "crane-up" else 1
        return Cam(zoom=1.14 + 0.04 * e, y=sign * (-0.03 + 0.06 * e), fg_zoom=1.14 + 0.04 * e,
                   fg_y=sign * (-0.07 + 0.14 * e))
    if move == "orbit":  # background slides one way, subject the other
        return Cam(zoom=1.15, x=0.06 - 0.12 * e, fg_zoom=1.15, fg_x=-0.05 + 0.1 * e)
    if move == "handheld":
        a, b, c, d, f, g = rng_phase
        sx = 0.006 * (math.sin(2 * math.pi * (1.3 * t * 4 + a)) + 0.5 * math.sin(2 * math.pi * (3.1 * t * 4 + b)))
        sy = 0.006 * (math.sin(2 * math.pi * (1.1 * t * 4 + c)) + 0.5 * math.sin(2 * math.pi * (2.7 * t * 4 + d)))
        rot = 0.5 * math.sin(2 * math.pi * (0.9 * t * 4 + f)) + 0.2 * math.sin(2 * math.pi * (2.3 * t * 4 + g))
        return Cam(zoom=1.07, x=sx, y=sy, rot=rot)
    return Cam()


def _transform(img: Image.Image, zoom: float, x: float, y: float, rot: float) -> Image.Image:
    w, h = img.size
    cx, cy = w / 2, h / 2
    cos, sin = math.cos(math.radians(rot)), math.sin(math.radians(rot))
    a, b = cos / zoom, sin / zoom
    d, e = -sin / zoom, cos / zoom
    ox, oy = cx + x * w, cy + y * h
    coeffs = (a, b, ox - a * cx - b * cy, d, e, oy - d * cx - e * cy)
    return img.transform((w, h), Image.AFFINE, coeffs, resample=Image.BILINEAR)


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


class AnimaticConfig(BackendConfig):
    name: ClassVar[str] = "preview-animatic"
    kind: ClassVar[str] = "video"
    version: ClassVar[str] = "2"  # 2: frames drawn on all cores, layers pasted in place
    license: ClassVar[str] = "Apache-2.0 (director's own code; frames encoded by ffmpeg run as a separate program)"
    target: ClassVar[str] = "director.backends.preview.animatic:AnimaticBackend"

    crf: int = 17
    preset: str = "ultrafast"
    threads: int = 2


class AnimaticBackend:
    def __init__(self, config: AnimaticConfig):
        self.config = config

    def render(self, req: ClipRequest, out: Path) -> Made:
        src = req.keyframe  # a panel's layers move apart (parallax); any other keyframe moves as one picture
        layered = src.has("background") and src.has("foreground")
        key = Image.open(src.file("image")).convert("RGB")
        if key.size != (req.width, req.height):
            key = key.resize((req.width, req.height), Image.LANCZOS)
        bg = fg = header = None
        if layered:
            bg = Image.open(src.file("background")).convert("RGB")
            fg = Image.open(src.file("foreground")).convert("RGBA")
            if src.has("header"):
                header = Image.open(src.file("header")).convert("RGBA")
        rng = random.Random(req.seed)
        phase = tuple(rng.random() for _ in range(6))
        parallax = layered and camera(req.move, 0.5, phase).fg_zoom is not None
        flat = key
        if layered and not parallax:  # one layer moves: composite once, move once
            flat = Image.alpha_composite(bg.convert("RGBA"), fg).convert("RGB")
        band = header.getbbox() if header is not None else None
        band_img = header.crop(band) if band else None

        def draw(i: int) -> bytes:
            cam = camera(req.move, i / max(1, req.frames - 1), phase)
            if parallax:
                frame = _transform(bg, cam.zoom, cam.x, cam.y, cam.rot)
                front = _transform(fg, cam.fg_zoom or cam.zoom, cam.fg_x if cam.fg_x is not None else cam.x,
                                   cam.fg_y if cam.fg_y is not None else cam.y, cam.rot)
                frame.paste(front, (0, 0), front)  # RGBA over RGB in place: no full-frame conversions
            elif req.move == "static":
                frame = flat.copy()
            else:
                frame = _transform(flat, cam.zoom, cam.x, cam.y, cam.rot)
            if band_img is not None:
                region = frame.crop(band).convert("RGBA")
                frame.paste(Image.alpha_composite(region, band_img).convert("RGB"), band[:2])
            return frame.tobytes()

        with FrameWriter(out / "clip.mp4", req.width, req.height, req.fps, self.config.crf,
                         self.config.preset) as writer:
            if req.move == "static":
                still = draw(0)
                for _ in range(req.frames):
                    writer.write(still)
            else:
                # Pillow releases the GIL while it transforms, so frames are drawn on all cores
                for data in _ordered_map(draw, range(req.frames), self.config.threads):
                    writer.write(data)
        return Made({"clip": "clip.mp4"}, report={"passes": 1},
                    info={"frames": req.frames, "fps": req.fps, "width": req.width, "height": req.height,
                          "move": req.move})
