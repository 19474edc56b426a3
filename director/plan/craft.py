"""A craft score for any shot list, computed the same way for every planner (rules, LLM, a hand edit).

Each part is 0-1 and says what a short-drama editor would look for first; the total is their mean.
The norms are stated, not measured here: feature films average about 4 s a shot by the 2010s (Cutting
& Candan 2015, "Shot durations, shot classes, and the increased pace of popular movies", Projections
9(2)) and vertical short dramas cut faster, so 1.5-4 s counts as on pace; a hook is something tight
or moving within the first 3 s (the platforms' swipe-away window).

- ``variety``: how many shot sizes the episode uses (4 or more distinct sizes: 1);
- ``hook``: the opening shot is short (<= 3 s) and tight, moving or speaking;
- ``emotion_closeups``: intense lines (angry, shocked, crying...) shown in a close shot (ECU-MCU);
- ``reactions``: after a line with an emotion, the next shot shows someone else (the listener);
- ``pace``: average shot length within 1.5-4 s (falling to 0 at 8 s or at 0.5 s);
- ``ots_pairs``: an over-the-shoulder shot answered by its reverse (the same two, swapped), which keeps
  the 180-degree line.
"""
from __future__ import annotations

from director.plan.rules import INTENSE
from director.screenplay import Screenplay
from director.shots import Shot

CLOSE = ("ECU", "CU", "MCU")
CRAFT_FLOOR = 0.5  # an LLM plan scoring under this is asked for once more (llm.improve_craft)
PARTS = ("variety", "hook", "emotion_closeups", "reactions", "pace", "ots_pairs")


def craft_score(sp: Screenplay, shots: list[Shot]) -> dict:
    """{part: 0-1 or None where the episode gives it nothing to judge, ..., "total": mean of the rest}."""
    if not shots:
        return {**dict.fromkeys(PARTS), "total": 0.0}
    lines = {ref: beat.line for ref, _, beat in sp.beats() if beat.line is not None}
    out: dict[str, float | None] = {"variety": min(1.0, len({s.size for s in shots}) / 4)}
    first = shots[0]
    opening_line = any(r in lines for r in first.beats)
    out["hook"] = float(first.duration <= 3.0) * (1.0 if (first.size in CLOSE or first.move != "static"
                                                          or opening_line) else 0.5)
    intense = [(s, r) for s in shots for r in s.beats if r in lines and (lines[r].emotion or "").lower() in INTENSE]
    out["emotion_closeups"] = (sum(s.size in CLOSE for s, _ in intense) / len(intense)) if intense else None
    felt = [i for i, s in enumerate(shots[:-1]) if any(r in lines and lines[r].emotion for r in s.beats)]
    out["reactions"] = (sum(set(shots[i + 1].characters) - {lines[r].who for r in shots[i].beats if r in lines}
                            != set() for i in felt) / len(felt)) if felt else None
    average = sum(s.duration for s in shots) / len(shots)
    out["pace"] = 1.0 if 1.5 <= average <= 4.0 else max(0.0, (8.0 - average) / 4.0 if average > 4.0
                                                        else (average - 0.5) / 1.0)
    ots = [i for i, s in enumerate(shots) if s.angle == "ots" and len(s.characters) >= 2]
    answered = [i for i in ots if any(shots[j].angle == "ots" and shots[j].scene == shots[i].scene
                                      and shots[j].characters[:2] == shots[i].characters[1::-1]
                                      for j in (i - 1, i + 1) if 0 <= j < len(shots))]
    out["ots_pairs"] = len(answered) / len(ots) if ots else None
    judged = [v for v in out.values() if v is not None]
    out["total"] = round(sum(judged) / len(judged), 3)
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in out.items()}


def craft_findings(sp: Screenplay, shots: list[Shot], opening: bool = False) -> list[str]:
    """What a short-drama editor would change in these shots (one scene's), as sentences a model can act on:
    the parts of ``craft_score`` under 0.6 (the hook only for the episode's ``opening`` scene)."""
    score = craft_score(sp, shots)
    lines = {ref: beat.line for ref, _, beat in sp.beats() if beat.line is not None}
    out = []
    if score["variety"] is not None and score["variety"] < 0.6:
        sizes = sorted({s.size for s in shots})
        out.append(f"it uses {len(sizes)} shot size(s) ({', '.join(sizes)}): vary them -- a wide to place the "
                   "scene, mediums, close-ups (CU, MCU) for emotion")
    if opening and score["hook"] is not None and score["hook"] < 0.6:
        out.append("the episode opens here: the first shot must hook within 3 seconds -- at most 3 s long, and "
                   "tight (CU/MCU), moving, or someone speaking")
    if score["emotion_closeups"] is not None and score["emotion_closeups"] < 0.6:
        refs = [r for s in shots for r in s.beats if r in lines and (lines[r].emotion or "").lower() in INTENSE
                and s.size not in CLOSE]
        out.append(f"intense lines ({', '.join(refs)}) should be in a close shot (CU or MCU)")
    if score["reactions"] is not None and score["reactions"] < 0.6:
        out.append("after a line that lands with emotion, cut to the listener's reaction")
    if score["pace"] is not None and score["pace"] < 0.6:
        average = sum(s.duration for s in shots) / len(shots)
        out.append(f"the average shot lasts {average:.1f} s; short dramas cut every 1.5-4 s")
    if score["ots_pairs"] is not None and score["ots_pairs"] < 0.6:
        out.append("answer an over-the-shoulder (ots) shot with its reverse: the same two characters, swapped")
    return out
