"""`models pull` fetches what the loaders read, not whole repositories (the hub's own pattern filter decides)."""
from __future__ import annotations

from tests.conftest import needs

pytestmark = needs("huggingface_hub")


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


def test_a_download_cut_short_is_not_here_and_pull_resumes_it(tmp_path, monkeypatch):
    """An interrupted 54 GB download (model_index.json and part of the shards) counted as "here": `models` listed
    it, doctor passed it and `pull` skipped it for ever."""
    import json

    from huggingface_hub import constants

    from director.backends.models import ModelNeed, missing_parts

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    commit = "0" * 40
    root = tmp_path / "models--Qwen--Qwen-Image-Edit-2509"
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text(commit)
    snap = root / "snapshots" / commit
    snap.mkdir(parents=True)
    (snap / "model_index.json").write_text(json.dumps({"_class_name": "QwenImageEditPlusPipeline",
                                                       "transformer": ["diffusers", "QwenImageTransformer2DModel"],
                                                       "vae": ["diffusers", "AutoencoderKLQwenImage"],
                                                       "safety_checker": [None, None]}))
    need = ModelNeed("Qwen/Qwen-Image-Edit-2509", "keyframes", "qwen-image-edit")
    assert need.folder() is None and missing_parts(snap) == ["transformer/", "vae/"]
    (snap / "transformer").mkdir()
    (snap / "vae").mkdir()
    (snap / "transformer" / "diffusion_pytorch_model.safetensors.index.json").write_text(json.dumps(
        {"weight_map": {"a": "diffusion_pytorch_model-00001-of-00002.safetensors",
                        "b": "diffusion_pytorch_model-00002-of-00002.safetensors"}}))
    (snap / "transformer" / "diffusion_pytorch_model-00001-of-00002.safetensors").write_bytes(b"x")
    assert missing_parts(snap) == ["transformer/diffusion_pytorch_model-00002-of-00002.safetensors"]
    assert need.folder() is None
    (snap / "transformer" / "diffusion_pytorch_model-00002-of-00002.safetensors").write_bytes(b"x")
    assert need.folder() == snap


def test_an_offline_pull_says_where_to_run_it_not_a_raw_exception():
    from director.backends.models import ModelNeed
    from director.runtime.modelsinfo import pull_failure

    class LocalEntryNotFoundError(Exception):
        pass

    said = pull_failure(ModelNeed("Qwen/Qwen-Image-Edit-2509", "keyframes", "qwen-image-edit"),
                        LocalEntryNotFoundError("Got: ConnectError: [Errno -2] Name or service not known"))
    assert "cannot be reached" in said and "HF_HOME" in said and "ConnectError" not in said


def test_a_pull_leaves_out_the_exports_no_loader_reads(monkeypatch, tmp_path):
    """SDXL's component folders carry ONNX, OpenVINO and Flax copies: `*/*` fetched them all (gigabytes)."""
    import fnmatch

    import huggingface_hub

    from director.backends import configure_backends
    from director.backends.models import pull

    asked = {}
    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda repo, **kw: asked.update(kw) or str(tmp_path))
    need = next(n for n in configure_backends("final", {}, tier="quality")["keyframes"].needs()
                if n.role == "keyframes")
    assert pull(need) == tmp_path
    files = ["model_index.json", "unet/diffusion_pytorch_model.safetensors", "text_encoder/model.onnx",
             "vae_decoder/openvino_model.xml", "unet/diffusion_flax_model.msgpack", "text_encoder_2/model.onnx_data"]
    kept = [f for f in files if any(fnmatch.fnmatch(f, p) for p in asked["allow_patterns"])
            and not any(fnmatch.fnmatch(f, p) for p in asked["ignore_patterns"])]
    assert kept == ["model_index.json", "unet/diffusion_pytorch_model.safetensors"], kept
