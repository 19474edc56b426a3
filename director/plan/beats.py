"""The beat-anchored answer: the model judges the pictures, director keeps the books.

A small local model asked for a whole shot list drops lines, repeats beats, writes 0.5 s shots and
frames nobody while someone speaks (issue 21's measurements: 5 of 14 scene-runs usable). Here the
answer has one slot per picture beat of the scene (an action, a line, narration), in order, so the
answer's structure itself covers every beat exactly once -- under a grammar (llama.cpp, vLLM) the
model cannot do otherwise. Each slot either opens a new shot (who is in frame, size, angle, move, a
short prompt) or says ``"same"``: the beat plays in the shot already on screen. Everything that needs
no judgment is done here, the same way the rule planner does it:

- cues (music, sfx, cards, pauses) ride on the shot of the next picture beat, as in the rules;
- durations come from the timing estimates (speech or reading time), never from the model;
- the screenplay's own hints (a beat's ``shot`` and ``transition``) win over the answer;
- a silent opening shot of the episode is held to 3 s (the hook);
- a cut is made where the picture must change though the answer said "same": a line spoken on screen
  by someone not in frame (cut to the speaker), a beat at another place (an intercut), or a shot that
  would outstay short-drama pacing (a punch-in on the same framing).

Each such decision is named, so the plan record says which fields came from the model and which
from director.
"""
from __future__ import annotations

import re
from difflib import SequenceMatcher

from pydantic import BaseModel

from director.plan.agents import SAME, PlannedShot
from director.plan.durations import action_seconds, speech_seconds
from director.plan.rules import HOOK_SECONDS, INTENSE, MAX_SHOT_SECONDS, MIN_SHOT_SECONDS, mentioned, speaking
from director.screenplay import Beat, Scene, Screenplay
from director.vocab import NOT_ON_SCREEN, SIZES

CUT_AFTER_SECONDS = 6.0  # a "same" beat that would take the shot past this opens a new one (punch-in)


def picture_refs(sp: Screenplay, scene: Scene, free: list[str]) -> list[str]:
    """The free beats that get a slot: those with a picture of their own (not cues)."""
    beats = {sp.beat_ref(scene, i): b for i, b in enumerate(scene.beats)}
    return [ref for ref in free if not beats[ref].cue]


def beat_seconds(sp: Screenplay, beat: Beat) -> float:
    """Screen time a beat asks for, as the rule planner estimates it."""
    if beat.spoken is not None:
        return round(speech_seconds(beat.spoken.text, sp.language) + 0.8, 1)
    if beat.action is not None:
        return action_seconds(beat.action, sp.language)
    return 0.0


def tighter(size: str) -> str:
    """One step closer (MWS -> MS -> MCU ...; SIZES runs from the closest); ECU stays."""
    return SIZES[max(0, SIZES.index(size) - 1)]


