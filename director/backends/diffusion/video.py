"""Image-to-video backends on diffusers: every shot becomes a clip of exactly its length.

``wan-i2v`` (Wan 2.2 TI2V-5B, default), ``wan-flf2v`` (Wan 2.1 first-last-frame 14B: the next
keyframe is matched), ``ltx-i2v``, ``ltx-condition`` (frames pinned by index), ``cogvideox-i2v``
and ``svd``. The model rules live in ``RULES``; the planning and conforming in ``fitting``.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import threading
import time
from pathlib import Path
from typing import ClassVar

from pydantic import Field

from director.backends.diffusion import common
from director.backends.diffusion.fitting import PassPlan, Rules, conform_indices, plan_passes
from director.backends.diffusion.prompts import negative_prompt
from director.backends.types import ClipRequest, Made
from director.errors import StageFailed
from director.media.ffmpeg import FrameWriter
from director.store import steps

log = logging.getLogger("director.video")

# How each camera move is worded for video models (they respond to plain camera language).
MOVE_WORDS = {
    "static": "static camera, locked-off shot", "pan-left": "the camera pans slowly to the left",
    "pan-right": "the camera pans slowly to the right", "tilt-up": "the camera tilts up",
    "tilt-down": "the camera tilts down", "dolly-in": "slow dolly-in, the camera pushes in toward the subject",
    "dolly-out": "slow dolly-out, the camera pulls back", "truck-left": "the camera trucks left alongside",
    "truck-right": "the camera trucks right alongside", "crane-up": "crane shot rising upward",
    "crane-down": "crane shot descending", "orbit": "the camera orbits around the subject",
    "handheld": "handheld camera, subtle natural shake", "zoom-in": "slow zoom in", "zoom-out": "slow zoom out",
}


class VideoConfig(common.DiffusersConfig):
    kind: ClassVar[str] = "video"
    rules: ClassVar[Rules]
    supports_last_image: ClassVar[bool] = False

    overlap: int = Field(default=4, ge=1, le=16, description="frames shared (cross-faded) at each pass seam")
    motion: float | None = Field(default=None, ge=0, le=1, description="motion strength where the model has one")
    first_last: bool = Field(default=False, description="end on the next keyframe (first-last-frame models)")

    def uses_next_keyframe(self) -> bool:
        return self.first_last and self.supports_last_image


class WanConfig(VideoConfig):
    name: ClassVar[str] = "wan-i2v"
    version: ClassVar[str] = "3"  # 2: passes planned from the frames shown; "3": the VAE in float32
    license: ClassVar[str] = "Apache-2.0 (Wan 2.2 weights)"
    target: ClassVar[str] = "director.backends.diffusion.video:WanBackend"
    pipeline_class: ClassVar[str] = "WanImageToVideoPipeline"
    fp32_components: ClassVar[tuple[str, ...]] = ("vae", "image_encoder")
    default_model: ClassVar[str] = "Wan-AI/Wan2.2-TI2V-5B-Diffusers"
    rules: ClassVar[Rules] = Rules(step=4, fps=24, max_frames=121, min_frames=5, multiple=32, side=949)  # 704x1280

    steps: int = 50
    guidance: float = 5.0


class WanFLF2VConfig(VideoConfig):
    name: ClassVar[str] = "wan-flf2v"
    version: ClassVar[str] = "4"  # 2: passes planned from the frames shown; "4": the VAE in float32
    license: ClassVar[str] = "Apache-2.0 (Wan 2.1 weights)"
    target: ClassVar[str] = "director.backends.diffusion.video:WanBackend"
    pipeline_class: ClassVar[str] = "WanImageToVideoPipeline"
    fp32_components: ClassVar[tuple[str, ...]] = ("vae", "image_encoder")
    default_model: ClassVar[str] = "Wan-AI/Wan2.1-FLF2V-14B-720P-diffusers"
    rules: ClassVar[Rules] = Rules(step=4, fps=16, max_frames=81, min_frames=5, multiple=16, side=960)
    supports_last_image: ClassVar[bool] = True

    first_last: bool = True
    steps: int = 50
    guidance: float = 5.0


class LTXConfig(VideoConfig):
    name: ClassVar[str] = "ltx-i2v"
    version: ClassVar[str] = "3"  # passes planned from the frames shown (was one frame more)
    license: ClassVar[str] = "per version: OpenRAIL-M (0.9.0-0.9.5), LTX-Video Open Weights License (0.9.6+)"
    target: ClassVar[str] = "director.backends.diffusion.video:LTXBackend"
    pipeline_class: ClassVar[str] = "LTXImageToVideoPipeline"
    default_model: ClassVar[str] = "Lightricks/LTX-Video"
    rules: ClassVar[Rules] = Rules(step=8, fps=24, max_frames=257, min_frames=9, multiple=32, side=608)  # 480x768

    steps: int = 40
    guidance: float = 3.0


class LTXConditionConfig(LTXConfig):
    name: ClassVar[str] = "ltx-condition"
    target: ClassVar[str] = "director.backends.diffusion.video:LTXConditionBackend"
    pipeline_class: ClassVar[str] = "LTXConditionPipeline"
    default_model: ClassVar[str] = "Lightricks/LTX-Video-0.9.5"
    supports_last_image: ClassVar[bool] = True

    first_last: bool = True


class CogVideoXConfig(VideoConfig):
    name: ClassVar[str] = "cogvideox-i2v"
    version: ClassVar[str] = "4"  # 3: passes planned from the frames shown (was one frame more); 4: dynamic CFG
    license: ClassVar[str] = "CogVideoX License"
    target: ClassVar[str] = "director.backends.diffusion.video:CogVideoXBackend"
    pipeline_class: ClassVar[str] = "CogVideoXImageToVideoPipeline"
    default_model: ClassVar[str] = "THUDM/CogVideoX-5b-I2V"
    rules: ClassVar[Rules] = Rules(step=8, fps=8, max_frames=49, min_frames=9, multiple=16, side=588)  # 480x720

    steps: int = 50
    guidance: float = 6.0
    dynamic_cfg: bool = Field(default=True, description="guidance rising over the steps (the cosine schedule the "
                              "5B image-to-video examples use, diffusers' use_dynamic_cfg)")

    def format_problem(self, width: int, height: int) -> str | None:
        """Said before any model runs (and in the dry run): CogVideoX-5B-I2V's position embeddings are learned at
        one size, read from its local config (the 5B-I2V by default where it is not here yet)."""
        import json
        from director.backends.models import local_folder
        folder = local_folder(self.model_id())
        try:
            config = json.loads((folder / "transformer" / "config.json").read_text()) if folder else {}
        except (OSError, ValueError):
            config = {}
        if not config.get("use_learned_positional_embeddings", self.model_id() == self.default_model):
            return None
        scale = 8  # the CogVideoX VAE's spatial factor
        return crop_problem(self.model_id(), width, height, config.get("sample_width", 90) * scale,
                            config.get("sample_height", 60) * scale)


def crop_problem(model: str, width: int, height: int, native_width: int, native_height: int) -> str | None:
    """A model that makes one size only, asked for a frame of another shape it would be cropped to a strip of."""
    if abs(math.log((width / height) / (native_width / native_height))) <= math.log(1.25):
        return None
    return (f"{model} makes {native_width}x{native_height} video only, which a {width}x{height} shot would crop to "
            f"a strip (a 9:16 frame keeps a 270x480 part of 720x480, magnified 4x); use THUDM/CogVideoX1.5-5B-I2V "
            f"(any size) or another video backend (wan-i2v)")


class SVDConfig(VideoConfig):
    name: ClassVar[str] = "svd"
    version: ClassVar[str] = "2"  # passes planned from the frames shown (was one frame more)
    license: ClassVar[str] = "Stability AI Community License"
    target: ClassVar[str] = "director.backends.diffusion.video:SVDBackend"
    pipeline_class: ClassVar[str] = "StableVideoDiffusionPipeline"
    default_model: ClassVar[str] = "stabilityai/stable-video-diffusion-img2vid-xt"
    rules: ClassVar[Rules] = Rules(step=1, fps=7, max_frames=25, min_frames=2, multiple=64, side=768)  # 576x1024

    steps: int = 25
    guidance: float = 3.0


def motion_prompt(req: ClipRequest) -> str:
    parts = [req.prompt, MOVE_WORDS.get(req.move, req.move)]
    return ". ".join(p for p in parts if p)


class VideoBackend:
    """The loop every video backend shares: plan passes, generate, stitch, conform, encode."""

    def __init__(self, config: VideoConfig):
        self.config = config
        self.lock = threading.Lock()
        self.pipe = common.load_pipeline(config, self.load_extra)
        self.rules = self.model_rules(config.rules)

    @staticmethod
    def load_extra(folder: Path) -> dict:
        return {}

    # subclasses ------------------------------------------------------------
    def model_rules(self, rules: Rules) -> Rules:
        """The rules as the loaded model states them (a checkpoint may fix what the family leaves free)."""
        return rules

    def native(self, req: ClipRequest) -> tuple[int, int]:
        """The size the model generates at: about side^2 pixels in the project's aspect."""
        rules = self.rules
        side = self.config.resolution if "resolution" in self.config.model_fields_set else rules.side
        return common.native_size(req.width, req.height, side, rules.multiple)

    def generate(self, image, prompt: str, negative: str, frames: int, width: int, height: int, seed: int,
                 last_image=None) -> list:
        raise NotImplementedError

    # shared ------------------------------------------------------------------
    def plan(self, req: ClipRequest) -> PassPlan:
        return plan_passes(self.rules, req.frames, req.fps, self.config.overlap)

    def generate_passes(self, req: ClipRequest, plan: PassPlan, first, prompt: str, negative: str, width: int,
                        height: int, seed: int, last=None, condition: dict | None = None) -> list:
        """Every pass of the plan, each starting from the last frame so far, stitched with cross-faded seams.
        ``condition``: extra arguments for ``generate`` (with the pass's first frame in the clip, ``start_frame``)."""
        stitched: list = []
        at = 0
        for i, frames in enumerate(plan.passes):
            start_image = first if i == 0 else stitched[-1]
            final = i == len(plan.passes) - 1
            extra = {} if condition is None else {**condition, "start_frame": at}
            with self.lock, steps.part(i, len(plan.passes)):
                clip = common.with_oom_retry(self.pipe, self.config, lambda: self.generate(
                    start_image, prompt, negative, frames, width, height, seed + i, last if final else None,
                    **extra), f"clip {req.shot_id} pass {i + 1}")
            clip = [c.convert("RGB") for c in clip]
            stitched = clip if i == 0 else crossfade(stitched, clip, plan.overlap)
            at += frames - plan.overlap
        return stitched

    def write_clip(self, req: ClipRequest, stitched: list, path: Path) -> None:
        """The stitched frames conformed to the shot's frame count and rate, at the project's size."""
        picks = conform_indices(len(stitched), self.rules.fps, req.frames, req.fps)
        source = stitched[0].size  # every pass is made at the native size: ffmpeg fits them to the frame
        with FrameWriter(path, req.width, req.height, req.fps, source=source) as writer:
            for index in picks:
                frame = stitched[index]
                if frame.size != source:
                    frame = common.fit(frame, *source)
                writer.write(frame.convert("RGB").tobytes())

    def render(self, req: ClipRequest, out: Path) -> Made:
        from PIL import Image
        rules = self.rules
        plan = self.plan(req)
        width, height = self.native(req)
        first = common.fit(Image.open(req.keyframe.file("image")).convert("RGB"), width, height)
        last = None
        if req.next_keyframe and self.config.uses_next_keyframe():
            last = common.fit(Image.open(req.next_keyframe.file("image")).convert("RGB"), width, height)
        prompt = motion_prompt(req)
        negative = negative_prompt(req.negative, "static, frozen, distorted, flicker, low quality")
        started = time.perf_counter()
        stitched = self.generate_passes(req, plan, first, prompt, negative, width, height, req.seed, last)
        seconds = time.perf_counter() - started
        steps.gpu_done()  # the frames are in host memory: the device's next clip denoises while this one encodes
        self.write_clip(req, stitched, out / "clip.mp4")
        return Made({"clip": "clip.mp4"},
                    report={"passes": plan.passes, "seams": plan.seams, "last_image": last is not None,
                            "gpu_seconds": round(seconds, 3)},
                    info={"frames": req.frames, "fps": req.fps, "width": req.width, "height": req.height,
                          "move": req.move, "overlap": plan.overlap, "prompt": prompt,
                          "native": {"width": width, "height": height, "fps": rules.fps, "frames": len(stitched)},
                          "backend": self.config.name, "model": self.config.model_id(), "steps": self.config.steps,
                          "device": self.pipe.director_device})


