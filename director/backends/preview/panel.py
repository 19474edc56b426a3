"""Preview keyframes: a drawn storyboard panel per shot, deterministic from the shot.

The location becomes a backdrop whose palette follows the location and time of day; every
character in frame is a distinct figure (coat and hair colours from the description) with
their name; the framing follows the shot size; the shot id and a caption sit in a header.
Besides ``keyframe.png`` the panel writes its layers (``bg.png``, ``fg.png``, ``header.png``)
so the animatic can move foreground and background at different speeds.
"""
from __future__ import annotations

import colorsys
import hashlib
import math
import random
import re
from pathlib import Path
from typing import ClassVar

from PIL import Image, ImageDraw, ImageFilter

from director.backends import BackendConfig
from director.backends.types import FigureSpec, FrameRequest, Made, SheetRequest
from director.media.fonts import drawing_language, font, wrap_text
from director.media.png import write_png
from director.store.files import write_json

COLOURS = {
    "yellow": (236, 196, 40), "red": (196, 40, 48), "crimson": (160, 20, 40), "blue": (40, 90, 190),
    "navy": (28, 40, 90), "olive": (110, 110, 50), "khaki": (190, 170, 120), "maroon": (110, 30, 40),
    "teal": (40, 130, 130), "cream": (236, 226, 200), "tan": (190, 150, 100), "burgundy": (120, 30, 50),
    "green": (50, 140, 80), "grey": (120, 124, 130), "gray": (120, 124, 130),
    "black": (28, 28, 32), "white": (232, 232, 236), "brown": (120, 78, 44), "purple": (110, 60, 150),
    "pink": (230, 130, 170), "orange": (230, 120, 40), "silver": (190, 194, 200), "gold": (212, 170, 60),
    "beige": (210, 190, 150), "blond": (226, 200, 120), "blonde": (226, 200, 120),
    "黄": (236, 196, 40), "红": (196, 40, 48), "蓝": (40, 90, 190), "黑": (28, 28, 32), "白": (232, 232, 236),
    "灰": (120, 124, 130), "绿": (50, 140, 80), "紫": (110, 60, 150), "粉": (230, 130, 170), "橙": (230, 120, 40),
    "棕": (120, 78, 44), "褐": (120, 78, 44), "咖啡色": (120, 78, 44), "银": (190, 194, 200), "金": (212, 170, 60),
    "米色": (210, 190, 150), "米白": (226, 218, 200), "藏青": (28, 40, 90), "深蓝": (28, 40, 90),
}
GARMENTS = ("raincoat", "coat", "suit", "jacket", "dress", "shirt", "hoodie", "sweater", "uniform", "robe",
            "t-shirt", "blouse", "外套", "西装", "雨衣", "裙", "衬衫", "风衣", "大衣", "t恤", "卫衣", "毛衣", "夹克",
            "校服", "制服", "旗袍", "礼服", "睡衣", "上衣", "皮衣", "马甲", "汉服", "长衫", "vest", "cardigan", "apron",
            "overalls", "kimono", "cape", "tunic", "parka", "blazer", "gown", "背心", "围裙", "斗篷")


def _word_at(lowered: str, word: str, joined: str = "") -> int:
    """Where ``word`` first stands in ``lowered`` (-1: nowhere): an English one whole or as its plural ("bob" is no
    part of "bobby", nor "hair" of "chair"), and no part of a compound joined by ``joined`` ("-": an oak-wood
    library holds no wood); a Chinese one anywhere (Chinese has no spaces)."""
    if not word.isascii():
        return lowered.find(word)
    edge = f"a-z{re.escape(joined)}"
    found = re.search(rf"(?<![{edge}]){re.escape(word)}(?:s|es)?(?![{edge}])", lowered)
    return found.start() if found else -1


def _names(text: str, words: tuple[str, ...]) -> bool:
    """Whether ``text`` holds one of ``words`` (``_word_at``; a wooden floor is no wood, an oak-wood library none
    either)."""
    lowered = text.lower()
    return any(_word_at(lowered, w, "-") >= 0 for w in words)


NATURE_WORDS = ("park", "garden", "meadow", "forest", "woods", "lakeside", "lakeshore", "pond", "riverbank",
                "riverside", "beach", "shore", "countryside", "公园", "花园", "森林", "树林", "田野", "草地", "湖边", "湖畔",
                "河边", "海边", "沙滩")
