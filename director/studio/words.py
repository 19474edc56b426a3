"""The studio's own words, in the editor's language.

A Chinese project (``language: zh-CN``) opens the studio in Chinese: its editors met an English-only page over a
Chinese screenplay. ``?ui=en`` or ``?ui=zh`` on any page switches, and is remembered in a cookie. The keys are the
English text, which is also what shows where a word has no translation. What the library says (why a shot must
re-run, a refused edit, a note from the planner) reaches the page as the command line says it.
"""
from __future__ import annotations

import html
import json
import re

from director.vocab import SHOT_WORDS_ZH

LANGUAGES = ("en", "zh")

ZH = {
    # the bar
    "Board": "分镜", "Player": "成片", "References": "参考图", "Render episode": "渲染本集",
    "Render selected": "渲染选中镜头", "Cancel": "取消", "episode": "剧集", "board": "分镜", "player": "成片",
    "references": "参考图", "English": "English", "中文": "中文",
    # a card
    "cached": "已缓存", "running…": "渲染中…", "must re-run: ": "需重新渲染：",
    "cached; may re-run after an edit before it": "已缓存；前面镜头的修改可能使它重新渲染",
    "failed: ": "失败：", "not rendered": "未渲染", "last render": "上次渲染",
    "the picture of the last render: this shot changed since": "上次渲染的画面：此镜头之后已修改",
    "hover: the picture; click: with its sound": "悬停：播放画面；点击：连同声音播放",
    "play shot": "播放镜头", "with its sound": "（含声音）", "emotion": "情绪",
    "consistency with the reference": "与参考图的一致性", "talking shot: lip sync score": "说话镜头：口型同步得分",
    "talks": "说话", "sync": "同步", "take {n}": "第 {n} 条", "seed": "种子", "Narrator": "旁白", "s": "秒",
    "its length in the episode, as timed from the lines": "此镜头在成片中的时长（按台词计时）",
    "a locked shot is kept when the episode is re-planned": "锁定的镜头在重新规划时保持不变",
    "Locked": "已锁定", "Lock": "锁定", "plan": "计划",
    "planned seconds: a shot without lines keeps them; a shot with lines is timed from its voices (locked, it "
    "holds at least this long)": "计划秒数：没有台词的镜头保持此时长；有台词的镜头按配音计时（锁定后至少保持此时长）",
    "in frame": "入镜", "characters in frame, comma-separated": "入镜角色，用逗号分隔", "prompt": "提示词",
    "save prompt": "保存提示词", "↻ regenerate": "↻ 重新生成",
    "regenerate with this seed (a number from another shot or a note); empty: a new random one":
        "用这个种子重新生成（可填其他镜头或笔记里的数字）；留空则随机生成新种子",
    "size": "景别", "angle": "角度", "move": "运镜", "transition": "转场",
    # notes
    "runs director plan: writes the shot list, keeping locked shots": "运行 director plan：写出分镜表，保留锁定的镜头",
    "Plan the shots now": "立即规划镜头",
    "the cards show the plan a render would make; planning saves it so its shots can be edited here":
        "卡片显示渲染时会采用的规划；保存规划后即可在这里编辑镜头",
    "the screenplay changed since the shots were planned": "规划镜头之后剧本已修改",
    # the player and the references
    "The episode is not rendered yet: press Render episode.": "本集尚未渲染：请点击“渲染本集”。",
    "subtitles": "字幕", "the screenplay's picture": "剧本自带的图片", "Locked — unlock": "已锁定 — 解锁",
    "No generated reference sheets: every character and place has its own pictures.":
        "没有生成的参考图：每个角色和场景都有自己的图片。",
    "character": "角色", "location": "场景", "error": "错误", "back to the studio": "返回工作室",
    # said by the page's script
    "cannot reach the studio: is `director studio` still running?": "无法连接工作室：`director studio` 还在运行吗？",
    "starting…": "正在启动…", "select shots first": "请先选择镜头", "planning…": "规划中…",
    "rendering…": "渲染中…", "nothing to cancel": "没有可取消的任务", "render started": "开始渲染",
    "plan started": "开始规划", "render done": "渲染完成", "render failed": "渲染失败",
    "render cancelled": "已取消渲染", "plan done": "规划完成", "plan failed": "规划失败",
    "plan cancelled": "已取消规划", "waiting for": "等待进程", "a render is running:": "正在渲染：",
    "not saved: the screenplay still has": "未保存：剧本中仍是", "failed": "失败", "cancelling…": "正在取消…",
    "the studio answered HTTP": "工作室返回了 HTTP",
}
# the words the page's script says (sent with the page: the script has no table of its own)
SCRIPT_WORDS = ("cannot reach the studio: is `director studio` still running?", "starting…", "select shots first",
                "planning…", "rendering…", "nothing to cancel", "render started", "plan started", "render done",
                "render failed", "render cancelled", "plan done", "plan failed", "plan cancelled", "waiting for",
                "a render is running:", "not saved: the screenplay still has", "failed", "cancelling…",
                "the studio answered HTTP")


