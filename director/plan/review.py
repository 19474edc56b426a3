"""The continuity reviewer: a vision model looks at each keyframe the render made and asks for another.

When ``llm.review_keyframes`` is on and an OpenAI-compatible endpoint is configured, the keyframe job
shows the model the picture it just made with the reference sheets of the characters who should be in
it, and the shot as planned (``agents/continuity_reviewer.yaml``). The answer is a ``KeyframeReview``:
does it match, who is recognisably there, what is wrong, and a corrected prompt. A picture that does not
match is generated again with the corrected prompt, at most ``llm.review_regenerations`` times (like the
consistency check's tries), and the new one is reviewed too; every verdict goes into the keyframe's
report, so ``status``, the run record and the storyboard show it. A server that does not take images is
noted once and the render goes on without review. Answers are cached like the planner's (by agent,
prompt, the images' digests and the model), so a re-render asks nothing.
"""
from __future__ import annotations

import io
import json
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from director.errors import StageFailed
from director.plan.agents import KeyframeReview, load_agent
from director.plan.llm import CallStats, Endpoint, LLMSettings, RetriesExhausted, refuses_images
from director.secrets import redact
from director.store.cache import ArtifactCache

IMAGE_SIDE = 512  # the longest side sent: enough to judge faces and framing, a few hundred tokens per image


@dataclass(frozen=True)
class ReviewSpec:
    """What a review depends on (it joins the keyframe job's key): the agent, the model, the tries."""

    agent: str
    version: int
    model: dict
    regenerations: int


def _jpeg(path: Path) -> bytes:
    from PIL import Image

    with Image.open(path) as img:
        img = img.convert("RGB")
        img.thumbnail((IMAGE_SIDE, IMAGE_SIDE))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=85)
        return buf.getvalue()


def review_spec(config) -> ReviewSpec | None:
    """What the keyframes' keys carry when review is on (``llm`` in director.yaml; the transport and the key are
    not part of it, as for the planner's answers). None: no review."""
    if not config.review_keyframes:
        return None
    from director.plan.llm import DEFAULT_MODEL

    agent = load_agent("continuity_reviewer")
    return ReviewSpec(agent.name, agent.version, {"model": config.model or DEFAULT_MODEL, "max_tokens": config.max_tokens},
                      config.review_regenerations)


class Unreviewed(Exception):
    """The reviewer answered, but with no verdict: the keyframe stands, with a note."""


class KeyframeReviewer:
    """One per render: the endpoint, its call cache, and whether the server takes images at all."""

    def __init__(self, settings: LLMSettings, state_dir: Path, cache: ArtifactCache, regenerations: int = 1):
        self.agent = load_agent("continuity_reviewer")
        self.settings = settings
        self.regenerations = regenerations
        self.stats = CallStats()
        self.state_dir, self.cache = state_dir, cache
        self._endpoint: Endpoint | None = None
        self.blind: str | None = None  # why the server cannot review pictures (set once, then every review skips)
        self.down: str | None = None  # why the server is not answering (set once, then every review fails at once)
        self._lock = threading.Lock()

    @property
    def endpoint(self) -> Endpoint:
        with self._lock:  # built on the first review (it imports langchain), once for the render
            if self._endpoint is None:
                self._endpoint = Endpoint(self.settings, self.state_dir, self.cache, self.stats)
            return self._endpoint

    def review(self, req, image: Path) -> KeyframeReview | None:
        """The verdict on ``image`` as the keyframe of ``req`` (a FrameRequest); None when the server is blind."""
        if self.blind:
            return None
        figures = req.figures
        values = {"shot_id": req.shot_id, "size": req.size, "angle": req.angle, "location": req.location_id,
                  "location_description": req.location, "time": req.time,
                  "characters": ", ".join(f"{f.id} ({f.name}: {f.description})" for f in figures) or "nobody",
                  "prompt": req.prompt, "caption": req.caption or "-", "look": req.look or "-",
                  "schema": json.dumps(KeyframeReview.model_json_schema())}
        images = [(_jpeg(image), "image/jpeg")]
        for figure in figures:  # each character's first reference sheet, in the order listed
            if figure.refs:
                images.append((_jpeg(Path(figure.refs[0])), "image/jpeg"))
        messages = [("system", self.agent.system), ("human", self.agent.fill(self.agent.user, **values))]
        if self.down:
            raise StageFailed(self.down)
        try:
            _, parsed, error = self.endpoint.ask(self.agent, messages, req.shot_id, images=tuple(images))
        except StageFailed as exc:
            if refuses_images(str(exc)):  # the server refused the vision input: no review in this render
                self.blind = str(exc)
                return None
            raise
        except RetriesExhausted as exc:  # the keyframe fails (and is not kept as reviewed); so do the rest at once
            self.down = (f"the LLM server did not answer the keyframe review ({redact(str(exc))[:200]}); render "
                         f"again once it is back, or set llm.review_keyframes: false to render without review")
            raise StageFailed(self.down) from None
        if parsed is None:  # an answer that is no verdict never blocks a picture (as the plan's supervisor)
            raise Unreviewed(f"the continuity reviewer's answer is unusable ({redact(str(error))[:200]})")
        return parsed



def reviewed(render, reviewer: KeyframeReviewer, req, out: Path):
    """``render(req, out)``, reviewed, and made again with the corrected prompt while it does not match."""
    made = render(req, out)
    verdicts = []
    for attempt in range(reviewer.regenerations + 1):
        try:
            verdict = reviewer.review(req, out / made.files["image"])
        except Unreviewed as exc:
            return replace(made, notes=(*made.notes, f"keyframe {req.shot_id}: review skipped, {exc}"))
        if verdict is None:
            return replace(made, notes=(*made.notes, f"keyframe review skipped: the LLM server does not take "
                                                      f"images ({reviewer.blind[:200]})"))
        verdicts.append({"matches": verdict.matches, "problems": verdict.problems,
                         "characters_present": verdict.characters_present, "prompt": req.prompt})
        if verdict.matches or not verdict.corrected_prompt.strip() or attempt == reviewer.regenerations:
            break
        req = replace(req, prompt=verdict.corrected_prompt.strip())
        made = render(req, out)  # the same seed, the corrected prompt; its files replace the first take's
    last = verdicts[-1]
    report = {**made.report, "review": {"matches": last["matches"], "regenerated": len(verdicts) - 1,
                                        "problems": last["problems"], "prompt": req.prompt, "verdicts": verdicts}}
    notes = made.notes
    if not last["matches"]:
        notes = (*notes, f"keyframe {req.shot_id}: the reviewer still finds problems after {len(verdicts) - 1} "
                         f"regeneration(s): {'; '.join(last['problems'])[:300]}")
    return replace(made, report=report, notes=notes)
