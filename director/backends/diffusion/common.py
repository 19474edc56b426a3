"""What every diffusers backend shares: its settings, one model load, devices, dtypes, OOM handling.

Imports of torch/diffusers happen inside functions so that importing a config class (which
``director --help`` and ``director models`` do) stays cheap.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Callable, ClassVar, Literal

from pydantic import Field

from director.backends import REMOTE_MODELS, BackendConfig
from director.backends.models import ModelNeed, license_gate, local_folder, require_local
from director.errors import BackendUnavailable

log = logging.getLogger("director.diffusion")


class DiffusersConfig(BackendConfig):
    """Settings shared by every diffusers backend (see README: GPUs and models)."""

    requires: ClassVar[tuple[str, ...]] = ("torch", "diffusers", "transformers")
    pipeline_class: ClassVar[str]
    default_model: ClassVar[str]
    # components kept in float32 whatever ``dtype`` says (Wan's VAE and CLIP image encoder, as its model cards
    # load them: in bf16 the VAE's decode loses detail and drifts in colour)
    fp32_components: ClassVar[tuple[str, ...]] = ()

    model: str = ""
    dtype: Literal["auto", "bf16", "fp16", "fp32"] = "auto"
    device: str = Field(default="auto", description="auto (a CUDA GPU, never the CPU silently), cpu, cuda, cuda:N")
    offload: Literal["auto", "none", "model", "group", "sequential"] = Field(
        default="auto", description="auto: the memory plan picks from the model's size and the GPU's memory")
    vae_tiling: bool = False
    compile: bool = Field(default=False, description="torch.compile the denoiser (regional where supported)")
    compile_backend: str = Field(default="inductor", description="torch.compile backend (inductor, cudagraphs, eager)")
    steps: int = Field(default=30, ge=1, le=200)
    guidance: float = Field(default=4.0, ge=0, le=30)
    resolution: int = Field(default=1024, ge=16, le=4096, description="native side: the model works at about this^2 pixels")
    fp8: bool = Field(default=False, description="FP8 layerwise casting of the denoiser weights (saves memory)")
    cache: Literal["none", "first-block"] = Field(default="none", description="diffusers cache hook (faster, "
                                                  "slightly less faithful)")
    cache_threshold: float = Field(default=0.1, gt=0, le=1)
    lora: str | None = Field(default=None, description="a LoRA (e.g. a step-distilled one) by id or path")
    lora_weight: str | None = None
    lora_scale: float = 1.0
    scheduler: Literal["default", "lightning", "dmd"] = Field(
        default="default", description="lightning: Qwen-Image-Lightning's schedule; dmd: FastWan's 3-step sigmas")
    sigmas: list[float] = Field(default_factory=lambda: [1.0, 0.757, 0.522],
                                description="the noise levels a dmd schedule steps through")

    def model_id(self) -> str:
        return self.model or self.default_model

    def job_seconds(self) -> float | None:
        """The FLOP model's GPU seconds for a typical job: a 720x1280 keyframe held to one reference, a 4 s clip
        at 24 fps, a 20 s score, on an H100 (only the ratios between kinds matter to the scheduler)."""
        from director.backends import gpu_time

        stage = {"keyframes": "keyframes", "video": "clips", "music": "music"}.get(self.kind)
        try:
            est = gpu_time.estimate_episode({self.kind: self}, 720, 1280, 24.0, [{"frames": 96, "refs": 1}], 0, 0.0,
                                            [20.0], gpu_time.GPUS["H100"])
        except (AttributeError, KeyError, TypeError, ValueError):
            return None
        return est.get(stage) or None

    def needs(self) -> list[ModelNeed]:
        # a diffusers pipeline is its model_index.json and its components' folders: the root's other files are
        # not read (Lightricks/LTX-Video keeps ~100 GB of single-file checkpoints there, SVD-XT its originals)
        needs = [ModelNeed(self.model_id(), self.kind, self.name, like=self.default_model,
                           files=("model_index.json", "*/*"))]
        if self.lora:
            needs.append(ModelNeed(self.lora, "lora", self.name, files=(self.lora_weight,) if self.lora_weight else ()))
        return needs

    def check(self, license_ack: str | None = None) -> None:
        super().check()
        license_gate(self.needs(), license_ack)
        if REMOTE_MODELS.get():  # the cluster's workers hold the GPUs and the weights
            return
        require_local(self.needs())
        if self.device == "auto":
            cuda_or_refuse(self.kind, self.name)


def cuda_or_refuse(kind: str, name: str) -> None:
    """``device: auto`` means a GPU: a 20B model must never slip onto the CPU in fp32 unnoticed."""
    import torch
    try:
        usable = torch.cuda.is_available() and torch.cuda.device_count() > 0
    except RuntimeError:  # a driver/runtime mismatch raises instead of answering
        usable = False
    if not usable:
        raise BackendUnavailable(f"no usable CUDA GPU for {kind} ({name}); `director doctor --profile final` says why. To run it on "
                                 f"the CPU anyway (hours per clip at production sizes), set `device: cpu` under "
                                 f"backends.{kind} in director.yaml")


def torch_device(name: str) -> str:
    import torch
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise BackendUnavailable(f"device '{name}' asked for, but this machine has no CUDA GPU (set device: auto or cpu)")
    return name


def torch_dtype(name: str, device: str):
    import torch
    if name == "auto":
        if device.startswith("cuda"):
            # bf16 where the card computes in it (Ampere, compute capability 8, and later). Not
            # ``is_bf16_supported()``: in torch 2.13 it counts emulation, True on a T4 or V100, where bf16 matmuls
            # and attention fall back to slow kernels; and it asks the current device, not ``device``
            return torch.bfloat16 if torch.cuda.get_device_capability(torch.device(device))[0] >= 8 else torch.float16
        return torch.float32
    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[name]


def load_pipeline(config: DiffusersConfig, extra: Callable[[Path], dict] | None = None,
                  prepare: Callable[[Any], None] | None = None):
    """Load ``config.pipeline_class`` from the local cache once, placed and tuned per the settings.

    The order follows diffusers' guidance: adapters (``prepare``: IP-Adapter, LoRA) and hooks (fp8
    casting, caches) first, then placement (offload hooks), then ``torch.compile`` last, so the
    compiled graph sees the final modules; ``fullgraph`` only where no hook breaks the graph.
    """
    import diffusers

    folder = local_folder(config.model_id())
    if folder is None:
        require_local(config.needs())
    device = torch_device(config.device)
    dtype = torch_dtype(config.dtype, device)
    cls = getattr(diffusers, config.pipeline_class)
    kwargs = extra(folder) if extra else {}
    kwargs[_dtype_keyword(diffusers.__version__)] = component_dtypes(config, dtype)
    pipe = cls.from_pretrained(str(folder), local_files_only=True, **kwargs)
    pipe.set_progress_bar_config(disable=True)
    pipe.director_device, pipe.director_dtype = device, dtype
    if prepare is not None:
        prepare(pipe)
    set_scheduler(pipe, config)
    hooked = speed_switches(pipe, config)
    offload = config.offload
    if offload == "auto":
        from director.backends.memory import placement_for
        offload = placement_for(config, folder, device)
    place_with_fallback(pipe, offload, device, what=f"{config.kind} model {config.model_id()}")
    if config.vae_tiling:
        tile_vae(pipe)
    if config.compile:
        compile_denoiser(pipe, config, fullgraph=not hooked and pipe.director_offload in ("none", "model"))
    return pipe


LIGHTNING_SCHEDULER = {  # ModelTC/Qwen-Image-Lightning, generate_with_diffusers.py
    "base_image_seq_len": 256, "base_shift": math.log(3), "invert_sigmas": False, "max_image_seq_len": 8192,
    "max_shift": math.log(3), "num_train_timesteps": 1000, "shift": 1.0, "shift_terminal": None,
    "stochastic_sampling": False, "time_shift_type": "exponential", "use_beta_sigmas": False,
    "use_dynamic_shifting": True, "use_exponential_sigmas": False, "use_karras_sigmas": False}


def set_scheduler(pipe, config: DiffusersConfig) -> None:
    """Step-distilled weights want the schedule they were distilled with, not the base model's."""
    if config.scheduler == "default":
        return
    from diffusers import FlowMatchEulerDiscreteScheduler
    if config.scheduler == "lightning":
        pipe.scheduler = FlowMatchEulerDiscreteScheduler.from_config(LIGHTNING_SCHEDULER)
        return
    # dmd: few-step distillation (FastWan) jumps through fixed noise levels with fresh noise at each step
    scheduler = FlowMatchEulerDiscreteScheduler(shift=1.0, stochastic_sampling=True)
    sigmas = list(config.sigmas)
    plain = scheduler.set_timesteps

    def set_timesteps(num_inference_steps=None, device=None, **kwargs):
        kwargs.pop("sigmas", None)
        return plain(sigmas=sigmas[:num_inference_steps] if num_inference_steps else sigmas, device=device, **kwargs)
    scheduler.set_timesteps = set_timesteps
    # its fresh noise is drawn from the generator ``step`` is given, and Wan's pipelines give none (diffusers 0.42,
    # pipeline_wan_i2v.py: ``scheduler.step(noise_pred, t, latents, return_dict=False)``): torch's global RNG, which
    # other jobs (and Coqui's seeding) move, so a seed did not make its clip again. ``generator`` hands the call's
    # own generator to the steps, as the pipelines hand it to the first latents.
    scheduler.director_generator = None
    stepped = scheduler.step

    def step(*args, generator=None, **kwargs):
        return stepped(*args, generator=generator if generator is not None else scheduler.director_generator,
                       **kwargs)
    scheduler.step = step
    pipe.scheduler = scheduler


