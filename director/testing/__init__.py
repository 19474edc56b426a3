"""Tiny random-weight models for tests and benchmarks: real classes, small configs, no downloads.

Everything here follows diffusers' ``get_dummy_components`` habit: each model is built from a
small config (or, for benchmarks, the real production config) with random weights, ``.eval()``,
saved with ``save_pretrained`` and loaded back by the backends through their own
``from_pretrained`` path. Tokenizers are synthesised offline (byte-level BPE and a Unigram T5
vocabulary) because the usual tiny test tokenizers live on the Hub.
"""
