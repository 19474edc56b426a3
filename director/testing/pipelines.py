"""Tiny random-weight diffusers pipelines (and helpers) saved where a backend can load them.

Each builder returns the folder; the backends load it through their own ``from_pretrained`` path
exactly as they load a real checkpoint. Sizes follow diffusers' own dummy components.
"""
from __future__ import annotations

import json
from pathlib import Path

from director.testing.tokenizers import clip_tokenizer, qwen2_tokenizer, t5_tokenizer


def _seed(n: int = 0) -> None:
    import torch
    torch.manual_seed(n)


def _clip_text_config():
    from transformers import CLIPTextConfig
    return CLIPTextConfig(bos_token_id=512, eos_token_id=513, hidden_size=32, intermediate_size=37,
                          layer_norm_eps=1e-05, num_attention_heads=4, num_hidden_layers=2, pad_token_id=513,
                          vocab_size=1000, hidden_act="gelu", projection_dim=32)


def _t5_encoder():
    from transformers import T5Config, T5EncoderModel
    _seed()
    return T5EncoderModel(T5Config(vocab_size=1000, d_model=32, d_ff=37, d_kv=8, num_layers=2, num_heads=4,
                                   relative_attention_num_buckets=8)).eval()


def _save(pipe, folder: Path) -> Path:
    folder = Path(folder)
    pipe.save_pretrained(folder)
    return folder


def qwen_image_edit_plus(folder: Path) -> Path:
    from diffusers import (AutoencoderKLQwenImage, FlowMatchEulerDiscreteScheduler, QwenImageEditPlusPipeline,
                           QwenImageTransformer2DModel)
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    _seed()
    transformer = QwenImageTransformer2DModel(patch_size=2, in_channels=16, out_channels=4, num_layers=2,
                                              attention_head_dim=16, num_attention_heads=3, joint_attention_dim=16,
                                              guidance_embeds=False, axes_dims_rope=(8, 4, 4))
    _seed()
    vae = AutoencoderKLQwenImage(base_dim=24, z_dim=4, dim_mult=[1, 2, 4], num_res_blocks=1,
                                 temperal_downsample=[False, True], latents_mean=[0.0] * 4, latents_std=[1.0] * 4)
    _seed()
    config = Qwen2_5_VLConfig(
        text_config={"hidden_size": 16, "intermediate_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
                     "num_key_value_heads": 2, "rope_scaling": {"mrope_section": [1, 1, 2], "rope_type": "default",
                                                                "type": "default"}, "rope_theta": 1000000.0,
                     "vocab_size": 152064},
        vision_config={"depth": 2, "hidden_size": 16, "intermediate_size": 16, "num_heads": 2, "out_hidden_size": 16},
        hidden_size=16, vocab_size=152064, vision_end_token_id=151653, vision_start_token_id=151652,
        vision_token_id=151654, image_token_id=151655)
    text_encoder = Qwen2_5_VLForConditionalGeneration(config).eval()
    tokenizer = qwen2_tokenizer(Path(folder) / "_tok")
    pipe = QwenImageEditPlusPipeline(transformer=transformer, vae=vae, scheduler=FlowMatchEulerDiscreteScheduler(),
                                     text_encoder=text_encoder, tokenizer=tokenizer, processor=None)
    return qwen_processor_layout(_save(pipe, folder), tokenizer)


def qwen_processor_layout(folder: Path, tokenizer) -> Path:
    """Lay the processor out as the real Qwen-Image-Edit checkpoint does: processor/ with the image processor and
    the tokenizer, named in model_index.json (the pipeline is saved with ``processor=None``)."""
    try:
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil as Processor
    except ImportError:  # transformers before the PIL image processors
        from transformers import Qwen2VLImageProcessor as Processor
    Processor().save_pretrained(folder / "processor")
    tokenizer.save_pretrained(folder / "processor")
    index = json.loads((folder / "model_index.json").read_text())
    index["processor"] = ["transformers", "Qwen2VLProcessor"]
    (folder / "model_index.json").write_text(json.dumps(index, indent=2))
    return folder