# why a shot must run again (each input's ``keyed`` reason, as ``status`` says it), in Chinese
REASONS_ZH = {
    "a character's description changed": "角色描述已修改", "a character's name changed": "角色名已修改",
    "action, speaker or emotion changed": "动作、说话人或情绪已修改", "camera angle changed": "机位角度已修改",
    "camera move changed": "运镜已修改", "character names changed": "角色名已修改", "characters changed": "入镜角色已修改",
    "clip changed": "视频片段已修改", "cue length changed": "配乐段长度已修改", "description changed": "描述已修改",
    "dialogue changed": "对白已修改", "dialogue timing changed": "对白时间已修改", "duration changed": "时长已修改",
    "emotion changed": "情绪已修改", "encoder settings changed": "编码设置已修改", "episode length changed": "本集时长已修改",
    "fades or look changed": "淡入淡出或画面风格已修改", "frame rate changed": "帧率已修改", "frame size changed": "画幅尺寸已修改",
    "keyframe changed": "关键帧已修改", "keyframe review changed": "关键帧审阅已修改", "language changed": "语言已修改",
    "line text changed": "台词已修改", "location changed": "场景已修改", "location description changed": "场景描述已修改",
    "minimum duration changed": "最短时长已修改", "mix changed": "混音已修改", "mix settings changed": "混音设置已修改",
    "mood changed": "配乐情绪已修改", "music changed": "配乐已修改", "music level changed": "配乐音量已修改",
    "name changed": "名称已修改", "negative prompt changed": "反向提示词已修改",
    "next shot's keyframe changed": "下一镜头的关键帧已修改", "parenthetical changed": "括注已修改",
    "prompt changed": "提示词已修改", "seed changed": "种子已修改", "segments changed": "成片片段已修改",
    "sheet kind changed": "参考图类型已修改", "shot length changed": "镜头时长已修改", "shot renamed": "镜头已重命名",
    "shot size changed": "景别已修改", "sound effect changed": "音效已修改", "sound effects changed": "音效已修改",
    "speaker changed": "说话人已修改", "style changed": "风格已修改", "subject changed": "主体已修改",
    "subtitle font changed": "字幕字体已修改", "subtitle style changed": "字幕样式已修改",
    "subtitle text or timing changed": "字幕文本或时间已修改", "subtitles changed": "字幕已修改",
    "the shot before changed": "前一镜头已修改", "time of day changed": "时间段已修改", "timing settings changed": "计时设置已修改",
    "voice changed": "配音已修改", "never rendered": "尚未渲染", "scenes or locations changed": "场次或场景已修改", "scene times changed": "场次时间已变",
}


def option_label(ui: str, field: str, value: str) -> str:
    """A shot field's value as the card's select shows it: ``特写 CU`` in Chinese, the code itself in English."""
    said = SHOT_WORDS_ZH.get(field, {}).get(value) if ui == "zh" else None
    return f"{said} {value}" if said else value


_WAITS = re.compile(r"on (\w+) (.+?), if that changes it")


def tr_reason(ui: str, why: str) -> str:
    """A re-run's reason in the studio's language: each known phrase (longest first: "dialogue timing changed"
    before "dialogue changed"), and "on timing one-03, if that changes it"; the rest as the library says it."""
    if ui != "zh":
        return why
    why = _WAITS.sub(lambda m: f"等待 {m[1]} {m[2]}（它若改变，此镜头随之重新渲染）", why)
    for phrase in sorted(REASONS_ZH, key=len, reverse=True):
        why = why.replace(phrase, REASONS_ZH[phrase])
    return re.sub(r"(?<=[\u4e00-\u9fff）]), ", "，", why)


def ui_language(screenplay_language: str | None, chosen: str | None = None) -> str:
    """The studio's language: the one chosen (``?ui=``, its cookie), else the screenplay's (zh-* is Chinese)."""
    if chosen in LANGUAGES:
        return chosen
    return "zh" if str(screenplay_language or "").lower().startswith("zh") else "en"


def tr(ui: str, text: str, **values) -> str:
    """``text`` in the studio's language (as it is where there is no translation); ``values`` fill its {names}."""
    said = ZH.get(text, text) if ui == "zh" else text
    return said.format(**values) if values else said


def escaped(ui: str):
    """``tr`` for a page: the words in the studio's language, escaped for HTML text and quoted attributes."""
    return lambda text, **values: html.escape(tr(ui, text, **values))


def script_words(ui: str) -> str:
    """The script's words as JSON for a ``<script type=application/json>`` ('</' escaped), or '' in English."""
    if ui != "zh":
        return ""
    return json.dumps({w: ZH[w] for w in SCRIPT_WORDS}, ensure_ascii=False).replace("</", "<\\/")
