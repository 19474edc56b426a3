"""The final profile on a real GPU: production-size models (random weights) through director's own backends.

No weights can be downloaded where this runs, so each default model is built from its production
config (``director.testing.production``, the configs ``make test-fidelity`` checks) with random
weights, saved in the Hub's layout and loaded back through the backend's real path
(``from_pretrained``, the memory plan, placement, the tier's scheduler). What this proves on a
GPU: the code path runs on CUDA as shipped, the time per step and per clip at production sizes,
and the memory each placement really takes. What it cannot prove: picture quality (random weights).

Parts (``GPU_PARTS``, comma-separated; default ``wan,qwen``):

- ``wan``: Wan 2.2 TI2V-5B (5.0B transformer, full 24-layer UMT5-XXL, z48 VAE): the draft tier's clip
  (FastWan settings: 3 DMD steps, no CFG, 576x1024, 121 frames) and the quality tier's per-step cost
  (704x1280, CFG); then the same draft clip with model offload, group offload (CUDA streams), FP8
  storage and with only 24 GB free on the card (the memory plan must choose an offload by itself).
- ``qwen``: Qwen-Image-Edit-2509 (20.4B transformer, Qwen2.5-VL-7B, VAE) + the CLIP scorer: a draft
  keyframe (4 steps, no CFG, 3 references at 512) and the quality tier's per-step cost (true CFG,
  references at 1024), resident; then with 48 GB and 24 GB free (model / group offload chosen by the plan).

Needs an 80 GB card (the models are built on the GPU; Qwen's 58 GB of weights must fit at once), about
60 GB of free disk (or a /dev/shm that large) and 128 GB of host memory for the offload variants.
``GPU_ONLY=a,b`` runs just the named variants; ``GPU_BUDGET_S`` bounds the run (default 540 s); ``$OUT``, when
set, receives each finished variant as a line of ``partial.jsonl`` (a run killed later keeps them).
``GPU_TINY=1`` runs the same code on tiny configs on the CPU (a check of this script, not a timing).
Each estimate from ``director.backends.gpu_time`` is printed beside what was measured.
"""
from __future__ import annotations

import gc
import json
import os
import shutil
import tempfile
import time
import traceback
from pathlib import Path

from bench.common import save

TINY = os.environ.get("GPU_TINY") == "1"


def _torch():
    import torch
    return torch


def _device() -> str:
    return "cpu" if TINY else "cuda"


def _sync() -> None:
    torch = _torch()
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _peak_reset() -> None:
    torch = _torch()
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def _peak_gb() -> float:
    torch = _torch()
    return round(torch.cuda.max_memory_allocated() / 1024 ** 3, 2) if torch.cuda.is_available() else 0.0


class Ballast:
    """Leave only ``free_gb`` of the card free, as on a smaller GPU: the memory plan reads free memory."""

    def __init__(self, free_gb: float | None):
        self.free_gb, self.block = free_gb, None

    def __enter__(self):
        torch = _torch()
        if self.free_gb is not None and torch.cuda.is_available():
            _peak_reset()  # the last model's blocks may still sit in the allocator's cache
            free, _ = torch.cuda.mem_get_info()
            take = int(free - self.free_gb * 1024 ** 3)
            if take > 0:
                self.block = torch.empty(take, dtype=torch.uint8, device="cuda")
        return self

    def __exit__(self, *exc):
        self.block = None
        _peak_reset()


def _build(builder, *args, **kwargs):
    """A component built directly on the run's device in bf16 (initialising 20B parameters on the CPU takes minutes)."""
    torch = _torch()
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    torch.manual_seed(0)
    try:
        with torch.device(_device()):
            module = builder(*args, **kwargs)
    finally:
        torch.set_default_dtype(previous)
    return module.eval()


# ------------------------------------------------------------------------------------------------ builders
def wan_folder(folder: Path) -> Path:
    from diffusers import UniPCMultistepScheduler, WanImageToVideoPipeline

    from director.testing import production as prod
    from director.testing.tokenizers import t5_tokenizer

    if TINY:
        transformer = _build(prod.wan22_5b_transformer, num_layers=1, num_attention_heads=2, attention_head_dim=32,
                             ffn_dim=64, text_dim=4096)
        text = _build(prod.umt5_xxl_encoder, 1)
    else:
        transformer, text = _build(prod.wan22_5b_transformer), _build(prod.umt5_xxl_encoder)
    pipe = WanImageToVideoPipeline(
        transformer=transformer, vae=_build(prod.wan22_vae), text_encoder=text, tokenizer=t5_tokenizer(folder / "_t5"),
        scheduler=UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=5.0),
        transformer_2=None, image_encoder=None, image_processor=None, boundary_ratio=None, expand_timesteps=True)
    pipe.save_pretrained(folder, safe_serialization=True, max_shard_size="10GB")
    del pipe, transformer, text
    _peak_reset()
    return folder