def sdxl(folder: Path) -> Path:
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    _seed()
    unet = UNet2DConditionModel(block_out_channels=(32, 64), layers_per_block=1, sample_size=32, in_channels=4,
                                out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), attention_head_dim=(2, 4),
                                use_linear_projection=True, addition_embed_type="text_time",
                                addition_time_embed_dim=8, transformer_layers_per_block=(1, 1),
                                projection_class_embeddings_input_dim=80, cross_attention_dim=64, norm_num_groups=8)
    _seed()
    vae = AutoencoderKL(block_out_channels=[32, 64], in_channels=3, out_channels=3,
                        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
                        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"], latent_channels=4, sample_size=128)
    _seed()
    text_encoder = CLIPTextModel(_clip_text_config()).eval()
    _seed()
    text_encoder_2 = CLIPTextModelWithProjection(_clip_text_config()).eval()
    tokenizer = clip_tokenizer(Path(folder) / "_tok")
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, steps_offset=1,
                                       beta_schedule="scaled_linear", timestep_spacing="leading")
    pipe = StableDiffusionXLPipeline(unet=unet, scheduler=scheduler, vae=vae, text_encoder=text_encoder,
                                     tokenizer=tokenizer, text_encoder_2=text_encoder_2, tokenizer_2=tokenizer,
                                     image_encoder=None, feature_extractor=None)
    return _save(pipe, folder)


def ip_adapter_for(folder: Path, unet_folder: Path, subfolder: str = "sdxl_models",
                   weight: str = "ip-adapter_sdxl_vit-h.safetensors", encoder: str = "models/image_encoder") -> Path:
    """An IP-Adapter checkpoint laid out like h94/IP-Adapter, shaped for the UNet in ``unet_folder``."""
    import torch
    from diffusers import UNet2DConditionModel
    from diffusers.models.embeddings import ImageProjection
    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    unet = UNet2DConditionModel.from_pretrained(Path(unet_folder) / "unet")
    cross = unet.config.cross_attention_dim
    state: dict[str, torch.Tensor] = {}
    _seed(1)
    key = 1
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):
            continue
        if name.startswith("mid_block"):
            hidden = unet.config.block_out_channels[-1]
        elif name.startswith("up_blocks"):
            hidden = list(reversed(unet.config.block_out_channels))[int(name[len("up_blocks.")])]
        else:
            hidden = unet.config.block_out_channels[int(name[len("down_blocks.")])]
        state[f"ip_adapter.{key}.to_k_ip.weight"] = torch.randn(hidden, cross) * 0.02
        state[f"ip_adapter.{key}.to_v_ip.weight"] = torch.randn(hidden, cross) * 0.02
        key += 2
    embed_dim = 32
    proj = ImageProjection(cross_attention_dim=cross, image_embed_dim=embed_dim, num_image_text_embeds=4).state_dict()
    state.update({"image_proj.proj.weight": proj["image_embeds.weight"], "image_proj.proj.bias": proj["image_embeds.bias"],
                  "image_proj.norm.weight": proj["norm.weight"], "image_proj.norm.bias": proj["norm.bias"]})
    out = Path(folder) / subfolder
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(out / weight))
    _seed(2)
    encoder_model = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=32, projection_dim=embed_dim, num_hidden_layers=2, num_attention_heads=4, image_size=224,
        intermediate_size=37, patch_size=32)).eval()
    encoder_model.save_pretrained(Path(folder) / encoder)
    return Path(folder)


def clip_scorer(folder: Path) -> Path:
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection
    _seed(3)
    model = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=32, projection_dim=16, num_hidden_layers=2, num_attention_heads=4, image_size=32,
        intermediate_size=37, patch_size=8)).eval()
    model.save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(folder)
    return Path(folder)


def flux_kontext(folder: Path) -> Path:
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxKontextPipeline, FluxTransformer2DModel
    from transformers import CLIPTextModel

    _seed()
    transformer = FluxTransformer2DModel(patch_size=1, in_channels=4, num_layers=1, num_single_layers=1,
                                         attention_head_dim=16, num_attention_heads=2, joint_attention_dim=32,
                                         pooled_projection_dim=32, axes_dims_rope=[4, 4, 8])
    _seed()
    text_encoder = CLIPTextModel(_clip_text_config()).eval()
    _seed()
    vae = AutoencoderKL(sample_size=32, in_channels=3, out_channels=3, block_out_channels=(4,), layers_per_block=1,
                        latent_channels=1, norm_num_groups=1, use_quant_conv=False, use_post_quant_conv=False,
                        shift_factor=0.0609, scaling_factor=1.5035)
    pipe = FluxKontextPipeline(scheduler=FlowMatchEulerDiscreteScheduler(), text_encoder=text_encoder,
                               text_encoder_2=_t5_encoder(), tokenizer=clip_tokenizer(Path(folder) / "_tok"),
                               tokenizer_2=t5_tokenizer(Path(folder) / "_t5"), transformer=transformer, vae=vae,
                               image_encoder=None, feature_extractor=None)
    return _save(pipe, folder)


