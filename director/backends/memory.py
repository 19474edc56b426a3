"""A memory plan per device: for each model, where it lives on the GPU, chosen from sizes, not from luck.

Placements, most memory first: ``none`` (resident: every component on the GPU), ``model``
(accelerate hooks move one component at a time: the text encoder, then the transformer, then
the VAE), ``group`` (diffusers' group offload: layers stream in just before they run, text
encoders included), ``sequential`` (one layer at a time, slowest). A stage's models are loaded
together (keyframes: the edit model and the CLIP scorer) and released when the last stage that
uses them ends, so the plan is per stage: the models of one stage share the card; no two are
planned resident beyond its budget.

Sizes are parameter counts of each component (billions), counted on the meta device from the
production configs (``make test-fidelity`` checks them) or, for a model director does not know,
read from the safetensors files in its folder. The budget keeps a reserve for activations, the
CUDA context and the allocator's fragmentation: 15% of the card, at least 4 GiB.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

GIB = 1024 ** 3

# billions of parameters per component (counted on the meta device from each model's published configs)
SIZES: dict[str, dict[str, float]] = {
    "Qwen/Qwen-Image-Edit-2509": {"transformer": 20.43, "text_encoder": 8.29, "vae": 0.127},
    "Qwen/Qwen-Image-Edit-2511": {"transformer": 20.43, "text_encoder": 8.29, "vae": 0.127},
    "Wan-AI/Wan2.2-TI2V-5B-Diffusers": {"transformer": 5.00, "text_encoder": 5.681, "vae": 0.705},
    "FastVideo/FastWan2.2-TI2V-5B-FullAttn-Diffusers": {"transformer": 5.00, "text_encoder": 5.681, "vae": 0.705},
    "Wan-AI/Wan2.1-FLF2V-14B-720P-diffusers": {"transformer": 16.40, "text_encoder": 5.681, "image_encoder": 0.632,
                                               "vae": 0.127},
    "Lightricks/LTX-Video": {"transformer": 1.923, "text_encoder": 4.762, "vae": 0.419},
    "Lightricks/LTX-Video-0.9.5": {"transformer": 1.923, "text_encoder": 4.762, "vae": 1.247},
    "THUDM/CogVideoX-5b-I2V": {"transformer": 5.57, "text_encoder": 4.762, "vae": 0.216},
    "THUDM/CogVideoX1.5-5B-I2V": {"transformer": 5.572, "text_encoder": 4.762, "vae": 0.216},
    "stabilityai/stable-video-diffusion-img2vid-xt": {"unet": 1.52, "image_encoder": 0.632, "vae": 0.098},
    "stabilityai/stable-diffusion-xl-base-1.0": {"unet": 2.567, "text_encoder": 0.123, "text_encoder_2": 0.695,
                                                 "vae": 0.084},
    "h94/IP-Adapter": {"image_encoder": 0.632, "adapter": 0.349},
    "black-forest-labs/FLUX.1-Kontext-dev": {"transformer": 11.9, "text_encoder_2": 4.76, "text_encoder": 0.123,
                                             "vae": 0.084},
    "lightx2v/Qwen-Image-Lightning": {"lora": 0.42},  # one 4-step file, bf16
    "openai/clip-vit-base-patch32": {"vision": 0.088},
    "openai/clip-vit-large-patch14": {"vision": 0.304},
    "stabilityai/stable-audio-open-1.0": {"transformer": 1.057, "text_encoder": 0.110, "vae": 0.156},
    "tts_models/en/vctk/vits": {"vits": 0.040},
    "myshell-ai/OpenVoiceV2": {"converter": 0.033},
    "tts_models/multilingual/multi-dataset/xtts_v2": {"gpt": 0.45},
}


def reserve(vram: float) -> float:
    """Bytes kept free for activations, the CUDA context and fragmentation."""
    return max(4 * GIB, 0.15 * vram)


@dataclass(frozen=True)
class Planned:
    stage: str
    model: str
    role: str
    placement: str
    weights_gb: float    # all components at their dtype
    largest_gb: float    # the biggest component (what model offload holds at once)
    peak_gb: float       # weights on the GPU at the worst moment, plus the reserve

    def as_dict(self) -> dict:
        return asdict(self)


def component_bytes(model: str, folder: Path | None = None, dtype_bytes: float = 2.0,
                    fp8: tuple[str, ...] = (), fp32: tuple[str, ...] = ()) -> dict[str, float]:
    """Bytes per component at the run's dtype (``fp8``: components stored in 1 byte per weight; ``fp32``: kept in
    float32 whatever the run's dtype, as Wan's VAE and image encoder are)."""
    sizes = SIZES.get(model)
    if sizes is None and folder is not None:
        sizes = _from_folder(folder)
    if sizes is None:
        return {}
    return {name: params * 1e9 * (1.0 if name in fp8 else 4.0 if name in fp32 else dtype_bytes)
            for name, params in sizes.items()}


def _from_folder(folder: Path) -> dict[str, float] | None:
    """Billions of parameters per component, from the weight files on disk (bf16/fp16: 2 bytes each)."""
    out: dict[str, float] = {}
    for weights in list(folder.rglob("*.safetensors")) + list(folder.rglob("*.bin")) + list(folder.rglob("*.pth")):
        part = weights.parent.name if weights.parent != folder else "model"
        try:
            out[part] = out.get(part, 0.0) + weights.stat().st_size / 2 / 1e9
        except OSError:
            continue
    return out or None


def host_available() -> float | None:
    """Bytes of host memory available now (Linux ``MemAvailable``); None where it cannot be read."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return float(line.split()[1]) * 1024
    except OSError:
        pass
    return None


