"""Preview voices: eSpeak NG, offline and download-free, in a distinct voice per character.

eSpeak NG is GPL-3.0, so it runs as a separate program (``espeak_worker``) that director
talks to through arguments, stdin and a WAV file. Each character gets a voice variant,
pitch and rate from its preset (or from its description), stable across episodes; the
emotion of a line moves rate, pitch and range. A character's ``voice.sample`` is for the
cloning backends and is not used here.
"""
from __future__ import annotations

import re
import subprocess
import sys
import wave
import zlib
from pathlib import Path
from typing import ClassVar

from director.backends import BackendConfig
from director.backends.types import AudioResult, SpeechRequest, VoiceParams
from director.errors import BackendUnavailable, StageFailed

# run as a file, not as ``-m director...``: importing director's packages first cost ~0.12 s a line, where eSpeak
# itself speaks one in ~3 ms; ``-P``: the worker's folder is not put on the path (its siblings are not modules to it)
WORKER = Path(__file__).with_name("espeak_worker.py")

# preset -> (eSpeak variant, base pitch 0-99, rate multiplier)
PRESETS: dict[str, tuple[str, int, float]] = {
    "female": ("f2", 62, 1.0), "female_warm": ("f4", 52, 0.96), "female_bright": ("f3", 72, 1.05),
    "female_low": ("f1", 42, 0.97), "male": ("m1", 45, 1.0), "male_deep": ("m3", 26, 0.94),
    "male_bright": ("m4", 58, 1.04), "male_young": ("m2", 52, 1.06), "child": ("f5", 88, 1.08),
    "elder_female": ("f1", 46, 0.88), "elder_male": ("m6", 30, 0.87), "narrator": ("m7", 36, 0.92),
}
FEMALE = ("female", "female_warm", "female_bright", "female_low")
MALE = ("male", "male_bright", "male_young", "male_deep")
# emotion word -> (rate multiplier, pitch change, range change)
EMOTIONS: dict[str, tuple[float, int, int]] = {
    "angry": (1.08, 6, 30), "furious": (1.12, 8, 40), "cold": (0.9, -8, -25), "calm": (0.94, -3, -10),
    "breathless": (1.2, 8, 15), "defiant": (1.05, 5, 20), "sad": (0.84, -8, -20), "crying": (0.82, -4, 10),
    "whisper": (0.88, -6, -30), "whispering": (0.88, -6, -30), "happy": (1.08, 8, 25), "excited": (1.14, 10, 35),
    "scared": (1.15, 12, 20), "terrified": (1.2, 14, 25), "shocked": (1.05, 10, 30), "tender": (0.9, 2, -5),
    "sarcastic": (0.95, 0, 30), "tired": (0.85, -6, -20), "nervous": (1.1, 6, 10), "pleading": (0.98, 8, 25),
    "confident": (1.0, 0, 15), "mysterious": (0.88, -4, -10), "desperate": (1.12, 10, 30), "warm": (0.95, 3, 10),
}
# a 短剧's cast is named by kinship and station as often as by sex (顾母, 五十岁的父亲, 霸道总裁): a mother with no
# 女 in her description was voiced by a man's preset half the time
FEMALE_WORDS = ("woman", "girl", "her ", "she", "mother", "lady", "female", "actress", "queen", "sister",
                "女", "她", "妈", "姐", "妹", "母", "娘", "奶奶", "婆", "妇", "姨", "姑", "嫂", "媳", "妻", "妃",
                "太太", "夫人", "公主", "千金", "闺蜜")
MALE_WORDS = ("man", "boy", "his ", "he ", "father", "guy", "male", "king", "brother", "男", "他", "爸", "哥", "弟",
              "父", "爷", "叔", "伯", "舅", "丈夫", "先生", "少爷", "公子", "王子", "新郎", "小伙", "少年", "霸总",
              "霸道总裁", "绅士", "儿子", "独子", "长子", "次子", "孙子")  # (公公, 老公, 女婿: KIN_WORDS, read first)
