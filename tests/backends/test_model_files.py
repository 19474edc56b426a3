"""`models pull` fetches what the loaders read, not whole repositories (the hub's own pattern filter decides)."""
from __future__ import annotations

import pytest

pytest.importorskip("huggingface_hub")


def _kept(need, files: list[str]) -> set[str]:
    from huggingface_hub.utils import filter_repo_objects
    return set(filter_repo_objects(files, allow_patterns=list(need.files) or None))


def test_a_pipeline_is_its_index_and_component_folders_not_the_roots_checkpoints():
    from director.backends.diffusion.video import LTXConfig

    need = LTXConfig().needs()[0]
    repo = ["model_index.json", "README.md", "ltxv-13b-0.9.8-dev.safetensors", "ltx-video-2b-v0.9.5.safetensors",
            "transformer/config.json", "transformer/diffusion_pytorch_model-00001-of-00002.safetensors",
            "text_encoder/model.safetensors.index.json", "tokenizer/spiece.model", "vae/config.json"]
    assert _kept(need, repo) == {f for f in repo if "/" in f} | {"model_index.json"}


def test_the_ip_adapter_brings_its_sdxl_weight_and_image_encoder_only():
    from director.backends.diffusion.keyframes import SDXLIPAdapterConfig

    need = SDXLIPAdapterConfig().needs()[-1]
    repo = ["models/ip-adapter_sd15.safetensors", "models/image_encoder/config.json",
            "models/image_encoder/model.safetensors", "sdxl_models/ip-adapter_sdxl.safetensors",
            "sdxl_models/ip-adapter_sdxl_vit-h.safetensors", "sdxl_models/image_encoder/model.safetensors"]
    assert _kept(need, repo) == {"sdxl_models/ip-adapter_sdxl_vit-h.safetensors", "models/image_encoder/config.json",
                                 "models/image_encoder/model.safetensors"}
