"""GPU-seconds before anything runs: a FLOP model of each pipeline, calibrated on published measurements.

A diffusion transformer's forward pass costs ``2 * params * share * tokens`` (every weight a
token passes through is a multiply-add; ``share`` < 1 for dual-stream MMDiTs, where image and
text tokens each pass through their own half of every block) plus ``4 * layers * tokens^2 *
width`` for self-attention (QK^T and attention x V). A step runs one forward, two with classifier-free guidance; the VAE decode
and the text encoder come on top. Tokens follow from the frame size, the frame count, the VAE's
compression and the transformer's patch. At a model FLOP utilisation (MFU) of 40% of the
GPU's dense BF16 peak this reproduces the published anchors in ``ANCHORS`` within +-15%
and director's own H100 measurements in ``MEASURED`` within +-25% (``tests/backends/test_gpu_time.py``
holds both to +-30%; docs/performance.md cites each).
Once clips exist, ``render --dry-run`` prefers the throughput measured on this machine.
"""
from __future__ import annotations

from dataclasses import dataclass

MFU = 0.43  # fitted: published anchors 0.85-0.99, director's H100 measurements 0.88-1.23


@dataclass(frozen=True)
class GPU:
    name: str
    bf16_tflops: float  # dense, no sparsity
    memory_gb: float
    disk_gbps: float = 2.0  # model weights read from NVMe at load

    @property
    def flops(self) -> float:
        return self.bf16_tflops * 1e12 * MFU


GPUS = {
    "H100": GPU("H100 SXM", 989, 80), "H200": GPU("H200", 989, 141), "A100": GPU("A100 80GB", 312, 80),
    "L40S": GPU("L40S", 362, 48), "RTX4090": GPU("RTX 4090", 165, 24), "RTX5090": GPU("RTX 5090", 209, 32),
}


@dataclass(frozen=True)
class Arch:
    """A denoiser's cost shape (production configs: params counted on the meta device, layers and width)."""

    params: float           # denoiser parameters
    layers: int
    width: int              # attention width (heads x head dim)
    spatial: int            # pixels per token side: VAE downsampling x patch
    temporal: int = 1       # frames per latent frame (video)
    text_tokens: int = 512
    vae_s_per_mpx: float = 0.0  # VAE decode seconds per megapixel-frame on an H100-class GPU
    weights_gb: float = 0.0     # every component, bf16 (load time)
    image_tokens_per_ref: bool = False  # edit models: each reference image adds its own latent tokens
    share: float = 1.0          # fraction of the denoiser's weights each token passes through (dual-stream: ~0.5)
    call_s: float = 0.0         # fixed seconds per call: text/VL encoder, reference VAE encodes, scoring (measured)


ARCHS = {
    # Wan 2.2 TI2V-5B: 30 layers x 3072, VAE 16x16 (z48) x4 in time, patch 1x2x2 -> 32 px per token side
    "wan2.2-ti2v-5b": Arch(5.00e9, 30, 3072, 32, 4, 512, 0.11, 24.9),
    # Wan 2.1 14B (I2V / FLF2V): 40 layers x 5120, VAE 8x (z16) x4, patch 2 -> 16 px
    "wan2.1-14b": Arch(14.0e9, 40, 5120, 16, 4, 512, 0.05, 47.8),
    # CogVideoX-5B: 42 layers x 3072, VAE 8x x4, patch 2
    "cogvideox-5b": Arch(5.57e9, 42, 3072, 16, 4, 226, 0.05, 21.4),
    # LTX-Video 2B: 28 layers x 2048, VAE 32x32x8, patch 1
    "ltx-2b": Arch(1.92e9, 28, 2048, 32, 8, 128, 0.02, 14.5),
    # SVD-XT: a UNet of 1.5B at 8x; attention is per frame (treated as spatial tokens per frame)
    "svd": Arch(1.52e9, 16, 1280, 16, 1, 0, 0.05, 4.5),
    # Qwen-Image(-Edit): 60 dual-stream layers x 3072 MMDiT, VAE 8x, patch 2 -> 16 px; references add their
    # tokens; ~1.3 s per call outside the denoiser (Qwen2.5-VL over the references, VAE, CLIP), H100-measured
    "qwen-image-20b": Arch(20.43e9, 60, 3072, 16, 1, 256, 0.01, 57.7, image_tokens_per_ref=True, share=0.5,
                           call_s=1.3),
    # SDXL: a 2.6B UNet at 8x, attention at 1/2 and 1/4 resolution (approximated as 32 px tokens)
    "sdxl": Arch(2.57e9, 70, 1280, 32, 1, 77, 0.01, 7.0),
    # FLUX.1 Kontext: 19 dual-stream + 38 single-stream blocks x 3072, 12B (a token sees ~70% of the
    # weights); the reference adds its tokens
    "flux-12b": Arch(11.9e9, 57, 3072, 16, 1, 512, 0.01, 33.7, image_tokens_per_ref=True, share=0.7),
    # Stable Audio Open: a 1.06B DiT over 21.5 latent frames per second
    "stable-audio": Arch(1.057e9, 24, 1536, 1, 1, 128, 0.0, 2.7),
}

