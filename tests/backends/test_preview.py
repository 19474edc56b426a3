"""The preview backends, through the registry, as the render uses them."""
from __future__ import annotations

import json
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from director.backends import PROFILES, Registry, resolve_backends
from director.backends.preview.voice import assign_voices
from director.backends.types import ClipRequest, FigureSpec, FrameRequest, MusicRequest, SfxRequest, SpeechRequest
from director.errors import BackendUnavailable
from director.media.probe import probe, video_frame
from director.media.source import clip_file
from director.testing.artifacts import artifact_of

MIA = FigureSpec("mia", "Mia", "courier, short black hair, yellow raincoat")
REN = FigureSpec("ren", "Ren", "tall man in a grey suit")


def frame(size="WS", figures=(MIA,), seed=1, **kw) -> FrameRequest:
    base = dict(shot_id="s-01", size=size, angle="eye-level", width=216, height=384, prompt="p", caption="Mia runs.",
                location_id="alley", location="narrow alley under neon signs", time="night", look="rain", negative="",
                seed=seed, figures=figures, move="static")
    return FrameRequest(**{**base, **kw})


@pytest.fixture(scope="module")
def preview():
    return {kind: cfg.build() for kind, cfg in resolve_backends("preview", {}).items()}


def test_every_preview_backend_is_registered_by_entry_point():
    from importlib.metadata import entry_points

    names = {ep.name for ep in entry_points(group="director.backends")}
    assert set(PROFILES["preview"].values()) <= names
    assert Registry.discover().config_class("espeak").kind == "voice"


def test_unknown_backend_is_unavailable_not_a_crash():
    with pytest.raises(BackendUnavailable, match="not installed"):
        resolve_backends("preview", {"voice": {"backend": "nope"}})


@pytest.mark.parametrize("angle", ["eye-level", "dutch", "ots"])
def test_the_panel_is_its_layers_composited(preview, tmp_path, angle):
    """The keyframe is exactly its background, figures and header composited (the panel lays each layer over only
    where it has pixels; Pillow's alpha_composite of the whole frames is the reference)."""
    preview["keyframes"].render(frame("MCU", figures=(MIA, REN), angle=angle), tmp_path)
    bg, fg, header = (Image.open(tmp_path / f"{name}.png").convert("RGBA") for name in ("bg", "fg", "header"))
    assert 0 < np.count_nonzero(np.asarray(fg)[..., 3]) < fg.width * fg.height  # figures, and room around them
    reference = Image.alpha_composite(Image.alpha_composite(bg, fg), header).convert("RGB")
    assert np.array_equal(np.asarray(Image.open(tmp_path / "keyframe.png")), np.asarray(reference))


