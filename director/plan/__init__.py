"""Planning: screenplay -> editable shot list. The rule-based planner is the offline default."""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from director.errors import ProjectLocked, ScreenplayError, StageFailed
from director.project import Project
from director.screenplay import LoadedScreenplay
from director.shots import (Shot, ShotList, load_shot_list, plan_digest, plan_problems, planned_from, save_shot_list,
                            scene_cast, shot_seed)
from director.store.files import read_own, write_json


@dataclass
class PlanResult:
    shot_list: ShotList
    path: Path
    notes: list[str] = field(default_factory=list)
    changed: bool = True
    stats: dict = field(default_factory=dict)
    previous: ShotList | None = None  # the shot list it was planned over
    kept: bool = False  # not planned: an edit brought the saved shot list up to the screenplay meanwhile
    described: dict[str, str] = field(default_factory=dict)  # how each character and place was described (digests)
    planned: list[Shot] | None = None  # the planner's own shots, before the hand edits kept (``_merge_hand_edits``)
    covers: dict[str, str] = field(default_factory=dict)  # shot id -> digest of the beats it covers (``covered``)
    beats: dict[str, str] = field(default_factory=dict)  # beat ref -> digest of the beat (``beat_digests``)
    same: dict[str, str] = field(default_factory=dict)  # each shot's id before -> its id now (``_keep_takes``)

    def save(self, project: Project) -> "PlanResult":
        """Write the shot list (keeping a copy of hand edits it replaces) and what the planner wrote, by digest."""
        if self.changed:
            if self.previous is not None:
                _keep_hand_edits(project, self.previous, self.shot_list, self.notes, self.same)
            if self.same:  # before the shot list: the record is tagged with the plan it follows
                _move_takes(project, self.shot_list.episode, self.same, self.shot_list.screenplay)
            save_shot_list(self.path, self.shot_list)
            # the planner's shots, not the list saved: the hand edits a re-plan kept stay edits (a later --fresh or
            # a re-plan that changes them replaced them without a copy where they were recorded as planned)
            planned = self.planned if self.planned is not None else self.shot_list.shots
            write_json(project.state_file("state", f"{self.shot_list.episode}.plan.json"),
                       {"version": 2, "shots": {s.id: shot_digest(s) for s in planned},
                        # each shot as planned: a re-plan keeps the fields edited by hand that it would not change
                        "planned": {s.id: s.model_dump(mode="json") for s in planned},
                        "covers": self.covers,
                        "beats": self.beats,
                        "described": self.described,
                        "durations": {s.id: s.duration for s in planned}})  # as planned (``lock``)
        return self


def resolve_planner(project: Project, planner: str | None = None, env: Mapping[str, str] | None = None,
                    base_url: str | None = None, model: str | None = None):
    """(planner name, LLM settings or None): flag over director.yaml, resolved once for plan, render and status."""
    name = planner or project.config.planner.backend
    if name != "llm":
        return name, None
    from director.plan.llm import resolve_settings

    return name, resolve_settings(project.config.llm, env or {}, base_url, model)


def shot_digest(shot: Shot) -> str:
    data = shot.model_dump(mode="json")
    if data.get("location") is None:  # the field came later: a shot at its scene's place digests as it did
        data.pop("location", None)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def planned_state(project: Project, episode: str, part: str = "shots") -> dict[str, str]:
    """Digest of each shot as the planner last wrote it (a differing shot was edited by hand), or with ``part``
    "described", of each character and place as the screenplay described them then, or with "covers", of what
    each shot's beats were (``covered``)."""
    return {str(k): str(v) for k, v in _plan_record(project, episode, part).items()}


def _plan_record(project: Project, episode: str, part: str) -> dict:
    """One part of what the last plan recorded (``PlanResult.save``), or {} where there is none readable."""
    try:
        data = json.loads(read_own(project.state_file("state", f"{episode}.plan.json"))).get(part, {})
    except (OSError, ValueError, AttributeError):
        return {}
    return data if isinstance(data, dict) else {}


# the fields a hand edit (`shot set`, the studio, a text editor) changes that a re-plan keeps where the planner would
# give them the value it gave before (a move edited in the studio survived no change of the screenplay, however far
# from its shot)
MERGED = ("size", "angle", "move", "duration", "prompt", "characters", "transition", "seed", "talking")


