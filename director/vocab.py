"""The closed vocabularies of the screenplay and shot list, in one place."""
from __future__ import annotations

import difflib
import re

SIZES = ("ECU", "CU", "MCU", "MS", "MWS", "WS", "EWS")
ANGLES = ("eye-level", "high", "low", "overhead", "dutch", "ots", "pov")
MOVES = ("static", "pan-left", "pan-right", "tilt-up", "tilt-down", "dolly-in", "dolly-out",
         "truck-left", "truck-right", "crane-up", "crane-down", "orbit", "handheld", "zoom-in", "zoom-out")
TRANSITIONS = ("cut", "fade", "dissolve")
# the shot vocabulary as a Chinese crew says it: the studio shows it (特写 CU), and a screenplay's shot hint or a
# shot list may say it (size: 特写, transition: 叠化); the code is what is kept
SHOT_WORDS_ZH = {
    "size": {"ECU": "大特写", "CU": "特写", "MCU": "近景", "MS": "中景", "MWS": "中全景", "WS": "全景", "EWS": "大远景"},
    "angle": {"eye-level": "平视", "high": "俯拍", "low": "仰拍", "overhead": "顶拍", "dutch": "斜角", "ots": "过肩",
              "pov": "主观"},
    "move": {"static": "固定", "pan-left": "左摇", "pan-right": "右摇", "tilt-up": "上摇", "tilt-down": "下摇",
             "dolly-in": "推", "dolly-out": "拉", "truck-left": "左移", "truck-right": "右移", "crane-up": "升",
             "crane-down": "降", "orbit": "环绕", "handheld": "手持", "zoom-in": "变焦推", "zoom-out": "变焦拉"},
    "transition": {"cut": "切", "fade": "淡入淡出", "dissolve": "叠化"},
}
# more words a Chinese script uses for them
_SHOT_SYNONYMS_ZH = {"size": {"远景": "EWS", "中近景": "MCU", "全身": "WS"},
                     "angle": {"俯视": "high", "仰视": "low", "俯角": "high", "仰角": "low", "鸟瞰": "overhead",
                               "主观镜头": "pov", "过肩镜头": "ots"},
                     "move": {"推镜": "dolly-in", "拉镜": "dolly-out", "跟拍": "truck-right", "摇镜": "pan-right",
                              "升镜": "crane-up", "降镜": "crane-down", "环拍": "orbit", "固定镜头": "static"},
                     "transition": {"切换": "cut", "溶": "dissolve", "溶解": "dissolve", "淡入": "fade", "淡出": "fade",
                                    "黑场": "fade", "渐隐": "fade", "闪黑": "fade", "淡化": "fade",
                                    "硬切": "cut", "直切": "cut", "叠": "dissolve"}}
_CODES = {"size": SIZES, "angle": ANGLES, "move": MOVES, "transition": TRANSITIONS}
# each field's words (its codes in lower case, the Chinese ones) -> its code: read on every shot a file holds
_SHOT_WORD_CODES = {field: {code.lower(): code for code in codes} | _SHOT_SYNONYMS_ZH[field]
                    | {word: code for code, word in SHOT_WORDS_ZH[field].items()} for field, codes in _CODES.items()}
# a card's kind as a Chinese crew names it (the storyboard, the studio and an editor's markers)
CARD_WORDS_ZH = {"title": "标题卡", "intro": "人物介绍卡", "insert": "插入卡", "caption": "字幕卡"}


def shot_word(field: str, value: object) -> object:
    """A shot field's value as its code: 特写 -> CU, 叠化 -> dissolve, cu -> CU; anything else as it is (refused,
    with what is valid, by the field's check)."""
    if not isinstance(value, str):
        return value
    return _SHOT_WORD_CODES[field].get(value.strip().lower(), value)


def shot_words_hint(choices) -> str:
    """', or a Chinese crew's word: 大特写, 特写, ...' where ``choices`` are a shot field's codes, else ''."""
    field = next((f for f, codes in _CODES.items() if list(codes) == list(choices)), None)
    return f"; or in Chinese: {'、'.join(SHOT_WORDS_ZH[field].values())}" if field else ""