def qwen_folder(folder: Path) -> Path:
    from diffusers import FlowMatchEulerDiscreteScheduler, QwenImageEditPlusPipeline
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    from director.testing import production as prod
    from director.testing.pipelines import qwen_processor_layout
    from director.testing.tokenizers import qwen2_tokenizer

    if TINY:
        transformer = _build(_tiny_qwen)
        config = Qwen2_5_VLConfig(
            text_config={"hidden_size": 16, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
                         "num_key_value_heads": 2, "vocab_size": 152064,
                         "rope_scaling": {"mrope_section": [1, 1, 2], "rope_type": "default", "type": "default"}},
            vision_config={"depth": 1, "hidden_size": 16, "intermediate_size": 16, "num_heads": 2,
                           "out_hidden_size": 16}, vocab_size=152064)
        text = _build(Qwen2_5_VLForConditionalGeneration, config)
        vae = _build(lambda: __import__("diffusers").AutoencoderKLQwenImage(
            base_dim=24, z_dim=16, dim_mult=[1, 2, 4], num_res_blocks=1, temperal_downsample=[False, True]))
    else:
        transformer, text, vae = (_build(prod.qwen_image_transformer), _build(prod.qwen25_vl_7b),
                                  _build(prod.qwen_image_vae))
    tokenizer = qwen2_tokenizer(folder / "_tok")
    pipe = QwenImageEditPlusPipeline(transformer=transformer, vae=vae, scheduler=FlowMatchEulerDiscreteScheduler(),
                                     text_encoder=text, tokenizer=tokenizer, processor=None)
    pipe.save_pretrained(folder, safe_serialization=True, max_shard_size="10GB")
    del pipe, transformer, text, vae
    _peak_reset()
    return qwen_processor_layout(folder, tokenizer)


def _tiny_qwen():
    from diffusers import QwenImageTransformer2DModel
    return QwenImageTransformer2DModel(patch_size=2, in_channels=64, out_channels=16, num_layers=1,
                                       attention_head_dim=16, num_attention_heads=2, joint_attention_dim=16,
                                       axes_dims_rope=(4, 6, 6), guidance_embeds=False)


def clip_folder(folder: Path) -> Path:
    from transformers import CLIPImageProcessor

    from director.testing.production import clip_b32_vision
    _build(clip_b32_vision).save_pretrained(folder)
    CLIPImageProcessor().save_pretrained(folder)
    return folder


# ------------------------------------------------------------------------------------------------ runs
def _images(folder: Path, n: int) -> list[str]:
    from PIL import Image
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"ref{i}.png"
        Image.new("RGB", (768, 1024), (60 + 50 * i, 90, 160 - 40 * i)).save(path)
        paths.append(str(path))
    return paths


def _clip(backend, work: Path, frames: int, tag: str) -> dict:
    from PIL import Image

    from director.backends.types import ClipRequest
    from director.testing.artifacts import artifact_of

    key = work / f"key-{tag}"
    key.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (1080, 1920), (170, 80, 60)).save(key / "keyframe.png")
    out = work / f"clip-{tag}"
    out.mkdir(parents=True, exist_ok=True)
    width, height = (36, 64) if TINY else (1080, 1920)
    req = ClipRequest(shot_id=tag, keyframe=artifact_of(key), move="dolly-in", width=width, height=height, fps=24,
                      frames=frames, seed=1, prompt="a woman in a red coat turns to the camera")
    _peak_reset()
    _sync()
    started = time.perf_counter()
    made = backend.render(req, out)
    _sync()
    seconds = time.perf_counter() - started
    report = made.meta().get("report", {})
    native = made.meta().get("native", {})
    return {"seconds": round(seconds, 2), "gpu_seconds": report.get("gpu_seconds"), "passes": report.get("passes"),
            "native": native, "peak_gb": _peak_gb(), "placement": getattr(backend.pipe, "director_offload", None),
            "clip_bytes": (out / "clip.mp4").stat().st_size}