def covered(sp, shots: list[Shot]) -> dict[str, str]:
    """Shot id -> a digest of what its beats are (kind, who, words...): what makes a shot the same shot across a
    re-plan, where its id and its beats' refs are places (one-03, one/3) that a line added above gives to another."""
    beats = {ref: beat for ref, _, beat in sp.beats()}
    return {s.id: hashlib.sha256(json.dumps([beats[r].model_dump(mode="json") if r in beats else None
                                             for r in s.beats], sort_keys=True, default=str).encode()).hexdigest()[:16]
            for s in shots}


_BEAT_KINDS = ("line", "narration", "action", "sfx", "music", "card", "pause")


def _beat_sign(beat) -> str:
    """What a beat is, whatever it says (a line of mia's, an action): a beat changed in place keeps its shot only
    as the same kind of beat, by the same speaker (Ren's close-up went to Mia's line that replaced his)."""
    kind = next((k for k in _BEAT_KINDS if getattr(beat, k) is not None), "")
    who = beat.line.who if beat.line is not None else ""
    return hashlib.sha256(f"{kind}\0{who}".encode()).hexdigest()[:6]


def beat_digests(sp) -> dict[str, str]:
    """Beat ref -> a digest of the beat (kind, who, words...) and, after a '-', of its kind and speaker alone, as a
    plan records them: what lets a re-plan follow a beat whose ref moved (a line added above gives one/3 the ref
    one/4)."""
    return {ref: hashlib.sha256(json.dumps(beat.model_dump(mode="json"), sort_keys=True, default=str).encode())
            .hexdigest()[:16] + "-" + _beat_sign(beat) for ref, _, beat in sp.beats()}


def moved_refs(before: dict, sp) -> dict[str, str]:
    """Each beat ref of the last plan -> the ref that beat has now, scene by scene: the beats matched by content in
    order (difflib); a beat moved within its scene (two lines swapped), by its content where only one beat left and
    one came that reads so; a beat changed in place (a run of as many beats changed as were there), at its place
    where it is the same kind of beat by the same speaker. A beat deleted, or changed into another speaker's line,
    has no ref now. {} where the last plan recorded no beats (a plan made before they were): refs are then taken
    as they are."""
    from difflib import SequenceMatcher

    scenes: dict[str, list[tuple[int, str, str]]] = {}
    for ref, digest in before.items():
        scene, _, n = str(ref).rpartition("/")
        if scene and n.isdigit():
            scenes.setdefault(scene, []).append((int(n), str(ref), str(digest)))
    now = beat_digests(sp)
    out: dict[str, str] = {}
    for scene in sp.scenes:
        old = sorted(scenes.get(scene.id, []))
        new = [sp.beat_ref(scene, i) for i in range(len(scene.beats))]
        matcher = SequenceMatcher(None, [d for _, _, d in old], [now[r] for r in new], autojunk=False)
        left: dict[str, list[str]] = {}  # digest -> refs of the last plan without a place now
        came: dict[str, list[str]] = {}  # digest -> refs now that no beat of the last plan matched
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                out.update({old[i1 + k][1]: new[j1 + k] for k in range(i2 - i1)})
                continue
            paired = set()
            if tag == "replace" and i2 - i1 == j2 - j1:
                for k in range(i2 - i1):
                    was, ref = old[i1 + k], new[j1 + k]
                    if _sign(was[2]) is None or _sign(was[2]) == _sign(now[ref]):
                        out[was[1]] = ref
                        paired.add(k)
            for k in range(i1, i2):
                if k - i1 not in paired:
                    left.setdefault(old[k][2], []).append(old[k][1])
            for k in range(j1, j2):
                if k - j1 not in paired:
                    came.setdefault(now[new[k]], []).append(new[k])
        for digest, refs in left.items():  # moved: the one beat that left and the one that came read the same
            if len(refs) == 1 and len(came.get(digest, [])) == 1:
                out[refs[0]] = came[digest][0]
    return out