# a partner word names the other one: a man's description mentions his ex-wife (离过婚的前妻回来了)
PARTNER_WORDS = {"前妻": "male", "亡妻": "male", "前女友": "male", "前夫": "female", "亡夫": "female", "前男友": "female"}
# kinship and station words whose characters would count for the other sex (姐夫 holds 姐, 女婿 女, 伯母 伯): each read
# whole, before the single characters
KIN_WORDS = {**dict.fromkeys(("姐夫", "妹夫", "姨夫", "姑父", "姑丈", "女婿", "干爹", "外孙", "师兄", "师弟", "太子",
                              "小叔子", "大伯子", "公公", "外公", "老公", "王爷", "皇上", "皇帝", "管家"), "male"),
             **dict.fromkeys(("伯母", "舅妈", "婶婶", "大婶", "婶子", "叔母", "皇后", "太后", "丫鬟", "保姆", "嫂子",
                              "弟媳", "儿媳", "孙女", "外孙女", "师姐", "师妹", "白月光", "贵妃", "小姐", "王妈",
                              "小姨子", "女朋友", "女友"), "female")}
# age words: an old one gets an elder's preset, a child the child's (顾老爷子 spoke as a young man, a six-year-old as
# an adult)
ELDER_WORDS = ("老爷子", "老太太", "老太爷", "老夫人", "老奶奶", "老爷爷", "老人", "老头", "老妇", "外婆", "外公", "奶奶",
               "爷爷", "祖母", "祖父", "elderly", "old man", "old woman", "grandmother", "grandfather", "grandma",
               "grandpa")
CHILD_WORDS = ("孩子", "小孩", "儿童", "小男孩", "小女孩", "幼儿", "宝宝", "child", "kid", "little boy", "little girl")
LANGUAGES = {"en": "en-us", "en-us": "en-us", "en-gb": "en-gb", "zh": "cmn", "zh-cn": "cmn", "zh-hans": "cmn",
             "zh-tw": "cmn", "zh-hant": "cmn", "cmn": "cmn", "zh-hk": "yue", "yue": "yue", "ja": "ja", "ko": "ko",
             "es": "es", "fr": "fr-fr", "de": "de", "it": "it", "pt": "pt", "pt-br": "pt-br", "ru": "ru",
             "vi": "vi", "th": "th", "id": "id", "hi": "hi", "ar": "ar", "tr": "tr"}
BASE_RATE = 165  # words per minute at rate 1.0


def espeak_language(tag: str) -> str:
    tag = tag.lower()
    return LANGUAGES.get(tag) or LANGUAGES.get(tag.split("-")[0]) or tag.split("-")[0]


def han(text: str) -> str:
    """Only the Han characters of ``text``: a name's kinship word (顾母), without a Latin name's chance letters."""
    return "".join(ch for ch in text if "\u4e00" <= ch <= "\u9fff")


