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

from director.backends import BackendConfig
from director.backends.models import ModelNeed, license_gate, local_folder, require_local
from director.errors import BackendUnavailable

log = logging.getLogger("director.diffusion")


class DiffusersConfig(BackendConfig):
    """Settings shared by every diffusers backend (see docs/gpu.md for when to use each)."""

    requires: ClassVar[tuple[str, ...]] = ("torch", "diffusers", "transformers")
    pipeline_class: ClassVar[str]
    default_model: ClassVar[str]

    model: str = ""
    dtype: Literal["auto", "bf16", "fp16", "fp32"] = "auto"
    device: str = Field(default="auto", description="auto, cpu, cuda, cuda:N")
    offload: Literal["none", "model", "sequential", "group"] = "none"
    vae_tiling: bool = False
    compile: bool = Field(default=False, description="torch.compile the denoiser (regional where supported)")
    steps: int = Field(default=30, ge=1, le=200)
    guidance: float = Field(default=4.0, ge=0, le=30)
    resolution: int = Field(default=1024, ge=16, le=4096, description="native side: the model works at about this^2 pixels")

    def model_id(self) -> str:
        return self.model or self.default_model

    def needs(self) -> list[ModelNeed]:
        return [ModelNeed(self.model_id(), self.kind, self.name, like=self.default_model)]

    def check(self, license_ack: str | None = None) -> None:
        super().check()
        license_gate(self.needs(), license_ack)
        require_local(self.needs())


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
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[name]


def load_pipeline(config: DiffusersConfig, extra: Callable[[Path], dict] | None = None):
    """Load ``config.pipeline_class`` from the local cache once, placed and tuned per the settings."""
    import diffusers

    folder = local_folder(config.model_id())
    if folder is None:
        require_local(config.needs())
    device = torch_device(config.device)
    dtype = torch_dtype(config.dtype, device)
    cls = getattr(diffusers, config.pipeline_class)
    kwargs = extra(folder) if extra else {}
    kwargs[_dtype_keyword(diffusers.__version__)] = dtype
    pipe = cls.from_pretrained(str(folder), local_files_only=True, **kwargs)
    pipe.set_progress_bar_config(disable=True)
    place(pipe, config.offload, device)
    if config.vae_tiling and hasattr(pipe, "vae"):
        for switch in ("enable_tiling", "enable_slicing"):
            if hasattr(pipe.vae, switch):
                getattr(pipe.vae, switch)()
    if config.compile:
        denoiser = getattr(pipe, "transformer", None) or getattr(pipe, "unet")
        if hasattr(denoiser, "compile_repeated_blocks"):
            try:
                denoiser.compile_repeated_blocks(fullgraph=True)
            except (ValueError, AttributeError):
                denoiser.compile()
        else:
            denoiser.compile()
    pipe.director_device, pipe.director_dtype = device, dtype
    return pipe


def _dtype_keyword(version: str) -> str:
    """diffusers 0.42 renamed ``torch_dtype`` to ``dtype``."""
    major, minor = (int(x) for x in version.split(".")[:2])
    return "dtype" if (major, minor) >= (0, 42) else "torch_dtype"


def place(pipe, offload: str, device: str) -> None:
    if offload == "none" or not device.startswith("cuda"):
        pipe.to(device)
    elif offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    elif offload == "sequential":
        pipe.enable_sequential_cpu_offload(device=device)
    else:  # group offloading with CUDA streams: layers move just before they are used
        import torch
        for name, component in pipe.components.items():
            if isinstance(component, torch.nn.Module):
                if hasattr(component, "enable_group_offload"):
                    component.enable_group_offload(onload_device=torch.device(device), offload_type="leaf_level",
                                                   use_stream=True)
                else:
                    component.to(device)


def is_oom(exc: BaseException) -> bool:
    import torch
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


def with_oom_retry(pipe, config: DiffusersConfig, call: Callable[[], Any], what: str):
    """Run ``call``; on CUDA out-of-memory turn model offload on and try once more, then fail clearly."""
    import torch
    try:
        return call()
    except (RuntimeError, torch.cuda.OutOfMemoryError) as exc:
        if not is_oom(exc):
            raise
        log.warning("%s: CUDA out of memory; retrying once with model CPU offload", what)
        torch.cuda.empty_cache()
        if config.offload == "none" and pipe.director_device.startswith("cuda"):
            pipe.enable_model_cpu_offload(device=pipe.director_device)
        try:
            return call()
        except (RuntimeError, torch.cuda.OutOfMemoryError) as again:
            if not is_oom(again):
                raise
            torch.cuda.empty_cache()
            raise RuntimeError(f"{what}: CUDA out of memory even with offload on; lower `resolution`, use "
                               f"offload: sequential or a smaller model") from None


def generator(pipe, seed: int):
    import torch
    device = pipe.director_device if pipe.director_device.startswith("cuda") else "cpu"
    return torch.Generator(device=device).manual_seed(int(seed) % (2**63))


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
