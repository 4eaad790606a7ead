"""One model per element type, in a union discriminated by `type`.

Shared fields live in small bases: every element has a place in time; visual ones a box, motion
and a transition; media ones a source; audible ones volume and speed. Properties that move take a
value or keyframes (schemas.motion).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from schemas.looks import ChromaKey, ColorPreset, Crop, LookFilter
from schemas.motion import (
    Animation,
    Effect,
    LengthKeyframe,
    Lengths,
    OpacityKeyframe,
    RotationKeyframe,
    Scale,
    ScaleKeyframe,
    VolumeKeyframe,
    check_scale,
    keyframe_list,
    keyframe_order_errors,
    raise_at,
    split_errors,
)
from schemas.shapes import Gradient, ShapeKind, shape_errors
from schemas.subtitles import MAX_CUE_CHARS, MAX_CUES, MAX_WORDS_PER_CUE, Cue, subtitles_errors
from schemas.units import (
    AUTO,
    Color,
    Length,
    check_font_size,
    check_length,
    comparable_font_sizes,
    is_number,
    kind,
    resolve_length,
)

TransitionType = Literal[
    "fade",
    "crossfade",
    "dissolve",
    "wipeleft",
    "wiperight",
    "wipeup",
    "wipedown",
    "slideleft",
    "slideright",
    "slideup",
    "slidedown",
    "fadeblack",
    "fadewhite",
    "circleopen",
    "circleclose",
]
MAX_ANIMATIONS = 8
MAX_SPEECH_CHARS = 5000
LANGUAGE_PATTERN = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$"
MAX_FILTERS = 10


class Transition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: TransitionType = "crossfade"
    duration: float = Field(
        1.0, gt=0, le=10, description="Seconds the transition overlaps the previous clip."
    )


class Stroke(BaseModel):
    model_config = ConfigDict(extra="forbid")

    color: Color = "#000000"
    width: float = Field(2.0, ge=0, le=50)


class Shadow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    color: Color = "#000000aa"
    x: float = Field(2.0, ge=-100, le=100)
    y: float = Field(2.0, ge=-100, le=100)


class ElementBase(BaseModel):
    """Where an element is in time."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(None, max_length=64, description="Your name for the element, used in errors.")
    track: int = Field(1, ge=0, le=1000, description="Higher tracks are drawn on top.")
    time: float = Field(0.0, ge=0, description="Start on the timeline, seconds.")
    duration: float | Literal["media"] | None = Field(
        None, description="Seconds, 'media' for the source's length, or omitted: until the output ends."
    )
    fade_in: float = Field(0.0, ge=0, description="Seconds of fade in (visual and audio).")
    fade_out: float = Field(0.0, ge=0, description="Seconds of fade out (visual and audio).")

    @field_validator("duration", mode="before")
    @classmethod
    def _duration_type(cls, value: object) -> object:
        if (
            value is None
            or value == "media"
            or (isinstance(value, (int, float)) and not isinstance(value, bool))
        ):
            return value
        if isinstance(value, str) and is_number(value):
            return value  # a numeric string: pydantic parses it, as before
        shown = repr(value) if isinstance(value, str) else kind(value)
        raise ValueError(f"must be seconds (a number) or 'media'; got {shown}")

    @field_validator("duration")
    @classmethod
    def _positive(cls, value: float | str | None) -> float | str | None:
        if isinstance(value, float) and value <= 0:
            raise ValueError("duration must be positive")
        return value

    @property
    def is_visual(self) -> bool:
        return isinstance(self, VisualElement)