def _keyframe(backend, refs: list[str], tag: str, work: Path) -> dict:
    from director.backends.types import FigureSpec, FrameRequest

    out = work / f"kf-{tag}"
    out.mkdir(parents=True, exist_ok=True)
    width, height = (36, 64) if TINY else (1080, 1920)
    req = FrameRequest(shot_id=tag, size="MS", angle="eye-level", width=width, height=height,
                       prompt="Mia faces Jun in the rain", caption="", location_id="alley", location="a rainy alley",
                       time="night", look="neon noir", negative="blurry", seed=3,
                       figures=(FigureSpec("mia", "Mia", "young woman, yellow raincoat", (refs[0],)),
                                FigureSpec("jun", "Jun", "man in a grey suit", (refs[1],))),
                       location_refs=(refs[2],))
    _peak_reset()
    _sync()
    started = time.perf_counter()
    made = backend.render(req, out)
    _sync()
    meta = made.meta()
    return {"seconds": round(time.perf_counter() - started, 2), "native": meta.get("native"), "peak_gb": _peak_gb(),
            "placement": getattr(backend.pipe, "director_offload", None), "scores": meta.get("report", {}).get("scores")}


def _load(config) -> tuple[object, float, float]:
    """(backend, seconds to load, GiB free on the card when the memory plan looked)."""
    torch = _torch()
    _peak_reset()
    free = torch.cuda.mem_get_info()[0] / 1024 ** 3 if torch.cuda.is_available() else 0.0
    started = time.perf_counter()
    backend = config.build()
    _sync()
    return backend, round(time.perf_counter() - started, 2), round(free, 1)


def _release(backend) -> None:
    pipe = getattr(backend, "pipe", None)
    if pipe is not None:
        try:
            pipe.remove_all_hooks()
        except Exception:
            pass
    del backend
    _peak_reset()


ONLY = {v for v in os.environ.get("GPU_ONLY", "").split(",") if v}  # run just these variants (re-runs)


def _guarded(results: dict, name: str, fn, deadline: float) -> None:
    if ONLY and name not in ONLY:
        return
    if time.monotonic() > deadline:
        results[name] = {"skipped": "out of time for this call"}
        print(f"[gpu] {name}: skipped (time)", flush=True)
        return
    try:
        results[name] = fn()
    except Exception as exc:  # one failing variant must not hide the others' numbers
        results[name] = {"error": f"{type(exc).__name__}: {exc}"[:600], "trace": traceback.format_exc()[-2500:]}
    print(f"[gpu] {name}: {json.dumps(results[name])[:400]}", flush=True)
    if os.environ.get("OUT"):  # a run killed later (host memory) still returns what it measured
        with open(Path(os.environ["OUT"]) / "partial.jsonl", "a") as log:
            log.write(json.dumps({name: results[name]}) + "\n")


def wan(work: Path, deadline: float) -> dict:
    from director.backends import gpu_time
    from director.backends.diffusion.video import WanConfig

    out: dict = {}
    started = time.perf_counter()
    folder = wan_folder(work / "wan22")
    out["build_save_s"] = round(time.perf_counter() - started, 1)
    frames, short = (9, 5) if TINY else (120, 48)
    draft = dict(model=str(folder), device=_device(), dtype="bf16", steps=3, guidance=1.0, scheduler="dmd",
                 resolution=64 if TINY else 768)

    def variant(frames_: int, **settings):
        def run():
            backend, load_s, free = _load(WanConfig(**{**draft, **settings}))
            try:
                row = {"load_s": load_s, "free_gb": free, **_clip(backend, work, frames_, settings.get("offload", "auto"))}
                if settings.get("compile"):
                    row["second_call"] = _clip(backend, work, frames_, "compiled-again")
                return row
            finally:
                _release(backend)
        return run

    def quality(steps: int):
        return variant(frames, steps=steps, guidance=5.0, scheduler="default", resolution=64 if TINY else 949)

    _guarded(out, "draft_121f_resident", variant(frames), deadline)
    _guarded(out, "quality_2_steps", quality(2), deadline)
    _guarded(out, "quality_4_steps", quality(4), deadline)
    for offload in ("model", "group"):
        _guarded(out, f"draft_49f_{offload}", variant(short, offload=offload), deadline)
    _guarded(out, "draft_49f_resident", variant(short), deadline)
    _guarded(out, "draft_49f_fp8", variant(short, fp8=True), deadline)

    def small_card():
        with Ballast(24):
            return variant(short)()
    _guarded(out, "draft_49f_24gb_free", small_card, deadline)
    _guarded(out, "draft_49f_compiled", variant(short, compile=True), deadline)

    h100 = gpu_time.GPUS["H100"]
    arch = gpu_time.ARCHS["wan2.2-ti2v-5b"]
    out["estimate_h100"] = {
        "draft_121f": gpu_time.clip_seconds(arch, 576, 1024, 121, 3, False, h100),
        "quality_step_cfg_121f": gpu_time.clip_seconds(arch, 704, 1280, 121, 1, True, h100, vae=False)["seconds"]}
    q2, q4 = out.get("quality_2_steps", {}), out.get("quality_4_steps", {})
    if "gpu_seconds" in q2 and "gpu_seconds" in q4:
        out["measured_quality_step_cfg_121f"] = round((q4["gpu_seconds"] - q2["gpu_seconds"]) / 2, 3)
    shutil.rmtree(folder, ignore_errors=True)
    return out