def shots_from_beats(sp: Screenplay, scene: Scene, answer: BaseModel, free: list[str], opening: bool = False
                     ) -> tuple[list[PlannedShot], list[str]]:
    """(shots covering every free beat in order, what director decided rather than the model). ``opening``: the
    scene opens the episode, so its first shot, when silent, is held to the 3-second hook."""
    beats = {sp.beat_ref(scene, i): b for i, b in enumerate(scene.beats)}
    places = dict(zip((sp.beat_ref(scene, i) for i in range(len(scene.beats))), sp.beat_locations(scene)))
    slots = picture_refs(sp, scene, free)
    decided: list[str] = []
    shots: list[dict] = []  # PlannedShot fields plus "seconds", "place", "hint"

    def open_shot(ref: str, fields: dict) -> dict:
        shot = {**fields, "beats": [], "seconds": 0.0, "place": places[ref], "hint": None, "transition": "cut"}
        shots.append(shot)
        return shot

    previous = -1
    for n, ref in enumerate(slots, start=1):
        slot = getattr(answer, f"b{n}", None)
        beat = beats[ref]
        at = free.index(ref)
        cues = [beats[r] for r in free[previous + 1:at]]  # the cues that ride on this beat's shot
        previous = at
        current = shots[-1] if shots else None
        if isinstance(slot, BaseModel) or current is None:
            fields = slot.model_dump() if isinstance(slot, BaseModel) else _speaker_shot(sp, beat, None) \
                if beat.line else _place_shot(sp, beat, shots, places[ref], {"size": "WS"})
            if not isinstance(slot, BaseModel):
                decided.append(f"b{n} ({ref}): opens the scene with a new shot (the answer said {SAME!r})")
            current = open_shot(ref, fields)
        else:
            cut = _must_cut(sp, beat, cues, current, places[ref])
            if cut:
                kind, why = cut
                decided.append(f"b{n} ({ref}): cut -- {why}")
                here = current if current["place"] == places[ref] else None  # an intercut frames its own place
                framing = {"speaker": lambda: _speaker_shot(sp, beat, here),
                           "pace": lambda: _punch_in(current),
                           "hint": lambda: _same_framing(current),
                           "place": lambda: _place_shot(sp, beat, shots, places[ref], current)}[kind]()
                current = open_shot(ref, framing)
        current["beats"].append(ref)
        current["seconds"] += beat_seconds(sp, beat)
    for ref in free:  # cues: each rides on the shot of the next picture beat (or the last shot)
        if ref in slots:
            continue
        following = next((r for r in free[free.index(ref):] if r in slots), None)
        target = next((s for s in shots if following in s["beats"]), shots[-1] if shots else None)
        if target is not None and ref not in target["beats"]:
            target["beats"].append(ref)
    order = {r: i for i, r in enumerate(free)}
    out = []
    for shot in shots:
        shot["beats"].sort(key=order.__getitem__)
        for ref in shot["beats"]:
            _hints(shot, beats[ref])
        seconds = shot["hint"] if shot["hint"] is not None else \
            min(MAX_SHOT_SECONDS, max(MIN_SHOT_SECONDS, shot["seconds"]))
        if opening and not out and shot["hint"] is None and seconds > HOOK_SECONDS and \
                not any(beats[r].spoken for r in shot["beats"]):
            decided.append(f"the opening shot held to {HOOK_SECONDS:g} s (the hook), not {seconds:.1f} s")
            seconds = HOOK_SECONDS
        prompt = shot["prompt"].strip() or _describe(sp, shot, scene)
        out.append(PlannedShot(size=shot["size"], angle=shot["angle"], move=shot["move"], duration=round(seconds, 1),
                               characters=list(dict.fromkeys(shot["characters"])), prompt=prompt,
                               beats=shot["beats"], transition=shot["transition"]))
    return out, decided


def _must_cut(sp: Screenplay, beat: Beat, cues: list[Beat], current: dict, place: str) -> tuple[str, str] | None:
    """(kind, why) when a beat the answer kept in the current shot needs a cut; kind picks the new framing."""
    line = beat.line
    if line is not None and line.heard_as not in NOT_ON_SCREEN and line.who not in current["characters"]:
        return "speaker", f"{line.who} speaks on screen and is not in frame"
    if place != current["place"]:
        return "place", f"the beat is at {place}, the shot at {current['place']}"
    if any(b.transition is not None or b.shot is not None for b in (*cues, beat)):
        return "hint", "the script asks for a transition or a shot of its own here"
    if current["seconds"] + beat_seconds(sp, beat) > CUT_AFTER_SECONDS and current["seconds"] > 0:
        return "pace", f"the shot would run {current['seconds'] + beat_seconds(sp, beat):.1f} s"
    return None


def _place_shot(sp: Screenplay, beat: Beat, shots: list[dict], place: str, current: dict) -> dict:
    """The framing at the other place of an intercut: the speaker (a phone line is spoken there), who the action
    names, else whoever was last framed there."""
    who = [beat.line.who] if beat.line else mentioned(sp, beat.action) if beat.action else []
    if not who:
        who = next((list(s["characters"]) for s in reversed(shots) if s["place"] == place), [])
    return {"characters": who, "size": current["size"], "angle": "eye-level", "move": "static", "prompt": ""}


