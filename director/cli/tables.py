"""Terminal tables for plan --show and status."""
from __future__ import annotations

from rich.table import Table

from director.screenplay import Screenplay
from director.shots import talking_speakers
from director.stages import STAGE_ORDER


def shot_table(sp: Screenplay, shots) -> Table:
    beats = {ref: beat for ref, _, beat in sp.beats()}
    table = Table(title=sp.title, header_style="bold")
    for col in ("scene", "id", "size/angle/move", "sec", "who", "words"):
        table.add_column(col, overflow="fold")
    for shot in shots:
        words = next((beats[r].spoken.text for r in shot.beats if beats[r].spoken is not None), "")
        if not words:
            words = next((beats[r].action for r in shot.beats if beats[r].action), "")
        words = words if len(words) <= 36 else words[:35] + "…"
        talks = set(talking_speakers(sp, shot))
        who = ", ".join(f"{c} (talks)" if c in talks else c for c in shot.characters)
        table.add_row(shot.scene, shot.id + (" 🔒" if shot.locked else ""), f"{shot.size} {shot.angle} {shot.move}",
                      f"{shot.duration:.1f}", who, words)
    return table


def status_table(records) -> Table:
    table = Table(header_style="bold")
    table.add_column("stage")
    table.add_column("item")
    table.add_column("status")
    order = {name: i for i, name in enumerate(STAGE_ORDER)}
    for r in sorted(records, key=lambda r: order.get(r.stage, 99)):
        if r.status == "cached":
            text = "[green]cached[/green]"
            sync = r.info.get("sync") if r.stage == "clips" else None
            if sync:  # a talking shot: how well each speaker's mouth follows their voice
                text += " · talking, lip sync " + ", ".join(f"{who} {s['correlation']:.2f}" for who, s in sync.items())
        elif r.status == "waits":
            text = f"[yellow]waits[/yellow]: {r.reason}"
        else:
            text = f"[red]runs[/red]: {r.reason}"
        table.add_row(r.stage, r.id, text)
    return table
