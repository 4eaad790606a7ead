"""How an element moves: keyframed properties, enter/exit animation presets and Ken Burns effects.

A keyframed property is a list of `{"time", "value", "easing"}` with `time` in seconds from the
element's own start; before the first keyframe its value holds, after the last the last value
holds, and `easing` shapes the segment arriving at its keyframe: a name (`ease-out-back`) or a CSS
`cubic-bezier(x1, y1, x2, y2)`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from schemas.units import Length, check_length, kind

EASING_FAMILIES = ("sine", "quad", "cubic", "quart", "quint", "expo", "circ", "back", "elastic", "bounce")
EasingName = Literal[
    "linear",
    "step",
    "ease-in",  # cubic, as ease-in-cubic
    "ease-out",
    "ease-in-out",
    "ease-in-sine",
    "ease-out-sine",
    "ease-in-out-sine",
    "ease-in-quad",
    "ease-out-quad",
    "ease-in-out-quad",
    "ease-in-cubic",
    "ease-out-cubic",
    "ease-in-out-cubic",
    "ease-in-quart",
    "ease-out-quart",
    "ease-in-out-quart",
    "ease-in-quint",
    "ease-out-quint",
    "ease-in-out-quint",
    "ease-in-expo",
    "ease-out-expo",
    "ease-in-out-expo",
    "ease-in-circ",
    "ease-out-circ",
    "ease-in-out-circ",
    "ease-in-back",
    "ease-out-back",
    "ease-in-out-back",
    "ease-in-elastic",
    "ease-out-elastic",
    "ease-in-out-elastic",
    "ease-in-bounce",
    "ease-out-bounce",
    "ease-in-out-bounce",
]
EASINGS: tuple[str, ...] = get_args(EasingName)
BEZIER_Y_LIMIT = 5.0  # CSS leaves y free; beyond this a curve overshoots its range fivefold
_NUMBER = r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*"
CUBIC_BEZIER_PATTERN = rf"^\s*cubic-bezier\({_NUMBER},{_NUMBER},{_NUMBER},{_NUMBER}\)\s*$"
_CUBIC_BEZIER_RE = re.compile(CUBIC_BEZIER_PATTERN)
_EASING_HINT = (
    "linear, step, ease-in, ease-out, ease-in-out, ease-{in|out|in-out}-{"
    + "|".join(EASING_FAMILIES)
    + "} or cubic-bezier(x1, y1, x2, y2)"
)
AnimationType = Literal["fade", "slide", "scale", "wipe", "spin", "typewriter"]
Direction = Literal["left", "right", "up", "down"]
Split = Literal["line", "word", "letter"]
PER_PART = ("fade", "slide", "scale")  # presets a text's parts can each run
MAX_SPLIT_PARTS = 200  # one drawtext per part, every frame
MAX_STAGGER = 10.0
Effect = Literal["zoom-in", "zoom-out", "pan-left", "pan-right", "pan-up", "pan-down"]


def check_easing(value: object) -> object:
    """A named easing, or a cubic-bezier whose numbers are in range: one error at the field,
    not one per member of the name-or-cubic-bezier union."""
    if isinstance(value, str) and value in EASINGS:
        return value
    if isinstance(value, str) and value.strip().startswith("cubic-bezier"):
        cubic_bezier(value)
        return value
    raise PydanticCustomError(
        "easing", "unknown easing {value}; use {hint}", {"value": repr(value), "hint": _EASING_HINT}
    )


@lru_cache(maxsize=256)
def cubic_bezier(value: str) -> tuple[float, float, float, float]:
    """x1, y1, x2, y2 of `cubic-bezier(x1, y1, x2, y2)`, CSS's rules: x1 and x2 in [0, 1] so the
    curve is a function of time, y1 and y2 free within +-BEZIER_Y_LIMIT."""
    match = _CUBIC_BEZIER_RE.match(value)
    if match is None:
        raise PydanticCustomError(
            "cubic_bezier",
            "write cubic-bezier as 'cubic-bezier(x1, y1, x2, y2)', four numbers; got '{value}'",
            {"value": value},
        )
    x1, y1, x2, y2 = (float(group) for group in match.groups())
    if not (0 <= x1 <= 1 and 0 <= x2 <= 1):
        raise PydanticCustomError(
            "cubic_bezier_x",
            "cubic-bezier x1 and x2 must be between 0 and 1; got '{value}'",
            {"value": value},
        )
    if max(abs(y1), abs(y2)) > BEZIER_Y_LIMIT:
        raise PydanticCustomError(
            "cubic_bezier_y",
            "cubic-bezier y1 and y2 must be between -{limit} and {limit}; got '{value}'",
            {"value": value, "limit": f"{BEZIER_Y_LIMIT:g}"},
        )
    return x1, y1, x2, y2


Easing = Annotated[
    EasingName | Annotated[str, StringConstraints(pattern=CUBIC_BEZIER_PATTERN)],
    BeforeValidator(check_easing),
    Field(examples=["ease-out-back", "cubic-bezier(0.25, 0.1, 0.25, 1)"]),
]


class _Keyframe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    time: float = Field(..., ge=0, le=86_400, description="Seconds from the element's start.")
    easing: Easing = Field("linear", description="Shape of the segment arriving at this keyframe.")


class LengthKeyframe(_Keyframe):
    value: Length

    @field_validator("value", mode="before")
    @classmethod
    def _length(cls, value: object) -> float | str:
        return check_length(value)


class ScaleKeyframe(_Keyframe):
    value: float | str = Field(..., description="A factor (1.2) or percent ('120%').")

    @field_validator("value", mode="before")
    @classmethod
    def _scale(cls, value: object) -> float | str:
        return check_scale(value)


class OpacityKeyframe(_Keyframe):
    value: float = Field(..., ge=0, le=1)


class RotationKeyframe(_Keyframe):
    value: float = Field(..., ge=-3600, le=3600, description="Degrees, clockwise.")


class VolumeKeyframe(_Keyframe):
    value: float = Field(..., ge=0, le=10)


def check_scale(value: object) -> float | str:
    """A factor or a percent, between 0 and 10 times."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"must be a factor (1.2) or percent ('120%'); got {kind(value)}")
    factor = scale_factor(value)
    if factor is None:
        raise ValueError(f"must be a factor (1.2) or percent ('120%'); got '{value}'")
    if not 0 <= factor <= 10:
        raise ValueError(f"must be between 0 and 10 times (0% to 1000%); got '{value}'")
    return value if isinstance(value, str) else float(value)