def _sign(digest: str) -> str | None:
    """The kind-and-speaker part of a recorded beat digest (``beat_digests``), or None in a record without it."""
    return digest.split("-", 1)[1] if "-" in digest else None


def _same_shots(previous: ShotList, shots: list[Shot], moved: dict[str, str]) -> dict[str, Shot]:
    """New shot id -> the shot of ``previous`` it is: the one that covered the same beats, followed through
    ``moved_refs`` (ids and refs are places: a line added above gives one-03 to another beat); by id where the
    last plan recorded no beats, or for a shot that covers none."""
    before = {s.id: s for s in previous.shots}
    if not moved:
        return {s.id: before[s.id] for s in shots if s.id in before}
    by_beats = {tuple(s.beats): s for s in shots if s.beats}
    out = {s.id: before[s.id] for s in shots if not s.beats and s.id in before and not before[s.id].beats}
    for shot in previous.shots:
        if shot.beats and all(b in moved for b in shot.beats):
            now = by_beats.get(tuple(moved[b] for b in shot.beats))
            if now is not None:
                out[now.id] = shot
    return out


def _follow_beats(sp, locked: list[Shot], moved: dict[str, str], notes: list[str]) -> list[Shot]:
    """Locked shots on the refs their beats have now (a line added above them moved them): a locked shot kept
    its refs, and covered whatever beat came to have them (another speaker's line), with nothing said."""
    if not moved:
        return locked
    scenes = {s.id for s in sp.scenes}
    out = []
    for shot in locked:
        lost = [b for b in shot.beats if b not in moved]
        if lost and shot.scene in scenes:
            notes.append(f"locked shot {shot.id}: no longer covers {', '.join(lost)} (changed or removed in the "
                         "screenplay)")
        beats = _first_run([moved[b] for b in shot.beats if b in moved])
        cut = [b for b in shot.beats if b in moved and moved[b] not in beats]
        if cut and shot.scene in scenes:  # a beat added between its beats: a shot plays its beats in a row
            notes.append(f"locked shot {shot.id}: no longer covers {', '.join(moved[b] for b in cut)} (a beat was "
                         "added between its beats; they are planned around it)")
        out.append(shot.model_copy(update={"beats": beats}) if beats != shot.beats and shot.scene in scenes
                   else shot)
    return out


def _first_run(refs: list[str]) -> list[str]:
    """The refs up to the first gap (one/4, one/6 -> one/4): a shot covers consecutive beats, and one split around a
    line added inside it played that line after its own."""
    run: list[str] = []
    for ref in refs:
        scene, _, n = ref.rpartition("/")
        if run:
            last_scene, _, last = run[-1].rpartition("/")
            if scene != last_scene or not (n.isdigit() and last.isdigit() and int(n) == int(last) + 1):
                break
        run.append(ref)
    return run


def _move_takes(project: Project, episode: str, moved: dict[str, str], plan: str) -> None:
    """The takes record follows the shots a re-plan matched (``moved``: each id before -> its id now, unmoved ones
    included): a shot's takes were listed, and its chosen take kept, under the id another shot has now. An id of
    the new list that no shot of the last one became loses what was listed under it (it was another shot's). The
    record is tagged with the plan it follows (``plan``), and written before the shot list: a re-plan stopped
    between the two finds it moved already, and does not move it twice."""
    path = project.state_file("takes", f"{episode}.json")
    try:
        data = json.loads(read_own(path))
        takes, keys = data.get("takes", {}), data.get("keys", {})
        if not isinstance(takes, dict) or not isinstance(keys, dict) or data.get("plan") == plan:
            return
    except (OSError, ValueError, AttributeError):
        return
    targets = set(moved.values())

    def follow(record: dict) -> dict:
        out = {k: v for k, v in record.items() if k not in moved and k not in targets}  # shots gone: kept for clean
        out.update({moved[k]: v for k, v in record.items() if k in moved})
        return out

    write_json(path, {**data, "takes": follow(takes), "keys": follow(keys), "plan": plan})


def planned_shots(project: Project, episode: str) -> dict[str, dict]:
    """Each shot as the planner last wrote it (JSON), or {} (a shot list planned before this was kept)."""
    return _plan_record(project, episode, "planned")