TIMES = ("day", "night", "dawn", "dusk", "morning", "noon", "afternoon", "evening", "sunset", "sunrise")
VOICE_PRESETS = ("female", "female_warm", "female_bright", "female_low", "male", "male_deep", "male_bright",
                 "male_young", "child", "elder_female", "elder_male", "narrator")
INTENSITIES = {"low": 0.3, "medium": 0.6, "high": 0.9}
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp")
AUDIO_EXTS = (".wav", ".flac", ".mp3", ".ogg")
BEAT_KINDS = ("action", "line", "narration", "music", "sfx", "card", "pause")
CUE_KINDS = ("music", "sfx", "card", "pause")  # beats that take no picture of their own: they ride on the next shot
CARD_KINDS = ("title", "intro", "insert", "caption")
CARD_SECONDS = {"title": 2.5, "intro": 2.5, "insert": 2.5, "caption": 2.0}
NARRATOR = "narrator"


NARRATOR_WORDS = ("narrator", "旁白", "解说", "画外音")  # what a writer puts in `who:` meaning the narrator


def did_you_mean(value: object, choices) -> str:
    """' (did you mean 'x'?)' when ``value`` is close to one of ``choices``, else ''."""
    if not isinstance(value, str):
        return ""
    lowered = {str(c).lower(): str(c) for c in choices}
    match = difflib.get_close_matches(value.lower(), list(lowered), n=1, cutoff=0.6)
    return f" (did you mean '{lowered[match[0]]}'?)" if match else ""


def one_of(value: object, choices) -> str:
    """A message fragment naming the bad value, a suggestion and what would be valid; a negated word is told so,
    never offered its opposite ("not happy": did you mean 'happy'?)."""
    if isinstance(value, str) and _negates(value):
        hint = " (a negated word says what it is not: write what it is)"
    else:
        hint = did_you_mean(value, choices)
    return f"{value!r} is not valid{hint}; valid: {', '.join(map(str, choices))}"


def _negates(value: str) -> bool:
    """Whether a word is a known one negated (不开心, not happy), rather than a word of its own that holds a
    negation's character (不耐烦, 面无表情 say what a character is)."""
    tables = ((EMOTION_WORDS, EMOTIONS), (MOOD_WORDS, MOODS), (TIME_WORDS, TIMES), (DELIVERY_WORDS, DELIVERIES))
    return any(_lookup(value, table, canon) is None and _lookup(value, table, canon, negations=False) is not None
               for table, canon in tables)


# Words that put a place out of doors (the planner's wide establishing moves, the mix's street ambience). Not 外
# alone: 窗外 and 落地窗外 ("outside the window") are in rooms, and 外套 is a coat.
OUTDOOR_WORDS = ("street", "alley", "city", "rooftop", "roof", "park", "beach", "road", "forest", "outside",
                 "outdoor", "market", "bridge", "field", "garden", "harbor", "harbour", "square", "playground",
                 "schoolyard", "school yard", "pier", "dock", "街", "巷", "路", "桥", "市场", "天台", "公园", "室外", "户外",
                 "门口", "操场", "广场", "码头", "海边", "沙滩", "森林", "花园", "院子", "田野", "屋顶", "山顶", "野外")

