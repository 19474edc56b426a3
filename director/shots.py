"""The shot list (docs/architecture.md): pydantic models, the plan rules every planner must meet, file IO."""
from __future__ import annotations

import hashlib
import json
import re
import zlib
from pathlib import Path
from types import SimpleNamespace

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from director.errors import ScreenplayError
from director.ids import id_problem
from director.screenplay import Angle, Move, Screenplay, Size, Transition, pydantic_problems
from director.store.files import atomic_write_text
from director.vocab import NOT_ON_SCREEN, did_you_mean
from director.yamlpos import load_yaml

MIN_SHOT, MAX_SHOT = 0.5, 60.0
SHOTS_VERSION = 1


class Shot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="unique shot id, e.g. arrival-01")
    scene: str = Field(description="id of the scene the shot belongs to")
    size: Size = Field(description="shot size: ECU CU MCU MS MWS WS EWS")
    angle: Angle = Field(default="eye-level", description="camera angle")
    move: Move = Field(default="static", description="camera move")
    duration: float = Field(ge=MIN_SHOT, le=MAX_SHOT, description="planned duration in seconds")
    characters: list[str] = Field(default_factory=list, description="character ids in frame")
    prompt: str = Field(default="", description="what the frame shows")
    beats: list[str] = Field(default_factory=list, description="beats covered, as scene-id/N")
    transition: Transition = Field(default="cut", description="how this shot enters from the previous one")
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    locked: bool = Field(default=False, description="keep this shot as it is when re-planning")
    location: str | None = Field(default=None, description="where the shot is, when not its scene's location "
                                 "(an intercut or a beat's own location)")
    talking: bool | None = Field(default=None, description="a talking shot: a line plays over it and the speaker's "
                                 "face is on screen (unset: decided from the framing; true/false overrules)")

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        problem = id_problem(value) if value else None  # planners fill in empty ids
        if problem:
            raise ValueError(f"shot id {value[:80]!r} {problem}")
        return value

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, value: str) -> str:
        import unicodedata
        bad = next((c for c in value if unicodedata.category(c) == "Cc" and c not in "\n\t"), None)
        if bad is not None:  # an escape sequence would reach terminals, the studio and the image model's prompt
            raise ValueError(f"the prompt contains the control character U+{ord(bad):04X}; remove it")
        return value

    @field_validator("duration", "seed", mode="before")
    @classmethod
    def _number(cls, value):
        if isinstance(value, bool):  # YAML's true/false/yes/no: pydantic would take them as 1 and 0
            raise ValueError(f"{str(value).lower()} is not a number")
        return value


class ShotList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(SHOTS_VERSION, description="the shot list's format")
    episode: str
    screenplay: str = Field(description="digest of the screenplay this list was planned from")
    planner: str = "rules"
    shots: list[Shot] = Field(default_factory=list)

    @field_validator("version")
    @classmethod
    def _version(cls, value: int) -> int:
        if not 1 <= value <= SHOTS_VERSION:
            raise ValueError(f"version {value} is not a shot list format this director reads (1 to {SHOTS_VERSION}): "
                             "a newer director wrote it, or it was edited; update director, or delete the file and "
                             "plan again")
        return value


def shot_seed(episode: str, shot_id: str) -> int:
    """A stable default seed per shot, so re-planning does not re-render unchanged shots."""
    return zlib.crc32(f"{episode}:{shot_id}".encode()) & 0x7FFFFFFF


def legacy_screenplay_digest(sp: Screenplay) -> str | None:
    """The digest director wrote before the format had cards, pauses, intercuts, flashbacks and overlaps (every
    field dumped), for a screenplay that uses none of them: shot lists planned then stay current."""
    data = sp.model_dump(mode="json")

    def drop(node: dict, fields: dict) -> bool:
        for key, default in fields.items():
            if node.get(key, default) != default:
                return False
            node.pop(key, None)
        return True
    for scene in data.get("scenes", []):
        if not drop(scene, {"intercut": None, "flashback": False}):
            return None
        for beat in scene.get("beats", []):
            if not drop(beat, {"card": None, "pause": None, "location": None}) or \
                    (beat.get("line") and not drop(beat["line"], {"overlap": None})):
                return None
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def planned_from(shot_list, sp: Screenplay) -> bool:
    """Was this shot list planned from this screenplay (by this director or one before the format grew)?"""
    return shot_list.screenplay in (plan_digest(sp, shot_list.planner), plan_digest(sp), screenplay_digest(sp),
                                    legacy_screenplay_digest(sp))


