"""Voice: every line and narration spoken in its speaker's voice."""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from director.backends.types import SpeechRequest
from director.media.linebreak import spoken_language, unspoken
from director.stages.base import Stage
from director.vocab import NARRATOR, canonical_emotion, canonical_preset, delivered_emotion

if TYPE_CHECKING:  # the engine (above this layer) hands stages their context
    from director.runtime.context import RenderContext


def voices_for(ctx: RenderContext) -> dict:
    """Speaker -> resolved voice, from the whole cast (stable across a series' episodes)."""
    from director.backends.preview.voice import assign_voices, han

    sp = ctx.sp
    def preset(text):  # descriptive presets (female old warm, 老年女性) become the nearest preset
        return (canonical_preset(text) or text) if text else None

    # the display name's Han characters count as description (name: 顾母 under an id gu_mu)
    cast = {cid: (f"{c.description} {han(c.name or '')}".strip(), preset(c.voice.preset) if c.voice else None,
                  c.voice.sample if c.voice else None) for cid, c in sp.characters.items()}
    narrator = sp.narrator.voice
    cast[NARRATOR] = ("narrator", preset(narrator.preset) or "narrator", narrator.sample)
    voices = assign_voices(cast)
    for cid, char in sp.characters.items():  # explicit pitch/rate offsets from the screenplay
        if char.voice and (char.voice.pitch is not None or char.voice.rate is not None):
            v = voices[cid]
            voices[cid] = type(v)(v.speaker, v.preset, v.sample, v.pitch + (char.voice.pitch or 0),
                                  char.voice.rate or v.rate)
    return voices


def _style_clip(ctx: RenderContext, who: str, emotion: str | None) -> str | None:
    """The speaker's ``voice.styles`` clip for this emotion (its keys read through the emotion vocabulary)."""
    spec = ctx.sp.characters[who].voice if who in ctx.sp.characters else ctx.sp.narrator.voice
    if not emotion or spec is None or not spec.styles:
        return None
    for key, clip in spec.styles.items():
        if (canonical_emotion(key) or key) == emotion:
            return str(ctx.loaded.resolve(clip))
    return None


class VoiceStage(Stage):
    name = "voice"
    version = "2"
    backend_kind = "voice"
    scope = "line"

    def jobs(self, ctx: RenderContext):
        voices = voices_for(ctx)
        uses_sample = ctx.backends["voice"].uses_sample
        for shot in ctx.shots:
            for ref in shot.beats:
                beat = ctx.beats[ref]
                spoken = beat.spoken
                if spoken is None:
                    continue
                who = beat.line.who if beat.line else NARRATOR
                voice = voices[who]
                emotion = delivered_emotion(spoken.emotion, getattr(spoken, "parenthetical", None))
                # a sample counts (by its content) only where the backend speaks with it; an emotion with a clip of
                # its own in voice.styles (angry: refs/mia-angry.wav) is cloned from that clip
                styled = _style_clip(ctx, who, emotion) if uses_sample else None
                sample = styled or (str(ctx.loaded.resolve(voice.sample)) if uses_sample and voice.sample else None)
                language = spoken_language(spoken.text, ctx.sp.language)  # a line in another script: its own
                req = SpeechRequest(text=unspoken(spoken.text), language=language, voice=replace(voice, sample=sample),
                                    emotion=emotion, parenthetical=getattr(spoken, "parenthetical", None))
                yield self.backend_job(ctx, ref, req, "synthesize", shot=shot.id)