def denoiser_of(pipe):
    return getattr(pipe, "transformer", None) or getattr(pipe, "unet")


def speed_switches(pipe, config: DiffusersConfig) -> bool:
    """LoRA, FP8 layerwise casting and the first-block cache; True when a hook sits inside the denoiser."""
    denoiser = denoiser_of(pipe)
    if config.lora:
        pipe.load_lora_weights(str(local_folder(config.lora) or config.lora), weight_name=config.lora_weight,
                               adapter_name="director")
        pipe.set_adapters(["director"], [config.lora_scale])
    if config.fp8:
        import torch
        denoiser.enable_layerwise_casting(storage_dtype=torch.float8_e4m3fn, compute_dtype=pipe.director_dtype)
    if config.cache == "first-block":
        from diffusers.hooks import FirstBlockCacheConfig
        denoiser.enable_cache(FirstBlockCacheConfig(threshold=config.cache_threshold))
    return config.fp8 or config.cache != "none"


def compile_denoiser(pipe, config: DiffusersConfig, fullgraph: bool) -> None:
    """Regional compilation of the repeated blocks where the model declares them, else the whole denoiser.

    Hooks (FP8 casting, caches, group offload) call into code Dynamo cannot trace in one graph
    (``torch.compiler.disable``d functions, ``inspect.signature``), so ``fullgraph`` is only asked
    for without them; with them the graph breaks at the hook and the blocks still compile.
    """
    denoiser = denoiser_of(pipe)
    options = {"fullgraph": fullgraph, "backend": config.compile_backend}
    if getattr(denoiser, "_repeated_blocks", None) and hasattr(denoiser, "compile_repeated_blocks"):
        denoiser.compile_repeated_blocks(**options)
    else:
        denoiser.compile(**options)
    pipe.director_compiled = options