def _speaker_shot(sp: Screenplay, beat: Beat, current: dict | None) -> dict:
    """The rule planner's framing for a line: the speaker, CU when intense, else MCU; over the shoulder of
    whoever was in frame."""
    line = beat.line
    if line is None:
        return {"characters": [], "size": "WS", "angle": "eye-level", "move": "static", "prompt": ""}
    intense = (line.emotion or "").lower() in INTENSE
    others = [c for c in (current or {}).get("characters", []) if c != line.who][:1]
    return {"characters": [line.who, *others], "size": "CU" if intense else "MCU",
            "angle": "ots" if others else "eye-level", "move": "dolly-in" if intense else "static", "prompt": ""}


def _punch_in(current: dict) -> dict:
    return {"characters": list(current["characters"]), "size": tighter(current["size"]), "angle": current["angle"],
            "move": "static", "prompt": ""}  # director describes the tighter frame


def _same_framing(current: dict) -> dict:
    return {k: current[k] for k in ("characters", "size", "angle", "move")} | {"prompt": ""}


def _hints(shot: dict, beat: Beat) -> None:
    if beat.shot is not None:
        shot["size"] = beat.shot.size or shot["size"]
        shot["angle"] = beat.shot.angle or shot["angle"]
        shot["move"] = beat.shot.move or shot["move"]
        if beat.shot.duration is not None:
            shot["hint"] = beat.shot.duration
    if beat.transition is not None:
        shot["transition"] = beat.transition


def _describe(sp: Screenplay, shot: dict, scene: Scene) -> str:
    """A prompt for a shot director framed itself: who, at what size, doing what, where."""
    beats = {sp.beat_ref(scene, i): b for i, b in enumerate(scene.beats)}
    return describe(sp, scene, shot["size"], shot["angle"], shot["characters"], shot["place"],
                    [beats[r] for r in shot["beats"]])


def describe(sp: Screenplay, scene: Scene, size: str, angle: str, characters: list[str], place: str,
             beats: list[Beat]) -> str:
    """The rule planner's kind of prompt: size and angle, the people in frame as the bible describes them,
    what happens (the first action, or who speaks and how), the place and time."""
    from director.plan.rules import framing

    people = "; ".join(f"{sp.characters[c].name or c} ({sp.characters[c].description})"
                       for c in characters if c in sp.characters)
    action = next((b.action for b in beats if b.action), None)
    line = next((b.line for b in beats if b.line), None)
    what = action.rstrip(".") + "." if action else \
        speaking(sp.characters[line.who].name or line.who, line.emotion) + "." \
        if line and line.who in sp.characters else ""
    where = sp.locations[place].description if place in sp.locations else place
    return " ".join(p for p in (framing(size, angle), f"{people}." if people else "", what,
                                f"{where[:1].upper()}{where[1:]}, {scene.time}.") if p)


CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]+")


