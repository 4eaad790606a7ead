"""SRT and WebVTT files read into cues, strictly enough to name the line that is wrong.

The file is only ever read here, as text: FFmpeg never opens it (its `subtitles`/`ass` filters
would interpret ASS override tags and HTML-like markup). Cue text is kept verbatim, except for the
formats' own basic markup, which is removed rather than applied: `<b> <i> <u>` in SRT, and in
WebVTT its cue tags (`<b> <i> <u> <c> <v> <lang> <ruby> <rt>`, timestamps) and character
references (`&amp;` is `&`). Anything else (`{\\an8}`, `<font color=red>`) is shown as written.
"""

from __future__ import annotations

import codecs
import html
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from schemas.errors import ErrorCode, JobError
from schemas.subtitles import MAX_CUE_CHARS, MAX_CUES, MAX_SECONDS, Cue

MAX_SUBTITLES_BYTES = 1024 * 1024
# Hours up to 9 digits: a cue past the bound is then named as out of range, not as a bad timing.
_SRT_TIME = r"(\d{1,9}):(\d{1,2}):(\d{1,2})[,.](\d{1,3})"
_SRT_TIMING = re.compile(rf"^\s*{_SRT_TIME}\s*-->\s*{_SRT_TIME}(?:\s.*)?$")
_VTT_TIME = r"(?:(\d{1,9}):)?(\d{2}):(\d{2})\.(\d{3})"
_VTT_TIMING = re.compile(rf"^\s*{_VTT_TIME}[ \t]+-->[ \t]+{_VTT_TIME}(?:[ \t].*)?$")
_SRT_TAGS = re.compile(r"</?[biu]>", re.IGNORECASE)
_VTT_TAGS = re.compile(
    r"</?(?:b|i|u|c|v|lang|ruby|rt)(?:\.[^\s>]*)?(?:[ \t][^>]*)?>|<\d+:\d{2}(?::\d{2})?\.\d{3}>"
)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class SubtitlesFileError(Exception):
    """What is wrong with a subtitles file, and on which line (1-based)."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


def read_subtitles(path: Path) -> list[Cue]:
    """The cues of an SRT or WebVTT file, in time order, each ending by the next one's start."""
    size = path.stat().st_size
    if size > MAX_SUBTITLES_BYTES:
        raise SubtitlesFileError(1, f"the file is {size:,} bytes; at most {MAX_SUBTITLES_BYTES:,} are read")
    return parse_subtitles(path.read_bytes())


def check_subtitles(path: Path, label: str) -> None:
    """Screening for a fetched subtitles file: readable, within the limits, every cue well formed."""
    try:
        read_subtitles(path)
    except SubtitlesFileError as exc:
        raise JobError(
            ErrorCode.INVALID_INPUT,
            f"{label}: the subtitles file is not valid SRT or WebVTT ({exc}).",
            {"element": label, "line": exc.line, "reason": exc.reason},
        ) from None


def parse_subtitles(data: bytes) -> list[Cue]:
    lines = _LINE_BREAK.split(_decode(data))
    webvtt = lines[0].startswith("WEBVTT") and (len(lines[0]) == 6 or lines[0][6] in " \t")
    cues = _webvtt(lines) if webvtt else _srt(lines)
    if len(cues) > MAX_CUES:
        line = cues[MAX_CUES][0]
        raise SubtitlesFileError(line, f"more than {MAX_CUES} cues; split the file across subtitles elements")
    cues.sort(key=lambda cue: cue[1])
    timed = []
    for n, (line, start, end, text) in enumerate(cues):
        if n + 1 < len(cues):
            end = min(end, cues[n + 1][1])  # overlapping cues would be drawn over each other
        if end > start and text.strip():
            timed.append(_cue(line, start, end, text))
    return timed


def _cue(line: int, start: float, end: float, text: str) -> Cue:
    """The model's own checks too, so a cue it refuses is the file's fault on `line`, never a crash."""
    try:
        return Cue(start=start, end=end, text=text)
    except ValidationError as exc:
        reason = "; ".join(str(error["msg"]) for error in exc.errors(include_url=False))
        raise SubtitlesFileError(line, f"the cue is out of bounds ({reason})") from None


def _decode(data: bytes) -> str:
    encoding = "utf-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SubtitlesFileError(line, "the text is not UTF-8 (save the file as UTF-8)") from None
    if "\x00" in text:
        raise SubtitlesFileError(
            text[: text.index("\x00")].count("\n") + 1, "a NUL byte: this is not a text file"
        )
    return text.removeprefix("\ufeff")


def _seconds(hours: str | None, minutes: str, seconds: str, millis: str, line: int) -> float:
    if int(minutes) > 59 or int(seconds) > 59:
        raise SubtitlesFileError(line, "minutes and seconds must be below 60")
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(millis.ljust(3, "0")) / 1000


def _timing(pattern: re.Pattern[str], text: str, line: int, example: str) -> tuple[float, float]:
    match = pattern.match(text)
    if match is None:
        raise SubtitlesFileError(line, f"expected a cue timing such as {example!r}, got {_shown(text)}")
    parts = match.groups()
    start = _seconds(parts[0], parts[1], parts[2], parts[3], line)
    end = _seconds(parts[4], parts[5], parts[6], parts[7], line)
    if max(start, end) > MAX_SECONDS:
        raise SubtitlesFileError(
            line, f"cue times must be at most {MAX_SECONDS // 3600} hours from the start, got {_shown(text)}"
        )
    if end <= start:
        raise SubtitlesFileError(line, "the cue must end after it starts")
    return start, end


def _shown(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _blocks(lines: list[str], first: int) -> list[tuple[int, list[str]]]:
    """Runs of non-blank lines from index `first`, each with its 1-based line number."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    for n in range(first, len(lines)):
        if lines[n].strip():
            if not current:
                blocks.append((n + 1, current))
            current.append(lines[n])
        else:
            current = []
    return blocks


def _cue_text(text: str, line: int) -> str:
    if len(text) > MAX_CUE_CHARS:
        raise SubtitlesFileError(line, f"the cue's text is over {MAX_CUE_CHARS} characters")
    return text


def _srt(lines: list[str]) -> list[tuple[int, float, float, str]]:
    cues = []
    example = "00:00:01,000 --> 00:00:02,500"
    for line, block in _blocks(lines, 0):
        timing_at = 1 if block[0].strip().isdigit() else 0
        if timing_at == 1 and len(block) < 2:
            raise SubtitlesFileError(
                line + 1, f"expected a cue timing such as {example!r} after the cue number"
            )
        start, end = _timing(_SRT_TIMING, block[timing_at], line + timing_at, example)
        text = _SRT_TAGS.sub("", "\n".join(block[timing_at + 1 :]))
        cues.append((line, start, end, _cue_text(text, line)))
    return cues


def _webvtt(lines: list[str]) -> list[tuple[int, float, float, str]]:
    cues = []
    example = "00:01.000 --> 00:02.500"
    header_end = next((n for n, text in enumerate(lines) if not text.strip()), len(lines))
    for line, block in _blocks(lines, header_end):
        if re.match(r"^(NOTE|STYLE|REGION)(\s|$)", block[0]):
            continue
        timing_at = 0 if "-->" in block[0] else 1
        if timing_at == 1 and len(block) < 2:
            raise SubtitlesFileError(line + 1, f"expected a cue timing such as {example!r} after the cue id")
        start, end = _timing(_VTT_TIMING, block[timing_at], line + timing_at, example)
        text = html.unescape(_VTT_TAGS.sub("", "\n".join(block[timing_at + 1 :])))
        cues.append((line, start, end, _cue_text(text, line)))
    return cues
