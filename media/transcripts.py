"""A finished render's transcript: the cues of its first transcribing subtitles element on the
output's clock, written beside the video as SRT, WebVTT and JSON words for the upload to store."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from media.builders.speech import read_cues
from media.captions import shifted, to_srt, to_webvtt
from schemas.elements import SubtitlesElement
from schemas.spec import VideoSpec

CAPTION_KINDS = ("srt", "vtt", "json")


def captions_path(out_path: Path, kind: str) -> Path:
    return out_path.with_name(f"{out_path.stem}.captions.{kind}")


def write_captions(spec: VideoSpec, sources: Mapping[int, Path], out_path: Path) -> Path | None:
    """The SRT file (its WebVTT and JSON beside it), or None when nothing is transcribed."""
    for placed in spec.placed:
        element = placed.element
        if not isinstance(element, SubtitlesElement) or element.transcribe is None:
            continue
        offset = 0.0
        at: int | None = placed.index
        while at is not None:  # nested compositions: their starts add up
            offset += spec.placed[at].element.time
            at = spec.placed[at].parent
        if spec.range is not None:
            offset -= spec.range.start
        cues = shifted([c for c in read_cues(sources[placed.index]) if c.start + offset >= 0], offset)
        words = [
            {"text": w.text, "start": round(w.start, 3), "end": round(w.end, 3)}
            for c in cues
            for w in c.words or []
        ]
        captions_path(out_path, "srt").write_text(to_srt(cues), encoding="utf-8")
        captions_path(out_path, "vtt").write_text(to_webvtt(cues), encoding="utf-8")
        captions_path(out_path, "json").write_text(
            json.dumps({"element": spec.element_label(placed.index), "words": words}), encoding="utf-8"
        )
        return captions_path(out_path, "srt")
    return None


def discard_captions(out_path: Path) -> None:
    for kind in CAPTION_KINDS:
        captions_path(out_path, kind).unlink(missing_ok=True)
