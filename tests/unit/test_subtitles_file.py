"""SRT and WebVTT read strictly: cues and their times, basic markup removed and everything else
verbatim, the bad line named, limits kept; the screening of a fetched subtitles file."""

from __future__ import annotations

from pathlib import Path

import pytest

from media.screening import screen_source
from media.subtitles import MAX_SUBTITLES_BYTES, SubtitlesFileError, parse_subtitles, read_subtitles
from schemas.errors import ErrorCode, JobError
from schemas.settings import Settings
from schemas.subtitles import MAX_CUES

SRT = """1
00:00:00,500 --> 00:00:02,000
Hello <b>there</b>, <i>you</i>
{\\an8}<font color=red>%{pts}</font> "q" back\\slash

2
00:00:02,500 --> 00:00:04,250 X1:10 X2:20 Y1:5 Y2:9
Second
"""

VTT = """WEBVTT - a talk

NOTE written by hand
over two lines

STYLE
::cue { color: red }

intro
00:00.500 --> 00:02.000 align:start position:10%
<v Roger>Hi &amp; <c.loud>bye</c> &lt;b&gt;</v>

01:02.000 --> 01:03.500
<00:01:02.500>karaoke <u>style</u>
"""


def test_srt_cues_keep_their_text_verbatim_but_for_b_i_u() -> None:
    cues = parse_subtitles(SRT.encode())
    assert [(c.start, c.end) for c in cues] == [(0.5, 2.0), (2.5, 4.25)]
    assert cues[0].text == 'Hello there, you\n{\\an8}<font color=red>%{pts}</font> "q" back\\slash'
    assert cues[1].text == "Second"


def test_webvtt_cue_tags_and_references_are_read_other_blocks_skipped() -> None:
    cues = parse_subtitles(VTT.encode())
    assert [(c.start, c.end) for c in cues] == [(0.5, 2.0), (62.0, 63.5)]
    assert [c.text for c in cues] == ["Hi & bye <b>", "karaoke style"]


def test_bom_crlf_and_missing_numbers_are_accepted() -> None:
    data = "\ufeff00:00:01,000 --> 00:00:02,000\r\nOne\r\n\r\n2\r\n00:00:03.000 --> 00:00:04.000\r\nTwo\r\n"
    assert [(c.start, c.text) for c in parse_subtitles(data.encode())] == [(1.0, "One"), (3.0, "Two")]


def test_overlapping_cues_end_where_the_next_begins() -> None:
    data = "1\n00:00:01,000 --> 00:00:05,000\nA\n\n2\n00:00:03,000 --> 00:00:04,000\nB\n"
    assert [(c.start, c.end) for c in parse_subtitles(data.encode())] == [(1.0, 3.0), (3.0, 4.0)]


@pytest.mark.parametrize(
    ("data", "line", "hint"),
    [
        (b"1\n00:00:01,000 -> 00:00:02,000\nA\n", 2, "cue timing"),
        (b"1\n00:00:01,000 --> 00:00:02,000\nA\n\nstray text\n", 5, "stray text"),
        (b"1\n00:00:03,000 --> 00:00:02,000\nA\n", 2, "end after"),
        (b"1\n00:00:61,000 --> 00:01:02,000\nA\n", 2, "below 60"),
        (b"1\n00:00:01,000 --> 00:00:02,000\nA\n\n2\n", 6, "after the cue number"),
        (b"1\n00:00:01,000 --> 00:00:02,000\n\xff\xfe bad\n", 3, "UTF-8"),
        (b"1\n00:00:01,000 --> 00:00:02,000\nA\x00\n", 3, "NUL"),
        (b"WEBVTT\n\n00:01.000 --> 00:02,000\nA\n", 3, "cue timing"),
        (b"WEBVTT\n\nid\n00:01.000 --> 00:02.000\nA\n\nid2\n", 8, "after the cue id"),
    ],
)
def test_a_malformed_file_names_its_line(data: bytes, line: int, hint: str) -> None:
    with pytest.raises(SubtitlesFileError) as caught:
        parse_subtitles(data)
    assert caught.value.line == line and hint in caught.value.reason, caught.value


def test_limits_on_cues_and_size(tmp_path: Path) -> None:
    many = "".join(
        f"{n + 1}\n00:00:{n // 1000:02d},{n % 1000:03d} --> 00:00:59,999\nx\n\n" for n in range(MAX_CUES + 1)
    )
    with pytest.raises(SubtitlesFileError) as caught:
        parse_subtitles(many.encode())
    assert caught.value.line == 4 * MAX_CUES + 1 and f"more than {MAX_CUES} cues" in caught.value.reason
    big = tmp_path / "big.srt"
    big.write_bytes(b"x" * (MAX_SUBTITLES_BYTES + 1))
    with pytest.raises(SubtitlesFileError, match="at most"):
        read_subtitles(big)


def test_screening_accepts_subtitles_as_text_and_names_a_bad_line(tmp_path: Path) -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    good = tmp_path / "good"
    good.write_text(SRT, encoding="utf-8")
    screen_source(good, "subtitles", "elements[0]", settings)
    bad = tmp_path / "bad"
    bad.write_bytes(b"1\n00:00:01,000 --> 00:00:02,000\nA\n\n2\nnot a timing\nB\n")
    with pytest.raises(JobError) as caught:
        screen_source(bad, "subtitles", "elements[0]", settings)
    assert caught.value.code is ErrorCode.INVALID_INPUT
    assert "elements[0]" in caught.value.message and "line 6" in caught.value.message
    assert caught.value.details["line"] == 6
    with pytest.raises(JobError, match="not a recognised media format"):
        screen_source(good, "video", "elements[0]", settings)  # a subtitles file is no media