class VisualElement(ElementBase):
    """Something seen: a box placed by anchors, moving by keyframes and animations."""

    x: Lengths | None = Field(None, description="Where the anchor point goes; omitted: centred.")
    y: Lengths | None = None
    width: Lengths | None = None
    height: Lengths | None = None
    x_anchor: Length = Field("0%", description="Point of the element placed at x, percent of its width.")
    y_anchor: Length = Field("0%", description="Point of the element placed at y, percent of its height.")
    scale: Scale = Field(1.0, description="Size factor about the anchor point: 1.2 or '120%', or keyframes.")
    opacity: Annotated[float, Field(ge=0, le=1)] | list[OpacityKeyframe] = 1.0
    rotation: Annotated[float, Field(ge=-3600, le=3600)] | list[RotationKeyframe] = Field(
        0.0, description="Degrees clockwise about the box's centre, or keyframes."
    )
    animations: list[Animation] = Field(
        default_factory=list, max_length=MAX_ANIMATIONS, description="Enter and exit presets."
    )
    transition: Transition | None = Field(
        None, description="Transition from the previous clip on the same track into this one."
    )
    filters: list[LookFilter] = Field(
        default_factory=list, max_length=MAX_FILTERS, description="Colour filters, applied in order."
    )
    color_preset: ColorPreset | None = Field(None, description="A colour grade of this element.")

    @field_validator("x", "y", "width", "height", mode="before")
    @classmethod
    def _lengths(cls, value: object) -> object:
        if isinstance(value, list):
            return keyframe_list(value, LengthKeyframe)
        return value if value is None else check_length(value)

    @field_validator("x_anchor", "y_anchor", mode="before")
    @classmethod
    def _anchor(cls, value: object) -> float | str:
        return check_length(value)

    @field_validator("scale", mode="before")
    @classmethod
    def _scale(cls, value: object) -> object:
        return keyframe_list(value, ScaleKeyframe) if isinstance(value, list) else check_scale(value)

    @field_validator("opacity", "rotation", mode="before")
    @classmethod
    def _number_or_keyframes(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, list):
            return keyframe_list(value, OpacityKeyframe if info.field_name == "opacity" else RotationKeyframe)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and is_number(value):
            return value
        raise ValueError(f"must be a number or a list of keyframes; got {kind(value)}")

    @model_validator(mode="after")
    def _motion(self) -> VisualElement:
        errors: list[InitErrorDetails] = []
        for name in ("x", "y", "width", "height", "scale", "opacity", "rotation"):
            value = getattr(self, name)
            if isinstance(value, list):
                errors += keyframe_order_errors(name, value)
        for n, animation in enumerate(self.animations):
            if animation.type == "typewriter" and not isinstance(self, TextElement):
                errors.append(
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "typewriter_not_text", "typewriter animates text elements only"
                        ),
                        loc=("animations", n, "type"),
                        input=animation.type,
                    )
                )
        errors += split_errors(self.animations, self.text if isinstance(self, TextElement) else None)
        raise_at(type(self).__name__, errors)
        return self


class SourcedElement(ElementBase):
    source: str = Field(..., min_length=1, max_length=4096, description="URL of the media.")

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("source must not be empty")
        return value


class AudibleElement(ElementBase):
    """Something heard: a gain (or keyframes of it), muting, and ducking of the rest."""

    volume: Annotated[float, Field(ge=0, le=10)] | list[VolumeKeyframe] = Field(
        1.0, description="Linear gain of the element's sound, or keyframes."
    )
    muted: bool = False
    voiceover: bool = Field(False, description="Duck other audio under this element.")

    @field_validator("volume", mode="before")
    @classmethod
    def _volume(cls, value: object) -> object:
        return keyframe_list(value, VolumeKeyframe) if isinstance(value, list) else value

    @model_validator(mode="after")
    def _volume_order(self) -> AudibleElement:
        if isinstance(self.volume, list):
            raise_at(type(self).__name__, keyframe_order_errors("volume", self.volume))
        return self

    @property
    def silent(self) -> bool:
        return self.muted or (not isinstance(self.volume, list) and self.volume == 0)


class PlayableElement(SourcedElement, AudibleElement):
    """A source with a length: trimmed, looped or frozen, played at a speed, heard at a volume."""

    trim_start: float | None = Field(None, ge=0, description="Seconds skipped at the start of the source.")
    trim_end: float | None = Field(None, gt=0, description="Source time where the element stops.")
    duration_mode: Literal["auto", "loop", "freeze"] = "auto"
    speed: float = Field(
        1.0,
        ge=0.25,
        le=4,
        description="Playback rate of the source (pitch kept); 'media' duration is divided by it.",
    )

    @model_validator(mode="after")
    def _trim(self) -> PlayableElement:
        if self.trim_start is not None and self.trim_end is not None and self.trim_end <= self.trim_start:
            raise ValueError("trim_end must be after trim_start")
        return self


class FramedElement(BaseModel):
    """Media fitted into a box, optionally moving inside it (Ken Burns)."""

    fit_mode: Literal["cover", "contain", "fill", "auto"] = "auto"
    effect: Effect | None = Field(
        None, description="Ken Burns motion of the content inside the box over the element's duration."
    )
    chroma_key: ChromaKey | None = Field(None, description="Make one colour transparent (green screen).")
    crop: Crop | None = Field(None, description="Use only this part of the source.")
    effect_scale: float = Field(
        1.2, ge=1.0, le=4.0, description="How far an effect zooms (zoom-*) or pans (pan-*)."
    )