def test_panel_is_deterministic_and_framing_follows_size(preview, tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for d in (a, b, c):
        d.mkdir()
    preview["keyframes"].render(frame("WS"), a)
    preview["keyframes"].render(frame("WS"), b)
    preview["keyframes"].render(frame("CU"), c)
    assert (a / "keyframe.png").read_bytes() == (b / "keyframe.png").read_bytes()

    def figure_share(d):
        alpha = np.asarray(Image.open(d / "fg.png"))[..., 3]
        return (alpha > 0).mean()

    assert figure_share(c) > 2 * figure_share(a)  # a close-up fills the frame


def test_night_and_day_palettes_differ(preview, tmp_path):
    night, day = tmp_path / "n", tmp_path / "d"
    night.mkdir(), day.mkdir()
    preview["keyframes"].render(frame(time="night"), night)
    preview["keyframes"].render(frame(time="day"), day)
    lum = [np.asarray(Image.open(d / "bg.png").convert("L")).mean() for d in (night, day)]
    assert lum[1] > lum[0] + 40


def test_two_characters_are_distinct_figures(preview, tmp_path):
    preview["keyframes"].render(frame("WS", (MIA, REN)), tmp_path)
    img = np.asarray(Image.open(tmp_path / "fg.png").convert("RGB")).reshape(-1, 3)
    yellow = ((img[:, 0] > 200) & (img[:, 1] > 160) & (img[:, 2] < 90)).sum()
    grey = ((abs(img[:, 0].astype(int) - 120) < 8) & (abs(img[:, 2].astype(int) - 130) < 8)).sum()
    assert yellow > 100 and grey > 100


def test_a_chinese_description_colours_the_figure(preview, tmp_path):
    """白色风衣 (a white trench coat) drew the figure in a hue of its id: the garment word was not known."""
    qing = FigureSpec("qing", "苏晴", "二十五岁女性，长发，白色风衣")
    preview["keyframes"].render(frame("WS", (qing,)), tmp_path)
    img = np.asarray(Image.open(tmp_path / "fg.png").convert("RGB")).reshape(-1, 3).astype(int)
    assert ((abs(img - (232, 232, 236)) < 6).all(axis=1)).sum() > 100
    from director.backends.preview.panel import COLOURS, GARMENTS, _colour_near

    # the longer word wins where one ends inside another; 银 in 银行 (a bank) is no colour
    assert _colour_near("米白色毛衣", GARMENTS) == COLOURS["米白"]
    assert _colour_near("深蓝色西装", GARMENTS) == COLOURS["深蓝"]
    assert _colour_near("银行职员，穿西装", GARMENTS) is None


@pytest.mark.parametrize("move", ["static", "dolly-in", "pan-left", "orbit", "handheld"])
def test_animatic_has_exact_frames_and_performs_the_move(preview, tmp_path, move):
    key = tmp_path / "key"
    key.mkdir()
    preview["keyframes"].render(frame("MS"), key)
    req = ClipRequest("s-01", artifact_of(key), move, 216, 384, 24.0, 37, 3)
    preview["video"].render(req, tmp_path)
    clip = clip_file(tmp_path)
    info = probe(clip)["video"]
    assert (info["frames"], info["width"], info["height"], info["fps"]) == (37, 216, 384, 24.0)
    first = np.asarray(video_frame(clip, 0).convert("L"), np.int16)
    last = np.asarray(video_frame(clip, 36 / 24).convert("L"), np.int16)
    moved = np.abs(first - last).mean()
    assert (moved < 1.0) if move == "static" else (moved > 2.0)


def _talking_panel(preview, root: Path, size: str = "MCU"):
    """A two-shot panel and a line of syllable-like audio for Mia (the speech a talking shot gets)."""
    from director.backends.types import Artifact, SpeechSpan
    from director.media.audio import write_wav

    key = root / "key"
    key.mkdir()
    made = preview["keyframes"].render(frame(size, (REN, MIA)), key)
    rate = 16000
    audio = np.zeros(rate, np.float32)
    for start in (0.05, 0.3, 0.55):  # three syllables
        n = int(0.15 * rate)
        audio[int(start * rate):int(start * rate) + n] = 0.5 * np.sin(np.arange(n) * 0.07) * np.hanning(n)
    voice = root / "voice"
    voice.mkdir()
    write_wav(voice / "line.wav", audio, rate)
    return (Artifact("keyframes", "k", str(key), dict(made.files)),  # with faces.json
            (SpeechSpan("mia", 0.0, Artifact("voice", "v", str(voice), {"audio": "line.wav"})),))


def _frames(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24").astype(np.float64) for f in container.decode(video=0)]


@pytest.mark.parametrize("move", ["static", "dolly-in", "dolly-out", "pan-left", "tilt-up", "zoom-in", "truck-right",
                                  "crane-down", "orbit", "handheld"])
def test_the_ffmpeg_engine_draws_what_the_pillow_engine_draws(preview, tmp_path, move):
    """The same move, faces talking, by both engines: the frames match to within rounding (a whole pixel off
    would score about 23 dB here), the mouths sit in the same boxes and follow the voice alike."""
    from director.backends.preview.animatic import AnimaticBackend, AnimaticConfig

    keyframe, speech = _talking_panel(preview, tmp_path)
    req = ClipRequest("s-01", keyframe, move, 216, 384, 24.0, 19, 5, talking=("mia",), speech=speech)
    made, frames, faces = {}, {}, {}
    for engine in ("pillow", "ffmpeg"):
        out = tmp_path / engine
        out.mkdir()
        made[engine] = AnimaticBackend(AnimaticConfig(engine=engine)).render(req, out)
        frames[engine] = _frames(clip_file(out))
        faces[engine] = (out / "faces.json").read_text()
    assert len(frames["ffmpeg"]) == len(frames["pillow"]) == 19
    for k in (0, 9, 18):
        a, b = frames["pillow"][k], frames["ffmpeg"][k]
        psnr = 10 * np.log10(255 ** 2 / max(1e-9, np.mean((a - b) ** 2)))
        off = min(np.abs(a[1:] - a[:-1]).mean(), np.abs(a[:, 1:] - a[:, :-1]).mean())  # a pixel off, here
        assert psnr > 25 and np.abs(a - b).mean() < off, (k, psnr, np.abs(a - b).mean(), off)
    assert faces["ffmpeg"] == faces["pillow"]  # the mouth boxes come from the move's geometry
    # the recipe keeps the part of a layer it lays on every frame (the header's band), not the whole frame: the
    # frames above are drawn from it
    recipe = json.loads((tmp_path / "ffmpeg" / "clip.json").read_text())
    heights = [Image.open(tmp_path / "ffmpeg" / name).height for name in recipe["inputs"]]
    assert (min(heights) < 384 / 4) == (move != "static"), heights
    sync = {engine: m.report["sync"]["mia"] for engine, m in made.items()}
    assert sync["ffmpeg"]["correlation"] > 0.6 and abs(sync["ffmpeg"]["lag"]) <= 1, sync
    assert abs(sync["ffmpeg"]["correlation"] - sync["pillow"]["correlation"]) < 0.15, sync


def test_the_ffmpeg_engine_moves_smoothly(preview, tmp_path):
    """A slow pan: the picture's offset from frame to frame (found by matching rows of pixels) only grows, one
    step at most a pixel or two, never backwards -- no judder from rounding or the frame count."""
    keyframe, _ = _talking_panel(preview, tmp_path, "MS")
    req = ClipRequest("s-01", keyframe, "pan-right", 216, 384, 24.0, 48, 5)
    preview["video"].render(req, tmp_path)
    frames = [f.mean(axis=2) for f in _frames(clip_file(tmp_path))]
    band = slice(200, 330)
    shifts = []
    for a, b in zip(frames, frames[1:]):
        errors = {dx: np.abs(a[band, 8 + dx:-8 + dx] - b[band, 8:-8]).mean() for dx in range(-4, 5)}
        shifts.append(min(errors, key=errors.get))
    assert all(0 <= s <= 2 for s in shifts), shifts  # the camera moves right: the picture slides left
    assert sum(shifts) >= 10  # it moved (about 0.12 * 1.16 * 216 = 30 px over the shot)


def test_the_camera_curves_write_themselves_as_ffmpeg_expressions():
    """``camera`` (what Pillow draws) and the filter graph's expressions come from the same curves."""
    from director.backends.preview.animatic import _path, camera
    from director.media.ffmpeg import ffmpeg_exe

    phase = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
    curve = _path("handheld", phase)["rot"]
    for t in (0.0, 0.37, 1.0):
        assert curve.at(t) == pytest.approx(camera("handheld", t, phase).rot)
    # ffmpeg evaluates the expression: a grey frame, its level set by the expression at t = 0.37
    expr = f"128+100*{curve.expr('0.37')}"
    out = subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "color=black:s=2x2:d=0.04",
                          "-vf", f"format=gray,geq=lum='{expr}'", "-frames:v", "1", "-f", "rawvideo", "-"],
                         capture_output=True, check=True).stdout
    assert abs(out[0] - (128 + 100 * camera("handheld", 0.37, phase).rot)) <= 1