def component_dtypes(config: DiffusersConfig, dtype):
    """``from_pretrained``'s dtype: one for every component, or per component where some stay in float32."""
    import torch
    if not config.fp32_components or dtype == torch.float32:
        return dtype
    return {"default": dtype, **{name: torch.float32 for name in config.fp32_components}}


def _dtype_keyword(version: str) -> str:
    """diffusers 0.42 renamed ``torch_dtype`` to ``dtype``."""
    major, minor = (int(x) for x in version.split(".")[:2])
    return "dtype" if (major, minor) >= (0, 42) else "torch_dtype"


def place(pipe, offload: str, device: str, force: bool = False) -> None:
    """Put the pipeline on ``device`` with the given offload (offload only means something on a GPU).

    ``group``: every component streams its layers in just before use — text encoders included
    (transformers models too, through diffusers' group-offload hooks), so a 15 GB Qwen2.5-VL or a
    10.6 GB UMT5 is never whole on the card. ``force`` applies hooks on the CPU too (tests).
    """
    import torch
    pipe.director_offload = offload if (device.startswith("cuda") or force) else "none"
    if offload == "none" or not (device.startswith("cuda") or force):
        pipe.to(device)
    elif offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    elif offload == "sequential":
        pipe.enable_sequential_cpu_offload(device=device)
    else:
        stream = device.startswith("cuda")
        pipe.enable_group_offload(onload_device=torch.device(device), offload_type="leaf_level", use_stream=stream)


def cheaper(offload: str) -> str | None:
    """The next placement that needs less GPU memory (group offload needs a fresh load, so it is skipped)."""
    order = ("none", "model", "sequential")
    return order[order.index(offload) + 1] if offload in order[:-1] else None