def qwen(work: Path, deadline: float) -> dict:
    from director.backends import gpu_time
    from director.backends.diffusion.keyframes import QwenEditConfig

    out: dict = {}
    started = time.perf_counter()
    work.mkdir(parents=True, exist_ok=True)  # 58 GB: the disk's page cache can be evicted, a tmpfs cannot
    root = work if TINY or shutil.disk_usage(work).free > 60e9 else Path("/dev/shm")
    folder = qwen_folder(root / "qwen-edit")
    scorer = clip_folder(work / "clip")
    out["build_save_s"] = round(time.perf_counter() - started, 1)
    out["folder_on"] = str(root)
    refs = _images(work / "refs", 3)
    side = 64 if TINY else None
    draft = dict(model=str(folder), scorer=str(scorer), device=_device(), dtype="bf16", steps=4, guidance=1.0,
                 scheduler="lightning", tries=1, reference_side=side or 512, **({"resolution": side,
                                                                                 "condition_side": 28} if TINY else {}))

    def variant(free_gb: float | None = None, **settings):
        def run():
            with Ballast(free_gb):
                backend, load_s, free = _load(QwenEditConfig(**{**draft, **settings}))
                try:
                    return {"load_s": load_s, "free_gb": free, **_keyframe(backend, refs, settings.get("offload", "auto"), work)}
                finally:
                    _release(backend)
        return run

    _guarded(out, "draft_resident", variant(), deadline)
    quality = dict(steps=2, guidance=4.0, scheduler="default", reference_side=side or 1024)
    _guarded(out, "quality_2_steps", variant(**quality), deadline)
    _guarded(out, "quality_4_steps", variant(**{**quality, "steps": 4}), deadline)
    _guarded(out, "draft_24gb_free", variant(24), deadline)
    _guarded(out, "draft_48gb_free", variant(48), deadline)
    h100 = gpu_time.GPUS["H100"]
    arch = gpu_time.ARCHS["qwen-image-20b"]
    from director.backends.diffusion import common
    w, h = common.native_size(1080, 1920, 1024, 16)
    out["estimate_h100"] = {"draft": gpu_time.image_seconds(arch, w, h, 4, False, h100, 3, 512),
                            "quality_step_cfg": gpu_time.image_seconds(arch, w, h, 1, True, h100, 3, 1024)["denoise"]}
    q2, q4 = out.get("quality_2_steps", {}), out.get("quality_4_steps", {})
    if "seconds" in q2 and "seconds" in q4:
        out["measured_quality_step_cfg"] = round((q4["seconds"] - q2["seconds"]) / 2, 3)
    shutil.rmtree(folder, ignore_errors=True)
    return out


def main() -> None:
    torch = _torch()
    if not TINY and not torch.cuda.is_available():
        # said, not saved: results/gpu.json holds the figures measured where a GPU was, and a CPU machine's run
        # of `make bench` replaced them with this line
        print("skipped: no CUDA device here (GPU_TINY=1 checks this script on the CPU); results/gpu.json is kept")
        return
    import diffusers
    import transformers
    env = {"torch": torch.__version__, "diffusers": diffusers.__version__, "transformers": transformers.__version__,
           "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu (GPU_TINY)",
           "vram_gb": round(torch.cuda.get_device_properties(0).total_memory / 1024 ** 3, 1)
           if torch.cuda.is_available() else 0, "tiny": TINY}
    print(f"[gpu] {env}", flush=True)
    parts = [p for p in os.environ.get("GPU_PARTS", "wan,qwen").split(",") if p]
    budget = float(os.environ.get("GPU_BUDGET_S", "540"))
    deadline = time.monotonic() + budget
    results: dict = {"env": env}
    work = Path(os.environ.get("GPU_WORK") or tempfile.mkdtemp(prefix="director-gpu-"))
    for part in parts:
        results[part] = {"wan": wan, "qwen": qwen}[part](work / part, deadline)
    name = "gpu" if not TINY else "gpu_tiny"
    save(name, results, json.dumps({k: v for k, v in results.items() if k != "env"}, indent=1)[:6000])
    if os.environ.get("OUT"):
        shutil.copy(Path(__file__).parent / "results" / f"{name}.json", Path(os.environ["OUT"]) / f"{name}-{'-'.join(parts)}.json")


if __name__ == "__main__":
    main()