def test_voices_are_distinct_and_stable():
    cast = {"mia": ("young woman courier", None, None), "ana": ("woman doctor", None, None),
            "ren": ("tall man", "male_deep", None), "bo": ("man", "male_deep", None)}
    voices = assign_voices(cast)
    pairs = {(v.preset, v.pitch) for v in voices.values()}
    assert len(pairs) == 4
    assert voices == assign_voices(cast)
    assert voices["ren"].preset == "male_deep" and voices["mia"].preset.startswith("female")


def test_a_chinese_casts_kinship_and_station_words_choose_the_voices_sex():
    """A 短剧's cast is named by kinship (顾母, 五十岁的父亲): with no 女 or 男 written, a mother was voiced by a man's
    preset half the time. An imported cast's id is its name, and it counts too."""
    from director.backends.preview.voice import gender_of

    cast = {"mom": ("五十岁的母亲，穿旗袍", None, None), "dad": ("五十多岁的父亲，戴眼镜", None, None),
            "nainai": ("七十岁的奶奶", None, None), "boss": ("霸道总裁", None, None), "bride": ("新娘", None, None),
            "顾母": ("TODO: 描述顾母的长相", None, None), "林父": ("TODO", None, None)}
    voices = assign_voices(cast)
    assert {k for k, v in voices.items() if v.preset.startswith("female")} == {"mom", "bride", "顾母"}
    assert voices["nainai"].preset == "elder_female"  # seventy: an elder's voice (a second pass: it was a young one)
    assert {k for k, v in voices.items() if v.preset.startswith("male")} == {"dad", "boss", "林父"}
    assert [gender_of(d) for d in ("伯母", "公司职员", "a young woman", "an old man")] == ["female", None, "female", "male"]
    # a word before 的 qualifies someone else; a partner word names the other one
    assert [gender_of(d) for d in ("顾氏集团总裁，顾母的独子", "顾言，顾母的儿子", "冷酷，离过婚的前妻回来了", "她的母亲",
                                   "霸道总裁的妻子")] == ["male", "male", "male", "female", "female"]
    # "X的Y" ending a phrase is Y (顾总的前妻 the ex-wife herself); starting a clause, it is said of X; kinship words
    # read whole (姐夫 holds 姐, 女婿 女, 伯母 伯); a Chinese studio's second pass found each of these wrong or a tie
    cases = {"苏晴，顾总的前妻，温柔隐忍": "female", "林晚，她的丈夫三年前去世": "female", "他的妻子，温柔贤惠": "female",
             "冷酷，离过婚的前妻回来了": "male", "林婉的姐夫，三十多岁的男人，戴眼镜": "male", "顾家的上门女婿": "male",
             "姨夫": "male", "伯母": "female", "霸道总裁顾言的白月光": "female", "她的儿子，六岁": "male", "王妈": "female",
             "管家老王": "male", "公司职员": None}
    assert {d: gender_of(d) for d in cases} == cases
    from director.backends.preview.voice import age_of

    assert [age_of(d) for d in ("顾老爷子，拄着拐杖", "外婆", "她的儿子，六岁", "a 6-year-old girl", "三十岁的女人")] == \
        ["elder", "elder", "child", "child", None]
    # a review: an age range is its first age (二十五六岁 read as 10: a child), and another's age is not theirs
    assert [age_of(d) for d in ("二十五六岁的女人", "四五十岁的中年男人", "a 1000-year-old vampire", "孩子的父亲",
                                "带着六岁女儿的妈妈", "顾老爷子的孙子", "少奶奶", "her childhood friend", "mother of a child")] == \
        [None] * 9
    aged = assign_voices({"gu": ("顾老爷子，拄着拐杖", None, None), "kid": ("她的儿子，六岁", None, None)})
    assert (aged["gu"].preset, aged["kid"].preset) == ("elder_male", "child")


