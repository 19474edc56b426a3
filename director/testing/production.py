"""The default models' production configs, built on the meta device (no memory, no download).

Each builder returns the component exactly as the published checkpoint configures it, so its
parameter count can be checked against the sizes director plans memory and GPU time with
(``director.backends.memory.SIZES``, ``gpu_time.ARCHS``). Sources of the values:

- Qwen-Image(-Edit-2509) transformer / VAE / Qwen2.5-VL-7B: the repos' ``transformer/config.json``,
  ``vae/config.json`` and ``text_encoder/config.json`` (Qwen/Qwen-Image-Edit-2509 on the Hub), as
  also written by diffusers' QwenImage conversion.
- Wan 2.2 TI2V-5B transformer / z48 VAE / UMT5-XXL: diffusers ``scripts/convert_wan_to_diffusers.py``
  ("Wan2.2-TI2V-5B") and upstream Wan ``wan/configs/wan_ti2v_5B.py``; FastWan2.2-TI2V-5B is the same
  architecture (hao-ai-lab FastVideo model card).
- Stable Audio Open 1.0: diffusers' ``StableAudioDiTModel`` / ``AutoencoderOobleck`` defaults are
  that checkpoint's configs; its text encoder is T5-base.
- CLIP ViT-B/32: openai/clip-vit-base-patch32's vision config (transformers' defaults).
"""
from __future__ import annotations

from typing import Callable


def qwen_image_transformer():
    from diffusers import QwenImageTransformer2DModel
    return QwenImageTransformer2DModel(patch_size=2, in_channels=64, out_channels=16, num_layers=60,
                                       attention_head_dim=128, num_attention_heads=24, joint_attention_dim=3584,
                                       axes_dims_rope=(16, 56, 56), guidance_embeds=False)


def qwen_image_vae():
    from diffusers import AutoencoderKLQwenImage
    return AutoencoderKLQwenImage()  # base_dim 96, z_dim 16: the checkpoint's config is the class default


def qwen25_vl_7b():
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration
    config = Qwen2_5_VLConfig(
        text_config={"hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28,
                     "num_attention_heads": 28, "num_key_value_heads": 4, "vocab_size": 152064,
                     "tie_word_embeddings": False,
                     "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]}},
        vision_config={"depth": 32, "hidden_size": 1280, "intermediate_size": 3420, "num_heads": 16,
                       "out_hidden_size": 3584, "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2,
                       "fullatt_block_indexes": [7, 15, 23, 31], "window_size": 112},
        vocab_size=152064, tie_word_embeddings=False)
    return Qwen2_5_VLForConditionalGeneration(config)


WAN22_5B = dict(patch_size=(1, 2, 2), attention_head_dim=128, num_attention_heads=24, cross_attn_norm=True, eps=1e-6,
                freq_dim=256, qk_norm="rms_norm_across_heads", text_dim=4096, ffn_dim=14336, in_channels=48,
                out_channels=48, num_layers=30)


def wan22_5b_transformer(**overrides):
    from diffusers import WanTransformer3DModel
    return WanTransformer3DModel(**{**WAN22_5B, **overrides})


def wan22_vae():
    from diffusers import AutoencoderKLWan
    return AutoencoderKLWan(base_dim=160, decoder_base_dim=256, z_dim=48, is_residual=True, in_channels=12,
                            out_channels=12, patch_size=2, scale_factor_spatial=16, scale_factor_temporal=4,
                            latents_mean=[0.0] * 48, latents_std=[1.0] * 48)


def umt5_xxl_encoder(num_layers: int = 24):
    from transformers import UMT5Config, UMT5EncoderModel
    return UMT5EncoderModel(UMT5Config(vocab_size=256384, d_model=4096, d_kv=64, d_ff=10240, num_layers=num_layers,
                                       num_heads=64, feed_forward_proj="gated-gelu", tie_word_embeddings=False))


def stable_audio_dit():
    from diffusers import StableAudioDiTModel
    return StableAudioDiTModel()


def stable_audio_vae():
    from diffusers import AutoencoderOobleck
    return AutoencoderOobleck()


def t5_base_encoder():
    from transformers import T5Config, T5EncoderModel
    return T5EncoderModel(T5Config(vocab_size=32128, d_model=768, d_kv=64, d_ff=3072, num_layers=12, num_heads=12))


def clip_b32_vision():
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection
    return CLIPVisionModelWithProjection(CLIPVisionConfig(hidden_size=768, intermediate_size=3072,
                                                          num_hidden_layers=12, num_attention_heads=12,
                                                          image_size=224, patch_size=32, projection_dim=512))


# model id -> component -> builder; the components match memory.SIZES
PRODUCTION: dict[str, dict[str, Callable]] = {
    "Qwen/Qwen-Image-Edit-2509": {"transformer": qwen_image_transformer, "text_encoder": qwen25_vl_7b,
                                  "vae": qwen_image_vae},
    "Wan-AI/Wan2.2-TI2V-5B-Diffusers": {"transformer": wan22_5b_transformer, "text_encoder": umt5_xxl_encoder,
                                        "vae": wan22_vae},
    "FastVideo/FastWan2.2-TI2V-5B-FullAttn-Diffusers": {"transformer": wan22_5b_transformer,
                                                        "text_encoder": umt5_xxl_encoder, "vae": wan22_vae},
    "stabilityai/stable-audio-open-1.0": {"transformer": stable_audio_dit, "text_encoder": t5_base_encoder,
                                          "vae": stable_audio_vae},
    "openai/clip-vit-base-patch32": {"vision": clip_b32_vision},
}


def meta_params(builder: Callable) -> int:
    """Parameters of a component built on the meta device (no memory is allocated)."""
    from accelerate import init_empty_weights
    with init_empty_weights():
        module = builder()
    if hasattr(module, "tie_weights"):  # as from_pretrained ties them: T5's encoder.embed_tokens is its shared
        module.tie_weights()  # embedding (transformers 5 ties it for the T5 family), counted twice untied
    return sum(p.numel() for p in module.parameters())


def wan22_at_production_size(folder, text_layers: int = 1):
    """Wan 2.2 TI2V-5B's pipeline with the *production-size* transformer (5.0B, random weights, bf16) and VAE,
    saved to ``folder`` for a load + call through director's backend on the CPU. The UMT5-XXL encoder keeps
    its production width (4096, so the transformer's text projection is exercised as shipped) but
    ``text_layers`` of its 24 layers: the full 6.7B encoder beside a 5B transformer does not fit 24 GB of RAM."""
    from pathlib import Path

    import torch
    from diffusers import UniPCMultistepScheduler, WanImageToVideoPipeline

    from director.testing.tokenizers import t5_tokenizer

    folder = Path(folder)
    previous = torch.get_default_dtype()
    torch.manual_seed(0)
    torch.set_default_dtype(torch.bfloat16)  # built in bf16: 10 GB, not fp32's 20 GB
    try:
        pipe = WanImageToVideoPipeline(
            transformer=wan22_5b_transformer(), vae=wan22_vae(), text_encoder=umt5_xxl_encoder(text_layers).eval(),
            tokenizer=t5_tokenizer(folder / "_t5"),
            scheduler=UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=5.0),
            transformer_2=None, image_encoder=None, image_processor=None, boundary_ratio=None, expand_timesteps=True)
    finally:
        torch.set_default_dtype(previous)
    pipe.save_pretrained(folder, safe_serialization=True, max_shard_size="5GB")
    del pipe
    return folder
