"""Offline tokenizers with the special tokens real pipelines expect, built with ``tokenizers``."""
from __future__ import annotations

from pathlib import Path

def _byte_alphabet() -> list[str]:
    from tokenizers import pre_tokenizers
    return sorted(pre_tokenizers.ByteLevel.alphabet())


def clip_tokenizer(folder: Path):
    """A CLIPTokenizer (byte-level BPE, no merges) with CLIP's bos/eos/pad, saved to ``folder``."""
    from transformers import CLIPTokenizer

    vocab = {ch: i for i, ch in enumerate(_byte_alphabet())}
    vocab.update({ch + "</w>": len(vocab) + i for i, ch in enumerate(_byte_alphabet())})
    for special in ("<|startoftext|>", "<|endoftext|>"):
        vocab[special] = len(vocab)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    import json
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tok = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), pad_token="<|endoftext|>", model_max_length=77)
    tok.save_pretrained(folder)
    return tok


def qwen2_tokenizer(folder: Path):
    """A Qwen2Tokenizer whose chat and vision special tokens sit at Qwen2-VL's real ids."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import Qwen2TokenizerFast

    vocab = {ch: i for i, ch in enumerate(_byte_alphabet())}
    specials = {"<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645,
                "<|vision_start|>": 151652, "<|vision_end|>": 151653, "<|vision_pad|>": 151654,
                "<|image_pad|>": 151655, "<|video_pad|>": 151656}
    vocab.update(specials)
    model = models.BPE(vocab=vocab, merges=[], byte_fallback=False)
    tk = Tokenizer(model)
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tk.decoder = decoders.ByteLevel()
    from tokenizers import AddedToken
    tk.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    tok = Qwen2TokenizerFast(tokenizer_object=tk, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                             unk_token=None, bos_token=None, model_max_length=32768)
    folder = Path(folder)
    tok.save_pretrained(folder)
    return tok


def t5_tokenizer(folder: Path, vocab_size: int = 1000):
    """A T5TokenizerFast (Unigram) with <pad>=0, </s>=1, <unk>=2, saved to ``folder``."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers
    from transformers import T5TokenizerFast

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    pieces += [(ch, -5.0) for ch in _printable()]
    pieces += [("▁" + ch, -4.0) for ch in _printable()]
    pieces = pieces[:vocab_size]
    tk = Tokenizer(models.Unigram(pieces, unk_id=2, byte_fallback=False))
    tk.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace("  ", " ")])
    tk.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tk.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    from tokenizers import processors
    tk.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>",
                                                      special_tokens=[("</s>", 1)])
    tok = T5TokenizerFast(tokenizer_object=tk, eos_token="</s>", pad_token="<pad>", unk_token="<unk>", extra_ids=0,
                          model_max_length=512)
    folder = Path(folder)
    tok.save_pretrained(folder)
    return tok


def _printable() -> list[str]:
    return [chr(c) for c in range(33, 127)] + [chr(c) for c in range(0x4E00, 0x4E00 + 200)]