def test_speech_is_real_audio_and_emotion_changes_it(preview, tmp_path):
    voice = assign_voices({"mia": ("woman", None, None)})["mia"]
    lengths = {}
    for emotion in (None, "breathless", "sad"):
        out = tmp_path / str(emotion)
        out.mkdir()
        result = preview["voice"].synthesize(SpeechRequest("Ten seconds to spare, I told you.", "en", voice,
                                                           emotion), out)
        with wave.open(result.path) as w:
            data = np.frombuffer(w.readframes(w.getnframes()), np.int16)
        assert np.abs(data).max() > 1000 and 1.0 < result.duration < 5.0
        lengths[emotion] = result.duration
    assert lengths["breathless"] < lengths[None] < lengths["sad"]


def test_the_espeak_worker_is_a_program_of_its_own(tmp_path):
    """GPL eSpeak NG runs in a separate process that imports nothing of director (which is also why a line takes
    milliseconds, not the ~0.1 s director's packages take to import)."""
    from director.backends.preview import voice

    proc = subprocess.run([sys.executable, "-X", "importtime", "-P", str(voice.WORKER), "--voice", "en-us+f3",
                           "--rate", "170", "--pitch", "50", "--range", "50", "--volume", "100",
                           "--out", str(tmp_path / "v.wav")], input=b"Hello there.", capture_output=True)
    assert proc.returncode == 0, proc.stderr[-500:]
    imported = [line.split("|")[-1].strip() for line in proc.stderr.decode().splitlines() if "|" in line]
    assert "espeakng_loader" in imported and not [m for m in imported if m.split(".")[0] in ("director", "voice")]
    assert "espeak_worker" not in " ".join(sys.modules)
    with wave.open(str(tmp_path / "v.wav")) as w:
        assert w.getnframes() > 0.3 * w.getframerate()