# ------------------------------------------------------------------ words a writer may use, in either language
# Each table maps a synonym (English, Chinese, screenplay conventions) to one canonical value. Validation accepts
# any of them; the renderers only ever see the canonical value.
TIME_WORDS = {
    "midnight": "night", "late night": "night", "late-night": "night", "evening twilight": "dusk",
    "twilight": "dusk", "magic hour": "sunset", "golden hour": "sunset", "blue hour": "dusk", "early morning": "dawn", "daybreak": "dawn", "daytime": "day", "nighttime": "night",
    "深夜": "night", "午夜": "night", "半夜": "night", "夜": "night", "夜晚": "night", "夜里": "night", "夜间": "night",
    "晚上": "evening", "晚间": "evening", "凌晨": "dawn", "清晨": "dawn", "黎明": "dawn", "拂晓": "dawn",
    "早上": "morning", "早晨": "morning", "上午": "morning", "中午": "noon", "正午": "noon", "午后": "afternoon",
    "下午": "afternoon", "傍晚": "dusk", "黄昏": "dusk", "日落": "sunset", "日出": "sunrise", "白天": "day",
    "日": "day", "白日": "day", "内景": "day",
    # one character, as 短剧 headings write them (1-2 咖啡馆 晚 内 named a second place, 咖啡馆-晚)
    "晚": "evening", "晨": "dawn", "早": "morning", "午": "noon", "昏": "dusk",
}
CONTINUOUS_TIMES = ("same", "continuous", "later", "moments later", "同时", "紧接", "稍后", "片刻后", "同上")
MOODS = ("tense", "sad", "romantic", "happy", "mysterious", "action", "calm", "epic", "hopeful")
MOOD_WORDS = {
    "suspense": "tense", "suspenseful": "tense", "dark": "tense", "ominous": "tense", "danger": "tense",
    "thriller": "tense", "horror": "tense", "scary": "tense", "melancholy": "sad", "grief": "sad", "sorrow": "sad",
    "love": "romantic", "tender": "romantic", "sweet": "romantic", "joyful": "happy", "upbeat": "happy",
    "playful": "happy", "fun": "happy", "comedy": "happy", "chase": "action", "fight": "action", "urgent": "action",
    "peaceful": "calm", "quiet": "calm", "gentle": "calm", "eerie": "mysterious", "mystery": "mysterious",
    "heroic": "epic", "triumphant": "epic", "warm": "hopeful", "uplifting": "hopeful", "touching": "hopeful",
    "紧张": "tense", "悬疑": "tense", "压抑": "tense", "恐怖": "tense", "惊悚": "tense", "危险": "tense",
    "悲伤": "sad", "伤感": "sad", "难过": "sad", "心碎": "sad", "虐心": "sad", "浪漫": "romantic", "甜蜜": "romantic",
    "心动": "romantic", "暧昧": "romantic", "欢快": "happy", "搞笑": "happy", "轻松": "happy", "喜庆": "happy",
    "神秘": "mysterious", "诡异": "mysterious", "激烈": "action", "打斗": "action", "追逐": "action", "燃": "epic",
    "热血": "epic", "史诗": "epic", "震撼": "epic", "平静": "calm", "安静": "calm", "舒缓": "calm",
    "希望": "hopeful", "温馨": "hopeful", "感动": "hopeful", "治愈": "hopeful", "逆袭": "epic", "爽": "epic",
}
EMOTIONS = ("angry", "furious", "cold", "calm", "breathless", "defiant", "sad", "crying", "whisper", "happy",
            "excited", "scared", "terrified", "shocked", "tender", "sarcastic", "tired", "nervous", "pleading",
            "confident", "mysterious", "desperate", "warm")
