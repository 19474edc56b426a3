"""Vocabularies in the writer's language: Chinese and English synonyms from one table (vocab.py), checked at
``validate`` (unknown moods and emotions are warnings with file:line, never a silent fallback after a render)."""
from __future__ import annotations

import json

import yaml

from director.vocab import canonical_emotion, canonical_mood, canonical_preset, canonical_time, shot_word
from tests.conftest import director, make_project


def test_synonyms_map_to_one_canonical_value():
    assert [canonical_time(t) for t in ("凌晨", "深夜", "傍晚", "SAME", "night")] == \
        ["dawn", "night", "dusk", "continuous", "night"]
    assert [canonical_mood(m) for m in ("悬疑", "压抑", "温馨", "suspense", "tense")] == \
        ["tense", "tense", "hopeful", "tense", "tense"]
    assert [canonical_preset(p) for p in ("老年女性", "female old warm", "低沉男声", "少女", "male_deep")] == \
        ["elder_female", "elder_female", "male_deep", "female_bright", "male_deep"]
    assert [canonical_emotion(e) for e in ("冷笑", "哽咽", "whispering")] == ["sarcastic", "crying", "whisper"]
    # what a studio's scripts write (each was a warning and a neutral voice)
    assert [canonical_emotion(e) for e in ("悲伤", "坚定", "慌张", "无奈", "疑惑", "撒娇", "颤抖")] == \
        ["sad", "confident", "nervous", "tired", "nervous", "tender", "scared"]
    assert canonical_mood("bouncy castle") is None and canonical_time("teatime") is None
    # a negated word is not its opposite (不开心 was happy, not happy was happy): unknown, which validate warns of
    assert [canonical_emotion(e) for e in ("不开心", "没生气", "not happy", "never angry", "有点不开心")] == [None] * 5
    assert [canonical_emotion(e) for e in ("有点生气", "不安", "无奈", "quietly angry")] == \
        ["angry", "nervous", "tired", "angry"]
    assert canonical_mood("不悬疑") is None and canonical_mood("有点悬疑") == "tense"
    # a negation reaches past degree words; a word that only ends or starts in a negation's character is none
    assert [canonical_emotion(e) for e in ("不太开心", "不是很开心", "没有开心", "not very happy", "no longer angry",
                                           "特别不开心")] == [None] * 6
    assert [canonical_emotion(e) for e in ("特别开心", "特别紧张", "非常开心", "无比愤怒", "特别不安", "very happy",
                                           "差不多开心")] == ["happy", "nervous", "happy", "angry", "nervous", "happy", "happy"]
    assert canonical_mood("特别悬疑") == "tense"
    # a negated word is never offered its opposite (a docs audit: "not happy" -- did you mean 'happy'?)
    from director.vocab import EMOTIONS, one_of

    for negated in ("not happy", "不开心", "没有生气"):
        assert "did you mean" not in one_of(negated, EMOTIONS) and "negated" in one_of(negated, EMOTIONS)
    assert "did you mean 'happy'" in one_of("happpy", EMOTIONS) and "negated" not in one_of("特别开心了", EMOTIONS)
    # a second pass: negations past modal words, after the word, contracted; each read as its opposite before
    assert [canonical_emotion(e) for e in ("不会再害怕", "没在生气", "算不上开心", "开心不起来", "isn't happy", "不用害怕",
                                           "不算开心", "not the least bit scared")] == [None] * 8
    assert canonical_mood("不会悲伤") is None
    # words that hold a negation's character and say what a character is: read, never called negated
    assert [canonical_emotion(e) for e in ("面无表情", "无助", "不耐烦", "不知所措", "有点不耐烦", "满意", "伤感")] == \
        ["cold", "desperate", "angry", "nervous", "angry", "happy", "sad"]
    assert "negated" not in one_of("惊魂未定了吗", EMOTIONS)
    # a review: "can't calm down" read as calm; a comma ends a negation's reach ("angry, not scared" is angry)
    assert [canonical_emotion(e) for e in ("冷静不下来", "无法冷静", "难以平静")] == [None] * 3
    assert [canonical_emotion(e) for e in ("angry, not scared", "terrified, can't breathe")] == ["angry", "terrified"]
    # the transition Jianying calls 闪黑 is a fade, a hard cut 硬切
    assert [shot_word("transition", w) for w in ("闪黑", "硬切", "叠化")] == ["fade", "cut", "dissolve"]


