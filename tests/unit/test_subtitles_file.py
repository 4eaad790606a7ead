"""SRT and WebVTT read strictly: cues and their times, basic markup removed and everything else
verbatim, the bad line named, limits kept; the screening of a fetched subtitles file."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from media import subtitles
from media.screening import screen_source
from media.subtitles import MAX_SUBTITLES_BYTES, SubtitlesFileError, parse_subtitles, read_subtitles
from schemas.errors import ErrorCode, JobError
from schemas.settings import Settings
from schemas.subtitles import MAX_CUES, MAX_SECONDS

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
        (b"1\n24:00:00,001 --> 24:00:01,000\nA\n", 2, "at most 24 hours"),
        (b"1\n00:00:01,000 --> 23:59:59,000\nA\n\n2\n23:59:59,500 --> 24:00:00,500\nB\n", 6, "at most 24"),
        (b"1\n99999999:00:00,000 --> 99999999:00:01,000\nA\n", 2, "at most 24 hours"),
        (b"1\n999999999999:00:00,000 --> 999999999999:00:01,000\nA\n", 2, "cue timing"),
        (b"WEBVTT\n\n100:00:00.000 --> 100:00:01.000\nA\n", 3, "at most 24 hours"),
        (b"WEBVTT\n\nid\n25:00:00.000 --> 24:00:00.000\nA\n", 4, "at most 24 hours"),
        (b"WEBVTT\n\n00:02.000 --> 00:01.000\nA\n", 3, "end after"),
    ],
)
def test_a_malformed_file_names_its_line(data: bytes, line: int, hint: str) -> None:
    with pytest.raises(SubtitlesFileError) as caught:
        parse_subtitles(data)
    assert caught.value.line == line and hint in caught.value.reason, caught.value


def test_a_cue_ending_on_the_bound_is_read() -> None:
    [cue] = parse_subtitles(b"1\n23:59:59,000 --> 24:00:00,000\nLast\n")
    assert (cue.start, cue.end) == (86_399.0, MAX_SECONDS)


def test_a_cue_the_model_refuses_is_the_file_fault_on_its_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Should the reader's own checks ever let through a cue the Cue model refuses, the model's
    error still names the cue's line instead of escaping as a ValidationError."""
    monkeypatch.setattr(subtitles, "MAX_SECONDS", 10 * MAX_SECONDS)
    with pytest.raises(SubtitlesFileError) as caught:
        parse_subtitles(b"1\n00:00:01,000 --> 00:00:02,000\nA\n\n7\n30:00:00,000 --> 30:00:01,000\nB\n")
    assert caught.value.line == 5 and "less than or equal to 86400" in caught.value.reason


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


@pytest.mark.parametrize(
    "data", [b"1\n30:00:00,000 --> 30:00:01,000\nA\n", b"WEBVTT\n\n99:00:00.000 --> 99:00:01.000\nA\n"]
)
def test_screening_refuses_a_cue_past_the_bound_as_invalid_input(tmp_path: Path, data: bytes) -> None:
    """Not a crash of the fetch stage (INTERNAL_ERROR): the file's fault, on its line."""
    path = tmp_path / "late"
    path.write_bytes(data)
    with pytest.raises(JobError) as caught:
        screen_source(path, "subtitles", "elements[2]", Settings(_env_file=None))  # type: ignore[call-arg]
    assert caught.value.code is ErrorCode.INVALID_INPUT and "at most 24 hours" in caught.value.message
    assert caught.value.details["element"] == "elements[2]" and caught.value.details["line"] in (2, 3)


_SEEDS = [
    SRT.encode(),
    VTT.encode(),
    b"1\n23:59:59,999 --> 24:00:00,000\nx\n",
    b"WEBVTT\n\n99:59:59.999 --> 100:00:00.000\n",
]
_PIECES = [
    *(b"\n", b"\r", b"\r\n", b" --> ", b"-->", b":", b",", b".", b" ", b"\t", b"0", b"9"),
    *(b"99999999", b"9" * 40, b"00:00:00,000", b"24:00:00,001", b"999:59:59.999", b"x" * 1001),
    *(b"WEBVTT", b"WEBVTT\t", b"NOTE", b"<b>", b"&amp;", "\u0663".encode(), "\U0001d7d7".encode()),
    *(b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00", b"\xff", b"\xe2\x82"),
]


def _mutants(count: int) -> list[bytes]:
    """Seeds cut, spliced and sprinkled with the pieces that the reader's rules turn on."""
    rng = random.Random(20240601)
    mutants = []
    for _ in range(count):
        data = bytearray(rng.choice(_SEEDS))
        for _ in range(rng.randint(1, 6)):
            at = rng.randint(0, len(data))
            roll = rng.random()
            if roll < 0.5:
                data[at:at] = rng.choice(_PIECES)
            elif roll < 0.8:
                del data[at : at + rng.randint(1, 8)]
            else:
                data[at:at] = bytes([rng.randrange(256)])
        mutants.append(bytes(data))
    return mutants


def test_no_input_makes_the_reader_raise_anything_but_a_file_error(tmp_path: Path) -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    path = tmp_path / "fuzzed"
    refused = 0
    for data in _mutants(3000):
        try:
            cues = parse_subtitles(data)
        except SubtitlesFileError as exc:
            refused += 1
            assert exc.line >= 1 and exc.reason, data
        else:
            assert all(0 <= c.start < c.end <= MAX_SECONDS for c in cues), data
        path.write_bytes(data)
        try:
            screen_source(path, "subtitles", "elements[0]", settings)
        except JobError as exc:
            assert exc.code is ErrorCode.INVALID_INPUT, data
    assert 0 < refused < 3000  # the mutants exercise both outcomes