def gender_of(description: str) -> str | None:
    """The sex a description gives a character, or None (unsaid, or as much one as the other). In Chinese, "X的Y"
    ending a phrase is Y (顾母的独子 is a son, 顾总的前妻 the ex-wife herself); "X的Y" starting a clause is said of X
    (她的丈夫三年前去世 is said of her; 离过婚的前妻回来了, of the man whose ex-wife came back)."""
    text = f" {description.lower()} "
    counts = {"female": 0, "male": 0}
    other = {"male": "female", "female": "male"}

    def phrase(m: re.Match) -> str:
        before, after = m[1], m[2]
        if len(after) <= 4:  # a noun phrase ending there: the character is what follows 的
            return " " * len(before) + "的" + after
        partner = next((w for w in PARTNER_WORDS if after.startswith(w)), None)
        if partner:  # a clause about the character's ex-wife: said of him
            counts[PARTNER_WORDS[partner]] += 1
            return before + "的" + " " * len(partner) + after[len(partner):]
        if before.endswith(("她", "他")) or before.endswith(tuple(KIN_WORDS)) or len(before) <= 2:
            # a clause about someone the character is related to: the relation after 的 is someone else
            word = next((w for w in KIN_WORDS if after.startswith(w)), after[:2])
            return before + "的" + " " * len(word) + after[len(word):]
        return m[0]

    text = re.sub(r"([\u4e00-\u9fff]*)的([\u4e00-\u9fff]+)", phrase, text)
    for word, sex in {**PARTNER_WORDS, **KIN_WORDS}.items():
        n = text.count(word)
        if word in PARTNER_WORDS:  # a partner named as what the character is: after 的 (顾总的前妻) they are it
            mine = len(re.findall(f"的{word}", text))
            counts[sex] += n - mine
            counts[other[sex]] += mine
        else:
            counts[sex] += n
        text = text.replace(word, " " * len(word))
    counts["female"] += sum(text.count(w) for w in FEMALE_WORDS)
    counts["male"] += sum(text.count(f" {w.strip()} ") if w.isascii() else text.count(w) for w in MALE_WORDS)
    female, male = counts["female"], counts["male"]
    return "female" if female > male else "male" if male > female else None


def _chinese_number(text: str) -> int | None:
    """The first age a run of Chinese numerals says: 六 6, 十二 12, 八十五 85, and of a range its first (二十五六 25,
    四五十 40, 五六 5); None where it is no such number."""
    digits = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"两": 2}
    if m := re.fullmatch(r"([一二两三四五六七八九])[一二三四五六七八九]十", text):  # 四五十: forty to fifty
        return digits[m[1]] * 10
    if m := re.match(r"([一二两三四五六七八九]?)十([一二三四五六七八九]?)", text):
        return (digits[m[1]] if m[1] else 1) * 10 + (digits[m[2]] if m[2] else 0)
    return digits.get(text[0]) if text and text[0] in digits else None


def age_of(description: str) -> str | None:
    """"elder", "child" or None from a description's words or a stated age (七十岁, 6 years old)."""
    # the character's own words: in "X的Y" ending a phrase, Y (孩子的父亲 is a father, 顾老爷子的孙子 a grandson)
    text = re.sub(r"[\u4e00-\u9fff\d]+的(?=[\u4e00-\u9fff]{1,4}(?![\u4e00-\u9fff]))", " ", description.lower())
    for word in ("少奶奶", "姑奶奶", "女孩子", "男孩子"):  # a young mistress, a girl: no elder, no child
        text = text.replace(word, " ")
    years = re.search(r"(?<![\d一二两三四五六七八九十])(\d{1,3}|[一二两三四五六七八九十]{1,4})\s*(?:多)?"
                      r"(?:岁|\s*years? old|-year-old)", text)
    if years:
        age = int(years[1]) if years[1].isdigit() else _chinese_number(years[1])
        if age is None or age > 120:  # a thousand-year-old vampire is no child
            return None
        return "elder" if age >= 60 else "child" if age <= 12 else None
    words = lambda ws: any(re.search(rf"(?<![a-z]){re.escape(w)}s?(?![a-z])", text) if w.isascii() else w in text
                           for w in ws)
    if words(ELDER_WORDS):
        return "elder"
    if words(CHILD_WORDS) and not words(("mother", "father", "mom", "dad", "parent", "母亲", "父亲", "妈妈", "爸爸")):
        return "child"
    return None