class VideoElement(PlayableElement, VisualElement, FramedElement):
    type: Literal["video"]


class ImageElement(SourcedElement, VisualElement, FramedElement):
    """A still, or an animated image (GIF, APNG, WebP) that plays once."""

    type: Literal["image"]


class TextElement(VisualElement):
    type: Literal["text"]
    text: str = Field(..., max_length=5000)
    font_family: str | None = Field(None, max_length=4096, description="Fontconfig name or a font file URL.")
    font_size: float | str = Field(
        48.0,
        description="Pixels, vmin/vmax/vh/vw units ('5vmin'), or 'auto': the largest size in "
        "[min_font_size, max_font_size] at which the wrapped text fits the box (needs width and height).",
    )
    min_font_size: float | str | None = Field(
        None,
        description="With font_size 'auto', the smallest size (default 8 px); text that does not fit "
        "even at it is cut at the box.",
    )
    max_font_size: float | str | None = Field(
        None, description="With font_size 'auto', the largest size (default the box's height)."
    )
    color: Color | None = Field(None, description="Text color (default white).")
    background_color: Color | None = Field(None, description="Box behind text.")
    background_padding: float = Field(0.0, ge=0, le=500)
    stroke: Stroke | None = None
    shadow: Shadow | None = None
    align: Literal["left", "center", "right"] = "center"
    vertical_align: Literal["top", "center", "bottom"] = Field(
        "center", description="Where the text sits in the height of a given box."
    )
    line_spacing: float = Field(0.0, ge=-100, le=500)

    # A value of no member's type is one error at the field's own path, not one per union member.
    @field_validator("font_size", mode="before")
    @classmethod
    def _font_size(cls, value: object) -> float | str:
        return check_font_size(value, auto=True)

    @field_validator("min_font_size", "max_font_size", mode="before")
    @classmethod
    def _font_size_limit(cls, value: object) -> float | str | None:
        return None if value is None else check_font_size(value)

    @model_validator(mode="after")
    def _no_media(self) -> TextElement:
        if self.duration == "media":
            raise ValueError("a text element has no media; give duration in seconds")
        raise_at(type(self).__name__, _auto_size_errors(self))
        return self


def _auto_size_errors(element: TextElement) -> list[InitErrorDetails]:
    """'auto' needs a box to fit; its limits only go with it, the smaller first."""
    errors = []
    low, high = element.min_font_size, element.max_font_size
    if element.font_size != AUTO:
        for name, value in (("min_font_size", low), ("max_font_size", high)):
            if value is not None:
                message = f"{name} is a limit of font_size 'auto'; set font_size to 'auto' or drop {name}"
                errors.append(
                    InitErrorDetails(
                        type=PydanticCustomError("font_size_auto", message), loc=(name,), input=value
                    )
                )
    elif element.width is None or element.height is None:
        message = "font_size 'auto' fits the text to its box: give width and height"
        errors.append(
            InitErrorDetails(
                type=PydanticCustomError("font_size_box", message), loc=("font_size",), input=AUTO
            )
        )
    numbers = comparable_font_sizes(low, high) if low is not None and high is not None else None
    if numbers is not None and numbers[0] > numbers[1]:
        message = f"min_font_size ({low}) must not be larger than max_font_size ({high})"
        errors.append(
            InitErrorDetails(
                type=PydanticCustomError("font_size_range", message), loc=("min_font_size",), input=low
            )
        )
    return errors


class ColorElement(VisualElement):
    type: Literal["color"]
    color: Color | None = Field(None, description="The fill: '#rrggbb' or '#rrggbbaa'.")
    fill_gradient: Gradient | None = Field(None, description="A gradient fill instead of color.")

    @model_validator(mode="after")
    def _no_media(self) -> ColorElement:
        if self.duration == "media":
            raise ValueError("a color element has no media; give duration in seconds")
        if (self.color is None) == (self.fill_gradient is None):
            raise ValueError("give color or fill_gradient (exactly one)")
        return self


class AudioElement(PlayableElement):
    type: Literal["audio"]


class CompositionElement(VisualElement):
    """Elements on a local timeline inside a box, moved and faded as one layer."""

    type: Literal["composition"]
    background_color: Color | None = Field(
        None, description="Fill behind the nested elements; default transparent."
    )
    elements: ElementList = Field(..., min_length=1)

    @model_validator(mode="after")
    def _no_media(self) -> CompositionElement:
        if self.duration == "media":
            raise ValueError("a composition has no media; give duration in seconds, or omit it")
        return self


