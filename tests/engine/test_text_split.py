"""Text animated per line, word or letter: each part runs the preset in turn, `stagger` seconds
after the one before it, checked on rendered pixels."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from schemas.errors import JobError
from tests.engine.conftest import Renderer, frame_at


def _spec(*elements: dict[str, Any], **output: Any) -> dict[str, Any]:
    return {"width": 320, "height": 240, "fps": 10, "duration": 3, **output, "elements": list(elements)}


def _text(text: str, *animations: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"type": "text", "text": text, "font_size": 40, "color": "#ffffff", "x": 10, "y": 100,
            "align": "left", "animations": list(animations), **fields}  # fmt: skip


def _ink(frame: np.ndarray) -> np.ndarray:
    return np.asarray(frame.mean(axis=2) > 128)


def _runs(columns: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """Spans of lit columns, split where more than `gap` columns are dark (letters of 40 px are
    under 11 px apart, words more)."""
    spans: list[tuple[int, int]] = []
    for x in np.where(columns)[0]:
        if spans and x - spans[-1][1] <= gap:
            spans[-1] = (spans[-1][0], int(x))
        else:
            spans.append((int(x), int(x)))
    return spans


def test_words_fade_in_one_after_another(render: Renderer) -> None:
    fade = {"type": "fade", "split": "word", "stagger": 0.5, "duration": 0.2, "easing": "linear"}
    out = render(_spec(_text("AAA BBB CCC", fade)))
    words = _runs(np.asarray(_ink(frame_at(out.path, 2.5)).any(axis=0)), gap=11)
    assert len(words) == 3, words
    middle = _ink(frame_at(out.path, 0.8))  # word 0 in at 0.2, word 1 at 0.7, word 2 starts at 1.0
    lit = [int(middle[:, a : b + 1].sum()) for a, b in words]
    assert lit[0] > 100 and lit[1] > 100 and lit[2] == 0, lit
    assert not _ink(frame_at(out.path, 0.0)).any()


def test_lines_slide_out_in_reading_order_after_the_box_stays(render: Renderer) -> None:
    slide = {"type": "slide", "split": "line", "time": "end", "direction": "left", "stagger": 1,
             "duration": 0.5, "easing": "linear"}  # fmt: skip
    element = _text("AAA\nBBB", slide, background_color="#0000ff", background_padding=4)
    out = render(_spec(element))
    full = _ink(frame_at(out.path, 1.0))
    rows = np.where(full.any(axis=1))[0]
    middle = (rows.min() + rows.max()) // 2
    late = frame_at(out.path, 2.6)  # line 0 left by 2.0, line 1 leaves from 2.5 to 3.0
    assert not _ink(late)[:middle].any() and full[:middle].any()
    assert _ink(late)[middle:].sum() > 0.3 * full[middle:].sum()
    blue = (late[:, :, 2] > 150) & (late[:, :, 0] < 80)
    assert blue.sum() > 500  # the background box stays for the whole element


def test_letters_grow_from_their_centres_in_turn(render: Renderer) -> None:
    scale = {"type": "scale", "split": "letter", "stagger": 0.4, "duration": 0.4, "easing": "linear"}
    out = render(_spec(_text("HHHH", scale)))
    counts = [int(_ink(frame_at(out.path, t)).sum()) for t in (0.0, 0.6, 1.0, 2.0)]
    assert counts[0] < 20 and counts[0] < counts[1] < counts[2] < counts[3], counts
    letters = _runs(np.asarray(_ink(frame_at(out.path, 2.0)).any(axis=0)), gap=1)
    early = _ink(frame_at(out.path, 0.6))  # letter 0 whole, letter 1 half grown, 2 and 3 not begun
    lit = [int(early[:, a : b + 1].sum()) for a, b in letters]
    assert lit[0] > lit[1] > 0 and lit[2] + lit[3] < 10, lit
    a, b = letters[1]
    grown = np.where(early[:, a : b + 1].any(axis=0))[0]
    assert abs((grown.min() + grown.max()) / 2 - (b - a) / 2) <= 2  # about its own centre


def test_too_many_lines_are_refused_naming_the_element(render: Renderer) -> None:
    fade = {"type": "fade", "split": "line"}
    with pytest.raises(JobError) as err:
        render(_spec({**_text("\n".join("ab" for _ in range(201)), fade, font_size=8), "id": "credits"}))
    assert err.value.code == "INVALID_INPUT" and "credits" in err.value.message
    assert "at most 200" in err.value.message


@pytest.mark.parametrize(("text", "why"), [("שלום עולם", "right-to-left"), ("Hi 😀 there", "several fonts")])
def test_split_text_is_left_to_right_in_one_font(render: Renderer, text: str, why: str) -> None:
    with pytest.raises(JobError) as err:
        render(_spec({**_text(text, {"type": "fade", "split": "word"}), "id": "greeting"}))
    assert err.value.code == "INVALID_INPUT" and "greeting" in err.value.message and why in err.value.message