def place_with_fallback(pipe, offload: str, device: str, what: str) -> None:
    """``place``, and on out-of-memory at load the next cheaper placement, down to sequential offload."""
    current: str | None = offload
    while True:
        try:
            place(pipe, current, device)
            return
        except (RuntimeError, MemoryError) as exc:
            if not is_oom(exc):
                raise
            following = cheaper(current)
            if following is None:
                raise BackendUnavailable(f"{what} does not fit on {device} even with sequential offload; use a "
                                         f"smaller model or fp8, or a GPU with more memory") from None
            log.warning("%s: out of GPU memory placing it with offload %s; trying %s", what, current, following)
            _free(pipe, device)
            current = following


def _free(pipe, device: str) -> None:
    import gc

    import torch
    try:
        pipe.remove_all_hooks()
        pipe.to("cpu")
    except Exception:  # a half-placed pipeline: free what can be freed
        pass
    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()


def tile_vae(pipe) -> bool:
    """The VAE decoding (and encoding) in tiles and one sample at a time; True where that is new. Offload does not
    shrink the decode's activations, and a long clip decoded whole (CogVideoX 1.5 at 768x1360, LTX's 257 frames)
    is what runs out of memory at the end of a call."""
    vae = getattr(pipe, "vae", None)
    if vae is None or getattr(pipe, "director_vae_tiled", False):
        return False
    switched = False
    for switch in ("enable_tiling", "enable_slicing"):
        if hasattr(vae, switch):
            try:
                getattr(vae, switch)()
                switched = True
            except (NotImplementedError, ValueError):  # a VAE without tiles (some 2D ones)
                pass
    pipe.director_vae_tiled = True
    return switched


def is_oom(exc: BaseException) -> bool:
    import torch
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


def with_oom_retry(pipe, config: DiffusersConfig, call: Callable[[], Any], what: str):
    """Run ``call``; on CUDA out-of-memory tile the VAE (for this call only: tiling changes the decoded pixels, and
    the next job's clip must be the one a fresh process makes under its key), then move to the next cheaper
    placement, and try again; then fail clearly."""
    import torch
    tiled_here = False
    try:
        while True:
            try:
                return call()
            except (RuntimeError, torch.cuda.OutOfMemoryError) as exc:
                if not is_oom(exc):
                    raise
                current = getattr(pipe, "director_offload", "none")
                following = cheaper(current) if pipe.director_device.startswith("cuda") else None
                torch.cuda.empty_cache()
                if pipe.director_device.startswith("cuda") and tile_vae(pipe):  # False where tiled already
                    tiled_here = True
                    log.warning("%s: CUDA out of memory; retrying with the VAE tiled", what)
                    continue
                if following is None:
                    raise RuntimeError(f"{what}: CUDA out of memory even with offload {current}; lower "
                                       "`resolution`, use fp8 or a smaller model") from None
                log.warning("%s: CUDA out of memory with offload %s; retrying with %s", what, current, following)
                place(pipe, following, pipe.director_device)
    finally:
        if tiled_here:
            untile_vae(pipe)


def untile_vae(pipe) -> None:
    """The VAE whole again after a call that needed it tiled."""
    vae = getattr(pipe, "vae", None)
    for switch in ("disable_tiling", "disable_slicing"):
        if vae is not None and hasattr(vae, switch):
            try:
                getattr(vae, switch)()
            except (NotImplementedError, ValueError):
                pass
    pipe.director_vae_tiled = False


def generator(pipe, seed: int):
    """The call's generator (on the GPU where the pipeline runs there); a stochastic schedule's steps draw from it too
    (``set_scheduler``)."""
    import torch
    device = pipe.director_device if pipe.director_device.startswith("cuda") else "cpu"
    made = torch.Generator(device=device).manual_seed(int(seed) % (2**63))
    if hasattr(pipe.scheduler, "director_generator"):
        pipe.scheduler.director_generator = made
    return made


def native_size(width: int, height: int, side: int, multiple: int) -> tuple[int, int]:
    """The model's working size for the project's aspect: about side^2 pixels, multiples of ``multiple``."""
    aspect = width / height
    h = math.sqrt(side * side / aspect)
    w = h * aspect
    return max(multiple, round(w / multiple) * multiple), max(multiple, round(h / multiple) * multiple)


def fit(image, width: int, height: int):
    """Scale to cover ``width``x``height`` and crop the centre: no stretching, no borders."""
    from PIL import Image
    scale = max(width / image.width, height / image.height)
    w, h = max(width, round(image.width * scale)), max(height, round(image.height * scale))
    image = image.convert("RGB").resize((w, h), Image.LANCZOS)
    left, top = (w - width) // 2, (h - height) // 2
    return image.crop((left, top, left + width, top + height))