def crossfade(previous: list, following: list, overlap: int) -> list:
    """Join two passes: the later one started from the earlier's last frame; blend the shared frames."""
    from PIL import Image
    head, shared = previous[:-overlap], previous[-overlap:]
    blended = [Image.blend(a, b, (k + 1) / (overlap + 1)) for k, (a, b) in enumerate(zip(shared, following[:overlap]))]
    return head + blended + following[overlap:]


class WanBackend(VideoBackend):
    def generate(self, image, prompt, negative, frames, width, height, seed, last_image=None):
        kwargs = {"last_image": last_image} if last_image is not None else {}
        with first_frame_only(self.pipe, last_image is None):
            result = self.pipe(image=image, prompt=prompt, negative_prompt=negative, height=height, width=width,
                               num_frames=frames, num_inference_steps=self.config.steps,
                               guidance_scale=self.config.guidance, generator=common.generator(self.pipe, seed),
                               **steps.diffusers_callback(self.config.steps), output_type="pil", **kwargs)
        return result.frames[0]


@contextlib.contextmanager
def first_frame_only(pipe, active: bool):
    """Wan 2.1 FLF2V without a last frame (the episode's last shot, every non-final pass of a long one).

    Its image embedding holds *two* pictures' CLIP tokens (``pos_embed_seq_len`` = 2 x 257) and
    reshapes to that length, so one image alone is a shape error. The VAE condition pins only
    the first frame when ``last_image`` is None (I2V conditioning); the CLIP side then gets the
    first image twice, which asks for no particular ending. Calls hold the backend's lock.
    """
    transformer = getattr(pipe, "transformer", None)
    if not active or transformer is None or not getattr(transformer.config, "pos_embed_seq_len", None) \
            or getattr(pipe, "image_encoder", None) is None:
        yield
        return
    encode = pipe.encode_image

    def twice(image, device=None):
        return encode(image if isinstance(image, (list, tuple)) else [image, image], device)

    pipe.encode_image = twice
    try:
        yield
    finally:
        pipe.encode_image = encode


