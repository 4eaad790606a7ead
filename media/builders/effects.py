"""Ken Burns effects: the content zooms or pans inside its box over the element's duration.

The moving window is sampled with sub-pixel precision by the perspective filter (a source
quadrilateral mapped onto the whole box), so the motion is smooth: no whole-pixel steps as with
a naive crop or zoompan.
"""

from __future__ import annotations

from media.builders import Build
from media.graph import Filter, f
from schemas.motion import Effect


def ken_burns(effect: Effect | None, scale: float, job: Build, fps: float) -> list[Filter]:
    """The window over the element's whole own length; perspective counts frames (`in`), so a
    stream that starts `skip` seconds in starts that many frames on."""
    if effect is None:
        return []
    start = f"+{job.skip * fps:.6f}" if job.skip else ""
    p = f"clip((in{start})/({fps:g}*{max(job.whole, 1 / fps):.6f}),0,1)"
    s = f"{scale:g}"
    if effect in ("zoom-in", "zoom-out"):
        zoom = f"(1+({s}-1)*{p})" if effect == "zoom-in" else f"({s}-({s}-1)*{p})"
        ww, wh = f"W/{zoom}", f"H/{zoom}"
        x, y = f"(W-{ww})/2", f"(H-{wh})/2"
    else:
        ww, wh = f"W/{s}", f"H/{s}"
        travel = {"pan-left": p, "pan-right": f"(1-{p})", "pan-up": p, "pan-down": f"(1-{p})"}[effect]
        x = f"(W-{ww})*{travel}" if effect in ("pan-left", "pan-right") else f"(W-{ww})/2"
        y = f"(H-{wh})*{travel}" if effect in ("pan-up", "pan-down") else f"(H-{wh})/2"
    corners = {
        "x0": x,
        "y0": y,
        "x1": f"{x}+{ww}",
        "y1": y,
        "x2": x,
        "y2": f"{y}+{wh}",
        "x3": f"{x}+{ww}",
        "y3": f"{y}+{wh}",
    }
    return [f("perspective", **corners, interpolation="linear", sense="source", eval="frame")]