def test_empty_text_is_rejected(preview, tmp_path):
    from director.errors import StageFailed

    voice = assign_voices({"mia": ("woman", None, None)})["mia"]
    with pytest.raises(StageFailed, match="empty"):
        preview["voice"].synthesize(SpeechRequest("   ", "en", voice), tmp_path)


def test_mandarin_speech(preview, tmp_path):
    voice = assign_voices({"xy": ("女快递员", None, None)})["xy"]
    result = preview["voice"].synthesize(SpeechRequest("你迟到了。", "zh-CN", voice), tmp_path)
    assert result.duration > 0.4


def test_music_fills_its_length_without_clicks(preview, tmp_path):
    from director.media.audio import read_wav

    result = preview["music"].compose(MusicRequest("tense", 0.8, 6.0, 1), tmp_path)
    data, rate = read_wav(Path(result.path))
    assert data.shape == (6 * rate, 2) and np.abs(data).max() > 0.05
    assert np.abs(data[0]).max() < 1e-3 and np.abs(data[-1]).max() < 1e-3  # fades at both ends
    jumps = np.abs(np.diff(data, axis=0)).max()
    assert jumps < 0.2


def test_sfx_known_and_unknown(preview, tmp_path):
    from director.media.audio import read_wav

    thunder = preview["sfx"].make(SfxRequest("thunder", 1), tmp_path)
    data, _ = read_wav(Path(thunder.path))
    assert np.abs(data).max() > 0.3 and not thunder.notes
    odd = preview["sfx"].make(SfxRequest("kazoo solo", 1), tmp_path)
    data, _ = read_wav(Path(odd.path))
    assert np.abs(data).max() == 0 and "unknown sound effect" in odd.notes[0]


def test_panels_draw_at_any_valid_size(preview, tmp_path):
    for width, height in ((64, 64), (72, 128), (4096, 64)):
        for size in ("EWS", "WS", "CU"):
            for angle in ("eye-level", "ots", "overhead", "pov"):
                out = tmp_path / f"{width}-{size}-{angle}"
                out.mkdir()
                preview["keyframes"].render(frame(size, (MIA, REN), width=width, height=height, angle=angle), out)
                assert Image.open(out / "keyframe.png").size == (width, height)


