"""The rule-based planner: deterministic coverage a storyboard artist would start from.

- a scene opens on an establishing shot (its first action, or a plate when it opens on dialogue);
- every line gets the speaker framed by emotion (MCU, CU when intense), over-the-shoulder when
  the conversation turns to another speaker;
- action beats are wider shots with a camera move that fits the verbs;
- narration and V.O. lines play over the current picture, or a cutaway of the location;
- the episode's first shot, when silent, lasts at most 3 s (the hook);
- a speech expected to run past 6 s is a slow push-in, not a still held over it;
- music and sfx cues ride on the shot that shows the next beat; ``shot`` hints and
  ``transition`` on a beat are honoured by the shot that covers it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from director.plan.durations import action_seconds, speech_seconds
from director.screenplay import Beat, Scene, Screenplay
from director.shots import Shot, shot_seed
from director.vocab import OUTDOOR_WORDS, shown_emotion

INTENSE = {"angry", "furious", "shocked", "terrified", "scared", "breathless", "desperate", "screaming",
           "shouting", "crying", "panicked", "horrified", "enraged", "sobbing", "pleading"}
REVEAL_WORDS = ("face", "pale", "eyes", "opens", "reveal", "stares", "realizes", "realises", "sees", "tears")
MOVE_WORDS = [
    (("chase", "fight", "struggle", "stumbles", "shakes"), "handheld"),
    (("sprint", "runs", "racing", "races", "rushes", "dashes", "flees"), "truck-left"),
    (("enters", "approaches", "steps in", "walks in"), "pan-right"),
    (("leaves", "walks away", "exits", "turns away"), "dolly-out"),
    (("falls", "collapses", "kneels", "sinks"), "crane-down"),
    (("rises", "stands up", "looks up", "climbs"), "tilt-up"),
    (("waits", "sits", "stands", "watches"), "zoom-in"),
]
SIZE_WORDS = {"ECU": "Extreme close-up", "CU": "Close-up", "MCU": "Medium close-up", "MS": "Medium shot",
              "MWS": "Medium wide shot", "WS": "Wide shot", "EWS": "Extreme wide shot"}
EXTERIOR_WORDS = OUTDOOR_WORDS  # (vocab): the mix's street ambience reads the same words
ESTABLISHING_SECONDS = 2.0
HOOK_SECONDS = 3.0  # the episode's first shot, when nobody speaks in it (the platforms' swipe-away window)
# a face held longer than this over one speech is not left frozen: the camera pushes in slowly (a vertical drama's
# shots average 2-3 s; a 10 s static close-up over a long line read as a stalled picture)
LONG_HOLD_SECONDS = 6.0
MIN_SHOT_SECONDS, MAX_SHOT_SECONDS = 1.5, 12.0  # a planned shot's bounds (the LLM planner's too)


def framing(size: str, angle: str) -> str:
    """How a planned prompt opens: "Medium close-up, eye-level."."""
    return f"{SIZE_WORDS.get(size, size)}, {angle}."


def reframed(prompt: str, before: tuple[str, str], after: tuple[str, str]) -> str:
    """``prompt`` opening with the framing of ``after`` (size, angle) where it opens with that of ``before``: a size
    set by hand left "Medium close-up, eye-level." at the head of a close-up's prompt, and the model was told both."""
    said = framing(*before)
    return framing(*after) + prompt[len(said):] if prompt.startswith(said) else prompt


def people_of(sp: Screenplay, characters: list[str]) -> str:
    """What a shot's prompt says of who is in it (after its framing): "Mia (courier, …); Ren (tall man …)."."""
    known = [c for c in characters if c in sp.characters]
    return "; ".join(f"{sp.characters[c].name or c} ({sp.characters[c].description})" for c in known) + "." \
        if known else ""


def recast(prompt: str, sp: Screenplay, framed: str, before: list[str], after: list[str]) -> str:
    """``prompt`` naming ``after``'s characters where, right after its framing sentence ``framed``, it names
    ``before``'s as the planner wrote them: a cast set by hand left the prompt describing the old one."""
    if not prompt.startswith(framed) or any(c not in sp.characters for c in before):
        return prompt  # (a character the screenplay no longer has: what the planner wrote of them is not known)
    rest, old, new = prompt[len(framed):], people_of(sp, before), people_of(sp, after)
    if old and rest.startswith(" " + old):
        rest = rest[len(old) + 1:]
    elif old:  # the planner's words were edited by hand: they are the user's
        return prompt
    return framed + (" " + new if new else "") + rest


def _introduces(beat: Beat) -> bool:
    """A card that introduces a character (its name and role): it belongs over a shot of them."""
    return beat.card is not None and beat.card.kind == "intro"