EMOTION_WORDS = {
    # words that hold a negation's character yet say what a character is (a Chinese studio's second pass)
    "面无表情": "cold", "毫不在意": "cold", "无助": "desperate", "不耐烦": "angry", "不知所措": "nervous",
    "惊魂未定": "scared", "心神不宁": "nervous", "怒不可遏": "furious", "依依不舍": "sad", "不好意思": "nervous",
    "满意": "happy", "伤感": "sad",
    "whispering": "whisper", "whispered": "whisper", "mad": "angry", "rage": "furious", "enraged": "furious",
    "icy": "cold", "flat": "cold", "serene": "calm", "quiet": "calm", "panting": "breathless", "stubborn": "defiant",
    "upset": "sad", "sobbing": "crying", "tearful": "crying", "joyful": "happy", "cheerful": "happy",
    "thrilled": "excited", "afraid": "scared", "frightened": "scared", "fearful": "scared", "horrified": "terrified",
    "surprised": "shocked", "stunned": "shocked", "gentle": "tender", "loving": "tender", "mocking": "sarcastic",
    "exhausted": "tired", "anxious": "nervous", "worried": "nervous", "begging": "pleading", "proud": "confident",
    "smug": "confident", "hopeless": "desperate", "kind": "warm", "neutral": "calm",
    # what scripts write on a cue or in a parenthetical (the importer audit: each dropped, or a neutral voice)
    "whispers": "whisper", "shouting": "angry", "shouts": "angry", "yelling": "angry", "yells": "angry",
    "screaming": "furious", "screams": "furious", "angrily": "angry", "quietly": "calm", "softly": "tender",
    "laughing": "happy", "laughs": "happy", "anguished": "desperate", "pleads": "pleading", "sarcastically": "sarcastic",
    "coldly": "cold", "sadly": "sad", "nervously": "nervous", "tearfully": "crying",
    "大喊": "angry", "大叫": "angry", "喊": "angry", "低声": "whisper", "冷冷地": "cold", "冷冷": "cold",
    "哭着": "crying", "笑着": "happy", "苦笑": "sad",
    "愤怒": "angry", "生气": "angry", "恼火": "angry", "暴怒": "furious", "冷漠": "cold", "冰冷": "cold", "冷淡": "cold",
    "平静": "calm", "淡定": "calm", "喘息": "breathless", "倔强": "defiant", "不服": "defiant", "伤心": "sad",
    "难过": "sad", "委屈": "sad", "哭": "crying", "哭泣": "crying", "哽咽": "crying", "低语": "whisper",
    "小声": "whisper", "耳语": "whisper", "开心": "happy", "高兴": "happy", "兴奋": "excited", "激动": "excited",
    "害怕": "scared", "恐惧": "terrified", "惊恐": "terrified", "震惊": "shocked", "惊讶": "shocked", "温柔": "tender",
    "讽刺": "sarcastic", "冷笑": "sarcastic", "嘲讽": "sarcastic", "疲惫": "tired", "紧张": "nervous",
    "犹豫": "nervous", "哀求": "pleading", "恳求": "pleading", "自信": "confident", "得意": "confident",
    "神秘": "mysterious", "绝望": "desperate", "崩溃": "desperate", "温暖": "warm", "亲切": "warm",
    # more of what short-drama scripts write (a studio's audit: each was a warning and a neutral voice)
    "悲伤": "sad", "悲痛": "sad", "心痛": "sad", "失落": "sad", "沮丧": "sad", "抽泣": "crying", "啜泣": "crying",
    "哭腔": "crying", "泣不成声": "crying", "轻声": "whisper", "悄声": "whisper", "坚定": "confident",
    "霸气": "confident", "骄傲": "confident", "傲慢": "confident", "坚决": "defiant", "挑衅": "defiant",
    "不甘": "defiant", "慌张": "nervous", "慌乱": "nervous", "焦急": "nervous", "着急": "nervous", "不安": "nervous",
    "疑惑": "nervous", "困惑": "nervous", "颤抖": "scared", "惊慌": "scared", "恐慌": "scared", "无奈": "tired",
    "虚弱": "tired", "无力": "tired", "撒娇": "tender", "心疼": "tender", "宠溺": "tender", "深情": "tender",
    "怒吼": "furious", "咆哮": "furious", "嘶吼": "furious", "愤恨": "furious", "冷酷": "cold", "阴冷": "cold",
    "严肃": "cold", "威胁": "cold", "不屑": "sarcastic", "轻蔑": "sarcastic", "鄙夷": "sarcastic", "嘲笑": "sarcastic",
    "喜悦": "happy", "欣喜": "happy", "惊喜": "excited", "错愕": "shocked", "惊愕": "shocked", "冷静": "calm",
    "沉稳": "calm", "祈求": "pleading", "求饶": "pleading", "急促": "breathless", "温和": "warm", "热情": "warm",
}
# Descriptive voices: words for gender, age and timbre (either language), combined into the nearest preset.
_GENDER = {"female": "f", "woman": "f", "girl": "f", "women": "f", "女": "f", "女性": "f", "女声": "f",
           "male": "m", "man": "m", "boy": "m", "men": "m", "男": "m", "男性": "m", "男声": "m"}