MODEL_ARCH = {
    "Wan-AI/Wan2.2-TI2V-5B-Diffusers": "wan2.2-ti2v-5b", "FastVideo/FastWan2.2-TI2V-5B-FullAttn-Diffusers":
        "wan2.2-ti2v-5b", "Wan-AI/Wan2.1-FLF2V-14B-720P-diffusers": "wan2.1-14b",
    "THUDM/CogVideoX-5b-I2V": "cogvideox-5b", "THUDM/CogVideoX1.5-5B-I2V": "cogvideox-5b",
    "Lightricks/LTX-Video": "ltx-2b", "Lightricks/LTX-Video-0.9.5": "ltx-2b",
    "stabilityai/stable-video-diffusion-img2vid-xt": "svd", "Qwen/Qwen-Image-Edit-2509": "qwen-image-20b",
    "Qwen/Qwen-Image-Edit-2511": "qwen-image-20b", "stabilityai/stable-diffusion-xl-base-1.0": "sdxl",
    "black-forest-labs/FLUX.1-Kontext-dev": "flux-12b", "stabilityai/stable-audio-open-1.0": "stable-audio",
}


def forward_flops(arch: Arch, tokens: int) -> float:
    return 2 * arch.params * arch.share * tokens + 4 * arch.layers * tokens * tokens * arch.width


def video_tokens(arch: Arch, width: int, height: int, frames: int) -> int:
    latent_frames = (frames - 1) // arch.temporal + 1
    return latent_frames * max(1, round(height / arch.spatial)) * max(1, round(width / arch.spatial))


def clip_seconds(arch: Arch, width: int, height: int, frames: int, steps: int, cfg: bool, gpu: GPU,
                 vae: bool = True) -> dict:
    """GPU-seconds of one image-to-video pass: denoising + VAE decode."""
    tokens = video_tokens(arch, width, height, frames) + arch.text_tokens
    denoise = forward_flops(arch, tokens) * steps * (2 if cfg else 1) / gpu.flops
    decode = arch.vae_s_per_mpx * frames * width * height / 1e6 * (989 / gpu.bf16_tflops) if vae else 0.0
    return {"tokens": tokens, "denoise": denoise, "decode": decode, "seconds": denoise + decode}


def image_seconds(arch: Arch, width: int, height: int, steps: int, cfg: bool, gpu: GPU, refs: int = 0,
                  ref_side: int = 1024) -> dict:
    """GPU-seconds of one keyframe: the edit models also attend over each reference's latent tokens."""
    tokens = max(1, round(width / arch.spatial)) * max(1, round(height / arch.spatial)) + arch.text_tokens
    if arch.image_tokens_per_ref:
        tokens += refs * round(ref_side / arch.spatial) ** 2
    denoise = forward_flops(arch, tokens) * steps * (2 if cfg else 1) / gpu.flops
    decode = (arch.vae_s_per_mpx * width * height / 1e6 + arch.call_s) * (989 / gpu.bf16_tflops)
    return {"tokens": tokens, "denoise": denoise, "decode": decode, "seconds": denoise + decode}


def load_seconds(arch: Arch, gpu: GPU) -> float:
    return arch.weights_gb / gpu.disk_gbps


# Published measurements the model is calibrated on (docs/performance.md cites each source).
ANCHORS = [
    {"what": "Wan2.2-TI2V-5B, 1280x704, 121 frames, 50 steps + CFG, DiT only, H200 (FastWan blog, Table 1, FA2)",
     "arch": "wan2.2-ti2v-5b", "size": (1280, 704), "frames": 121, "steps": 50, "cfg": True, "gpu": "H200",
     "vae": False, "seconds": 157.21},
    {"what": "Wan2.1-14B, 1280x720, 81 frames, 50 steps + CFG, DiT only, H200 (FastWan blog, Table 1, FA2)",
     "arch": "wan2.1-14b", "size": (1280, 720), "frames": 81, "steps": 50, "cfg": True, "gpu": "H200",
     "vae": False, "seconds": 1746.5},
    {"what": "CogVideoX-5B, 720x480, 49 frames, 50 steps + CFG, end to end, H100 (THUDM/CogVideo README)",
     "arch": "cogvideox-5b", "size": (720, 480), "frames": 49, "steps": 50, "cfg": True, "gpu": "H100",
     "vae": True, "seconds": 90.0},
    {"what": "FastWan2.2-TI2V-5B, 1280x704, 121 frames, 3 DMD steps, no CFG, end to end, H200 (FastWan blog)",
     "arch": "wan2.2-ti2v-5b", "size": (1280, 704), "frames": 121, "steps": 3, "cfg": False, "gpu": "H200",
     "vae": True, "seconds": 16.0},
]