@dataclass
class _Draft:
    scene: str
    size: str
    angle: str = "eye-level"
    move: str = "static"
    characters: list[str] = field(default_factory=list)
    beats: list[str] = field(default_factory=list)
    seconds: float = 0.0
    what: str = ""
    kind: str = "action"
    transition: str = "cut"
    hint_duration: float | None = None
    location: str = ""


def mentioned(sp: Screenplay, text: str) -> list[str]:
    """Characters named in a piece of action, in screenplay order."""
    lowered = text.lower()
    out = []
    for cid, char in sp.characters.items():
        names = {cid.lower(), (char.name or cid).lower()}
        if any(re.search(rf"(?<![\w]){re.escape(n)}(?![\w])", lowered) or (n and not n.isascii() and n in lowered)
               for n in names if n):
            out.append(cid)
    return out


def move_for(text: str, default: str = "static") -> str:
    lowered = text.lower()
    for words, move in MOVE_WORDS:
        if any(w in lowered for w in words):
            return move
    return default


def is_exterior(description: str) -> bool:
    lowered = description.lower()
    return any(w in lowered for w in EXTERIOR_WORDS)


# deliveries heard, not seen: a V.O. plays over the picture (a voice from elsewhere, a narrating character): its
# speaker drawn talking on screen was the importer audit's "Ghost speaks" shot
UNSEEN = {"os": "off screen", "phone": "on the phone", "radio": "over the radio", "vo": "in voice-over"}