_AGE = {"old": "old", "elder": "old", "elderly": "old", "aged": "old", "老": "old", "老年": "old", "年迈": "old",
        "young": "young", "youthful": "young", "teen": "young", "年轻": "young", "青年": "young", "少年": "young",
        "少女": "young", "child": "child", "kid": "child", "孩子": "child", "儿童": "child", "小孩": "child",
        "童声": "child"}
_TIMBRE = {"warm": "warm", "soft": "warm", "gentle": "warm", "温暖": "warm", "温柔": "warm", "柔和": "warm",
           "bright": "bright", "clear": "bright", "清亮": "bright", "明亮": "bright", "甜美": "bright",
           "low": "low", "deep": "low", "husky": "low", "低沉": "low", "浑厚": "low", "沙哑": "low", "磁性": "low",
           "narrator": "narrator", "旁白": "narrator", "解说": "narrator"}


# How a line is heard: on screen (lip-synced), voice-over, off screen, inner monologue, over a phone or radio.
DELIVERIES = ("on", "vo", "os", "inner", "phone", "radio")
NOT_ON_SCREEN = ("vo", "os", "inner", "phone", "radio")  # never lip-synced
DELIVERY_WORDS = {
    "on screen": "on", "onscreen": "on", "sync": "on", "v.o.": "vo", "voice over": "vo", "voiceover": "vo",
    "narration": "vo", "画外音": "vo", "旁白": "vo", "o.s.": "os", "o.c.": "os", "off screen": "os",
    "offscreen": "os", "off camera": "os", "画外": "os", "画面外": "os", "inner monologue": "inner",
    "monologue": "inner", "thought": "inner", "thinking": "inner", "内心独白": "inner", "内心": "inner",
    "心声": "inner", "独白": "inner", "os内心": "inner", "telephone": "phone", "on the phone": "phone",
    "电话": "phone", "手机": "phone", "电话里": "phone", "walkie talkie": "radio", "intercom": "radio",
    "对讲机": "radio", "广播": "radio", "收音机": "radio", "无线电": "radio", "on the radio": "radio",
    "over the radio": "radio", "on radio": "radio", "over radio": "radio", "over the phone": "phone",
    "through the phone": "phone", "on speakerphone": "phone", "on speaker": "phone", "filtered": "phone",
    # as writers also type them (the importer audit: each was spoken on screen, lip-synced)
    "v.o": "vo", "vo.": "vo", "v/o": "vo", "o.s": "os", "o/s": "os", "o.c": "os", "oc": "os", "o/c": "os",
}


def canonical_delivery(value: str) -> str | None:
    """A line's delivery in any accepted word -> one of DELIVERIES, or None."""
    return _lookup(value, DELIVERY_WORDS, DELIVERIES)


def _lookup(value: str, table: dict, canon, negations: bool = True) -> str | None:
    """``value`` in ``canon``, or what ``table`` reads it as; a negated word is none (``negations=False``: read as
    if it were not, which tells a negated word from an unknown one)."""
    key = " ".join(str(value).strip().lower().replace("_", " ").replace("-", " ").split())
    if key in canon:
        return key
    if key in table:
        return table[key]
    # a negated word says nothing it can be read as: "not happy" and 不开心 were read as happy
    words, negated = [], False
    for w in re.findall(r"[\w'’]+|[,;，；、]", key):  # a negation reaches past degree words ("not very happy", "no
        if w in ",;，；、":  # longer angry"), not past a comma: "angry, not scared" is angry
            negated = False
            continue
        if negated and w in DEGREE:
            continue
        if not negated:
            words.append(w)
        negated = negations and (w in NEGATIONS or w.endswith(("n't", "n’t")) or w in CONTRACTED)
    # "slow sad" -> sad: a word that is a value itself first ("quietly angry" is angry, not quietly's calm), then a
    # synonym; a bare "on" (on screen) only where no other word says more ("on the radio")
    found = [w for w in words if w in canon] + [table[w] for w in words if w not in canon and w in table]
    if found:
        return next((f for f in found if f != "on"), found[0])
    for syn, target in table.items():  # Chinese has no spaces: 有点悬疑 -> 悬疑
        if len(syn) > 1 and not syn.isascii():
            at = key.find(syn)
            while at != -1:
                # 开心不起来, 高兴不了: a negation after the word too
                if not negations or not (_negated_zh(key, at) or key.startswith(AFTER_ZH, at + len(syn))):
                    return target
                at = key.find(syn, at + 1)
    return None