def hand_edits(shot: Shot, planned: dict, fields: tuple[str, ...] | None = MERGED) -> dict:
    """The fields of ``shot`` changed by hand since the planner wrote it as ``planned`` (``fields`` None: any)."""
    now = shot.model_dump(mode="json")
    keys = fields if fields is not None else [k for k in now if k != "id"]
    return {k: now[k] for k in keys if k in planned and planned[k] != now[k]}


def _merge_hand_edits(sp, project: Project, episode: str, previous: ShotList, shots: list[Shot],
                      moved: dict[str, str] | None = None) -> list[Shot]:
    """A re-plan's shots with the hand edits of the shots it plans again under the same id kept, field by field,
    wherever the planner gives that field what it gave before (a three-way merge: the shot as planned, as edited,
    as planned now). A field both changed takes the new plan's value (a copy of the edit is kept by the save). A
    merged shot the screenplay no longer allows (a character gone) stays as planned now."""
    planned, covers = planned_shots(project, episode), planned_state(project, episode, "covers")
    if not planned or not covers:
        return shots
    from director.plan.rules import reframed

    now_covers = covered(sp, shots)
    same = _same_shots(previous, shots, moved or {})
    out, merged = [], set()
    for shot in shots:
        edited = same.get(shot.id)
        was = planned.get(edited.id) if edited is not None and not edited.locked else None
        # the same shot: ids are places in a scene (one-03), so a line added above gives one-03 to another beat --
        # an edit is carried only to the shot that covers the very beats it covered (their kind, speaker, words),
        # under the id it has now
        if edited is not None and isinstance(was, dict) and not shot.locked and \
                (moved or edited.beats == shot.beats) and covers.get(edited.id) == now_covers.get(shot.id):
            now = shot.model_dump(mode="json")
            keep = {k: v for k, v in hand_edits(edited, was).items() if now.get(k) == was.get(k)}
            if keep and ("size" in keep or "angle" in keep) and "prompt" not in keep:
                # the prompt opens with the framing (``shot set`` rewrites it): the kept size's, not the planner's
                keep["prompt"] = reframed(now["prompt"], (now["size"], now["angle"]),
                                          (keep.get("size", now["size"]), keep.get("angle", now["angle"])))
            if keep:
                try:
                    shot = Shot.model_validate({**now, **keep})
                    merged.add(len(out))
                except ValueError:
                    pass
        out.append(shot)
    bad = {i for i, _ in plan_problems(sp, out) if i in merged}
    return [shots[i] if i in bad else s for i, s in enumerate(out)]


def described(sp) -> dict[str, str]:
    """What a planner writes into a prompt about each character and place (name and description), by digest."""
    def digest(*text: str) -> str:
        return hashlib.sha256("\0".join(text).encode()).hexdigest()[:12]

    return {**{f"character:{cid}": digest(c.name, c.description) for cid, c in sp.characters.items()},
            **{f"location:{lid}": digest(place.description) for lid, place in sp.locations.items()}}


def what_changed(project: Project, loaded: LoadedScreenplay) -> str:
    """Which characters and places the screenplay describes differently since the last plan ("the description of
    guyan"), or "" where that is not it (a line, a scene): a bible edit re-plans every episode, and each said only
    "screenplay changed"."""
    before, now = planned_state(project, loaded.episode, "described"), described(loaded.screenplay)
    if not before:
        return ""
    # what its scenes name only (the plan's digest reads the same): an episode re-planned for a line was told of
    # a character it never shows
    characters, locations = scene_cast(loaded.screenplay.model_dump(mode="json", exclude_defaults=True))
    named = {f"character:{c}" for c in characters} | {f"location:{p}" for p in locations}
    changed = [key.split(":", 1)[1] for key in now if key in before and before[key] != now[key] and key in named]
    added = [key.split(":", 1)[1] for key in now if key not in before]
    parts = ([f"the description of {', '.join(changed)}"] if changed else []) + (
        [f"new: {', '.join(added)}"] if added else [])
    return "; ".join(parts)