def ltx_decode(pipe) -> dict:
    """LTX-Video >= 0.9.1 decodes with a timestep-conditioned VAE: decode at t=0.05 with 0.025 noise, as
    every Lightricks config from 0.9.1 to 0.9.8 does (diffusers' defaults, 0.0 and None, blur the result)."""
    if getattr(pipe.vae.config, "timestep_conditioning", False):
        return {"decode_timestep": 0.05, "decode_noise_scale": 0.025}
    return {}


class LTXBackend(VideoBackend):
    def generate(self, image, prompt, negative, frames, width, height, seed, last_image=None):
        result = self.pipe(image=image, prompt=prompt, negative_prompt=negative, height=height, width=width,
                           num_frames=frames, frame_rate=self.rules.fps, num_inference_steps=self.config.steps,
                           guidance_scale=self.config.guidance, generator=common.generator(self.pipe, seed),
                           **steps.diffusers_callback(self.config.steps), **ltx_decode(self.pipe),
                           output_type="pil")
        return result.frames[0]


class LTXConditionBackend(VideoBackend):
    def generate(self, image, prompt, negative, frames, width, height, seed, last_image=None):
        from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition
        conditions = [LTXVideoCondition(image=image, frame_index=0)]
        if last_image is not None:  # pin the next keyframe to the last frame
            conditions.append(LTXVideoCondition(image=last_image, frame_index=frames - 1))
        result = self.pipe(conditions=conditions, prompt=prompt, negative_prompt=negative, height=height, width=width,
                           num_frames=frames, frame_rate=self.rules.fps, num_inference_steps=self.config.steps,
                           guidance_scale=self.config.guidance, generator=common.generator(self.pipe, seed),
                           **steps.diffusers_callback(self.config.steps), **ltx_decode(self.pipe),
                           output_type="pil")
        return result.frames[0]