# a place indoors, whatever its name holds of the outdoors (a lake house's kitchen, 江湖客栈's hall, a field office)
INDOOR_WORDS = ("room", "office", "kitchen", "study", "library", "hall", "house", "apartment", "flat", "bar", "cafe",
                "restaurant", "shop", "store", "hotel", "lobby", "hospital", "ward", "studio", "bedroom", "classroom",
                "室", "厅", "馆", "店", "屋", "房", "堂", "楼", "宫", "殿", "院内", "车内", "酒吧", "医院", "病房")
HAIR = ("hair", "发", "bob", "ponytail", "braid", "bun", "curls", "mohawk", "辫", "马尾", "刘海")
TIME_SKY = {  # top colour, bottom colour, light level
    "day": ((120, 175, 230), (215, 228, 240), 1.0), "noon": ((110, 170, 235), (220, 232, 242), 1.0),
    "morning": ((150, 190, 230), (240, 225, 200), 0.95), "afternoon": ((130, 170, 220), (240, 215, 170), 0.95),
    "dawn": ((90, 100, 170), (245, 170, 130), 0.7), "sunrise": ((110, 120, 180), (250, 180, 120), 0.75),
    "dusk": ((60, 50, 110), (235, 120, 90), 0.55), "sunset": ((90, 60, 120), (250, 140, 70), 0.65),
    "evening": ((40, 40, 90), (150, 90, 110), 0.45), "night": ((10, 12, 32), (38, 30, 70), 0.3),
}
LIPS = (150, 70, 70)
FIGURE_HEIGHT = {"EWS": 0.2, "WS": 0.38, "MWS": 0.6, "MS": 0.95, "MCU": 1.45, "CU": 2.3, "ECU": 4.2}
HORIZON = {"high": 0.36, "low": 0.74, "overhead": 0.0, "eye-level": 0.56, "dutch": 0.56, "ots": 0.56, "pov": 0.56}


def _hue_colour(key: str, sat: float = 0.55, val: float = 0.75) -> tuple[int, int, int]:
    hue = int(hashlib.sha256(key.encode()).hexdigest()[:6], 16) / 0xFFFFFF
    return tuple(int(c * 255) for c in colorsys.hsv_to_rgb(hue, sat, val))


def _mix(a, b, t: float) -> tuple[int, int, int]:
    return tuple(int(a[i] + (b[i] - a[i]) * t) for i in range(3))


NOT_COLOURS = ("银行", "金融", "金钱", "现金", "奖金", "白天", "白领", "黑夜")  # words a colour character starts


def _colour_near(text: str, words: tuple[str, ...]) -> tuple[int, int, int] | None:
    """The colour word closest before a garment/hair word in a description: the one ending last, the longest of
    those (米白 over 白, 深蓝 over 蓝); 银 in 银行 is no colour."""
    lowered = text.lower()
    for word in NOT_COLOURS:
        lowered = lowered.replace(word, "\0" * len(word))
    best = None
    for word in words:
        at = _word_at(lowered, word)
        if at < 0:
            continue
        lo = max(0, at - 24)
        window = lowered[lo:at]
        for name, rgb in COLOURS.items():
            if name.isascii():  # whole words ("tired" holds no red), read in the whole text: the window's edge cut
                # "retired" to "red"
                pos = max((m.start() - lo for m in re.compile(rf"(?<![a-z]){name}(?![a-z])").finditer(lowered, lo, at)),
                          default=-1)
            else:
                pos = window.rfind(name)
            rank = (pos + len(name), len(name))
            if pos >= 0 and (best is None or rank > best[0]):
                best = (rank, rgb)
    return best[1] if best else None


