"""Random-weight Coqui voice models saved as model folders, loaded by the backend's real path.

Tests use the tiny sizes (``tiny_vits``, ``tiny_xtts``); ``bench voice`` builds the same layouts at
production size through ``vits_folder`` / ``xtts_folder`` with the models' default sizes.
"""
from __future__ import annotations

import json
from pathlib import Path

TINY_VITS = dict(hidden_channels=32, hidden_channels_ffn_text_encoder=64, num_heads_text_encoder=2,
                 num_layers_text_encoder=2, kernel_size_text_encoder=3, dropout_p_text_encoder=0.0,
                 out_channels=257, num_layers_posterior_encoder=2, num_layers_flow=2,
                 resblock_kernel_sizes_decoder=[3], resblock_dilation_sizes_decoder=[[1, 3, 5]],
                 upsample_rates_decoder=[8, 8, 4], upsample_initial_channel_decoder=32,
                 upsample_kernel_sizes_decoder=[16, 16, 8], speaker_embedding_channels=16)
TINY_XTTS = dict(  # 600 text tokens: a Chinese piece of 82 characters is ~500 in pinyin, letter by letter
    gpt_layers=2, gpt_n_model_channels=64, gpt_n_heads=2, gpt_max_audio_tokens=48,
                 gpt_max_text_tokens=600, decoder_input_dim=64)


def tiny_vits(folder: Path, speakers: tuple[str, ...] = ("p225", "p226", "p227")) -> Path:
    """A 2-layer multi-speaker VITS at 16 kHz."""
    return vits_folder(folder, speakers, sample_rate=16000, fft_size=512, **TINY_VITS)


def vits_folder(folder: Path, speakers, sample_rate: int = 22050, fft_size: int = 1024, **sizes) -> Path:
    """A multi-speaker character-input VITS (model.pth + config.json + speakers.pth); VCTK's sizes by default."""
    import torch
    from TTS.tts.configs.shared_configs import CharactersConfig
    from TTS.tts.configs.vits_config import VitsConfig
    from TTS.tts.models.vits import Vits, VitsArgs

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({name: i for i, name in enumerate(speakers)}, folder / "speakers.pth")
    args = VitsArgs(use_speaker_embedding=True, speakers_file=str(folder / "speakers.pth"), **sizes)
    config = VitsConfig(model_args=args, use_phonemes=False, text_cleaner="basic_cleaners",
                        characters=CharactersConfig(characters_class="TTS.tts.models.vits.VitsCharacters",
                                                    pad="_", eos="", bos="", blank=None,
                                                    characters="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
                                                    punctuations="!'(),-.:;? ", phonemes=None),
                        add_blank=True, use_speaker_embedding=True)
    config.audio.sample_rate = sample_rate
    config.audio.fft_size = config.audio.win_length = fft_size
    config.audio.hop_length = 256
    torch.manual_seed(0)
    model = Vits(config).eval()
    torch.save({"model": model.state_dict(), "config": config.to_dict()}, folder / "model.pth")
    (folder / "config.json").write_text(json.dumps(config.to_dict(), indent=1))
    return folder


def openvoice_converter(folder: Path, sample_rate: int = 22050) -> Path:
    """OpenVoice v2's converter layout (converter/checkpoint.pth + converter/config.json) with random weights.

    coqui-tts builds OpenVoice at its one production size (about 33 M parameters), so this is the real
    architecture; only the weights are random.
    """
    import torch
    from TTS.vc.configs.openvoice_config import OpenVoiceConfig
    from TTS.vc.models.openvoice import OpenVoice

    converter = Path(folder) / "converter"
    converter.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = OpenVoice(OpenVoiceConfig()).eval()
    with torch.no_grad():  # the flow's output layers start at zero (identity); random weights everywhere instead,
        for param in model.parameters():  # so the output depends on the target voice as a trained model's does
            if not param.any():
                param.normal_(0, 0.02)
    torch.save({"model": model.state_dict()}, converter / "checkpoint.pth")
    audio = model.config.audio
    (converter / "config.json").write_text(json.dumps({"data": {
        "sampling_rate": sample_rate, "filter_length": audio.fft_size, "hop_length": audio.hop_length,
        "win_length": audio.win_length}}, indent=1))
    return Path(folder)


def tiny_xtts(folder: Path) -> Path:
    """An XTTS-v2 layout with a 2-layer GPT. A random GPT never predicts its stop token, so every line
    comes out at ``gpt_max_audio_tokens`` (about 2 s): right format, wrong length."""
    return xtts_folder(folder, **TINY_XTTS)


def xtts_folder(folder: Path, **sizes) -> Path:
    """An XTTS-v2 layout (model.pth, config.json, vocab.json, speakers_xtts.pth) with random weights;
    XTTS-v2's published sizes (30 x 1024 GPT, perceiver resampler, 1026 audio tokens) by default.
    Two "studio" speakers voice characters that have no sample."""
    import torch
    from tokenizers import Tokenizer, models
    from TTS.tts.configs.xtts_config import XttsConfig
    from TTS.tts.models.xtts import Xtts, XttsArgs

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    specials = ["[STOP]", "[UNK]", "[SPACE]", "[START]", "[en]", "[zh-cn]"]
    vocab = {token: i for i, token in enumerate(specials + list("abcdefghijklmnopqrstuvwxyz0123456789'.,!?-"))}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="[UNK]"))
    tokenizer.add_special_tokens(specials)
    tokenizer.save(str(folder / "vocab.json"))
    sizes = {"gpt_num_audio_tokens": 1026, "gpt_start_audio_token": 1024, "gpt_stop_audio_token": 1025, **sizes}
    args = XttsArgs(gpt_use_perceiver_resampler=True, gpt_number_text_tokens=len(vocab),
                    gpt_start_text_token=vocab["[START]"], gpt_stop_text_token=vocab["[STOP]"],
                    tokenizer_file=str(folder / "vocab.json"), **sizes)
    config = XttsConfig(model_args=args, languages=["en", "zh-cn"])
    torch.manual_seed(0)
    model = Xtts(config)  # (its eval() builds the inference GPT; the loader does that)
    torch.save({"model": model.state_dict()}, folder / "model.pth")
    (folder / "config.json").write_text(json.dumps(config.to_dict(), indent=1))
    latents = model.gpt.conditioning_perceiver.latents.shape[0]
    torch.save({name: {"gpt_cond_latent": torch.randn(1, latents, args.gpt_n_model_channels),
                       "speaker_embedding": torch.randn(1, args.d_vector_dim, 1)}
                for name in ("Studio A", "Studio B")}, folder / "speakers_xtts.pth")
    return folder