# CogVideoX 1.5 (patch_size_t=2): 16N+1 frames at 16 fps, ~1360x768 (THUDM/CogVideo README and cli_demo.py)
COGVIDEOX15_RULES = Rules(step=16, fps=16, max_frames=161, min_frames=17, multiple=16, side=1022)


class CogVideoXBackend(VideoBackend):
    def model_rules(self, rules: Rules) -> Rules:
        config = self.pipe.transformer.config
        if getattr(config, "patch_size_t", None):  # 1.5: 1.0's 8 fps rules would play its motion at half speed
            return COGVIDEOX15_RULES
        if config.use_learned_positional_embeddings:  # 5B-I2V: exactly sample_frames (49) per pass
            return dataclasses.replace(rules, min_frames=config.sample_frames, max_frames=config.sample_frames)
        return rules

    def native(self, req: ClipRequest) -> tuple[int, int]:
        # CogVideoX-5B-I2V learned its position embeddings at one size (720x480): generate there, then crop.
        config = self.pipe.transformer.config
        if config.use_learned_positional_embeddings:
            scale = self.pipe.vae_scale_factor_spatial
            width, height = config.sample_width * scale, config.sample_height * scale
            if problem := crop_problem(self.config.model_id(), req.width, req.height, width, height):
                raise StageFailed(problem)
            return width, height
        return super().native(req)

    def generate(self, image, prompt, negative, frames, width, height, seed, last_image=None):
        result = self.pipe(image=image, prompt=prompt, negative_prompt=negative, height=height, width=width,
                           num_frames=frames, num_inference_steps=self.config.steps, guidance_scale=self.config.guidance,
                           use_dynamic_cfg=self.config.dynamic_cfg, generator=common.generator(self.pipe, seed),
                           **steps.diffusers_callback(self.config.steps), output_type="pil")
        return result.frames[0]