def _normal(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def _tokens(text: str) -> list[str]:
    """Latin words (lower case) and single CJK characters, in order: what quoting and naming are judged on."""
    out: list[str] = []
    for piece in re.findall(r"[^\W_]+", text.lower()):
        for part in re.split(f"({CJK_RUN.pattern})", piece):
            if CJK_RUN.fullmatch(part):
                out.extend(part)
            elif part:
                out.append(part)
    return out


def _names(word: str, tokens: list[str]) -> bool:
    """``word`` (a name or prop, Latin or CJK) appears in ``tokens`` as whole words / a run of characters."""
    want = _tokens(word)
    return bool(want) and any(tokens[i:i + len(want)] == want for i in range(len(tokens) - len(want) + 1))


def _quotes(line: str, prompt: str) -> bool:
    """The prompt carries a run of the line: 4 words or 6 CJK characters in a row (the whole line when it is
    shorter, but never a line under 3 words / 4 characters: "Stop!" is not quoted by a prompt saying stop)."""
    said, shown = _tokens(line), _tokens(prompt)
    cjk = sum(bool(CJK_RUN.fullmatch(w)) for w in said) > len(said) / 2
    floor, enough = (4, 6) if cjk else (3, 4)
    if len(said) < floor:
        return False
    need = min(len(said), enough)
    match = SequenceMatcher(None, said, shown, autojunk=False).find_longest_match(0, len(said), 0, len(shown))
    return match.size >= need


def _loops(prompt: str) -> bool:
    """The prompt says the same run twice (5 words or 8 CJK characters): a small model's decoding loop."""
    tokens = _tokens(prompt)
    n = 8 if sum(bool(CJK_RUN.fullmatch(w)) for w in tokens) > len(tokens) / 2 else 5
    runs = [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
    return len(set(runs)) < len(runs)


PRONOUNS = ("he", "she", "his", "her", "him", "they", "their", "them", "他", "她")


def _grounded(sp: Screenplay, characters: list[str], prompt: str) -> bool:
    """A prompt for a shot with people in frame names one of them (id or name) or refers to one ("she", "他")."""
    if not characters:
        return True
    tokens = _tokens(prompt)
    words = [w for c in characters if c in sp.characters for w in (c, sp.characters[c].name or c)]
    return any(_names(w, tokens) for w in words) or any(p in tokens for p in PRONOUNS)


def check_prompts(sp: Screenplay, scene: Scene, planned: list[PlannedShot], foreign: list[str] = ()
                  ) -> tuple[list[PlannedShot], list[str]]:
    """(shots, what was replaced): a prompt that cannot describe this shot is replaced by director's own
    description (``describe``) -- one naming something from the agent's worked example that this screenplay
    does not have (``foreign``: the example's names and props), one repeating an earlier shot's prompt of the
    scene, one quoting a spoken line instead of describing the picture, one caught in a decoding loop (the same
    run of words twice), one that names no one of those in frame, or an empty one. A small model copies
    its example and restates the dialogue; the keyframe model would draw exactly that."""
    beats = {sp.beat_ref(scene, i): b for i, b in enumerate(scene.beats)}
    places = dict(zip(beats, sp.beat_locations(scene)))
    ours = _tokens(" ".join([sp.title, sp.style.look or ""] + [f"{cid} {c.name or ''} {c.description}"
                                                                for cid, c in sp.characters.items()]
                            + [f"{lid} {loc.description}" for lid, loc in sp.locations.items()]
                            + [b.text for b in beats.values()]))
    alien = [w for w in foreign if _tokens(w) and not _names(w, ours)]
    spoken = [b.spoken.text for b in beats.values() if b.spoken is not None]
    seen: set[str] = set()
    out, fixes = [], []
    for n, shot in enumerate(planned, start=1):
        text = _normal(shot.prompt)
        why = None
        if not text:
            why = "it was empty"
        elif hits := [w for w in alien if _names(w, _tokens(shot.prompt))]:
            why = f"it named {', '.join(hits[:3])} from the worked example"
        elif text in seen:
            why = "it repeated an earlier shot's prompt"
        elif any(_quotes(s, shot.prompt) for s in spoken):
            why = "it quoted the dialogue instead of describing the picture"
        elif _loops(shot.prompt):
            why = "it said the same thing twice (a decoding loop)"
        elif not _grounded(sp, shot.characters, shot.prompt):
            why = "it names no one in frame"
        seen.add(text)
        if why:
            place = next((places[r] for r in shot.beats if not beats[r].cue), scene.location)
            shot = shot.model_copy(update={"prompt": describe(sp, scene, shot.size, shot.angle, shot.characters, place,
                                                              [beats[r] for r in shot.beats])})
            fixes.append(f"shot {n}: director's prompt ({why})")
        out.append(shot)
    return out, fixes