class ShapeElement(VisualElement):
    """A rectangle (optionally rounded), an ellipse or a line drawn in the element's box."""

    type: Literal["shape"]
    shape: ShapeKind = Field(..., description="rectangle, ellipse, or line: across the box's middle.")
    fill_color: Color | None = Field(None, description="Solid fill: '#rrggbb' or '#rrggbbaa'.")
    fill_gradient: Gradient | None = Field(None, description="Gradient fill instead of fill_color.")
    border_radius: Length = Field(
        0.0, description="Rectangles: corner radius, pixels or percent of the box's shorter side."
    )
    stroke: Stroke | None = Field(
        None, description="Outline inside the box's edge; for a line, its colour and thickness."
    )

    @field_validator("border_radius", mode="before")
    @classmethod
    def _radius(cls, value: object) -> float | str:
        length = check_length(value)
        if resolve_length(length, 1.0) < 0:
            raise ValueError("border_radius must not be negative")
        return length

    @model_validator(mode="after")
    def _shape(self) -> ShapeElement:
        if self.duration == "media":
            raise ValueError("a shape has no media; give duration in seconds")
        has_stroke = self.stroke is not None and self.stroke.width > 0
        errors = shape_errors(self.shape, self.fill_color, self.fill_gradient, self.border_radius, has_stroke)
        raise_at(type(self).__name__, errors)
        return self