def test_a_zh_cn_panel_draws_simplified_glyph_forms(preview, tmp_path):
    """Panels take the subtitles' choice of glyph forms: a zh-CN caption is drawn in Simplified forms, the same
    caption without a language (or zh-TW) in the font's own, Traditional ones."""
    from PIL import features

    if not features.check("raqm"):
        pytest.skip("Pillow without libraqm draws one set of forms")
    caption = "骨 角 说 门 直 骨 角 说"
    made = {}
    for lang in ("zh-CN", ""):
        out = tmp_path / (lang or "default")
        out.mkdir()
        preview["keyframes"].render(frame(caption=caption, language=lang), out)
        made[lang] = np.asarray(Image.open(out / "keyframe.png").convert("L"), dtype=np.int16)
    header = slice(0, 384 // 8)
    assert (abs(made["zh-CN"][header] - made[""][header]) > 60).sum() > 20


def test_the_animatic_clip_is_a_recipe_whose_patches_and_inputs_stay_in_its_folder(preview, tmp_path):
    """The ffmpeg engine encodes nothing: its clip is the graph, the layers linked beside it and the faces'
    patches; the patch store gives back every frame as drawn; a recipe cannot reach outside its own folder."""
    import json

    from director.errors import StageFailed
    from director.backends.types import Artifact
    from director.media.source import ClipSource, GraphSource, read_patches, write_patches

    keyframe, speech = _talking_panel(preview, tmp_path)
    out = tmp_path / "clip"
    out.mkdir()
    made = preview["video"].render(ClipRequest("s-01", keyframe, "dolly-in", 216, 384, 24.0, 19, 5,
                                               talking=("mia",), speech=speech), out)
    assert "clip" not in made.files and made.files["graph"] == "clip.json" and "patches" in made.files
    assert not list(out.glob("*.mp4"))
    source = ClipSource.of(Artifact("clips", "k", str(out), dict(made.files)))
    assert isinstance(source, GraphSource) and source.frames == 19 and all(f.parent == out for f in source.files)
    assert len(list(read_patches(out / "patches.bin"))) == 19

    rng = np.random.default_rng(1)
    blank = rng.integers(0, 255, 4 * 6 * 4, dtype=np.uint8).tobytes()  # 6 rows of 4 RGBA pixels
    mouth = bytearray(blank)
    mouth[40:50] = bytes(10)  # rows 2-3 only
    frames = [blank, None, rng.integers(0, 255, len(blank), dtype=np.uint8).tobytes(), bytes(mouth), bytes(blank)]
    assert write_patches(tmp_path / "p.bin", frames, blank, 16) == 5
    assert list(read_patches(tmp_path / "p.bin")) == [blank, blank, frames[2], frames[3], blank]
    stored = bytearray((tmp_path / "p.bin").read_bytes())
    stored[-3] ^= 0xFF  # the last record's band
    (tmp_path / "p.bin").write_bytes(bytes(stored))
    with pytest.raises(StageFailed, match="damaged patch stream"):
        list(read_patches(tmp_path / "p.bin"))

    recipe = json.loads((out / "clip.json").read_text())
    hostile = {"inputs": (["../key/bg.png"], "not a file of the clip's own folder"),
               "graph": ("[0:v]metadata=mode=print:file=/tmp/x[out]", "uses 'metadata'"),
               "escaped": (recipe["graph"].replace("crop=", "crop=a\\',movie=/etc/passwd,crop='", 1), "an escape"),
               # ffmpeg 7+ reads an option's value from the file after '/name=' (an attacker's audit: the bundled
               # ffmpeg opened a file outside the project, and blocked on a named pipe past SIGTERM)
               "from-file": (recipe["graph"].replace("crop=", "crop=/w=/etc/passwd:", 1), "from a file"),
               "quoted": (recipe["graph"].replace("crop=", "crop='/w'=/etc/passwd:", 1), "from a file")}
    for field, (value, why) in hostile.items():
        bad = {**recipe, **({"inputs": value} if field == "inputs" else {"graph": value})}
        (out / "clip.json").write_text(json.dumps(bad))
        with pytest.raises(StageFailed, match=why):
            GraphSource(out / "clip.json")


def test_the_procedural_sfx_filters_are_scipys_butterworth_filters():
    """Noise shaped without importing scipy.signal on the render's path: the minimum-phase response of the digital
    Butterworth magnitude, applied by FFT, is what ``sosfilt(butter(...))`` makes of the same noise."""
    from scipy.signal import butter, sosfilt

    from director.backends.preview import sfx

    noise = np.random.default_rng(0).standard_normal(sfx.RATE).astype(np.float32)
    for ours, sos in ((sfx._lowpass(noise, 180), butter(4, 180, fs=sfx.RATE, output="sos")),
                      (sfx._bandpass(noise, 800, 4000), butter(2, [800, 4000], btype="band", fs=sfx.RATE,
                                                                output="sos")),
                      (sfx._bandpass(noise[:5760], 120, 900), butter(2, [120, 900], btype="band", fs=sfx.RATE,
                                                                      output="sos"))):
        theirs = sosfilt(sos, noise[:len(ours)])
        assert np.max(np.abs(ours - theirs)) < 0.02 * np.max(np.abs(theirs))


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
def test_the_fast_png_writer_is_lossless_and_read_by_pillow_and_ffmpeg(tmp_path, mode):
    """media/png (the preview panel's layers): the same pixels back through Pillow and through ffmpeg's decoder."""
    from director.media.ffmpeg import ffmpeg_exe
    from director.media.png import png_bytes, write_png

    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (64, 36, len(mode)) if mode != "L" else (64, 36), dtype=np.uint8)
    pixels[20:40] = pixels[20]  # flat rows too, as a drawn panel has
    write_png(tmp_path / "x.png", Image.fromarray(pixels, mode))
    with Image.open(tmp_path / "x.png") as img:
        assert img.mode == mode and np.array_equal(np.asarray(img), pixels)
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(tmp_path / "x.png"), "-f", "rawvideo", "-pix_fmt",
                          {"RGB": "rgb24", "RGBA": "rgba", "L": "gray"}[mode], "-"],
                         capture_output=True, check=True).stdout
    assert np.array_equal(np.frombuffer(raw, np.uint8).reshape(pixels.shape), pixels)
    for bad in (pixels.astype(np.int16), np.zeros((0, 4, 3), np.uint8), Image.new("P", (4, 4))):
        with pytest.raises(ValueError):  # never silently wrapped, truncated or written as something else
            png_bytes(bad)


