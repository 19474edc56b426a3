# SPDX-License-Identifier: GPL-3.0-or-later
"""A stand-alone program that speaks text with eSpeak NG and writes a WAV file.

eSpeak NG is GPL-3.0. director never imports this module: it runs it as a separate
process (``python -P espeak_worker.py``, by its path), talking to it only
through arguments, standard input and the WAV file it writes. That keeps the GPL
library out of director's own process; this file alone is GPL-3.0-or-later.

Usage: espeak_worker --voice en-us+f3 --rate 170 --pitch 55 --range 50 --out x.wav < text
Exit status: 0 ok, 2 bad arguments, 3 the voice is unknown, 4 eSpeak NG is missing.
"""
from __future__ import annotations

import argparse
import ctypes
import sys
import wave

AUDIO_OUTPUT_SYNCHRONOUS = 0x02
ESPEAK_CHARS_UTF8 = 1
POS_CHARACTER = 1
PARAM = {"rate": 1, "volume": 2, "pitch": 3, "range": 4}

SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


def _load() -> tuple[ctypes.CDLL, str]:
    try:
        import espeakng_loader
    except ImportError:
        print("espeak_worker: the package 'espeakng-loader' is not installed", file=sys.stderr)
        raise SystemExit(4) from None
    lib = ctypes.cdll.LoadLibrary(str(espeakng_loader.get_library_path()))
    return lib, str(espeakng_loader.get_data_path())


def synthesize(text: str, voice: str, rate: int, pitch: int, range_: int, volume: int) -> tuple[bytes, int]:
    lib, data = _load()
    rate_hz = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 500, data.encode(), 0)
    if rate_hz <= 0:
        print(f"espeak_worker: eSpeak NG failed to start with data at {data}", file=sys.stderr)
        raise SystemExit(4)
    chunks: list[bytes] = []

    def collect(wav, numsamples, _events):
        if numsamples > 0:
            chunks.append(ctypes.string_at(wav, numsamples * 2))
        return 0

    callback = SYNTH_CALLBACK(collect)
    lib.espeak_SetSynthCallback(callback)
    if lib.espeak_SetVoiceByName(voice.encode()) != 0:
        print(f"espeak_worker: unknown voice {voice!r}", file=sys.stderr)
        raise SystemExit(3)
    for name, value in (("rate", rate), ("pitch", pitch), ("range", range_), ("volume", volume)):
        lib.espeak_SetParameter(PARAM[name], int(value), 0)
    raw = text.encode("utf-8") + b"\0"
    lib.espeak_Synth(raw, len(raw), 0, POS_CHARACTER, 0, ESPEAK_CHARS_UTF8, None, None)
    lib.espeak_Synchronize()
    return b"".join(chunks), rate_hz


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="espeak_worker")
    parser.add_argument("--voice", required=True)
    parser.add_argument("--rate", type=int, default=170)
    parser.add_argument("--pitch", type=int, default=50)
    parser.add_argument("--range", type=int, default=50)
    parser.add_argument("--volume", type=int, default=100)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    text = sys.stdin.buffer.read().decode("utf-8")
    pcm, rate_hz = synthesize(text, args.voice, args.rate, args.pitch, args.range, args.volume)
    with wave.open(args.out, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate_hz)
        out.writeframes(pcm)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