NEGATIONS = frozenset({"not", "no", "never", "hardly"})
CONTRACTED = frozenset({"isnt", "wasnt", "arent", "werent", "dont", "doesnt", "didnt", "cant", "wont", "aint"})
DEGREE = frozenset({"very", "too", "so", "that", "really", "quite", "longer", "more", "at", "all", "particularly",
                    "overly", "terribly", "especially", "remotely", "even", "exactly", "entirely", "the", "least",
                    "bit", "a", "in", "any", "be", "feel", "feeling", "look", "looking", "seem", "seeming"})
AFTER_ZH = ("不起来", "不了", "不出来", "不下来", "不住")  # a negation after the word: 开心不起来, 冷静不下来
NEGATIONS_ZH = frozenset("不没别非未无")
# degree words a Chinese negation reaches past (不太开心, 不是很开心), and the words that merely end or start in a
# negation's character: 特别开心 is especially happy, 非常 very, 无比 beyond compare
DEGREE_ZH = tuple(sorted(("那么", "这么", "怎么", "十分", "有点", "有些", "一点", "特别", "非常", "无比", "比较", "太过",
                          "格外", "分外", "太", "很", "是", "大", "好", "多", "再", "更", "还", "够",
                          # and the modal and aspect words between a negation and its word (不会害怕, 没在生气, 不用怕)
                          "会", "要", "用", "必", "在", "曾", "能", "敢", "该", "算"), key=len, reverse=True))
NOT_NEGATIONS_ZH = frozenset({"特别", "分别", "区别", "差别", "级别", "告别", "离别", "识别", "类别", "性别", "个别", "除非",
                              "莫非", "无非", "差不"})  # 差不多开心: more or less happy


def _negated_zh(key: str, at: int) -> bool:
    """Whether the Chinese word at ``key[at:]`` is negated: a negation (不, 没(有), 别, 非, 未, 无) right before it,
    or before the degree words in front of it."""
    i, moved = at, True
    while moved:
        moved = False
        for degree in DEGREE_ZH:
            if key.endswith(degree, 0, i):
                i -= len(degree)
                moved = True
                break
    if key.endswith(("没有", "算不上", "谈不上", "称不上", "说不上", "无法", "难以", "没法"), 0, i):
        return True
    return i > 0 and key[i - 1] in NEGATIONS_ZH and key[max(0, i - 2):i] not in NOT_NEGATIONS_ZH


def canonical_time(value: str) -> str | None:
    """A scene time in any accepted word -> one of TIMES, ``continuous`` (the previous scene's), or None."""
    key = str(value).strip().lower()
    if key in CONTINUOUS_TIMES or key.upper() in ("SAME", "CONTINUOUS", "LATER"):
        return "continuous"
    return _lookup(key, TIME_WORDS, TIMES)


def canonical_mood(value: str) -> str | None:
    return _lookup(value, MOOD_WORDS, MOODS)


# the sound effects the built-in (procedural) effects make, and the words that name them
SFX = ("thunder", "door", "footsteps", "phone", "glass", "knock", "heartbeat", "rain", "gunshot")
SFX_ALIASES = {"door slam": "door", "door-slam": "door", "steps": "footsteps", "footstep": "footsteps",
               "ring": "phone", "phone ring": "phone", "ringtone": "phone", "glass break": "glass",
               "shatter": "glass", "lightning": "thunder", "gun": "gunshot", "shot": "gunshot", "heart beat": "heartbeat",
               "pulse": "heartbeat", "storm": "thunder", "雷": "thunder", "门": "door", "脚步": "footsteps",
               "电话": "phone", "玻璃": "glass", "敲门": "knock", "心跳": "heartbeat", "心脏": "heartbeat",
               "雨": "rain", "雨声": "rain", "下雨": "rain", "暴雨": "rain", "大雨": "rain", "雨点": "rain",
               "枪": "gunshot", "枪声": "gunshot", "开枪": "gunshot", "枪响": "gunshot", "铃声": "phone",
               "手机": "phone", "门铃": "phone", "doorbell": "phone", "碎裂": "glass", "打碎": "glass", "摔碎": "glass",
               "敲桌": "knock", "敲击": "knock"}