def test_the_png_reader_unpacks_the_writers_layers_and_leaves_other_pngs_to_ffmpeg(tmp_path):
    """media/png.unpacked_png (a segment's layers as raw pixels): the writer's PNGs, and Up-filtered ones an earlier
    writer made, give Pillow's pixels; Pillow's adaptively filtered, palette, 16-bit, interlaced-flagged and
    damaged files give None (ffmpeg decodes them itself). A recipe's graph reads the raw pixels as the PNG."""
    import struct
    import zlib

    from director.media.png import SIGNATURE, _chunk, png_bytes, unpacked_png

    rng = np.random.default_rng(2)
    pixels = rng.integers(0, 256, (48, 30, 4), dtype=np.uint8)
    pixels[10:30] = pixels[10]
    (tmp_path / "ours.png").write_bytes(png_bytes(Image.fromarray(pixels, "RGBA")))
    got, fmt = unpacked_png(tmp_path / "ours.png")
    assert fmt == "rgba" and np.array_equal(got.reshape(pixels.shape), pixels)

    flat = pixels.reshape(48, -1).astype(np.int16)
    rows = np.concatenate([np.full((48, 1), 2), np.vstack([flat[:1], flat[1:] - flat[:-1]]) % 256], axis=1)
    rows[5, 0], rows[5, 1:] = 0, flat[5]  # one row unfiltered among the Up rows
    header = struct.pack(">IIBBBBB", 30, 48, 8, 6, 0, 0, 0)
    up = SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows.astype(np.uint8).tobytes())) \
        + _chunk(b"IEND", b"")
    (tmp_path / "up.png").write_bytes(up)
    with Image.open(tmp_path / "up.png") as img:
        assert np.array_equal(np.asarray(img), pixels)  # a valid PNG, as Pillow reads it
    got, fmt = unpacked_png(tmp_path / "up.png")
    assert fmt == "rgba" and np.array_equal(got.reshape(pixels.shape), pixels)

    ramp = np.broadcast_to(np.arange(0, 240, 6, dtype=np.uint8)[None, :, None], (40, 40, 3))
    Image.fromarray(np.ascontiguousarray(ramp), "RGB").save(tmp_path / "pillow.png")  # Pillow picks "Sub"
    Image.new("P", (8, 8)).save(tmp_path / "palette.png")
    Image.new("I;16", (8, 8)).save(tmp_path / "deep.png")
    laced = up.replace(header, header[:-1] + b"\x01").replace(_chunk(b"IHDR", header)[-4:],
                                                              _chunk(b"IHDR", header[:-1] + b"\x01")[-4:])
    (tmp_path / "laced.png").write_bytes(laced)
    (tmp_path / "short.png").write_bytes(up[:-40])
    ihdr = _chunk(b"IHDR", header)
    (tmp_path / "keyed.png").write_bytes(up.replace(ihdr, ihdr + _chunk(b"tRNS", b"\x00\x00\x00\x00\x00\x00")))
    (tmp_path / "junk.png").write_bytes(b"not a png")
    for name in ("pillow", "palette", "deep", "laced", "short", "keyed", "junk", "missing"):
        assert unpacked_png(tmp_path / f"{name}.png") is None, name