# Group offload keeps a pinned host copy of every weight; allow for the loader's transient second copy.
GROUP_HOST_FACTOR = 1.5


def choose(components: dict[str, float], vram: float, taken: float = 0.0,
           host: float | None = None) -> tuple[str, float]:
    """(placement, peak bytes) for a model beside ``taken`` bytes of resident models on a ``vram``-byte card.

    When the model is not resident, group offload (layers streamed in on a CUDA side stream, from pinned
    host memory) comes before model offload: measured on an H100 with production-size models, a Wan 2.2
    clip took 4.4 s with group offload and 26 s with model offload (resident: 3.0 s), a Qwen-Image-Edit
    keyframe 6.5 s against 78 s (resident: 7.3 s); model offload moves whole components from pageable
    memory on every call (bench/results/gpu.json). Group offload needs the pinned copy in host memory
    (``host``: bytes available; unknown means enough); without it, model offload when the largest
    component fits.
    """
    budget = vram - reserve(vram) - taken
    total = sum(components.values())
    largest = max(components.values(), default=0.0)
    if total <= budget:
        return "none", total + reserve(vram)
    # group offload streams layers: the peak is a few blocks, ~5% of the largest component at leaf level
    group_fits = 0.1 * largest <= budget
    host_ok = host is None or host >= GROUP_HOST_FACTOR * total
    if group_fits and host_ok:
        return "group", 0.1 * largest + reserve(vram)
    if largest <= budget:
        return "model", largest + reserve(vram)
    if group_fits and host_ok:
        return "group", 0.1 * largest + reserve(vram)
    return "sequential", 0.02 * largest + reserve(vram)  # streams from unpinned memory: slow, but fits


def stage_models(backends: dict) -> list[tuple[str, str, str, dict[str, float]]]:
    """(stage, model id, role, bytes per component) for every model the profile loads, grouped by stage."""
    out = []
    stage_of = {"keyframes": "refs+keyframes", "video": "clips", "voice": "voice", "music": "music"}
    for kind, config in backends.items():
        if kind not in stage_of:
            continue
        dtype_bytes = 4.0 if getattr(config, "dtype", "auto") == "fp32" or getattr(config, "device", "") == "cpu" else 2.0
        fp8 = ("transformer", "unet") if getattr(config, "fp8", False) else ()
        fp32 = getattr(config, "fp32_components", ())
        for need in config.needs():
            if need.role == "lora":  # loaded into its pipeline (needs() lists it after it): counted with it
                sizes = component_bytes(need.id, None, dtype_bytes)
                if sizes and out and out[-1][2] == kind:
                    out[-1][3].update({f"lora:{k}": v for k, v in sizes.items()})
                continue
            sizes = component_bytes(need.id if need.id in SIZES else (need.like or need.id), need.folder(),
                                    dtype_bytes, fp8 if need.role == kind else (), fp32 if need.role == kind else ())
            out.append((stage_of[kind], need.id, need.role, sizes))
    return out


def plan(backends: dict, vram_gb: float, host_gb: float | None = None) -> list[Planned]:
    """The placement of every model of a profile on a card of ``vram_gb`` GiB (``host_gb``: host memory
    available for pinned weights; None: enough).

    Within a stage the largest model is placed first and the rest go beside what stays resident,
    so the resident models of one stage never add up beyond the budget.
    """
    vram = vram_gb * GIB
    rows: list[Planned] = []
    by_stage: dict[str, list] = {}
    for stage, model, role, sizes in stage_models(backends):
        by_stage.setdefault(stage, []).append((model, role, sizes))
    for stage, models in by_stage.items():
        taken = 0.0
        for model, role, sizes in sorted(models, key=lambda m: -sum(m[2].values())):
            if not sizes:
                rows.append(Planned(stage, model, role, "unknown", 0.0, 0.0, 0.0))
                continue
            before = taken
            placement, peak = choose(sizes, vram, before, None if host_gb is None else host_gb * GIB)
            if placement == "none":
                taken += sum(sizes.values())
            rows.append(Planned(stage, model, role, placement, round(sum(sizes.values()) / GIB, 1),
                                round(max(sizes.values()) / GIB, 1), round((peak + before) / GIB, 1)))
    return rows


def placement_for(config, folder: Path | None, device: str) -> str:
    """``offload: auto`` at load time: the plan for this model on this device's free memory."""
    if not device.startswith("cuda"):
        return "none"
    import torch
    free, _total = torch.cuda.mem_get_info(torch.device(device))
    fp8 = ("transformer", "unet") if getattr(config, "fp8", False) else ()
    fp32 = getattr(config, "fp32_components", ())
    sizes = component_bytes(config.model_id(), folder, 2.0, fp8, fp32) or \
        component_bytes(config.default_model, None, 2.0, fp8, fp32)
    if not sizes:
        return "model"
    if getattr(config, "lora", None):  # loaded into the pipeline: resident with it, as the plan counts it
        sizes = {**sizes, **{f"lora:{k}": v for k, v in component_bytes(config.lora, None, 2.0).items()}}
    placement, _ = choose(sizes, float(free), host=host_available())
    return placement