def scale_factor(value: float | str) -> float | None:
    if isinstance(value, (int, float)):
        return float(value)
    text = value.strip()
    try:
        return float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        return None


Lengths = Annotated[
    float | str | list[LengthKeyframe],
    Field(description="A length, or keyframes of lengths: [{'time': 0, 'value': '0%'}, ...]."),
]
Scale = Annotated[
    float | str | list[ScaleKeyframe], Field(description="A factor (1.2), percent ('120%') or keyframes.")
]


DEFAULT_STAGGER = 0.1


class Animation(BaseModel):
    """An enter (`time: start`) or exit (`time: end`) preset over `duration` seconds, run by the
    element as a whole or, with `split`, by each line, word or letter of a text in turn."""

    model_config = ConfigDict(extra="forbid")

    type: AnimationType
    time: Literal["start", "end"] = "start"
    duration: float = Field(
        0.6, gt=0, le=60, description="Seconds the animation lasts (each part's, with split)."
    )
    direction: Direction = Field(
        "left",
        description="slide: the output edge it enters from or exits to (with split: the edge of the "
        "element's box); wipe: the edge revealed first.",
    )
    easing: Easing = "ease-out"
    split: Split | None = Field(
        None,
        description="Text only: run the preset (fade, slide or scale) on each line, word or letter, "
        "one after another in reading order; null: the element as a whole.",
        examples=["word"],
    )
    stagger: float = Field(
        DEFAULT_STAGGER,
        ge=0,
        le=MAX_STAGGER,
        description="With split: seconds between consecutive parts' starts (shortened when the "
        "parts would not all fit in the element's time).",
        examples=[0.08],
    )

    @model_validator(mode="after")
    def _split(self) -> Animation:
        errors: list[InitErrorDetails] = []
        if self.split is not None and self.type not in PER_PART:
            message = "{type} cannot run per part; split works with " + ", ".join(PER_PART)
            errors.append(
                InitErrorDetails(
                    type=PydanticCustomError("split_preset", message, {"type": self.type}),
                    loc=("split",),
                    input=self.split,
                )
            )
        # A default stagger is what a dumped spec carries (a job re-read from Kafka): only another
        # value says a split was meant.
        if self.split is None and self.stagger != DEFAULT_STAGGER:
            errors.append(
                InitErrorDetails(
                    type=PydanticCustomError("stagger_without_split", "stagger spaces the parts of a split"),
                    loc=("stagger",),
                    input=self.stagger,
                )
            )
        raise_at(type(self).__name__, errors)
        return self


