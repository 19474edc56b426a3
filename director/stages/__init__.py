"""The render stages, in the order they run. Voice comes before clips: a shot's length follows its dialogue.

``STAGES`` is the one declaration of the order: the engine, ``--only``/``--until`` and ``status`` read it.
"""
from __future__ import annotations

import importlib

STAGES = (("refs", "director.stages.refs:RefsStage"), ("keyframes", "director.stages.keyframes:KeyframesStage"),
          ("voice", "director.stages.voice:VoiceStage"), ("timing", "director.stages.timing:TimingStage"),
          ("clips", "director.stages.clips:ClipsStage"), ("music", "director.stages.music:MusicStage"),
          ("sfx", "director.stages.sfx:SfxStage"),
          ("subtitles", "director.stages.subtitles:SubtitlesStage"),
          ("segments", "director.stages.segments:SegmentsStage"), ("mix", "director.stages.mix:MixStage"),
          ("assemble", "director.stages.assemble:AssembleStage"))
STAGE_ORDER = tuple(name for name, _ in STAGES)


def all_stages():
    """One instance of every stage, in order (imported here, so that naming the order stays cheap)."""
    out = []
    for name, target in STAGES:
        module, _, cls = target.partition(":")
        stage = getattr(importlib.import_module(module), cls)()
        assert stage.name == name, (stage.name, name)
        out.append(stage)
    return out