class SpeechElement(AudibleElement):
    """Narration spoken from `text` by the worker's speech engine, placed like audio. Without a
    duration (or with 'media') it lasts as long as it speaks; its word timings caption it
    (a subtitles element's `transcribe`)."""

    type: Literal["speech"]
    text: str = Field(
        ...,
        min_length=1,
        max_length=MAX_SPEECH_CHARS,
        description="What is said, as plain text: markup in it is read out, never obeyed.",
        examples=["Welcome to our channel. Today: five tips for better videos."],
    )
    voice: str | None = Field(
        None,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:+\-]*$",
        description="A voice of the engine (offline: en-US, en-GB, de-DE, es-ES, fr-FR, it-IT); "
        "omitted: the language's default voice.",
        examples=["en-GB"],
    )
    language: str | None = Field(
        None,
        max_length=20,
        pattern=LANGUAGE_PATTERN,
        description="Language of the text, a BCP 47 tag ('en', 'en-GB', 'de'); omitted: English "
        "or the voice's own.",
        examples=["en"],
    )
    speed: float = Field(
        1.0, ge=0.5, le=2, description="Speaking rate: 1 is natural, 1.2 is 20% faster.", examples=[1.1]
    )

    @field_validator("text")
    @classmethod
    def _spoken(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text must have something to say")
        return value


class SubtitlesElement(VisualElement):
    """Timed captions, from an SRT or WebVTT file or inline cues, in the element's box (by default
    the whole output). Cue text is drawn verbatim: tags in it never take effect."""

    type: Literal["subtitles"]
    source: str | None = Field(None, max_length=4096, description="URL of an SRT or WebVTT file.")
    cues: list[Cue] | None = Field(None, max_length=MAX_CUES, description="Inline cues, in time order.")
    font_family: str | None = Field(None, max_length=4096, description="Fontconfig name or a font file URL.")
    font_size: float | str = Field(48.0, description="Pixels, or vmin/vmax/vh/vw units ('5vmin').")
    color: Color = "#ffffff"
    highlight_color: Color | None = Field(
        None, description="Colour of the word being spoken (cues with words)."
    )
    stroke: Stroke | None = Field(
        default_factory=lambda: Stroke(width=3), description="Outline of the letters; null for none."
    )
    shadow: Shadow | None = None
    background_color: Color | None = Field(None, description="A box behind each cue.")
    position: Literal["bottom", "top", "center"] = "bottom"
    margin: Length = Field("5%", description="Gap to the box's top or bottom edge; percent of its height.")
    max_width: Length = Field("90%", description="Lines wrap at this width; percent of the box's width.")
    transcribe: str | None = Field(
        None,
        max_length=64,
        description="Caption what this element says: the id of a video, audio or speech element of the "
        "same composition. The words are timed one by one (highlight_color works), and the job's "
        "result gives the transcript as SRT, WebVTT and JSON.",
        examples=["narration"],
    )
    language: str | None = Field(
        None, max_length=20, pattern=LANGUAGE_PATTERN, description="The spoken language, a hint: 'en'."
    )
    words_per_cue: int = Field(
        7, ge=1, le=MAX_WORDS_PER_CUE, description="Transcribed cues: most words in one."
    )
    chars_per_cue: int = Field(
        42,
        ge=8,
        le=MAX_CUE_CHARS,
        description="Transcribed cues: most characters in one (a word longer than this is a cue of its own).",
    )

    @field_validator("font_size", mode="before")
    @classmethod
    def _font_size(cls, value: object) -> float | str:
        return check_font_size(value)

    @field_validator("margin", "max_width", mode="before")
    @classmethod
    def _length(cls, value: object) -> float | str:
        return check_length(value)

    @model_validator(mode="after")
    def _cues(self) -> SubtitlesElement:
        if self.duration == "media":
            raise ValueError("subtitles have no media length; give duration in seconds, or omit it")
        errors = subtitles_errors(self.source, self.cues, self.highlight_color, self.transcribe)
        raise_at(type(self).__name__, errors)
        return self


Element = Annotated[
    VideoElement
    | ImageElement
    | TextElement
    | AudioElement
    | ColorElement
    | CompositionElement
    | ShapeElement
    | SubtitlesElement
    | SpeechElement,
    Field(discriminator="type"),
]
ELEMENT_MODELS: dict[str, type[ElementBase]] = {
    "video": VideoElement,
    "image": ImageElement,
    "text": TextElement,
    "audio": AudioElement,
    "color": ColorElement,
    "composition": CompositionElement,
    "shape": ShapeElement,
    "subtitles": SubtitlesElement,
    "speech": SpeechElement,
}
ELEMENT_TYPES = tuple(ELEMENT_MODELS)


def _validate_elements(value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
    """Each element by its type's model, with errors at `elements.2.x`, not `elements.2.text.x`
    as pydantic's tagged union would name them."""
    if not isinstance(value, list):
        return handler(value)
    items: list[Any] = []
    errors: list[InitErrorDetails] = []
    for n, item in enumerate(value):
        if isinstance(item, ElementBase):
            items.append(item)
            continue
        model = ELEMENT_MODELS.get(str(item.get("type"))) if isinstance(item, dict) else None
        if model is None:
            shown = repr(item.get("type")) if isinstance(item, dict) else kind(item)
            message = f"type must be one of {', '.join(ELEMENT_TYPES)}; got {shown}"
            loc: tuple[int | str, ...] = (n, "type") if isinstance(item, dict) else (n,)
            errors.append(
                InitErrorDetails(type=PydanticCustomError("element_type", message), loc=loc, input=item)
            )
            continue
        try:
            items.append(model.model_validate(item, context=info.context))
        except ValueError as exc:
            errors += _located(n, exc, item["type"])
    raise_at("elements", errors or _transcribe_errors(items))
    return handler(items)


TRANSCRIBABLE = ("video", "audio", "speech")


def _transcribe_errors(items: list[Any]) -> list[InitErrorDetails]:
    """Each `transcribe` names a video, audio or speech element of the same list by its id."""
    by_id = {item.id: item for item in items if isinstance(item, ElementBase) and item.id is not None}
    errors = []
    for n, item in enumerate(items):
        wanted = item.transcribe if isinstance(item, SubtitlesElement) else None
        if wanted is None:
            continue
        target = by_id.get(wanted)
        kind = getattr(target, "type", None)
        if kind not in TRANSCRIBABLE:
            found = "no element" if target is None else f"a {kind} element"
            message = (
                f"transcribe names {found} with id {wanted!r} here: give the id of a video, audio or "
                "speech element of the same composition"
            )
            errors.append(
                InitErrorDetails(
                    type=PydanticCustomError("transcribe_target", message),
                    loc=(n, "transcribe"),
                    input=wanted,
                )
            )
    return errors


def _located(n: int, exc: ValueError, element_type: str) -> list[InitErrorDetails]:
    if not isinstance(exc, ValidationError):
        return [InitErrorDetails(type=PydanticCustomError("value_error", str(exc)), loc=(n,), input=None)]
    return [
        InitErrorDetails(
            type=PydanticCustomError(err["type"], _message(err, element_type)),
            loc=(n, *err["loc"]),
            input=err.get("input"),
        )
        for err in exc.errors()
    ]


def _message(err: Any, element_type: str) -> str:
    if err["type"] == "extra_forbidden" and len(err["loc"]) == 1:
        return f"a {element_type} element has no field {err['loc'][0]!r}"
    return str(err["msg"])


def source_of(element: ElementBase) -> str | None:
    """The URL of the file the element reads, for the types that have one."""
    return element.source if isinstance(element, SourcedElement | SubtitlesElement) else None


ElementList = Annotated[list[Element], WrapValidator(_validate_elements)]
CompositionElement.model_rebuild()