def stale_locked(project: Project, loaded: LoadedScreenplay, locked: list[Shot]) -> list[str]:
    """Notes for the locked shots whose characters or place the screenplay describes differently since they were
    planned: a locked shot keeps its prompt, so it still draws the old costume or room (nothing said so)."""
    from director.shots import shot_location

    before, now = planned_state(project, loaded.episode, "described"), described(loaded.screenplay)
    notes = []
    for shot in locked:
        changed = [key.split(":", 1)[1] for key in
                   [*(f"character:{c}" for c in shot.characters),
                    f"location:{shot_location(loaded.screenplay, shot)}"]
                   if key in before and key in now and before[key] != now[key]]
        if changed:
            notes.append(f"shot {shot.id} is locked: its prompt was written before the description of "
                         f"{' and '.join(changed)} changed; edit its prompt (director shot set {shot.id} "
                         "prompt=...) or unlock it to plan it again")
    return notes


def _keep_hand_edits(project: Project, previous: ShotList, new: ShotList, notes: list[str],
                     same: dict[str, str] | None = None) -> None:
    """A re-plan replaces unlocked shots; if the user edited some by hand, say so and keep a copy."""
    fresh = {s.id: s for s in new.shots}
    edited = replaced_edits(project, previous, new, same)
    # a locked shot whose scene is gone (its id renamed) leaves the plan: its hand-written prompt was kept nowhere
    dropped = [s.id for s in previous.shots if s.locked and s.id not in fresh]
    if not edited and not dropped:
        return
    source = project.shots_path(previous.episode)
    backup = project.state_file("backups", f"{previous.episode}-{time.strftime('%Y%m%d-%H%M%S')}.yaml")
    backup.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, backup)
    if edited:
        notes.append(f"re-planning replaced shot(s) {', '.join(edited)} that you edited by hand and did not lock; "
                     f"your version is saved at {backup.relative_to(project.root)} (set `locked: true` on a shot "
                     "to keep your edits when re-planning)")
    if dropped:  # said once, with where it is kept (the planner's own note said it first, without)
        notes[:] = [n for n in notes if not any(n.startswith(f"locked shot {d} dropped:") for d in dropped)]
        notes.append(f"locked shot(s) {', '.join(dropped)} left the plan (their scene is gone); they are saved at "
                     f"{backup.relative_to(project.root)}: copy one back under the scene's new id to keep it")


def _keep_takes(project: Project, episode: str, previous: ShotList, shots: list[Shot],
                moved: dict[str, str] | None = None) -> tuple[list[Shot], dict[str, str]]:
    """A re-plan keeps the take chosen by hand (``take pick``, ``shot regen``) of each shot it plans again, followed
    by its beats (``_same_shots``): the seed the shot had, where it is one of the shot's takes. It gave every shot
    the planner's seed back, and then a shot one line lower the take of the shot above. A shot that only moved
    keeps its seed too (the planner's for its old id: its picture is the one made). Also returns each shot's id
    before -> its id now, for every shot matched (moved or not; {} where refs were taken as they are): what the
    takes record and the hand edits' backup follow."""
    takes = _takes(project, episode)
    same = _same_shots(previous, shots, moved or {})
    out = []
    for shot in shots:
        was = same.get(shot.id)
        seed = was.seed if was is not None else None
        if not shot.locked and seed is not None and seed != shot.seed and (
                seed in (takes.get(was.id) or []) or
                (seed == shot_seed(episode, was.id) and shot.seed == shot_seed(episode, shot.id))):
            shot = shot.model_copy(update={"seed": seed})
        out.append(shot)
    return out, ({was.id: now for now, was in same.items()} if moved else {})


