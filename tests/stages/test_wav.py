"""director's own WAV reader and writer (media/audio.py): scipy's results without importing scipy.io (~0.3 s on
every render that touches audio). scipy is the reference here."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.io import wavfile

from director.media.audio import read_audio, read_wav, write_wav


@pytest.mark.parametrize("shape", [(1001, 2), (777,)])
def test_written_bytes_are_scipys(tmp_path, shape):
    data = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    write_wav(tmp_path / "ours.wav", data, 48000)
    wavfile.write(tmp_path / "scipy.wav", 48000, data)
    assert (tmp_path / "ours.wav").read_bytes() == (tmp_path / "scipy.wav").read_bytes()


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("channels", [1, 2])
def test_read_matches_scipy_for_every_flavour_director_meets(tmp_path, dtype, channels):
    rng = np.random.default_rng(1)
    shape = (503,) if channels == 1 else (503, channels)
    scale = {np.uint8: 40, np.int16: 8000, np.int32: 1 << 28}.get(dtype, 0.3)
    data = (rng.standard_normal(shape) * scale + (128 if dtype is np.uint8 else 0)).astype(dtype)
    wavfile.write(tmp_path / "x.wav", 22050, data)
    ours, rate = read_wav(tmp_path / "x.wav")
    _, theirs = wavfile.read(tmp_path / "x.wav")
    expected = {np.uint8: (theirs.astype(np.float32) - 128) / 128, np.int16: theirs.astype(np.float32) / 32768,
                np.int32: theirs.astype(np.float32) / 2147483648}.get(dtype, theirs.astype(np.float32))
    assert rate == 22050 and ours.dtype == np.float32 and ours.flags.writeable
    assert ours.shape == expected.shape and np.array_equal(ours, expected)


def test_odd_chunks_before_the_data_are_skipped_and_24_bit_is_left_to_scipy(tmp_path):
    import struct

    data = np.arange(-50, 50, dtype=np.int16)
    wavfile.write(tmp_path / "x.wav", 8000, data)
    raw = (tmp_path / "x.wav").read_bytes()
    listed = raw[:36] + b"LIST" + struct.pack("<I", 3) + b"abc\x00" + raw[36:]  # an odd-sized chunk, padded
    listed = listed[:4] + struct.pack("<I", len(listed) - 8) + listed[8:]
    (tmp_path / "list.wav").write_bytes(listed)
    assert np.array_equal(read_wav(tmp_path / "list.wav")[0], data.astype(np.float32) / 32768)
    # 24-bit PCM: not the small reader's; read_audio still reads it (scipy or FFmpeg)
    pcm24 = b"".join(int(v * 256).to_bytes(3, "little", signed=True) for v in data)
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 8000 * 3, 3, 24)
    body = b"WAVEfmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(pcm24)) + pcm24
    (tmp_path / "24.wav").write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    samples, rate = read_audio(tmp_path / "24.wav")
    assert rate == 8000 and np.allclose(samples, data / 32768, atol=1e-6)