def _edit(project, change):
    path = project / "screenplay.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


def test_chinese_words_validate_and_unknown_moods_warn_at_validate_with_the_line(tmp_path):
    project = make_project(tmp_path, size=(108, 192))

    def change(data):
        data["scenes"][0]["time"] = "凌晨"
        data["scenes"][1]["time"] = "SAME"
        data["scenes"][0]["beats"][0]["music"]["mood"] = "悬疑"
        data["characters"]["ana"]["voice"] = {"preset": "老年女性"}
        data["scenes"][0]["beats"][2]["line"]["emotion"] = "冷笑"
    _edit(project, change)
    ok = director("-p", str(project), "validate")
    assert ok.returncode == 0 and "warning" not in ok.stderr.lower(), ok.stderr
    path = _edit(project, lambda d: d["scenes"][0]["beats"][0]["music"].update(mood="bouncy castle"))
    warned = director("-p", str(project), "validate")
    assert warned.returncode == 0, warned.stderr  # a warning, not an error
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "bouncy castle" in text)
    assert f"screenplay.yaml:{line}:" in warned.stderr and "bouncy castle" in warned.stderr, warned.stderr
    bad = _edit(project, lambda d: d["scenes"][0].update(time="teatime"))
    refused = director("-p", str(project), "validate")
    assert refused.returncode == 3 and "teatime" in refused.stderr and "凌晨" in refused.stderr
    assert bad.exists()


def test_the_renderers_see_canonical_values(tmp_path):
    project = make_project(tmp_path, size=(108, 192))

    def change(data):
        data["scenes"][0]["time"] = "深夜"
        data["scenes"][0]["beats"][0]["music"]["mood"] = "悬疑"
        data["characters"]["ana"]["voice"] = {"preset": "老年女性"}
    _edit(project, change)
    director("-p", str(project), "render", "--until", "voice", check=True)
    manifests = [json.loads(p.read_text()) for p in (project / ".director" / "cache").rglob("manifest.json")]
    frames = [m["inputs"] for m in manifests if m["stage"] == "keyframes"]
    assert frames and all(f["time"] in ("night", "day") for f in frames)
    assert any(f["time"] == "night" for f in frames)
    voices = [m["inputs"] for m in manifests if m["stage"] == "voice"]
    assert any(v["voice"]["preset"] == "elder_female" for v in voices)


def test_validate_knows_the_sound_effects_the_built_in_backend_makes():
    from director.backends.preview.sfx import SOUNDS
    from director.vocab import SFX, canonical_sfx

    assert tuple(SOUNDS) == SFX
    assert canonical_sfx("Door Slam") == "door" and canonical_sfx("敲门") == "knock"
    assert canonical_sfx("distant thunder") == "thunder" and canonical_sfx("nosuchsound") is None
    # the QC audit: a Chinese script's commonest sounds rendered silence (only 雷 门 脚步 电话 玻璃 敲门 were known)
    said = {"心跳": "heartbeat", "雨声": "rain", "暴雨": "rain", "枪声": "gunshot", "手机铃声": "phone",
            "门铃声": "phone", "关门": "door", "玻璃碎了": "glass", "heart beat": "heartbeat"}
    assert {w: canonical_sfx(w) for w in said} == said
    # the review: one character inside another word is another thing (碎步 small steps, 雨伞 an umbrella, 铃铛 a bell)
    assert [canonical_sfx(w) for w in ("碎步", "敲键盘", "雨伞", "铃铛")] == [None] * 4
    assert canonical_sfx("doorbell") == "phone" and canonical_sfx("打雷") == "thunder" and canonical_sfx("关门") == "door"


def test_an_unknown_sound_effect_is_a_validate_warning_naming_the_known_ones(tmp_path):
    from director.screenplay import screenplay_problems
    from tests.conftest import make_project
    from tests.hardening.helpers import edit_yaml

    project = make_project(tmp_path)
    edit_yaml(project / "screenplay.yaml",
              lambda d: d["scenes"][0]["beats"].insert(0, {"sfx": "nosuchsound"}))
    loaded, problems = screenplay_problems(project / "screenplay.yaml", project)
    assert loaded is not None  # a warning: the render still runs
    [problem] = [p for p in problems if "nosuchsound" in p.message]
    assert problem.severity == "warning" and "thunder" in problem.message and "silence" in problem.message
    assert problem.line > 1