def split_errors(animations: Sequence[Animation], text: str | None) -> list[InitErrorDetails]:
    """A split needs a text (`text` None: the element is not one), no typewriter beside it, and
    no more words or letters than MAX_SPLIT_PARTS (lines are counted once wrapped, at render)."""
    typewriter = any(a.type == "typewriter" for a in animations)
    errors = []
    for n, animation in enumerate(animations):
        error = None if animation.split is None else _split_error(animation.split, text, typewriter)
        if error is not None:
            errors.append(InitErrorDetails(type=error, loc=("animations", n, "split"), input=animation.split))
    return errors


def _split_error(split: Split, text: str | None, typewriter: bool) -> PydanticCustomError | None:
    if text is None:
        return PydanticCustomError(
            "split_not_text", "split animates the lines, words or letters of text only"
        )
    if typewriter:
        message = "a typewriter reveals the letters itself: it cannot share an element with a split"
        return PydanticCustomError("split_with_typewriter", message)
    parts = len(text.split()) if split == "word" else len("".join(text.split())) if split == "letter" else 0
    if parts > MAX_SPLIT_PARTS:
        return PydanticCustomError(
            "split_too_many_parts",
            "the text has {parts} {split}s; at most {limit} parts animate one by one: split by a larger part",
            {"parts": parts, "split": split, "limit": MAX_SPLIT_PARTS},
        )
    return None


def keyframe_order_errors(name: str, keyframes: Sequence[_Keyframe]) -> list[InitErrorDetails]:
    """One error per keyframe whose time does not come after the previous one's."""
    return [
        InitErrorDetails(
            type=PydanticCustomError(
                "keyframe_order",
                "keyframe times must increase: {time} s is not after the previous keyframe's {previous} s",
                {"time": f"{later.time:g}", "previous": f"{earlier.time:g}"},
            ),
            loc=(name, n + 1, "time"),
            input=later.time,
        )
        for n, (earlier, later) in enumerate(itertools.pairwise(keyframes))
        if later.time <= earlier.time
    ]


def keyframe_list(value: list[Any], model: type[_Keyframe]) -> list[Any]:
    """Keyframes validated one by one, errors at `x.1.value` rather than once per member of the
    property's value-or-keyframes union."""
    if not value:
        raise ValueError("a keyframe list needs at least one keyframe")
    items: list[Any] = []
    errors: list[InitErrorDetails] = []
    for n, item in enumerate(value):
        if isinstance(item, model):
            items.append(item)
        elif not isinstance(item, dict):
            message = 'a keyframe is an object: {"time": seconds, "value": ...}'
            errors.append(
                InitErrorDetails(type=PydanticCustomError("keyframe", message), loc=(n,), input=item)
            )
        else:
            try:
                items.append(model.model_validate(item))
            except ValidationError as exc:
                errors += [
                    InitErrorDetails(
                        type=PydanticCustomError(err["type"], str(err["msg"])),
                        loc=(n, *err["loc"]),
                        input=err["input"],
                    )
                    for err in exc.errors()
                ]
    raise_at(model.__name__, errors)
    return items


def raise_at(title: str, errors: list[InitErrorDetails]) -> None:
    """Errors located inside a field (`x[1].time`), not at the field as a whole."""
    if errors:
        raise ValidationError.from_exception_data(title, errors)