class RulePlanner:
    """Screenplay -> shots, scene by scene, deterministically."""

    name = "rules"

    def __init__(self, sp: Screenplay, episode: str):
        self.sp = sp
        self.episode = episode

    def plan_scene(self, scene: Scene, skip: set[str] = frozenset(), opening: bool = True) -> list[Shot]:
        drafts: list[_Draft] = []
        pending: list[tuple[str, Beat]] = []
        last_speaker: str | None = None
        places = self.sp.beat_locations(scene)
        speaker_place: dict[str, str] = {}
        for i, beat in enumerate(scene.beats):
            ref = self.sp.beat_ref(scene, i)
            if ref in skip:
                continue
            if beat.cue:
                if not pending and self._after_action(scene, i, drafts):
                    # a sound right after an action is that action's (the door of "she walks in"): on its shot,
                    # not under the next line (the footsteps fired under her first words, her entrance silent);
                    # music and sounds after the opening action start with the episode (its hook was silent)
                    drafts[-1].beats.append(ref)
                    self._apply_hints(drafts[-1], beat)
                    continue
                pending.append((ref, beat))
                continue
            place = places[i]
            over = beat.kind == "narration" or (beat.line is not None and beat.line.heard_as == "vo")
            unseen = scene.unseen(beat)
            fits = (over or unseen) and bool(drafts) and beat.transition is None and drafts[-1].location == place \
                and drafts[-1].seconds + self._speech(beat) <= MAX_SHOT_SECONDS
            if fits and ((over and drafts[-1].kind == "action") or
                         (unseen and drafts[-1].kind == "heard" and beat.line.who not in drafts[-1].characters)):
                target = drafts[-1]  # narration and V.O. over the current picture; voices off screen over their own
                target.seconds += self._speech(beat)
            else:
                if beat.kind == "line" and opening and not drafts:
                    drafts.append(self._establishing(scene, place))
                    # the sounds the scene opens on play over its first picture (the thunder came after 2 s of room
                    # tone, under the hook line); a character's intro card, and what the writer put after it, wait
                    # for the shot that shows them (顾氏集团总裁 was shown over the empty hall, gone before 顾言
                    # appeared)
                    first = next((k for k, (_, cue) in enumerate(pending) if _introduces(cue)), len(pending))
                    for cue_ref, cue in pending[:first]:
                        drafts[-1].beats.append(cue_ref)
                        self._apply_hints(drafts[-1], cue)
                    del pending[:first]
                # a conversation across places (intercut) never frames the other party over the shoulder
                partner = last_speaker if last_speaker and speaker_place.get(last_speaker) == place else None
                if unseen:  # who hears it: the last speaker here, else whoever the picture last showed here
                    seen = [c for c in (drafts[-1].characters if drafts and drafts[-1].location == place else [])
                            if c != beat.line.who]
                    partner = partner if partner and partner != beat.line.who else (seen[0] if seen else None)
                target = self._draft(scene, beat, opening and not drafts, partner, place)
                drafts.append(target)
            for cue_ref, cue in pending:
                target.beats.append(cue_ref)
                self._apply_hints(target, cue)
            pending.clear()
            target.beats.append(ref)
            self._apply_hints(target, beat)
            if beat.line is not None and not unseen:  # a voice off screen is no one's partner
                last_speaker = beat.line.who
                speaker_place[last_speaker] = place
        if pending:
            if not drafts:
                drafts.append(self._establishing(scene, places[0] if places else scene.location))
            for cue_ref, cue in pending:
                drafts[-1].beats.append(cue_ref)
                self._apply_hints(drafts[-1], cue)
        if opening and drafts and scene is self.sp.scenes[0] and drafts[0].hint_duration is None and \
                drafts[0].seconds > HOOK_SECONDS and not any(scene.beats[beat_index(r) - 1].spoken is not None
                                                             for r in drafts[0].beats):
            drafts[0].seconds = HOOK_SECONDS  # the episode's silent first shot: the hook, inside the swipe window
        return [self._shot(scene, d) for d in drafts]

    def _after_action(self, scene: Scene, i: int, drafts: list[_Draft]) -> bool:
        """Whether cue ``i`` (a sound, or music starting) follows an action the last draft shows, with only such
        cues between them. A music stop, a card or a pause still waits for the next picture."""
        beat = scene.beats[i]
        sounds = (beat.sfx is not None or (beat.music is not None and not beat.music.stop))
        if beat.transition is not None or beat.shot is not None:  # its hints are the next shot's (a transition
            return False  # starts a new shot; an ECU hint turned the action's wide shot into one)
        if not sounds or not drafts or drafts[-1].kind != "action":
            return False
        j = i - 1
        while j >= 0 and scene.beats[j].cue and (scene.beats[j].sfx is not None or scene.beats[j].music is not None):
            j -= 1
        return j >= 0 and scene.beats[j].action is not None and self.sp.beat_ref(scene, j) in drafts[-1].beats

    # ------------------------------------------------------------------ drafting
    def _speech(self, beat: Beat) -> float:
        return round(speech_seconds(beat.spoken.text, self.sp.language) + 0.8, 1)

    def _establishing(self, scene: Scene, place: str) -> _Draft:
        location = self.sp.locations[place]
        exterior = is_exterior(location.description)
        return _Draft(scene.id, "EWS" if exterior else "WS", move="crane-down" if exterior else "pan-right",
                      seconds=ESTABLISHING_SECONDS, what="establishing", kind="establishing", location=place)

    def _draft(self, scene: Scene, beat: Beat, first: bool, last_speaker: str | None, place: str) -> _Draft:
        draft = self._draft_at(scene, beat, first, last_speaker, place)
        draft.location = place
        if draft.kind in ("line", "heard") and draft.move == "static" and draft.seconds > LONG_HOLD_SECONDS:
            draft.move = "dolly-in"  # a long speech: a slow push on the face, not a still (a hint still wins)
        return draft

    def _draft_at(self, scene: Scene, beat: Beat, first: bool, last_speaker: str | None, place: str) -> _Draft:
        if beat.line is not None and scene.unseen(beat):  # the picture holds on who hears it
            # the speaker is not named in the prompt: an image model draws whoever a prompt names
            heard = f"a voice heard {UNSEEN[beat.line.heard_as]}"
            listener = last_speaker if last_speaker != beat.line.who else None
            if listener is None:
                return _Draft(scene.id, "MWS", kind="heard", seconds=self._speech(beat), what=f"the room; {heard}")
            return _Draft(scene.id, "MCU", characters=[listener], kind="heard", seconds=self._speech(beat),
                          what=f"{self.sp.characters[listener].name or listener} listens to {heard}")
        if beat.line is not None:
            who = beat.line.who
            intense = (beat.line.emotion or "").lower() in INTENSE
            draft = _Draft(scene.id, "CU" if intense else "MCU", characters=[who], kind="line",
                           seconds=self._speech(beat), move="dolly-in" if intense else "static")
            if last_speaker and last_speaker != who:
                draft.angle, draft.characters = "ots", [who, last_speaker]
            draft.what = speaking(self.sp.characters[who].name or who, beat.line.emotion)
            return draft
        if beat.narration is not None:
            return _Draft(scene.id, "EWS", move="dolly-out", seconds=self._speech(beat), kind="narration",
                          what="cutaway of the location")
        text = beat.action or ""
        who = mentioned(self.sp, text)
        lowered = text.lower()
        if first:
            exterior = is_exterior(self.sp.locations[place].description)
            size = "WS" if who else ("EWS" if exterior else "WS")
            move = move_for(text, "crane-down" if exterior else "pan-right")
        elif any(w in lowered for w in REVEAL_WORDS):
            size, move = "CU", "dolly-in"
            who = who[:1]
        else:
            size = "MWS" if len(who) <= 1 else "WS"
            move = move_for(text)
        return _Draft(scene.id, size, move=move, characters=who, seconds=action_seconds(text, self.sp.language),
                      what=text, kind="action")

    @staticmethod
    def _apply_hints(draft: _Draft, beat: Beat) -> None:
        if beat.shot is not None:
            hint = beat.shot
            draft.size = hint.size or draft.size
            draft.angle = hint.angle or draft.angle
            draft.move = hint.move or draft.move
            if hint.duration is not None:
                draft.hint_duration = hint.duration
        if beat.transition is not None:
            draft.transition = beat.transition

    def _prompt(self, scene: Scene, d: _Draft) -> str:
        location = self.sp.locations[d.location or scene.location]
        people = people_of(self.sp, d.characters)
        parts = [framing(d.size, d.angle)]
        if people:
            parts.append(people)
        if d.what:
            parts.append(_sentence(d.what))
        place = location.description[:1].upper() + location.description[1:]
        # the time in the prompt's words (深夜: night; CONTINUOUS: the scene before's), as the keyframes' light is
        parts.append(f"{place.rstrip('.。')}, {self.sp.scene_time(scene)}.")
        if scene.description.strip():  # what this scene adds to its place (papers on the floor after the raid)
            parts.append(_sentence(scene.description))
        return " ".join(parts)

    def _shot(self, scene: Scene, d: _Draft) -> Shot:
        seconds = d.hint_duration if d.hint_duration is not None else min(MAX_SHOT_SECONDS, max(MIN_SHOT_SECONDS, d.seconds))
        return Shot(id="", scene=scene.id, size=d.size, angle=d.angle, move=d.move, duration=round(seconds, 1),
                    characters=d.characters, prompt=self._prompt(scene, d), beats=d.beats, transition=d.transition,
                    location=d.location if d.location and d.location != scene.location else None)