# What planners never read, so that a change to it keeps the shot list and its hand edits (a re-plan replaced them,
# backed up): no planner reads a voice, a reference picture, the frame format or the narrator's voice; the rule
# planner reads no title or look either (the keyframes add the look), where the LLM planner is asked with both.
NOT_READ = ("id", "series", "format", "narrator", "license_ack")
NOT_READ_BY = {"rules": ("title", "style")}
NOT_READ_OF = ("voice", "refs")  # of a character or a place


def scene_cast(data: dict, words: bool = True) -> tuple[set[str], set[str]]:
    """(character ids, location ids) a dumped screenplay's scenes name: by id, a character by name in any text too,
    and with ``words`` by its id or name as a word in any case, as the rule planner finds one in an action ("...the
    Cat."; the digest before that missed those: a change to such a character kept a stale plan)."""
    blob = json.dumps(data.get("scenes", []), ensure_ascii=False)
    lowered = blob.lower()

    def named(cid: str, c: dict) -> bool:
        if f'"{cid}"' in blob or (c.get("name") and c["name"] in blob):
            return True
        return words and any(re.search(rf"(?<!\w){re.escape(n)}(?!\w)", lowered)
                             for n in {cid.lower(), str(c.get("name") or "").lower()} if n)

    return ({cid for cid, c in (data.get("characters") or {}).items() if named(cid, c or {})},
            {lid for lid in (data.get("locations") or {}) if f'"{lid}"' in blob})


def plan_digest(sp: Screenplay, planner: str | None = None) -> str:
    """What a shot list is planned from: the screenplay with only the characters and places its scenes name (by
    id, or a character by name in any text). A series bible's change to a character an episode never names does
    not re-plan that episode, which threw away the hand edits in its shot list. With ``planner``: only what that
    planner reads (``NOT_READ``), the digest new plans carry; without, the one plans carried before (accepted)."""
    data = sp.model_dump(mode="json", exclude_defaults=True)
    if planner is not None:
        for key in NOT_READ + NOT_READ_BY.get(planner, ()):
            data.pop(key, None)
    characters, locations = scene_cast(data, words=planner is not None)
    data["characters"] = {cid: c for cid, c in data.get("characters", {}).items() if cid in characters}
    data["locations"] = {lid: place for lid, place in data.get("locations", {}).items() if lid in locations}
    if planner is not None:
        for table in (data["characters"], data["locations"]):
            for key, entry in table.items():
                table[key] = {k: v for k, v in entry.items() if k not in NOT_READ_OF}
    mark = "p" if planner is None else "q"  # never equal to the digest of the whole screenplay
    return mark + hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:15]