def _wan_transformer(in_channels: int, out_channels: int, image_dim: int | None = None,
                     pos_embed_seq_len: int | None = None):
    from diffusers import WanTransformer3DModel
    _seed()
    return WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12,
                                 in_channels=in_channels, out_channels=out_channels, text_dim=32, freq_dim=256,
                                 ffn_dim=32, num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
                                 rope_max_seq_len=32, image_dim=image_dim, pos_embed_seq_len=pos_embed_seq_len)


def _umt5_encoder():
    from transformers import UMT5Config, UMT5EncoderModel
    _seed()
    return UMT5EncoderModel(UMT5Config(vocab_size=1000, d_model=32, d_ff=37, d_kv=8, num_layers=2, num_heads=4,
                                       relative_attention_num_buckets=8)).eval()


def _unipc():
    from diffusers import UniPCMultistepScheduler
    return UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0)


def wan_ti2v(folder: Path) -> Path:
    """Wan 2.2 TI2V-5B's layout (48-channel VAE, expand_timesteps, no image encoder)."""
    from diffusers import AutoencoderKLWan, WanImageToVideoPipeline
    _seed()
    vae = AutoencoderKLWan(base_dim=3, z_dim=48, in_channels=12, out_channels=12, is_residual=True, patch_size=2,
                           latents_mean=[0.0] * 48, latents_std=[1.0] * 48, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                           scale_factor_spatial=16, scale_factor_temporal=4, temperal_downsample=[False, True, True])
    pipe = WanImageToVideoPipeline(transformer=_wan_transformer(48, 48), vae=vae, scheduler=_unipc(),
                                   text_encoder=_umt5_encoder(), tokenizer=t5_tokenizer(Path(folder) / "_t5"),
                                   transformer_2=None, image_encoder=None, image_processor=None,
                                   boundary_ratio=None, expand_timesteps=True)
    return _save(pipe, folder)


def wan_flf2v(folder: Path) -> Path:
    """Wan 2.1 I2V/FLF2V's layout (16-channel VAE, CLIP image encoder, takes ``last_image``)."""
    from diffusers import AutoencoderKLWan, WanImageToVideoPipeline
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel
    _seed()
    vae = AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                           temperal_downsample=[False, True, True])
    _seed()
    encoder = CLIPVisionModel(CLIPVisionConfig(hidden_size=4, projection_dim=4, num_hidden_layers=2,
                                                             num_attention_heads=2, image_size=32,
                                                             intermediate_size=16, patch_size=1)).eval()
    # FLF2V folds the first and last image embeddings into one sequence: 2 x (32*32 patches + class token)
    pipe = WanImageToVideoPipeline(transformer=_wan_transformer(36, 16, image_dim=4, pos_embed_seq_len=2 * 1025),
                                   vae=vae, scheduler=_unipc(), text_encoder=_umt5_encoder(), tokenizer=t5_tokenizer(Path(folder) / "_t5"),
                                   image_encoder=encoder, image_processor=CLIPImageProcessor(crop_size=32, size=32))
    return _save(pipe, folder)