# Measured by director itself on one H100 80GB HBM3: production-size models (random weights) through its own
# backends, `python -m bench gpu` (bench/results/gpu.json); "seconds" is GPU time, warm process.
MEASURED = [
    {"what": "Wan2.2-TI2V-5B draft clip (FastWan settings): 576x1024, 121 frames, 3 DMD steps, no CFG, end to end",
     "arch": "wan2.2-ti2v-5b", "size": (576, 1024), "frames": 121, "steps": 3, "cfg": False, "gpu": "H100",
     "vae": True, "seconds": 11.41},
    {"what": "Wan2.2-TI2V-5B quality: one step with CFG at 704x1280, 121 frames (4-step minus 2-step run, / 2)",
     "arch": "wan2.2-ti2v-5b", "size": (704, 1280), "frames": 121, "steps": 1, "cfg": True, "gpu": "H100",
     "vae": False, "seconds": 2.404},
    {"what": "Qwen-Image-Edit-2509 quality: one step with true CFG, 768x1360, 3 references at 1024 (4 - 2 steps, / 2)",
     "arch": "qwen-image-20b", "size": (768, 1360), "refs": 3, "ref_side": 1024, "steps": 1, "cfg": True,
     "gpu": "H100", "image": True, "denoise_only": True, "seconds": 2.08},
]


def anchor_estimate(anchor: dict) -> float:
    if anchor.get("image"):
        width, height = anchor["size"]
        est = image_seconds(ARCHS[anchor["arch"]], width, height, anchor["steps"], anchor["cfg"],
                            GPUS[anchor["gpu"]], anchor.get("refs", 0), anchor.get("ref_side", 1024))
        return est["denoise"] if anchor.get("denoise_only") else est["seconds"]
    width, height = anchor["size"]
    return clip_seconds(ARCHS[anchor["arch"]], width, height, anchor["frames"], anchor["steps"], anchor["cfg"],
                        GPUS[anchor["gpu"]], vae=anchor["vae"])["seconds"]


def arch_for(config) -> Arch | None:
    """The cost shape of a configured diffusers backend (by its model, else its default model)."""
    key = MODEL_ARCH.get(config.model_id()) or MODEL_ARCH.get(getattr(config, "default_model", ""))
    return ARCHS.get(key) if key else None


def uses_cfg(config) -> bool:
    return float(getattr(config, "guidance", 1.0)) > 1.0


VOICE_RTF_GPU = 0.05  # Coqui VITS (+ OpenVoice) on a GPU: seconds per second of speech (unverified, no GPU here)
AUDIO_LATENTS_PER_SECOND = 21.5  # Stable Audio Open's VAE: 44.1 kHz / 2048


def estimate_episode(backends: dict, width: int, height: int, fps: float, shots: list[dict], sheets: int,
                     speech_seconds: float, music_seconds: list[float], gpu: GPU) -> dict:
    """GPU-seconds of a final render, per stage, before anything runs.

    ``shots``: {"frames": n, "refs": reference pictures the keyframe is held to}. Model loads are read
    from disk once per stage. Keyframe retries (quality tier) are reported as an upper bound.
    """
    from director.backends.diffusion import common
    from director.backends.diffusion.fitting import plan_passes

    out: dict[str, float] = {}
    keyframes, video = backends.get("keyframes"), backends.get("video")
    loads = 0.0
    arch = arch_for(keyframes) if keyframes is not None and hasattr(keyframes, "model_id") else None
    if arch is not None:
        w, h = common.native_size(width, height, keyframes.resolution, getattr(keyframes, "multiple", 16))
        ref_side = getattr(keyframes, "reference_side", 1024)
        per = [image_seconds(arch, w, h, keyframes.steps, uses_cfg(keyframes), gpu,
                             min(s["refs"], keyframes.max_references), ref_side)["seconds"] for s in shots]
        out["keyframes"] = sum(per)
        out["keyframes_retries_max"] = sum(per) * (keyframes.tries - 1)
        out["refs"] = sheets * image_seconds(arch, w, h, keyframes.steps, uses_cfg(keyframes), gpu, 1,
                                             ref_side)["seconds"]
        loads += load_seconds(arch, gpu)
    arch = arch_for(video) if video is not None and hasattr(video, "model_id") else None
    if arch is not None:
        rules = video.rules
        side = video.resolution if "resolution" in video.model_fields_set else rules.side
        w, h = common.native_size(width, height, side, rules.multiple)
        total = 0.0
        for shot in shots:
            passes = plan_passes(rules, shot["frames"], fps, video.overlap).passes
            total += sum(clip_seconds(arch, w, h, n, video.steps, uses_cfg(video), gpu)["seconds"] for n in passes)
        out["clips"] = total
        loads += load_seconds(arch, gpu)
    voice = backends.get("voice")
    if voice is not None and voice.name == "coqui-tts":
        out["voice"] = speech_seconds * VOICE_RTF_GPU
    music = backends.get("music")
    arch = arch_for(music) if music is not None and hasattr(music, "model_id") else None
    if arch is not None:
        out["music"] = sum(forward_flops(arch, round(s * AUDIO_LATENTS_PER_SECOND) + arch.text_tokens) * music.steps
                           * (2 if uses_cfg(music) else 1) / gpu.flops for s in music_seconds)
        loads += load_seconds(arch, gpu)
    out["model_loads"] = loads
    out["total"] = sum(v for k, v in out.items() if k != "keyframes_retries_max")
    return {k: round(v, 1) for k, v in out.items()}