def screenplay_digest(sp: Screenplay) -> str:
    """What the shot list was planned from. Fields at their defaults are left out, so a screenplay reads the same
    to a newer director that added fields (cards, intercut...): upgrading never re-plans anyone's shot list."""
    blob = json.dumps(sp.model_dump(mode="json", exclude_defaults=True), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


FACE_SIZES = ("ECU", "CU", "MCU", "MS")  # framings that show a face well enough to read lips


def talking_speakers(sp: Screenplay, shot: Shot) -> tuple[str, ...]:
    """The characters whose lines play over the shot *and* whose face the shot shows: a line spoken on screen
    (not V.O., off screen, inner monologue, phone or radio) by a speaker in frame, framed ECU to MS, and not the
    back of an over-the-shoulder (the first character faces the camera over the
    second's shoulder). Empty for a shot that does not talk. ``shot.talking`` overrules: false is never a
    talking shot; true makes every in-frame speaker talk whatever the framing."""
    if shot.talking is False:
        return ()
    beats = {ref: beat for ref, _, beat in sp.beats()}
    # in an intercut the caller is on screen at their own place, talking into the phone
    intercut = any(s.intercut for s in sp.scenes if s.id == shot.scene)
    speakers = []
    for ref in shot.beats:
        beat = beats.get(ref)
        heard = beat.line.heard_as if beat is not None and beat.line is not None else ""
        on_screen = heard not in NOT_ON_SCREEN or (intercut and heard == "phone")
        if beat is not None and beat.line is not None and beat.line.who in shot.characters \
                and on_screen and beat.line.who not in speakers:
            speakers.append(beat.line.who)
    if shot.talking:
        return tuple(speakers)
    if shot.size not in FACE_SIZES:
        return ()
    if shot.angle == "ots" and len(shot.characters) > 1:
        speakers = [who for who in speakers if who == shot.characters[0]]
    return tuple(speakers)


def shot_location(sp: Screenplay, shot: Shot) -> str:
    """The location a shot shows: its own (an intercut, a beat's location), else its scene's."""
    if shot.location:
        return shot.location
    return next((s.location for s in sp.scenes if s.id == shot.scene), "")


def placed(sp: Screenplay, scene, shots: list[Shot]) -> list[Shot]:
    """Shots given the place of their first picture beat when it is not the scene's (intercuts, a beat's own
    location): for planners that do not set it themselves (the LLM's answer has no place)."""
    places = {sp.beat_ref(scene, i): place for i, (beat, place) in enumerate(zip(scene.beats, sp.beat_locations(scene)))
              if not beat.cue}  # cues ride on the next picture: they say nothing of where it is
    out = []
    for shot in shots:
        place = next((places[r] for r in shot.beats if r in places), None)
        out.append(shot if shot.location or not place or place == scene.location
                   else shot.model_copy(update={"location": place}))
    return out


def in_flashback(sp: Screenplay, shot: Shot) -> bool:
    return any(s.flashback for s in sp.scenes if s.id == shot.scene)


def plan_problems(sp: Screenplay, shots: list[Shot], scenes: set[str] | None = None) -> list[tuple[int | None, str]]:
    """Director's own rules for a plan: (shot index or None, what is wrong). Empty means usable.

    ``scenes`` limits the coverage check to those scenes (a planner working scene by scene).
    """
    problems: list[tuple[int | None, str]] = []
    scene_ids = {s.id for s in sp.scenes}
    wanted = {ref: scene.id for ref, scene, _ in sp.beats() if scenes is None or scene.id in scenes}
    seen_ids: dict[str, int] = {}
    covered: dict[str, str] = {}
    for i, shot in enumerate(shots):
        if shot.id in seen_ids:
            problems.append((i, f"shot id {shot.id!r} is used twice (shots {seen_ids[shot.id] + 1} and {i + 1})"))
        seen_ids.setdefault(shot.id, i)
        if shot.scene not in scene_ids:
            problems.append((i, f"shot {shot.id}: scene {shot.scene!r} is not in the screenplay"
                                f" (scenes: {', '.join(sorted(scene_ids))})"))
        if shot.location is not None and shot.location not in sp.locations:
            problems.append((i, f"shot {shot.id}: location {shot.location!r} is not in the screenplay"
                                f" (known: {', '.join(map(str, sp.locations))})"))
        for who in shot.characters:
            if who not in sp.characters:
                problems.append((i, f"shot {shot.id}: character {who!r} is not in the screenplay"
                                    f"{did_you_mean(who, list(sp.characters))} (known: {', '.join(map(str, sp.characters))})"))
        for ref in shot.beats:
            if ref not in wanted:
                problems.append((i, f"shot {shot.id}: beat {ref!r} does not exist in the screenplay"
                                    + (" or is outside the scenes being planned" if scenes else "")))
            elif wanted[ref] != shot.scene:
                problems.append((i, f"shot {shot.id}: beat {ref!r} belongs to scene {wanted[ref]!r}, not {shot.scene!r}"))
            elif ref in covered:
                problems.append((i, f"shot {shot.id}: beat {ref!r} is already covered by shot {covered[ref]}"))
            else:
                covered[ref] = shot.id
        if not MIN_SHOT <= shot.duration <= MAX_SHOT:
            problems.append((i, f"shot {shot.id}: duration {shot.duration:g}s is outside {MIN_SHOT:g}-{MAX_SHOT:g}s"))
    missing = [ref for ref in wanted if ref not in covered]
    if missing:
        problems.append((None, f"beats not covered by any shot: {', '.join(missing)}"))
    return problems


# --------------------------------------------------------------------------- files

HEADER = ("# director shot list. Edit freely: size, angle, move, duration, characters, prompt, seed, talking.\n"
          "# Set `locked: true` on a shot to keep it (and your edits) when the episode is re-planned.\n")


def dump_shot_list(shot_list: ShotList) -> str:
    """Deterministic YAML: the same plan always gives the same bytes."""
    data = shot_list.model_dump(mode="json")
    for shot in data["shots"]:
        if shot.get("talking") is None:  # auto: decided from the framing at render time (plan --show says it)
            shot.pop("talking", None)
        if shot.get("location") is None:  # the scene's location
            shot.pop("location", None)
    return HEADER + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def save_shot_list(path: Path, shot_list: ShotList) -> None:
    atomic_write_text(path, dump_shot_list(shot_list))


def _rules_despite(exc: ValidationError, data, sp: Screenplay) -> list[tuple[int | None, str]]:
    """``plan_problems`` of a shot list the schema refused, on its shots without their refused fields (a shot that
    cannot stand without them is left out, and with it the check that every beat is covered): a wrong size hid an
    unknown character and a beat covered twice until it was fixed."""
    items = data.get("shots") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return []
    refused: dict[int, set] = {}
    for error in exc.errors():
        loc = error.get("loc", ())
        if len(loc) >= 2 and loc[0] == "shots" and isinstance(loc[1], int):
            refused.setdefault(loc[1], set()).add(loc[2] if len(loc) > 2 else None)
    kept, at, whole = [], [], True
    for i, item in enumerate(items):
        fields = refused.get(i, set())
        if None in fields or not isinstance(item, dict):
            whole = False
            continue
        try:
            kept.append(Shot.model_validate({k: v for k, v in item.items() if k not in fields}))
        except ValidationError:
            whole = False
            continue
        at.append(i)
        whole = whole and "beats" not in fields
    return [(at[i] if i is not None else None, msg) for i, msg in plan_problems(sp, kept)
            if i is not None or whole]


def _said_planned_from(data, sp: Screenplay) -> bool:
    """Whether a shot list's raw data (one the schema refused) says it was planned from ``sp``."""
    if not isinstance(data, dict):
        return False
    digest, planner = data.get("screenplay"), data.get("planner")
    return isinstance(digest, str) and isinstance(planner, (str, type(None))) and \
        planned_from(SimpleNamespace(screenplay=digest, planner=planner), sp)


def load_shot_list(path: Path, sp: Screenplay | None = None, current: Screenplay | None = None) -> ShotList:
    """Read a (possibly hand-edited) shot list; every problem located as file:line:col. ``sp``: checked against
    that screenplay's rules too; ``current``: only where the schema refuses the list and it was planned from that
    screenplay (the list a render would use, once fixed)."""
    data, pos, problems = load_yaml(path, str(path))
    if problems:
        raise ScreenplayError(problems)
    def located(found: list[tuple[int | None, str]]) -> list:
        return [pos.problem(("shots", i) if i is not None else ("shots",), msg) for i, msg in found]

    try:
        shot_list = ShotList.model_validate(data)
    except ValidationError as exc:
        found = pydantic_problems(exc, ShotList, pos)
        rules = sp if sp is not None else current if current is not None and _said_planned_from(data, current) \
            else None
        if rules is not None:  # every problem at once: the rules too, on what the schema accepted
            found += located(_rules_despite(exc, data, rules))
        raise ScreenplayError(found) from None
    if sp is not None and (problems := located(plan_problems(sp, shot_list.shots))):
        raise ScreenplayError(problems)
    return shot_list