def test_a_recipe_skips_frames_only_where_its_stills_are_looped(tmp_path):
    """``GraphSource.skips``: the animatic's graphs loop every still (``loop``, ``settb``, ``setpts=N``), so a segment
    may start them at any frame; a graph made otherwise cannot, and asking it to is an error, not wrong frames."""
    import pytest

    from director.media.source import GraphSource

    def recipe(graph: str) -> GraphSource:
        (tmp_path / "clip.json").write_text(json.dumps({"format": 1, "graph": graph, "inputs": [], "fps": 24,
                                                         "frames": 48, "encode": {"crf": 17, "preset": "ultrafast"}}))
        return GraphSource(tmp_path / "clip.json")

    looped = recipe("[0:v]format=yuv420p,loop=loop=47:size=1:start=0,settb=1/(24/1),setpts=N[p0];[p0]null[out]")
    assert looped.skips
    placed = looped.place(0, "c", tmp_path, start=10)
    assert "setpts=N,trim=start_frame=10[cp0]" in placed.chains[0] and "setpts=N+10" in placed.chains[-1]
    plain = recipe("[0:v]format=yuv420p,fps=24[out]")
    assert not plain.skips and plain.place(0, "c", tmp_path).pad == "csrc"
    with pytest.raises(ValueError, match="cannot start past its first"):
        plain.place(0, "c", tmp_path, start=10)


def test_a_recipe_placed_twice_in_one_folder_unpacks_its_layers_once(tmp_path):
    """The halves of a lone segment place the same clip twice in one work folder: its layers are written there once
    (each half read them again: ~10 ms and ~15 MB of writes per half), and a new folder gets its own."""
    import numpy as np

    from director.media.png import write_png
    from director.media.source import GraphSource

    write_png(tmp_path / "input-0.png", np.full((32, 16, 3), 200, np.uint8))
    (tmp_path / "clip.json").write_text(json.dumps({
        "format": 1, "graph": "[0:v]format=yuv420p,loop=loop=47:size=1:start=0,settb=1/(24/1),setpts=N[out]",
        "inputs": ["input-0.png"], "fps": 24, "frames": 48, "encode": {"crf": 17, "preset": "ultrafast"}}))
    source = GraphSource(tmp_path / "clip.json")
    work, other = tmp_path / "work", tmp_path / "other"
    work.mkdir(), other.mkdir()
    first = source.place(0, "h0", work)
    second = source.place(0, "h1", work, start=24)
    assert sorted(p.name for p in work.iterdir()) == ["h0still0.raw"]
    assert first.args == second.args and "rawvideo" in first.args
    assert second.pad == "h1src" and "trim=start_frame=24" in second.chains[0]
    source.place(0, "c", other)
    assert sorted(p.name for p in other.iterdir()) == ["cstill0.raw"]
    (work / "h0still0.raw").unlink()  # a folder emptied since (encode_clip removes its own): unpacked again
    assert source.place(0, "h2", work).args != first.args and (work / "h2still0.raw").is_file()


def test_a_figures_colours_come_from_whole_words_of_its_description():
    """A series creator's audit: "grey bob, photographer's vest" drew a hue of the id's hair and a purple top (no
    hair word, no garment word); and a colour inside another word coloured the coat ("a tired man": red)."""
    from director.backends.preview.panel import GARMENTS, HAIR, COLOURS, _colour_near

    assert _colour_near("photographer, grey bob, olive vest", HAIR) == COLOURS["grey"]
    assert _colour_near("photographer, grey bob, olive vest", GARMENTS) == COLOURS["olive"]
    assert _colour_near("a tired man in a coat", GARMENTS) is None
    assert _colour_near("a retired fisherman in a long coat", GARMENTS) is None  # "red" at the window's edge
    assert _colour_near("a red chair, man in a blue suit", HAIR) is None  # no hair in "chair"
    assert _colour_near("black hair, white T-shirt", GARMENTS) == COLOURS["white"]
    assert _colour_near("黑色长发，红色风衣", HAIR) == COLOURS["黑"] and _colour_near("黑色长发，红色风衣", GARMENTS) == COLOURS["红"]


@pytest.mark.parametrize("place,green", [("a sunny park with a pond", True), ("公园的湖边", True),
                                         ("a quiet room with a wooden floor", False), ("narrow alley", False),
                                         ("湖南菜馆", False), ("oak-wood library", False), ("lake house kitchen", False)])
def test_a_park_or_a_wood_is_drawn_green_and_a_wooden_floor_is_still_a_room(preview, tmp_path, place, green):
    """A series creator's audit: "a sunny park with a pond" was drawn as a city skyline."""
    preview["keyframes"].render(frame("WS", figures=(), location=place, time="day", look=""), tmp_path)
    ground = np.asarray(Image.open(tmp_path / "bg.png").convert("RGB"))[-40:].reshape(-1, 3).mean(axis=0)
    assert (ground[1] > ground[0] + 20 and ground[1] > ground[2] + 20) == green, ground