class PanelConfig(BackendConfig):
    name: ClassVar[str] = "preview-panel"
    kind: ClassVar[str] = "keyframes"
    # 2: drawing scales down to tiny frames; 3: faces.json (where mouths and eyes are); 4: a box blur behind close
    # shots, and the storyboard's thumbnail; 5: the thumbnail reduced by a whole factor first (3 ms, not 25); 6: the
    # PNGs written by media/png (the same pixels, other bytes); 7: a close shot's room softened by halving it; 8: its
    # captions broken at clauses and kept numbers whole, as the subtitles are; name tags clear of the subtitles and
    # of the edges a camera move crops; 9: Chinese garments and colours (白色风衣, 白色T恤 drew a hue of the id);
    # 10: English colours, garments and hair words whole ("a tired man" wore red; "grey bob, olive vest" had
    # a hue of the id's hair and a grey vest); a park, a garden, a wood or a shore drawn green (it was a skyline)
    version: ClassVar[str] = "10"
    license: ClassVar[str] = "Apache-2.0 (director's own drawing code)"
    target: ClassVar[str] = "director.backends.preview.panel:PanelBackend"

    header: bool = True


STORYBOARD_WIDTH = 360  # the storyboard's panels (runtime/storyboard.py)


class PanelBackend:
    """Draws storyboard panels with Pillow; needs no GPU and no weights."""

    def __init__(self, config: PanelConfig):
        self.config = config

    def render(self, req: FrameRequest, out: Path) -> Made:
        rng = random.Random(req.seed)
        bg = self._backdrop(req, rng)
        fg = Image.new("RGBA", (req.width, req.height), (0, 0, 0, 0))
        faces = self._figures(req, fg)
        header = Image.new("RGBA", (req.width, req.height), (0, 0, 0, 0))
        if self.config.header:
            self._header(req, header)
        if req.angle == "dutch":
            bg = bg.rotate(7, resample=Image.BICUBIC, expand=False, fillcolor=bg.getpixel((0, 0)))
            fg = fg.rotate(7, resample=Image.BICUBIC, expand=False)
            faces = [_rotate_face(f, 7, req.width / 2, req.height / 2) for f in faces]
        composite = _over(bg.copy(), fg)
        if req.angle == "pov":
            composite = _vignette(composite)
        composite = _over(composite, header)
        # media/png: four 1080x1920 PNGs in ~60 ms, where Pillow's per-row filter search took ~100
        write_png(out / "bg.png", bg)  # RGB, as _backdrop draws it
        write_png(out / "fg.png", fg)
        write_png(out / "header.png", header)
        write_png(out / "keyframe.png", composite)
        # the storyboard's panel, made while the picture is in memory (decoding the PNG again at the end of the
        # render, on one core, cost the 60 s episode 1.5 s)
        width = min(STORYBOARD_WIDTH, req.width)
        composite.resize((width, round(width * req.height / req.width)), Image.LANCZOS,
                         reducing_gap=1.0).save(out / "thumb.jpg", quality=85)
        write_json(out / "faces.json", {"width": req.width, "height": req.height, "faces": faces})
        return Made({"image": "keyframe.png", "background": "bg.png", "foreground": "fg.png", "header": "header.png",
                     "faces": "faces.json", "thumb": "thumb.jpg"}, info={"width": req.width, "height": req.height})

    def sheet(self, req: SheetRequest, out: Path) -> Made:
        """A drawn reference sheet: the character front and three-quarter, or the empty location."""
        frame = FrameRequest(shot_id=req.id, size="WS", angle="eye-level", width=req.width, height=req.height,
                             prompt=req.description, caption="", location_id=req.id, location=req.description,
                             time=req.time, look=req.look, negative="", seed=req.seed)
        if req.kind == "location":
            write_png(out / "sheet.png", self._backdrop(frame, random.Random(req.seed)))
            return Made({"image": "sheet.png"}, info={"kind": req.kind})
        w, h = req.width, req.height
        sheet = Image.new("RGBA", (w, h), (214, 214, 218, 255))
        figure = FigureSpec(req.id, req.name, req.description)
        frame = FrameRequest(**{**frame.__dict__, "size": "MWS", "figures": (figure,)})
        for cx, squeeze in ((0.3, 1.0), (0.72, 0.78)):  # front, then a narrower three-quarter turn
            layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
            self._figure(ImageDraw.Draw(layer), figure, w / 2, h * 0.5, frame)
            if squeeze != 1.0:
                layer = layer.resize((max(1, int(w * squeeze)), h), Image.BICUBIC)
            sheet.alpha_composite(layer, (int(w * cx - layer.width / 2), 0))
        write_png(out / "sheet.png", sheet.convert("RGB"))
        return Made({"image": "sheet.png"}, info={"kind": req.kind})

    # ------------------------------------------------------------------ backdrop
    def _backdrop(self, req: FrameRequest, rng: random.Random) -> Image.Image:
        w, h = req.width, req.height
        top, bottom, light = TIME_SKY.get(req.time, TIME_SKY["day"])
        tint = _hue_colour(req.location_id, 0.5, 0.6)
        top, bottom = _mix(top, tint, 0.18), _mix(bottom, tint, 0.22)
        img = Image.new("RGB", (w, h))
        draw = ImageDraw.Draw(img)
        horizon = int(h * HORIZON.get(req.angle, 0.56))
        for y in range(h):
            draw.line([(0, y), (w, y)], fill=_mix(top, bottom, y / max(1, h - 1)))
        text = f"{req.location} {req.look}".lower()
        green = _names(req.location, NATURE_WORDS) and not _names(req.location, INDOOR_WORDS)
        interior = not green and not any(k in req.location.lower() for k in ("alley", "street", "city street",
                                                                              "rooftop", "road", "街", "路"))
        neon = "neon" in text
        if req.angle == "overhead":
            draw.rectangle([0, 0, w, h], fill=_mix(bottom, (30, 30, 30), 0.5))
            for _ in range(18):
                x, y = rng.randrange(w), rng.randrange(h)
                draw.rectangle([x, y, x + w // 10, y + h // 30], outline=_mix(bottom, (255, 255, 255), 0.2), width=3)
        elif interior:
            self._room(draw, req, rng, horizon, light, top, bottom)
        elif green:
            self._green(draw, req, rng, horizon, light)
        else:
            self._street(draw, req, rng, horizon, light, neon)
        if "rain" in text or "雨" in text:
            for _ in range(int(w * h / 9000)):
                x, y = rng.randrange(w), rng.randrange(h)
                length = rng.randint(h // 60, h // 25)
                draw.line([(x, y), (x - length // 6, y + length)], fill=(170, 180, 210), width=2)
        # close shots: the room out of focus -- reduced and scaled back up, which softens it as a box blur of
        # w/270 pixels does (at 1080x1920: halved, 0.5 levels from a 5-pixel box on average, 17 ms, not 39)
        factor = max(2, w // 540)
        if req.size in ("CU", "ECU", "MCU") and min(w, h) >= 2 * factor:
            return img.reduce(factor).resize(img.size, Image.BILINEAR)
        return img

    def _green(self, draw, req, rng, horizon, light) -> None:
        """A park, a garden, a field, a wood or a shore: grass (or sand) to the horizon, trees along it, and water
        where the place has a pond, a lake, a river or the sea."""
        w, h = req.width, req.height
        place = req.location.lower()
        shore = _names(place, ("beach", "shore", "sea", "ocean", "海", "沙滩"))
        ground = _mix((70, 110, 50) if not shore else (200, 180, 130), (20, 24, 20), 1 - light)
        draw.rectangle([0, horizon, w, h], fill=ground)
        water = _mix((70, 120, 170), (15, 20, 40), 1 - light)
        if shore:
            draw.rectangle([0, horizon, w, horizon + (h - horizon) // 3], fill=water)
        elif _names(place, ("pond", "lake", "lakeside", "lakeshore", "river", "riverbank", "riverside", "湖", "池", "河")):
            draw.ellipse([w // 8, horizon + (h - horizon) // 6, w * 7 // 8, horizon + (h - horizon) // 2], fill=water)
        trees = 0 if shore else (9 if _names(place, ("forest", "wood", "woods", "林")) else 5)
        for _ in range(trees):
            x = rng.randrange(w)
            size = rng.randint(w // 12, w // 6)
            trunk = max(2, size // 6)
            draw.rectangle([x - trunk // 2, horizon - size, x + trunk // 2, horizon + size // 8],
                           fill=_mix((90, 60, 35), (15, 12, 10), 1 - light))
            leaf = _mix((50, 110, 55), (10, 20, 12), 1 - light * rng.uniform(0.8, 1.0))
            draw.ellipse([x - size // 2, horizon - size * 2, x + size // 2, horizon - size // 2], fill=leaf)

    def _street(self, draw, req, rng, horizon, light, neon) -> None:
        w, h = req.width, req.height
        ground = _mix((40, 40, 48), (120, 120, 120), light)
        draw.rectangle([0, horizon, w, h], fill=ground)
        x = -rng.randint(0, w // 8)
        while x < w:
            bw = rng.randint(w // 7, w // 3)
            bh = rng.randint(int(h * 0.18), int(h * 0.5))
            shade = _mix((22, 22, 34), (150, 150, 165), light * rng.uniform(0.6, 1.0))
            draw.rectangle([x, horizon - bh, x + bw, horizon], fill=shade)
            pad = max(2, w // 90)
            for wy in range(horizon - bh + 2 * pad, horizon - 2 * pad, max(3, h // 50)):
                for wx in range(x + pad, x + bw - pad, max(3, w // 30)):
                    if rng.random() < (0.45 if light < 0.6 else 0.15):
                        lit = (250, 220, 140) if light < 0.6 else (200, 215, 230)
                        draw.rectangle([wx, wy, wx + w // 60, wy + h // 90], fill=lit)
            if neon and rng.random() < 0.6:
                colour = _hue_colour(f"{req.location_id}{x}", 0.9, 1.0)
                sy = horizon - rng.randint(int(bh * 0.3), int(bh * 0.9))
                inset, stroke = max(1, bw // 10), max(1, w // 200)
                draw.rounded_rectangle([x + inset, sy, x + bw - inset, sy + max(2, h // 40)],
                                       radius=max(1, min(8, bw // 8)), outline=colour, width=stroke)
            x += bw + rng.randint(0, w // 30)
        for i in range(6):  # wet street reflections
            y = horizon + (h - horizon) * (i + 1) // 7
            draw.line([(0, y), (w, y)], fill=_mix(ground, (200, 200, 220), 0.12), width=2)

    def _room(self, draw, req, rng, horizon, light, top, bottom) -> None:
        w, h = req.width, req.height
        wall = _mix(_mix(top, bottom, 0.5), (60, 55, 50), 0.55)
        draw.rectangle([0, 0, w, horizon], fill=wall)
        draw.rectangle([0, horizon, w, h], fill=_mix(wall, (20, 18, 16), 0.45))
        if any(k in req.location.lower() for k in ("window", "glass", "city", "窗")):
            x0, x1 = int(w * 0.12), int(w * 0.88)
            y0, y1 = int(horizon * 0.18), int(horizon * 0.92)
            draw.rectangle([x0, y0, x1, y1], fill=_mix(top, (10, 10, 20), 0.3))
            for _ in range(40):
                bx = rng.randint(x0, x1 - 20)
                by = rng.randint(int(y0 + (y1 - y0) * 0.4), y1 - 10)
                draw.rectangle([bx, by, bx + rng.randint(10, 40), y1], fill=_mix(top, (0, 0, 0), 0.5))
                if light < 0.6:
                    draw.point([(bx + 4, by + 6)], fill=(250, 220, 140))
            for x in (x0, (x0 + x1) // 2, x1):
                draw.line([(x, y0), (x, y1)], fill=(20, 20, 24), width=max(4, w // 120))
            draw.line([(x0, y1), (x1, y1)], fill=(20, 20, 24), width=max(4, w // 120))
        if any(k in req.location.lower() for k in ("office", "desk", "办公")):
            dy = horizon + (h - horizon) // 5
            draw.rectangle([int(w * 0.05), dy, int(w * 0.45), dy + h // 40], fill=(60, 40, 28))

    # ------------------------------------------------------------------ figures
    def _figures(self, req: FrameRequest, layer: Image.Image) -> list[dict]:
        """Draw the figures; returns each face's geometry (faces.json: what the animatic animates)."""
        w, h = req.width, req.height
        draw = ImageDraw.Draw(layer)
        figures = list(req.figures)
        if not figures:
            return []
        faces = []
        listener = None
        if req.angle == "ots" and len(figures) > 1:
            figures, listener = figures[:1], figures[1]
        fig_h = h * FIGURE_HEIGHT.get(req.size, 0.5)
        n = len(figures)
        for i, fig in enumerate(figures):
            cx = w * (0.5 if n == 1 else 0.22 + 0.56 * i / (n - 1))
            if listener is not None:
                cx = w * 0.6
            faces.append(self._figure(draw, fig, cx, fig_h, req))
        if listener is not None:
            coat = _colour_near(listener.description, GARMENTS) or _hue_colour(listener.id)
            dark = _mix(coat, (0, 0, 0), 0.6)
            draw.ellipse([-w * 0.25, h * 0.55, w * 0.42, h * 1.3], fill=dark + (255,))
            draw.ellipse([-w * 0.05, h * 0.38, w * 0.28, h * 0.66], fill=_mix(dark, (0, 0, 0), 0.3) + (255,))
            # above the subtitles' band (their last line ends 22% above the bottom), not in it: the name read as a
            # third subtitle line
            self._label(draw, listener.name, w * 0.03, h * 0.6, coat, req)
            faces.append({"id": listener.id, "back": True})  # seen from behind: no face to animate
        return faces

    def _figure(self, draw: ImageDraw.ImageDraw, fig: FigureSpec, cx: float, fig_h: float, req: FrameRequest) -> dict:
        h = req.height
        desc = fig.description.lower()
        scale = 1.1 if "tall" in desc or "高" in desc else 0.92 if any(k in desc for k in ("short ", "small", "child")) \
            else 1.0
        fig_h *= scale
        head_r = fig_h * 0.075
        if req.size in ("MCU", "CU", "ECU", "MS"):
            head_cy = h * (0.4 if req.size != "ECU" else 0.45)
        else:
            feet = h * (HORIZON.get(req.angle, 0.56) + 0.12)
            head_cy = feet - fig_h + head_r
        coat = _colour_near(fig.description, GARMENTS) or _hue_colour(fig.id)
        hair = _colour_near(fig.description, HAIR) or _mix(_hue_colour(fig.id + "hair", 0.4, 0.4), (0, 0, 0), 0.3)
        skin = (226, 190, 160)
        shoulder_y = head_cy + head_r * 1.3
        shoulder_w = head_r * 2.6
        hip_y = shoulder_y + fig_h * 0.38
        feet_y = head_cy - head_r + fig_h
        alpha = (255,)
        leg_w = head_r * 0.9
        draw.rectangle([cx - shoulder_w * 0.55, hip_y - 4, cx - shoulder_w * 0.55 + leg_w, feet_y], fill=(30, 30, 38) + alpha)
        draw.rectangle([cx + shoulder_w * 0.55 - leg_w, hip_y - 4, cx + shoulder_w * 0.55, feet_y], fill=(30, 30, 38) + alpha)
        draw.polygon([(cx - shoulder_w, shoulder_y), (cx + shoulder_w, shoulder_y),
                      (cx + shoulder_w * 0.9, hip_y + fig_h * 0.05), (cx - shoulder_w * 0.9, hip_y + fig_h * 0.05)],
                     fill=coat + alpha)
        for side in (-1, 1):  # arms
            draw.line([(cx + side * shoulder_w * 0.95, shoulder_y + head_r * 0.2),
                       (cx + side * shoulder_w * 1.15, hip_y)], fill=_mix(coat, (0, 0, 0), 0.2) + alpha,
                      width=max(2, int(head_r * 0.55)))
        draw.rectangle([cx - head_r * 0.35, head_cy + head_r * 0.8, cx + head_r * 0.35, shoulder_y + 2], fill=skin + alpha)
        draw.ellipse([cx - head_r, head_cy - head_r, cx + head_r, head_cy + head_r], fill=skin + alpha)
        long_hair = "long" in desc or "长发" in desc
        draw.chord([cx - head_r * 1.08, head_cy - head_r * 1.12, cx + head_r * 1.08, head_cy + head_r * 0.6],
                   180, 360, fill=hair + alpha)
        if long_hair:
            draw.rectangle([cx - head_r * 1.08, head_cy - head_r * 0.2, cx - head_r * 0.75, head_cy + head_r * 1.6],
                           fill=hair + alpha)
            draw.rectangle([cx + head_r * 0.75, head_cy - head_r * 0.2, cx + head_r * 1.08, head_cy + head_r * 1.6],
                           fill=hair + alpha)
        eye = max(1.5, head_r * 0.1)
        for side in (-1, 1):
            ex, ey = cx + side * head_r * 0.38, head_cy + head_r * 0.05
            draw.ellipse([ex - eye, ey - eye, ex + eye, ey + eye], fill=(30, 24, 24) + alpha)
        draw.line([(cx - head_r * 0.3, head_cy + head_r * 0.5), (cx + head_r * 0.3, head_cy + head_r * 0.5)],
                  fill=LIPS + alpha, width=max(1, int(head_r * 0.07)))
        # below the header band even where a dolly-in has enlarged the panel under it (x1.15 from the centre)
        label_y = min(max(head_cy - head_r * 1.6, req.height * 0.2), req.height * 0.62)
        self._label(draw, fig.name, cx - head_r, label_y, coat, req)
        return {"id": fig.id, "head": [round(cx, 2), round(head_cy, 2), round(head_r, 2)],
                "mouth": [round(cx, 2), round(head_cy + head_r * 0.5, 2)], "mouth_w": round(head_r * 0.6, 2),
                "eyes": [[round(cx + side * head_r * 0.38, 2), round(head_cy + head_r * 0.05, 2)] for side in (-1, 1)],
                "eye_r": round(eye, 2), "skin": list(skin), "lips": list(LIPS)}

    @staticmethod
    def _label(draw, text: str, x: float, y: float, colour, req: FrameRequest) -> None:
        f = font(max(14, int(req.height * 0.022)))
        width = f.getlength(text)
        margin = max(8.0, req.width * 0.12)  # inside what a camera move keeps of the panel (上官婉 was cut off)
        x = max(8.0, min(max(margin, x), req.width - width - margin))
        pad = f.size * 0.3
        draw.rounded_rectangle([x - pad, y - pad, x + width + pad, y + f.size + pad], radius=int(pad),
                               fill=(0, 0, 0, 170), outline=colour + (255,), width=3)
        draw.text((x, y - f.size * 0.12), text, font=f, fill=(255, 255, 255, 255), **drawing_language(req.language))

    # ------------------------------------------------------------------ header
    def _header(self, req: FrameRequest, layer: Image.Image) -> None:
        w, h = req.width, req.height
        draw = ImageDraw.Draw(layer)
        title = font(max(12, int(h * 0.02)))
        small = font(max(10, int(h * 0.015)))
        lines = wrap_text(req.caption, small, w * 0.9, max_lines=2)
        band = int(h * 0.03 + title.size * 1.5 + len(lines) * small.size * 1.3)
        draw.rectangle([0, 0, w, band], fill=(0, 0, 0, 150))
        forms = drawing_language(req.language)
        draw.text((w * 0.05, h * 0.02), f"{req.shot_id} · {req.size} · {req.angle} · {req.move}", font=title,
                  fill=(255, 230, 120, 255), **forms)
        y = h * 0.02 + title.size * 1.5
        for line in lines:
            draw.text((w * 0.05, y), line, font=small, fill=(235, 235, 235, 255), **forms)
            y += small.size * 1.3


def _rotate_face(face: dict, degrees: float, cx: float, cy: float) -> dict:
    """A face's points as ``Image.rotate(degrees)`` (counter-clockwise on screen) moves them."""
    if face.get("back"):
        return face
    a = math.radians(degrees)

    def turn(x: float, y: float) -> list[float]:
        dx, dy = x - cx, y - cy
        return [round(cx + dx * math.cos(a) + dy * math.sin(a), 2), round(cy - dx * math.sin(a) + dy * math.cos(a), 2)]

    return {**face, "head": turn(*face["head"][:2]) + face["head"][2:], "mouth": turn(*face["mouth"]),
            "eyes": [turn(*e) for e in face["eyes"]]}


def _over(picture: Image.Image, layer: Image.Image) -> Image.Image:
    """``layer`` (RGBA) laid over the opaque RGB ``picture`` in place, only where it has pixels: the same values
    as ``Image.alpha_composite`` over an opaque picture, in a fifth of the time (a figure or a header covers a part
    of the frame; compositing whole RGBA frames and converting back took ~15 ms a panel)."""
    box = layer.getbbox()
    if box:
        part = layer.crop(box)
        picture.paste(part, box[:2], part)
    return picture


def _vignette(img: Image.Image) -> Image.Image:
    w, h = img.size
    mask = Image.new("L", (w // 8, h // 8), 0)
    ImageDraw.Draw(mask).ellipse([-w // 40, -h // 40, w // 8 + w // 40, h // 8 + h // 40], fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(6)).resize((w, h))
    return Image.composite(img, Image.new(img.mode, (w, h), "black"), mask)