def _sentence(text: str) -> str:
    """``text`` ended as a sentence, once: a Chinese action keeps its 。(it read "盯着手机屏幕。.")."""
    text = text.strip()
    return text if text.endswith((".", "。", "!", "！", "?", "？", "…")) else text + "."


def beat_index(ref: str) -> int:
    return int(ref.rsplit("/", 1)[1])


def speaking(name: str, emotion: str | None) -> str:
    """What a prompt says of a line: "Ren speaks, cold" (``line --emotion`` rewords it in a kept shot list); an
    emotion the vocabulary does not know is not said."""
    emotion = shown_emotion(emotion)
    return f"{name} speaks" + (f", {emotion}" if emotion else "")


def merge_locked(sp: Screenplay, episode: str, planner, locked: list[Shot]) -> tuple[list[Shot], list[str]]:
    """Plan every scene around the user's locked shots; return (shots, notes for the user)."""
    notes: list[str] = []
    existing = {ref for ref, _, _ in sp.beats()}
    kept: list[Shot] = []
    claimed: set[str] = set()
    scenes = {s.id for s in sp.scenes}
    for shot in locked:
        if shot.scene not in scenes:
            notes.append(f"locked shot {shot.id} dropped: its scene {shot.scene!r} is gone from the screenplay")
            continue
        gone = [b for b in shot.beats if b not in existing or b in claimed]
        if gone:
            notes.append(f"locked shot {shot.id}: no longer covers {', '.join(gone)} (changed in the screenplay)")
        beats = [b for b in shot.beats if b in existing and b not in claimed]
        claimed.update(beats)
        kept.append(shot.model_copy(update={"beats": beats}))
    out: list[Shot] = []
    for scene in sp.scenes:
        mine = [s for s in kept if s.scene == scene.id]
        taken = {b for s in mine for b in s.beats}
        first_free = next((i for i in range(len(scene.beats)) if sp.beat_ref(scene, i) not in taken), None)
        first_taken = min((beat_index(b) - 1 for b in taken), default=None)
        opening = first_taken is None or (first_free is not None and first_free < first_taken)
        fresh = planner.plan_scene(scene, skip=taken, opening=opening)
        out.extend(_interleave(scene, fresh, mine, episode))
    return out, notes


def _interleave(scene: Scene, fresh: list[Shot], locked: list[Shot], episode: str) -> list[Shot]:
    """Order shots by the first beat they cover; give new shots ids that do not clash."""
    def key(shot: Shot, fallback: float) -> float:
        return min((beat_index(b) for b in shot.beats), default=fallback)

    ordered: list[tuple[float, int, Shot]] = []
    for n, shot in enumerate(fresh):
        following = next((key(s, 1e9) for s in fresh[n:] if s.beats), 1e9)
        ordered.append((key(shot, following - 0.5), 1, shot))
    for n, shot in enumerate(locked):
        ordered.append((key(shot, n - 0.25), 0, shot))
    ordered.sort(key=lambda t: (t[0], t[1]))
    used = {s.id for s in locked}
    result, counter = [], 0
    for _, is_fresh, shot in ordered:
        if is_fresh:
            counter += 1
            while f"{scene.id}-{counter:02d}" in used:
                counter += 1
            shot_id = f"{scene.id}-{counter:02d}"
            used.add(shot_id)
            shot = shot.model_copy(update={"id": shot_id, "seed": shot_seed(episode, shot_id)})
        result.append(shot)
    return result