def _takes(project: Project, episode: str) -> dict:
    """Shot id -> the seeds of its takes (``take``, ``shot regen``); {} where there is no readable record."""
    try:
        takes = json.loads(read_own(project.state_file("takes", f"{episode}.json"))).get("takes", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return takes if isinstance(takes, dict) else {}


def previous_shots(project: Project, loaded: LoadedScreenplay) -> ShotList | None:
    path = project.shots_path(loaded.episode)
    return load_shot_list(path, current=loaded.screenplay) if path.exists() else None


def replaced_edits(project: Project, previous: ShotList, new: ShotList | None,
                   same: dict[str, str] | None = None) -> list[str]:
    """The unlocked shots edited since the planner wrote them (``shot set``, the studio, a text editor) that ``new``
    replaces (a take picked by hand is kept by the re-plan: not replaced); ``new`` None: all a re-plan would
    replace, a shot whose only change is a take picked (its seed) not among them."""
    planned = planned_state(project, previous.episode)
    edited = [s for s in previous.shots if not s.locked and s.id in planned and planned[s.id] != shot_digest(s)]
    if new is None:
        takes = _takes(project, previous.episode)
        return [s.id for s in edited if not any(shot_digest(s.model_copy(update={"seed": seed})) == planned[s.id]
                                                for seed in takes.get(s.id) or [] if isinstance(seed, int))]
    full = planned_shots(project, previous.episode)
    if not full:  # recorded before the planner's shots were: any difference from the new plan
        fresh = {s.id: s for s in new.shots}
        return [s.id for s in edited if fresh.get(s.id) != s]
    # an edited field the new plan does not carry (a location or beats typed in a text editor too, which no merge
    # keeps), or the shot gone
    fresh = {s.id: s.model_dump(mode="json") for s in new.shots}
    now = {s.id: (same or {}).get(s.id, s.id) for s in edited}  # the id the re-plan gave it (``_keep_takes``)
    return [s.id for s in edited if now[s.id] not in fresh or not full.get(s.id) or
            any(fresh[now[s.id]].get(k) != v for k, v in hand_edits(s, full[s.id], None).items())]


def _planner_name(project: Project, planner_name: str | None, llm) -> tuple[str, list[str]]:
    """The planner a plan uses, and the note that says why where it is not the one asked for."""
    name = planner_name or project.config.planner.backend
    if name == "llm" and llm is None:
        return "rules", ["no OPENAI_API_KEY set: planned with the rule-based planner "
                         "(set OPENAI_API_KEY, and OPENAI_BASE_URL for a local server, to use the LLM)"]
    return name, []


def plan_episode(project: Project, loaded: LoadedScreenplay, planner_name: str | None = None,
                 llm=None, stale_only: bool = False, fresh: bool = True, merge: bool = True) -> PlanResult:
    """Plan (or re-plan) an episode, keeping locked shots, and save the shot list atomically.

    ``llm`` is the resolved LLMSettings for the llm planner; without it (no key) the rules plan. ``fresh=False``
    (``director plan``): a shot list planned from this screenplay, by this planner, with shots edited by hand
    since, is kept as it is -- a re-plan would give the planner's shots back for the edited ones, and `plan --show`
    is how a user looks at the list (an audit lost its edit that way). ``merge``: a re-plan keeps each field edited
    by hand that it would give the value it gave before (``_merge_hand_edits``); ``plan --fresh`` does not.
    """
    from director.store.lock import EditLock

    path = project.shots_path(loaded.episode)
    for _ in range(3):
        seen = _content(path)
        previous = previous_shots(project, loaded) if not fresh else None
        planner, why = _planner_name(project, planner_name, llm)
        if previous is not None and planned_from(previous, loaded.screenplay) and previous.planner == "llm" and \
                planner == "rules" and why:  # the LLM's plan of this very screenplay, and no key to ask it again:
            # the rules' plan would replace it (and every hand edit)
            return PlanResult(previous, path, [f"kept the LLM's shot list as it is: {why}"], False, kept=True)
        if previous is not None and planned_from(previous, loaded.screenplay) and previous.planner == planner:
            # decided before planning: the planner (an LLM's minutes) would only make the shots the list keeps
            edited = replaced_edits(project, previous, None)
            if edited:
                return PlanResult(previous, path, [
                    f"kept the shot list as it is: the screenplay is unchanged since it was planned, and shot(s) "
                    f"{', '.join(edited)} were edited by hand (`director plan --fresh` plans them again, saving "
                    "your version in .director/backups; `locked: true` keeps a shot through any re-plan)"], False,
                    kept=True)
        result = _plan_once(project, loaded, planner_name, llm, merge)
        previous = result.previous
        # saved only if nobody edited the shot list while it was planned (a lock set in the studio, a `shot set`):
        # else planned again from what is there now, so that edit is kept (locked) or backed up (unlocked)
        with EditLock(project.state):
            if _content(path) == seen:
                return result.save(project)
            now = previous_shots(project, loaded) if stale_only else None
            if now is not None and planned_from(now, loaded.screenplay):  # an edit (`director line`) brought the
                return PlanResult(now, path, [], False, kept=True)  # shot list up to this screenplay: it stands
    raise StageFailed(f"{path.name} kept changing while it was planned (three times); plan again once the edits stop")


def _content(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _plan_once(project: Project, loaded: LoadedScreenplay, planner_name: str | None, llm,
               merge: bool = True) -> "PlanResult":
    from director.plan.rules import RulePlanner, merge_locked

    sp, episode = loaded.screenplay, loaded.episode
    previous = previous_shots(project, loaded)
    name, notes = _planner_name(project, planner_name, llm)
    moved = moved_refs(_plan_record(project, episode, "beats"), sp) if previous is not None else {}
    locked = _follow_beats(sp, [s for s in previous.shots if s.locked], moved, notes) if previous else []
    stats: dict = {}
    if name == "llm":
        from director.plan.llm import plan_with_llm

        shots, llm_notes, stats = plan_with_llm(project, loaded, locked, llm)
        notes += llm_notes
    else:
        shots, rule_notes = merge_locked(sp, episode, RulePlanner(sp, episode), locked)
        notes += rule_notes
    same: dict[str, str] = {}
    if previous is not None:
        shots, same = _keep_takes(project, episode, previous, shots, moved)
        notes += stale_locked(project, loaded, locked)
    planner_shots = shots
    if previous is not None and merge:
        shots = _merge_hand_edits(sp, project, episode, previous, shots, moved)
    if previous is None:
        notes += orphans_note(project, episode)
    problems = plan_problems(sp, shots)
    locked_ids = {s.id for s in locked}
    if problems and previous is not None and any(i is not None and i < len(shots) and shots[i].id in locked_ids
                                                 for i, _ in problems):
        # a locked shot the screenplay no longer fits: the user's to fix, where it is (as status says it)
        raise ScreenplayError(_located(project.shots_path(episode), shots, problems))
    if problems:  # never hand the renderer a broken plan
        raise StageFailed("the planner produced an unusable shot list:\n" + "\n".join(m for _, m in problems))
    shot_list = ShotList(episode=episode, screenplay=plan_digest(sp, name), planner=name, shots=shots)
    changed = previous is None or previous != shot_list
    return PlanResult(shot_list, project.shots_path(episode), notes, changed, stats, previous,
                      described=described(sp), planned=planner_shots, covers=covered(sp, planner_shots),
                      beats=beat_digests(sp), same=same)


def current_shots(project: Project, loaded: LoadedScreenplay, planner: str | None = None,
                  llm=None) -> tuple[ShotList, list[str]]:
    """The shot list a render uses: the saved one if it still matches the screenplay, else a fresh plan
    by the planner resolved with ``resolve_planner`` (the same one ``plan`` uses)."""
    previous = previous_shots(project, loaded)
    if previous is not None and planned_from(previous, loaded.screenplay):
        _current_digest(project, loaded, previous.screenplay, plan_digest(loaded.screenplay, previous.planner))
        shots = load_shot_list(project.shots_path(loaded.episode), loaded.screenplay)
        return shots, []
    detail = what_changed(project, loaded) if previous is not None else ""  # before the plan's state is rewritten
    result = plan_episode(project, loaded, planner, llm, stale_only=True)
    if result.kept:
        return result.shot_list, []
    why = "no shot list yet" if previous is None else "the screenplay changed since the last plan"
    if detail:
        why += f": {detail}"
    return result.shot_list, [f"planned {len(result.shot_list.shots)} shots ({why})"] + result.notes


def orphans_note(project: Project, episode: str) -> list[str]:
    """A new episode beside a shot list of no episode: most likely the same episode, its file renamed."""
    orphans = project.orphan_shot_lists()
    if not orphans:
        return []
    names = ", ".join(f"shots/{p.name}" for p in orphans[:4]) + (" ..." if len(orphans) > 4 else "")
    return [f"{names} belong{'s' if len(orphans) == 1 else ''} to no episode: if {episode}'s file was renamed from "
            f"{orphans[0].stem}.yaml, put `id: {orphans[0].stem}` at its top to keep that shot list (its locked shots, "
            "takes and renders)"]


def _current_digest(project: Project, loaded: LoadedScreenplay, saved: str, digest: str) -> None:
    """A shot list an older director wrote carries the digest of more of the screenplay than its planner reads:
    a render that uses it writes the narrower one in its place (that line only, under the edit lock), so that a
    later voice or title edit does not re-plan it and replace its hand edits."""
    if saved == digest:
        return
    import re

    from director.store.files import atomic_write_text
    from director.store.lock import EditLock

    path = project.shots_path(loaded.episode)
    try:
        with EditLock(project.state):
            with path.open(encoding="utf-8", newline="") as f:  # CRLF kept: only the digest changes
                text = f.read()
            line = re.compile(rf"(?m)^screenplay:[ \t]*['\"]?{re.escape(saved)}['\"]?(?=[ \t]*(?:#[^\r\n]*)?\r?$)")
            if len(line.findall(text)) == 1:  # as it was read (another edit may have changed it since)
                atomic_write_text(path, line.sub(f"screenplay: {digest}", text))
    except (OSError, ProjectLocked):  # a read-only project renders as it is: the older digest still counts
        pass


def plan_preview(project: Project, loaded: LoadedScreenplay) -> tuple[list, list[str]]:
    """The shots a render would use, without writing anything (for ``director status``)."""
    from director.plan.rules import RulePlanner, merge_locked

    previous = previous_shots(project, loaded)
    if previous is not None and planned_from(previous, loaded.screenplay):
        return load_shot_list(project.shots_path(loaded.episode), loaded.screenplay).shots, []
    sp, followed = loaded.screenplay, []
    moved = moved_refs(_plan_record(project, loaded.episode, "beats"), sp) if previous is not None else {}
    locked = _follow_beats(sp, [s for s in previous.shots if s.locked], moved, followed) if previous else []
    shots, notes = merge_locked(sp, loaded.episode, RulePlanner(sp, loaded.episode), locked)
    notes = followed + notes
    replaced: list[str] = []
    if previous is not None:  # as the render's re-plan makes them: picked takes and hand edits kept
        kept, same = _keep_takes(project, loaded.episode, previous, shots, moved)
        shots = _merge_hand_edits(sp, project, loaded.episode, previous, kept, moved)
        replaced = replaced_edits(project, previous, previous.model_copy(update={"shots": shots}), same)
    if replaced:  # said before the render does it (status said only "re-planned"; the render then said so)
        notes.append(f"the re-plan will replace shot(s) {', '.join(replaced)}, edited by hand and not locked (a copy "
                     "is kept in .director/backups; `director shot set ID locked=true` keeps one as it is)")
    problems = plan_problems(sp, shots)
    if problems:  # what ``plan_episode`` would refuse: a locked shot the screenplay no longer fits
        raise ScreenplayError(_located(project.shots_path(loaded.episode), shots, problems))
    detail = what_changed(project, loaded) if previous is not None else ""
    said = "the next render plans the shot list (there is none yet)" if previous is None else \
        f"the shot list will be re-planned by the next render (screenplay changed{': ' + detail if detail else ''})"
    return shots, [said] + notes + stale_locked(project, loaded, locked) + (
        orphans_note(project, loaded.episode) if previous is None else [])


def _located(path: Path, shots: list[Shot], problems: list[tuple[int | None, str]]) -> list:
    """Problems of a re-plan, placed at the shots they concern in the saved file (a locked shot is there)."""
    from director.yamlpos import load_yaml

    data, pos, _ = load_yaml(path, str(path))  # it loaded as a shot list already (``previous_shots``)
    index = {str(s.get("id")): i for i, s in enumerate(data.get("shots") or []) if isinstance(s, dict)}
    out = []
    for i, message in problems:
        at = index.get(shots[i].id) if i is not None and i < len(shots) else None
        out.append(pos.problem(("shots", at), f"{message} (a locked shot, planned before the screenplay changed: "
                                              "edit or unlock it)") if at is not None else
                   pos.problem(("shots",), message))
    return out