def _ltx_components(folder: Path, timestep_conditioning: bool = False) -> dict:
    from diffusers import AutoencoderKLLTXVideo, FlowMatchEulerDiscreteScheduler, LTXVideoTransformer3DModel
    _seed()
    transformer = LTXVideoTransformer3DModel(in_channels=8, out_channels=8, patch_size=1, patch_size_t=1,
                                             num_attention_heads=4, attention_head_dim=8, cross_attention_dim=32,
                                             num_layers=1, caption_channels=32)
    _seed()
    vae = AutoencoderKLLTXVideo(in_channels=3, out_channels=3, latent_channels=8, block_out_channels=(8, 8, 8, 8),
                                decoder_block_out_channels=(8, 8, 8, 8), layers_per_block=(1, 1, 1, 1, 1),
                                decoder_layers_per_block=(1, 1, 1, 1, 1),
                                spatio_temporal_scaling=(True, True, False, False),
                                decoder_spatio_temporal_scaling=(True, True, False, False),
                                decoder_inject_noise=(False, False, False, False, False),
                                upsample_residual=(False, False, False, False), upsample_factor=(1, 1, 1, 1),
                                timestep_conditioning=timestep_conditioning, patch_size=1, patch_size_t=1,
                                encoder_causal=True,
                                decoder_causal=False)
    return {"transformer": transformer, "vae": vae, "scheduler": FlowMatchEulerDiscreteScheduler(),
            "text_encoder": _t5_encoder(), "tokenizer": t5_tokenizer(Path(folder) / "_t5")}


def ltx_i2v(folder: Path) -> Path:
    from diffusers import LTXImageToVideoPipeline
    return _save(LTXImageToVideoPipeline(**_ltx_components(folder)), folder)


def ltx_i2v_091(folder: Path) -> Path:
    """LTX-Video >= 0.9.1's layout: a timestep-conditioned VAE decoder."""
    from diffusers import LTXImageToVideoPipeline
    return _save(LTXImageToVideoPipeline(**_ltx_components(folder, timestep_conditioning=True)), folder)


def ltx_condition(folder: Path) -> Path:
    from diffusers import LTXConditionPipeline
    return _save(LTXConditionPipeline(**_ltx_components(folder)), folder)


def cogvideox15_i2v(folder: Path) -> Path:
    """CogVideoX 1.5's layout: temporal patches (patch_size_t=2) and the ofs embedding."""
    return cogvideox_i2v(folder, patch_size_t=2, ofs_embed_dim=2)


def cogvideox_i2v(folder: Path, patch_size_t: int | None = None, ofs_embed_dim: int | None = None) -> Path:
    from diffusers import AutoencoderKLCogVideoX, CogVideoXImageToVideoPipeline, CogVideoXTransformer3DModel, DDIMScheduler
    _seed()
    transformer = CogVideoXTransformer3DModel(num_attention_heads=2, attention_head_dim=16, in_channels=8,
                                              out_channels=4, time_embed_dim=2, num_layers=1, patch_size=2,
                                              temporal_compression_ratio=4, max_text_seq_length=16,
                                              use_rotary_positional_embeddings=True,
                                              use_learned_positional_embeddings=False, text_embed_dim=32,
                                              patch_size_t=patch_size_t, ofs_embed_dim=ofs_embed_dim)
    _seed()
    blocks = ("CogVideoXDownBlock3D",) * 4
    vae = AutoencoderKLCogVideoX(in_channels=3, out_channels=3, down_block_types=blocks,
                                 up_block_types=("CogVideoXUpBlock3D",) * 4, block_out_channels=(8, 8, 8, 8),
                                 latent_channels=4, layers_per_block=1, norm_num_groups=2, temporal_compression_ratio=4)
    pipe = CogVideoXImageToVideoPipeline(transformer=transformer, vae=vae, scheduler=DDIMScheduler(),
                                         text_encoder=_t5_encoder(), tokenizer=t5_tokenizer(Path(folder) / "_t5"))
    return _save(pipe, folder)


