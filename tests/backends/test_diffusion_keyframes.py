"""Keyframe backends on tiny random-weight diffusers pipelines, loaded through the backends' own path."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from PIL import Image

from director.backends.types import FigureSpec, FrameRequest, SheetRequest
from director.errors import BackendUnavailable
from director.testing.artifacts import flat
from tests.conftest import director, make_project, needs

pytestmark = needs("diffusers")


def _refs(tmp: Path) -> dict[str, str]:
    colours = {"mia": (220, 40, 40), "jun": (40, 60, 220), "loc": (40, 160, 60)}
    out = {}
    for name, rgb in colours.items():
        img = Image.new("RGB", (64, 64), rgb)
        img.paste((255, 255, 255), (16, 8, 48, 40))
        img.save(tmp / f"{name}.png")
        out[name] = str(tmp / f"{name}.png")
    return out


def _request(refs: dict[str, str], seed: int = 3, figures=("mia", "jun")) -> FrameRequest:
    specs = {"mia": FigureSpec("mia", "Mia", "young woman, yellow raincoat", (refs["mia"],)),
             "jun": FigureSpec("jun", "Jun", "man in a grey suit", (refs["jun"],)),
             "cop": FigureSpec("cop", "Cop", "a policeman", ())}  # no reference picture
    return FrameRequest(shot_id="s1", size="MS", angle="eye-level", width=36, height=64, prompt="Mia faces Jun",
                        caption="", location_id="alley", location="a rainy alley", time="night", look="neon noir",
                        negative="blurry", seed=seed, figures=tuple(specs[f] for f in figures),
                        location_refs=(refs["loc"],))


def _config(name: str, tiny, **extra):
    from director.backends.diffusion import keyframes as kf
    scorer = str(tiny("clip_scorer"))
    if name == "qwen-image-edit":
        return kf.QwenEditConfig(model=str(tiny("qwen_image_edit_plus")), scorer=scorer, steps=2, resolution=32,
                                 reference_side=32, condition_side=28, device="cpu", **extra)
    if name == "sdxl-ip-adapter":
        model = tiny("sdxl")
        return kf.SDXLIPAdapterConfig(model=str(model), ip_adapter=str(tiny("ip_adapter_for", model)), scorer=scorer,
                                      steps=2, resolution=64, device="cpu", **extra)
    return kf.FluxKontextConfig(model=str(tiny("flux_kontext")), scorer=scorer, steps=2, resolution=32, device="cpu",
                                **extra)


@pytest.mark.parametrize("name", ["qwen-image-edit", "sdxl-ip-adapter", "flux-kontext"])
def test_two_characters_keep_both_references(name, tiny, tmp_path):
    refs = _refs(tmp_path)
    backend = _config(name, tiny).build() if name != "flux-kontext" else _flux(tiny)
    out = tmp_path / "out"
    out.mkdir()
    meta = flat(backend.render(_request(refs), out))
    frame = Image.open(out / "keyframe.png")
    assert frame.size == (36, 64)  # generated at the model's size for 9:16, then fitted to the project
    assert meta["native"][0] < meta["native"][1]
    assert refs["mia"] in meta["references"] and refs["jun"] in meta["references"]
    assert set(meta["scores"]) == {"mia", "jun"} and all(-1 <= s <= 1 for s in meta["scores"].values())
    if name != "sdxl-ip-adapter":  # the edit models also see the location plate
        assert meta["references"][-1] == refs["loc"] and "picture 3" in meta["prompt"]
    # a reference sheet comes from the same loaded model
    sheet_dir = tmp_path / "sheet"
    sheet_dir.mkdir()
    backend.sheet(SheetRequest("character", "mia", "Mia", "yellow raincoat", "neon", "", 5, 48, 48), sheet_dir)
    assert Image.open(sheet_dir / "sheet.png").size == (48, 48)


def _flux(tiny):
    config = _config("flux-kontext", tiny)
    config.check(license_ack="noncommercial")
    return config.build()


def test_ip_adapter_is_loaded_with_load_ip_adapter_and_masks_per_character(tiny, tmp_path):
    from diffusers.models.attention_processor import IPAdapterAttnProcessor2_0

    backend = _config("sdxl-ip-adapter", tiny, ip_scales={"jun": 0.3}).build()
    processors = [p for p in backend.pipe.unet.attn_processors.values() if isinstance(p, IPAdapterAttnProcessor2_0)]
    assert processors and backend.pipe.image_encoder is not None
    out = tmp_path / "o"
    out.mkdir()
    backend.render(_request(_refs(tmp_path)), out)
    assert processors[0].scale == [[0.6, 0.3]]  # one scale per character: mia default, jun overridden


def test_ip_adapter_holds_a_lone_character_with_its_own_scale(tiny, tmp_path):
    """One reference is unmasked, where the attention processor multiplies by the scale: it must be a number
    (a nested list raised a TypeError at the first cross-attention), and it is the referenced character's own
    scale even when someone without a reference stands first in the frame."""
    from diffusers.models.attention_processor import IPAdapterAttnProcessor2_0

    backend = _config("sdxl-ip-adapter", tiny, ip_scales={"jun": 0.3}).build()
    processors = [p for p in backend.pipe.unet.attn_processors.values() if isinstance(p, IPAdapterAttnProcessor2_0)]
    refs = _refs(tmp_path)
    for figures, scale in ((("mia",), 0.6), (("cop", "jun"), 0.3)):
        out = tmp_path / "-".join(figures)
        out.mkdir()
        meta = flat(backend.render(_request(refs, figures=figures), out))
        assert processors[0].scale == [scale]
        assert Image.open(out / "keyframe.png").size == (36, 64) and len(meta["references"]) == 1


def test_low_score_retries_with_new_seeds_and_keeps_the_best_take(tiny, tmp_path):
    refs = _refs(tmp_path)
    backend = _config("qwen-image-edit", tiny, threshold=1.0, tries=3).build()  # no take can reach 1.0
    out = tmp_path / "a"
    out.mkdir()
    meta = flat(backend.render(_request(refs), out))
    assert meta["tries"] == 3 and len(set(meta["take_scores"])) > 1
    best = max(range(3), key=lambda i: meta["take_scores"][i])
    assert meta["take"] == best and meta["seed"] == 3 + best * 7919
    assert meta["notes"] and "below the threshold" in meta["notes"][0]
    # the kept picture is exactly the take made with the chosen seed
    again = tmp_path / "b"
    again.mkdir()
    single = _config("qwen-image-edit", tiny, threshold=0.0, tries=1).build()
    single.render(_request(refs, seed=meta["seed"]), again)
    assert (out / "keyframe.png").read_bytes() == (again / "keyframe.png").read_bytes()


def test_noncommercial_model_needs_acknowledgement(tiny):
    config = _config("flux-kontext", tiny)
    with pytest.raises(BackendUnavailable, match="FLUX.1 \\[dev\\] Non-Commercial License.*license_ack"):
        config.check()
    config.check(license_ack="noncommercial")


def _final_keyframes_project(tmp_path: Path, tiny) -> Path:
    project = make_project(tmp_path)
    sp = yaml.safe_load((project / "screenplay.yaml").read_text())
    (project / "refs").mkdir()
    Image.new("RGB", (64, 64), (200, 40, 40)).save(project / "refs" / "ana.png")
    sp["characters"]["ana"]["refs"] = ["refs/ana.png"]
    (project / "screenplay.yaml").write_text(yaml.safe_dump(sp, sort_keys=False))
    cfg = yaml.safe_load((project / "director.yaml").read_text())
    cfg["backends"] = {"keyframes": {"backend": "qwen-image-edit", "model": str(tiny("qwen_image_edit_plus")),
                                     "scorer": str(tiny("clip_scorer")), "steps": 2, "resolution": 32,
                                     "reference_side": 32, "condition_side": 28, "device": "cpu"}}
    (project / "director.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return project


def test_changed_reference_reshoots_exactly_that_characters_shots(tiny, tmp_path):
    project = _final_keyframes_project(tmp_path, tiny)
    director("-p", str(project), "render", "--until", "keyframes", check=True)
    shots = yaml.safe_load((project / "shots" / "screenplay.yaml").read_text())["shots"]
    with_ana = {s["id"] for s in shots if "ana" in s["characters"]}
    assert with_ana and len(with_ana) < len(shots)
    record = json.loads((project / "out" / "screenplay" / "run.json").read_text())
    kf = [j for j in record["jobs"] if j["stage"] == "keyframes"]
    assert all(j["status"] == "ran" for j in kf)
    Image.new("RGB", (64, 64), (30, 30, 200)).save(project / "refs" / "ana.png")
    status = json.loads(director("-p", str(project), "--json", "status", check=True).stdout)
    again = {j["id"] for j in status["jobs"] if j["stage"] == "keyframes" and j["status"] != "cached"}
    assert again == with_ana
    assert all(j["status"] == "cached" for j in status["jobs"] if j["stage"] == "refs")
    reasons = {j["reason"] for j in status["jobs"] if j["stage"] == "keyframes" and j["status"] != "cached"}
    assert reasons == {"a character's reference changed"}  # the nested field's own words


def test_sdxl_reads_a_prompt_past_77_tokens_in_windows_encoded_as_the_pipeline_encodes(tiny, tmp_path):
    """diffusers cuts an SDXL prompt at CLIP's 77 tokens: the shot's look and its characters' descriptions (the
    prompt's tail) were never read. Past 77 tokens the prompt is read in up to three windows, each encoded as the
    pipeline encodes a prompt; what still does not fit is said in the keyframe's notes."""
    import torch

    from director.backends.diffusion.keyframes import CLIP_WINDOWS, clip_windows, encode_windows

    backend = _config("sdxl-ip-adapter", tiny).build()
    pipe = backend.pipe
    assert clip_windows(pipe, "a short prompt", "blurry") is None  # the pipeline's own path, unchanged
    parts = [f"part number {i} of the prompt, with its words" for i in range(8)]  # 40 tokens each (bytes)
    windows = clip_windows(pipe, ". ".join(parts), "blurry")
    assert len(windows.prompt) == CLIP_WINDOWS and windows.negative == ("blurry", "", "")
    assert all(len(pipe.tokenizer(w, add_special_tokens=False).input_ids) <= windows.width for w in windows.prompt)
    read = " ".join(windows.prompt + windows.left_out)
    assert [read.index(p) for p in parts] == sorted(read.index(p) for p in parts)  # whole parts, in order
    assert windows.left_out and parts[-1] in windows.left_out[-1] and parts[0] in windows.prompt[0]
    # a Chinese description has no spaces to split at: by characters
    zh = clip_windows(pipe, "苏晴，二十五岁，倔强的女实习生，穿着黄色雨衣站在雨夜的小巷里", "")
    assert len(zh.prompt) >= 2 and "".join(zh.prompt).replace(" ", "") == "苏晴，二十五岁，倔强的女实习生，穿着黄色雨衣站在雨夜的小巷里"

    text = encode_windows(pipe, windows)
    assert text["prompt_embeds"].shape == (1, 77 * CLIP_WINDOWS, 64)
    assert text["negative_prompt_embeds"].shape == text["prompt_embeds"].shape
    assert text["pooled_prompt_embeds"].shape == (1, 32)
    own, own_negative, own_pooled, _ = pipe.encode_prompt(windows.prompt[0], device="cpu", negative_prompt="blurry")
    # (three windows in one batch: the same numbers as one alone, to float rounding)
    assert torch.allclose(text["prompt_embeds"][:, :77], own, atol=1e-5)
    assert torch.allclose(text["pooled_prompt_embeds"], own_pooled, atol=1e-5)
    assert torch.allclose(text["negative_prompt_embeds"][:, :77], own_negative, atol=1e-5)
    assert not torch.allclose(text["prompt_embeds"][:, 77:154], own, atol=1e-2)  # the second window is its own

    # the look, past the 77th token, now changes the picture (cut off, two looks drew the same frame)
    def frame(look: str) -> bytes:
        req = _request(_refs(tmp_path), figures=())
        req = type(req)(**{**req.__dict__, "look": look})
        out = tmp_path / look.replace(" ", "-")
        out.mkdir()
        meta = flat(backend.render(req, out))
        assert len(meta["prompt"]) > 77 and not meta.get("notes"), meta
        return Image.open(out / "keyframe.png").tobytes()

    assert frame("neon noir") != frame("sunlit pastel")
    long = _request(_refs(tmp_path))  # a long action, two characters with descriptions: past three windows
    long = type(long)(**{**long.__dict__, "prompt": "Mia faces Jun across the table while the rain hammers on "
                                                    "the tin roof and the neon sign outside flickers red"})
    out = tmp_path / "long"
    out.mkdir()
    made = backend.render(long, out)
    assert any("longer than SDXL reads" in n and "neon noir" in n for n in made.notes), made.notes