# within a longer name: an alias of two characters or more (雨 alone is rain, 雨伞 an umbrella; 雷 and 门 were
# always read inside 打雷, 关门), the longest first (门铃声: a doorbell, not a door)
_SFX_BY_LENGTH = sorted(((k, v) for k, v in SFX_ALIASES.items() if len(k) > 1 or k in ("雷", "门")),
                        key=lambda kv: -len(kv[0]))


def canonical_sfx(name: str) -> str | None:
    """The built-in effect a sound effect's name means (``door slam`` -> door, 敲门 -> knock), or None."""
    key = name.strip().lower()
    if key in SFX:
        return key
    if key in SFX_ALIASES:
        return SFX_ALIASES[key]
    # within a longer name, an English word where a word starts ("thunderstorm", "knocking"; "train horn" is no
    # rain and "during" no ring: the preview played rain for a train); Chinese has no spaces, any place
    return next((s for s in SFX if _starts_word(s, key)), None) or \
        next((v for k, v in _SFX_BY_LENGTH if (_starts_word(k, key) if k.isascii() else k in key)), None)


def _starts_word(word: str, text: str) -> bool:
    return re.search(rf"(?<![a-z]){re.escape(word)}", text) is not None


def canonical_emotion(value: str) -> str | None:
    return _lookup(value, EMOTION_WORDS, EMOTIONS)


def shown_emotion(emotion: str | None) -> str | None:
    """A line's emotion as a prompt and a panel say it: the writer's word where the vocabulary knows it, else none
    (validate warns of it and the voice speaks it neutrally; "Lin speaks, scaredd" went to the image model)."""
    return emotion if emotion and canonical_emotion(emotion) else None


def delivered_emotion(emotion: str | None, parenthetical: str | None) -> str | None:
    """A line's emotion as it is voiced and mixed: its own (canonical where the vocabulary knows it, else as
    written), else its parenthetical's ("(压低声音)", "(whispers)": a whisper was voiced at full volume)."""
    if emotion:
        return canonical_emotion(emotion) or emotion
    return canonical_emotion(parenthetical.strip("()（） ")) if parenthetical else None


def canonical_preset(value: str) -> str | None:
    """A voice preset, or a description combining gender, age and timbre words (``female old warm``, 老年女性)."""
    key = str(value).strip().lower()
    if key in VOICE_PRESETS:
        return key
    text = key.replace("_", " ").replace("-", " ")
    found: dict[str, str] = {}
    for table, slot in ((_GENDER, "gender"), (_AGE, "age"), (_TIMBRE, "timbre")):
        for word in sorted(table, key=len, reverse=True):  # longest first: 女性 before 女
            if (word in text.split()) or (not word.isascii() and word in text):
                found.setdefault(slot, table[word])
    if not found:
        return None
    if found.get("timbre") == "narrator":
        return "narrator"
    if found.get("age") == "child":
        return "child"
    gender = found.get("gender")
    if found.get("age") == "old":
        return "elder_female" if gender == "f" else "elder_male" if gender == "m" else None
    if gender == "f":
        return {"warm": "female_warm", "bright": "female_bright", "low": "female_low"}.get(
            found.get("timbre", ""), "female_bright" if found.get("age") == "young" else "female")
    if gender == "m":
        return {"bright": "male_bright", "low": "male_deep", "warm": "male"}.get(
            found.get("timbre", ""), "male_young" if found.get("age") == "young" else "male")
    return None