def svd(folder: Path) -> Path:
    from diffusers import (AutoencoderKLTemporalDecoder, EulerDiscreteScheduler, StableVideoDiffusionPipeline,
                           UNetSpatioTemporalConditionModel)
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection
    _seed()
    unet = UNetSpatioTemporalConditionModel(block_out_channels=(32, 64), layers_per_block=1, sample_size=32,
                                            in_channels=8, out_channels=4,
                                            down_block_types=("CrossAttnDownBlockSpatioTemporal",
                                                              "DownBlockSpatioTemporal"),
                                            up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
                                            cross_attention_dim=32, num_attention_heads=8,
                                            projection_class_embeddings_input_dim=96, addition_time_embed_dim=32)
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       interpolation_type="linear", num_train_timesteps=1000,
                                       prediction_type="v_prediction", sigma_max=700.0, sigma_min=0.002,
                                       steps_offset=1, timestep_spacing="leading", timestep_type="continuous",
                                       use_karras_sigmas=True)
    _seed()
    vae = AutoencoderKLTemporalDecoder(block_out_channels=[32, 64], in_channels=3, out_channels=3,
                                       down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"], latent_channels=4)
    _seed()
    encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(hidden_size=32, projection_dim=32, num_hidden_layers=2,
                                                             num_attention_heads=4, image_size=224,
                                                             intermediate_size=37, patch_size=32)).eval()
    pipe = StableVideoDiffusionPipeline(unet=unet, image_encoder=encoder, scheduler=scheduler, vae=vae,
                                        feature_extractor=CLIPImageProcessor(crop_size=32, size=32))
    return _save(pipe, folder)


def stable_audio(folder: Path) -> Path:
    """Stable Audio Open's layout (T5 + projection + DiT + Oobleck VAE) at 22.05 kHz stereo, ~1.5 s per pass."""
    from diffusers import (AutoencoderOobleck, CosineDPMSolverMultistepScheduler, StableAudioDiTModel,
                           StableAudioPipeline, StableAudioProjectionModel)
    _seed()
    transformer = StableAudioDiTModel(sample_size=1024, in_channels=4, num_layers=2, attention_head_dim=8,
                                      num_attention_heads=2, num_key_value_attention_heads=1, out_channels=4,
                                      cross_attention_dim=16, time_proj_dim=8, global_states_input_dim=16,
                                      cross_attention_input_dim=8)
    _seed()
    vae = AutoencoderOobleck(encoder_hidden_size=6, downsampling_ratios=[2, 16], decoder_channels=4,
                             decoder_input_channels=4, audio_channels=2, channel_multiples=[2, 4],
                             sampling_rate=22050)
    text_encoder = _t5_encoder()
    _seed()
    projection = StableAudioProjectionModel(text_encoder_dim=32, conditioning_dim=8, min_value=0, max_value=512)
    scheduler = CosineDPMSolverMultistepScheduler(solver_order=2, prediction_type="v_prediction", sigma_data=1.0,
                                                  sigma_schedule="exponential")
    pipe = StableAudioPipeline(vae=vae, text_encoder=text_encoder, projection_model=projection,
                               tokenizer=t5_tokenizer(Path(folder) / "_t5"), transformer=transformer,
                               scheduler=scheduler)
    return _save(pipe, folder)


def qwen_lightning_lora(folder: Path, weight_name: str = "Qwen-Image-Edit-2509-Lightning-4steps-V1.0-bf16.safetensors",
                        subfolder: str = "Qwen-Image-Edit-2509") -> Path:
    """A LoRA laid out like lightx2v/Qwen-Image-Lightning (one safetensors file per variant, in a subfolder),
    made for the tiny Qwen-Image-Edit transformer with random weights, in diffusers' LoRA format."""
    from diffusers import QwenImageEditPlusPipeline, QwenImageTransformer2DModel
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    _seed(7)
    transformer = QwenImageTransformer2DModel(patch_size=2, in_channels=16, out_channels=4, num_layers=2,
                                              attention_head_dim=16, num_attention_heads=3, joint_attention_dim=16,
                                              guidance_embeds=False, axes_dims_rope=(8, 4, 4))
    transformer.add_adapter(LoraConfig(r=2, lora_alpha=2, target_modules=["to_q", "to_k", "to_v", "to_out.0"],
                                       init_lora_weights=False))
    target = Path(folder) / subfolder
    target.mkdir(parents=True, exist_ok=True)
    QwenImageEditPlusPipeline.save_lora_weights(str(target), transformer_lora_layers=get_peft_model_state_dict(
        transformer), weight_name=weight_name)
    return Path(folder)


