"""Synthetic episodes of a given number of shots or length, in English or Chinese."""
from __future__ import annotations

from pathlib import Path

import yaml

EN_LINES = ["Where were you last night?", "I told you not to call me here.", "The parcel never arrived.",
            "You think I don't know what you did?", "Give me one more day.", "It was never about the money.",
            "Then who sent it?", "Keep your voice down."]
ZH_LINES = ["你昨晚去哪儿了？", "我说过不要在这里给我打电话。", "那个包裹根本没有送到。", "你以为我不知道你做了什么吗？",
            "再给我一天时间。", "这从来都不是钱的问题。", "那是谁寄来的？", "小声点，有人在听。"]


def write_episode(folder: Path, lines: int, language: str = "en", size: tuple[int, int] = (1080, 1920),
                  scenes: int = 4) -> Path:
    """An episode with ``lines`` dialogue lines over ``scenes`` scenes (about one shot per line)."""
    zh = language.startswith("zh")
    pool = ZH_LINES if zh else EN_LINES
    per_scene = max(1, lines // scenes)
    out_scenes = []
    n = 0
    for s in range(scenes):
        beats: list[dict] = [{"action": "小雨推门而入。" if zh else "Mia pushes the door open."}]
        if s == 0:
            beats.append({"music": {"mood": "tense"}})
        count = per_scene if s < scenes - 1 else lines - n
        for i in range(count):
            who = "mia" if (n + i) % 2 == 0 else "ren"
            beats.append({"line": {"who": who, "text": pool[(n + i) % len(pool)],
                                   "emotion": ["cold", "defiant", "scared", "calm"][(n + i) % 4]}})
        n += count
        out_scenes.append({"id": f"s{s + 1}", "location": "alley" if s % 2 == 0 else "office",
                           "time": "night", "beats": beats})
    data = {
        "title": "基准测试" if zh else "Benchmark", "language": language,
        "format": {"aspect": "9:16", "width": size[0], "height": size[1], "fps": 24},
        "style": {"look": "rainy neon night", "negative": "blurry"},
        "characters": {"mia": {"name": "小雨" if zh else "Mia", "description": "woman courier, yellow raincoat"},
                       "ren": {"name": "陈总" if zh else "Ren", "description": "tall man in a grey suit"}},
        "locations": {"alley": {"description": "narrow alley under neon signs"},
                      "office": {"description": "dim office, rain on the window"}},
        "scenes": out_scenes,
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "screenplay.yaml").write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    (folder / "director.yaml").write_text("episodes: [screenplay.yaml]\n")
    return folder