def assign_voices(cast: dict[str, tuple[str, str | None, str | None]]) -> dict[str, VoiceParams]:
    """Speaker id -> voice. ``cast`` maps id -> (description, preset, sample). Stable and distinct.

    Presets win. Others get a preset from their described gender, chosen by a hash of their id,
    moving on to the next free preset (then a pitch offset) so two speakers never sound alike.
    """
    out: dict[str, VoiceParams] = {}
    taken: set[tuple[str, int]] = set()
    for speaker, (description, preset, sample) in cast.items():
        if preset is None:  # an imported cast's id is its name (顾母): its Han characters count too
            said = f"{description} {han(speaker)}"
            gender, age = gender_of(said), age_of(said)
            pool = FEMALE if gender == "female" else MALE if gender == "male" else FEMALE + MALE
            if age == "elder":  # an elder's voice, of their sex where it is said
                pool = ("elder_female",) if gender == "female" else ("elder_male",) if gender == "male" else \
                    ("elder_female", "elder_male")
            elif age == "child":
                pool = ("child",)
            start = zlib.crc32(speaker.encode()) % len(pool)
            candidates = [pool[(start + i) % len(pool)] for i in range(len(pool))]
            preset = next((p for p in candidates if (p, 0) not in taken), candidates[0])
        offset = 0
        while (preset, offset) in taken:
            offset += 6
        taken.add((preset, offset))
        out[speaker] = VoiceParams(speaker=speaker, preset=preset, sample=sample, pitch=offset)
    return out


class EspeakConfig(BackendConfig):
    name: ClassVar[str] = "espeak"
    kind: ClassVar[str] = "voice"
    version: ClassVar[str] = "1"
    license: ClassVar[str] = "GPL-3.0-or-later (eSpeak NG, run as a separate process)"
    requires: ClassVar[tuple[str, ...]] = ("espeakng_loader",)
    target: ClassVar[str] = "director.backends.preview.voice:EspeakBackend"

    rate: int = BASE_RATE


class EspeakBackend:
    sample_rate: ClassVar[int] = 22050
    channels: ClassVar[int] = 1

    def __init__(self, config: EspeakConfig):
        self.config = config

    def params(self, req: SpeechRequest) -> dict:
        variant, pitch, rate = PRESETS.get(req.voice.preset, PRESETS["male"])
        mood = (req.emotion or "").lower()
        if mood not in EMOTIONS and req.parenthetical:
            mood = next((w for w in req.parenthetical.lower().replace("(", " ").replace(")", " ").split()
                         if w in EMOTIONS), mood)
        r_mul, p_add, range_add = EMOTIONS.get(mood, (1.0, 0, 0))
        return {"voice": f"{espeak_language(req.language)}+{variant}",
                "rate": int(self.config.rate * rate * r_mul * req.voice.rate),
                "pitch": max(0, min(99, pitch + req.voice.pitch + p_add)),
                "range": max(0, min(99, 50 + range_add)),
                "volume": 70 if "whisper" in mood else 100}

    def synthesize(self, req: SpeechRequest, out: Path) -> AudioResult:
        if not req.text.strip():
            raise StageFailed("cannot voice an empty line: write the words or remove the beat")
        p = self.params(req)
        wav = out / "voice.wav"
        cmd = [sys.executable, "-P", str(WORKER), "--voice", p["voice"],
               "--rate", str(p["rate"]), "--pitch", str(p["pitch"]), "--range", str(p["range"]),
               "--volume", str(p["volume"]), "--out", str(wav)]
        proc = subprocess.run(cmd, input=req.text.encode("utf-8"), capture_output=True)
        if proc.returncode == 3:
            raise BackendUnavailable(f"eSpeak NG has no voice for language {req.language!r} ({p['voice']})")
        if proc.returncode != 0:
            raise StageFailed(f"eSpeak NG failed: {proc.stderr.decode('utf-8', 'replace').strip()[-300:]}")
        with wave.open(str(wav)) as w:
            duration = w.getnframes() / w.getframerate()
            rate = w.getframerate()
        if duration <= 0:
            raise StageFailed(f"eSpeak NG produced no audio for {req.text[:40]!r}")
        notes = (f"voice.sample of {req.voice.speaker} is used by cloning backends; the preview voice ignores it",) \
            if req.voice.sample else ()
        return AudioResult(str(wav), rate, 1, duration, notes)