class SVDBackend(VideoBackend):
    def generate(self, image, prompt, negative, frames, width, height, seed, last_image=None):
        motion = self.config.motion if self.config.motion is not None else 0.5
        result = self.pipe(image=image, height=height, width=width, num_frames=frames,
                           num_inference_steps=self.config.steps, min_guidance_scale=1.0,
                           max_guidance_scale=self.config.guidance, fps=round(self.rules.fps),
                           motion_bucket_id=int(1 + motion * 254), decode_chunk_size=8,
                           generator=common.generator(self.pipe, seed),
                           **steps.diffusers_callback(self.config.steps), output_type="pil")
        return result.frames[0]


def estimate(config: VideoConfig, width: int, height: int, fps: float, frames: int, history: list[float]) -> dict:
    """Dry run for one shot: passes, native frames and GPU-seconds from the measured throughput."""
    rules = config.rules
    side = config.resolution if "resolution" in config.model_fields_set else rules.side
    w, h = common.native_size(width, height, side, rules.multiple)
    plan = plan_passes(rules, frames, fps, config.overlap)
    work = sum(plan.passes) * w * h / 1e6 * config.steps
    per_unit = sorted(history)[len(history) // 2] if history else None
    if per_unit:
        seconds, source = round(per_unit * work, 1), "measured on this machine"
    else:  # nothing rendered yet: the FLOP model on an H100 (director/backends/gpu_time.py)
        from director.backends.gpu_time import GPUS, arch_for, clip_seconds, uses_cfg
        arch = arch_for(config)
        seconds = round(sum(clip_seconds(arch, w, h, n, config.steps, uses_cfg(config), GPUS["H100"])["seconds"]
                            for n in plan.passes), 1) if arch else None
        source = "FLOP model, H100" if arch else "unknown model"
    return {"model": config.model_id(), "native": [w, h], "passes": plan.passes, "seams": plan.seams,
            "frames": frames, "gpu_seconds": seconds, "estimate": source}


def throughput_history(cache_root: Path, config: VideoConfig, device: str | None = None) -> list[float]:
    """Seconds per (native frame x megapixel x step) of earlier clips by this backend and model."""
    import json
    out = []
    for manifest in (cache_root / "clips").glob("*/*/manifest.json"):
        try:
            meta = json.loads(manifest.read_text()).get("meta", {})
        except (OSError, ValueError):
            continue
        if meta.get("backend") != config.name or meta.get("model") != config.model_id():
            continue
        native, report = meta["native"], meta.get("report", {})
        if "passes" not in report or "gpu_seconds" not in report:
            continue
        work = sum(report["passes"]) * native["width"] * native["height"] / 1e6 * meta["steps"]
        out.append(report["gpu_seconds"] / max(work, 1e-9))
    return out