def ltx2_talking(folder: Path) -> Path:
    """LTX-2 (``LTX2DFRPipeline``): video and audio transformer, video and audio VAEs, vocoder, text connectors
    and a Gemma-3 text encoder, all tiny. The audio VAE downsamples x4 in time and mel (three levels, as the
    pipeline assumes) so real audio encodes; its ``base_channels`` is the packed audio token width."""
    import string

    from diffusers import (AutoencoderKLLTX2Audio, AutoencoderKLLTX2Video, FlowMatchEulerDiscreteScheduler,
                           LTX2DFRPipeline, LTX2VideoTransformer3DModel)
    from diffusers.pipelines.ltx2 import LTX2TextConnectors
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder
    from tokenizers import Tokenizer, models
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration, GemmaTokenizer

    vocab = {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3, "\u2581": 4}
    for ch in string.ascii_lowercase + string.digits + ".,'":
        vocab[ch] = len(vocab)
    tokenizer = GemmaTokenizer(tokenizer_object=Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>")),
                               pad_token="<pad>", eos_token="<eos>", bos_token="<bos>", unk_token="<unk>")
    hidden, layers, latent_ch, mel_bins = 32, 2, 2, 16
    _seed()
    text_encoder = Gemma3ForConditionalGeneration(Gemma3Config(
        text_config={"vocab_size": 64, "hidden_size": hidden, "intermediate_size": 64, "num_hidden_layers": layers,
                     "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 16,
                     "max_position_embeddings": 256, "sliding_window": 64},
        vision_config={"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
                       "image_size": 28, "patch_size": 14},
        mm_tokens_per_image=4)).eval()
    _seed()
    audio_vae = AutoencoderKLLTX2Audio(
        base_channels=latent_ch * mel_bins // 4, output_channels=2, ch_mult=(1, 1, 1), num_res_blocks=1,
        attn_resolutions=None, in_channels=2, resolution=32, latent_channels=latent_ch, norm_type="pixel",
        causality_axis="height", dropout=0.0, mid_block_add_attention=False, sample_rate=16000, mel_hop_length=160,
        is_causal=True, mel_bins=mel_bins).eval()
    token = latent_ch * mel_bins // 4
    _seed()
    transformer = LTX2VideoTransformer3DModel(
        in_channels=4, out_channels=4, patch_size=1, patch_size_t=1, num_attention_heads=2, attention_head_dim=8,
        cross_attention_dim=16, audio_in_channels=token, audio_out_channels=token, audio_num_attention_heads=2,
        audio_attention_head_dim=4, audio_cross_attention_dim=8, num_layers=2, qk_norm="rms_norm_across_heads",
        caption_channels=hidden, rope_double_precision=False, rope_type="split", vae_scale_factors=(2, 2, 2)).eval()
    _seed()
    connectors = LTX2TextConnectors(
        caption_channels=hidden, text_proj_in_factor=layers + 1, video_connector_num_attention_heads=4,
        video_connector_attention_head_dim=8, video_connector_num_layers=1,
        video_connector_num_learnable_registers=None, audio_connector_num_attention_heads=4,
        audio_connector_attention_head_dim=8, audio_connector_num_layers=1,
        audio_connector_num_learnable_registers=None, connector_rope_base_seq_len=32, rope_theta=10000.0,
        rope_double_precision=False, causal_temporal_positioning=False, rope_type="split").eval()
    _seed()
    vae = AutoencoderKLLTX2Video(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8,), decoder_block_out_channels=(8,),
        layers_per_block=(1,), decoder_layers_per_block=(1, 1), spatio_temporal_scaling=(True,),
        decoder_spatio_temporal_scaling=(True,), decoder_inject_noise=(False, False), downsample_type=("spatial",),
        upsample_residual=(False,), upsample_factor=(1,), timestep_conditioning=False, patch_size=1, patch_size_t=1,
        encoder_causal=True, decoder_causal=False).eval()
    _seed()
    vocoder = LTX2Vocoder(in_channels=2 * mel_bins, hidden_channels=32, out_channels=2,
                          upsample_kernel_sizes=[16, 10, 8], upsample_factors=[8, 5, 4], resnet_kernel_sizes=[3],
                          resnet_dilations=[[1, 3, 5]], leaky_relu_negative_slope=0.1,
                          output_sampling_rate=16000).eval()
    pipe = LTX2DFRPipeline(scheduler=FlowMatchEulerDiscreteScheduler(), vae=vae, audio_vae=audio_vae,
                           text_encoder=text_encoder, tokenizer=tokenizer, connectors=connectors,
                           transformer=transformer, vocoder=vocoder)
    return _save(pipe, folder)
