"""Where elements land: boxes in px and %, anchors, z-order, fit modes, opacity, rotation."""

from __future__ import annotations

from tests.engine.conftest import Media, Renderer, audio_rms, frame_at, near, pixel

RED, GREEN, BLUE, BLACK, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (0, 0, 0), (255, 255, 255)


def _spec(*elements: dict, **output: object) -> dict:
    return {"width": 320, "height": 240, "fps": 10, "duration": 1, **output, "elements": list(elements)}


def test_prd_example(media: Media, render: Renderer) -> None:
    """Portrait mp4: background video covering the frame, logo at 5%/5% sized 25%, sound kept."""
    spec = {
        "output_format": "mp4",
        "width": 720,
        "height": 1280,
        "fps": 10,
        "elements": [
            {"type": "video", "source": "bg", "track": 1, "fit_mode": "cover"},
            {
                "type": "image",
                "source": "logo",
                "track": 2,
                "x": "5%",
                "y": "5%",
                "width": "25%",
                "height": "25%",
            },
        ],
    }
    out = render(
        spec, {0: media.video("blue", seconds=1.5, size="640x360"), 1: media.color_png("red", 180, 320)}
    )
    assert (out.width, out.height, out.output_format) == (720, 1280, "mp4")
    assert abs(out.duration_seconds - 1.5) <= 0.1
    frame = frame_at(out.path, 0.5)
    box = (36, 64, 180, 320)  # 5% of 720, 5% of 1280, 25% of each
    for x, y in [(36 + 4, 64 + 4), (36 + 90, 64 + 160), (36 + 175, 64 + 315)]:
        assert near(pixel(frame, x, y), RED), (x, y)
    for x, y in [(box[0] - 4, 100), (box[0] + box[2] + 4, 100), (100, box[1] + box[3] + 4), (700, 1270)]:
        assert near(pixel(frame, x, y), BLUE), (x, y)
    assert audio_rms(out.path, 0.2, 1.2) > 0.03  # the video's 440 Hz tone is kept


def test_pixels_percent_and_z_order(media: Media, render: Renderer) -> None:
    out = render(
        _spec(
            {"type": "color", "color": "#ff0000", "track": 2, "x": 40, "y": 40, "width": 100, "height": 80},
            {
                "type": "color",
                "color": "#0000ff",
                "track": 3,
                "x": "25%",
                "y": "25%",
                "width": 100,
                "height": 80,
            },
            {
                "type": "color",
                "color": "#00ff00",
                "track": 1,
                "x": 0,
                "y": 0,
                "width": "50%",
                "height": "50%",
            },
        )
    )
    frame = frame_at(out.path, 0.5)
    assert near(pixel(frame, 44, 44), RED)  # red over green (track 2 > 1)
    assert near(pixel(frame, 85, 65), BLUE)  # blue (track 3) where all three overlap
    assert near(pixel(frame, 175, 115), BLUE)  # blue's bottom-right corner
    assert near(pixel(frame, 10, 10), GREEN)
    assert near(pixel(frame, 182, 122), BLACK)  # just outside blue: no bleed
    assert near(pixel(frame, 300, 230), BLACK)


def test_anchor_and_centering(render: Renderer) -> None:
    out = render(
        _spec(
            {
                "type": "color",
                "color": "#ff0000",
                "x": "50%",
                "y": "50%",
                "x_anchor": "50%",
                "y_anchor": "50%",
                "width": 60,
                "height": 40,
            },
            {"type": "color", "color": "#0000ff", "width": 20, "height": 20, "track": 2},  # no x/y: centered
            {
                "type": "color",
                "color": "#00ff00",
                "x": "100%",
                "y": "100%",
                "x_anchor": "100%",
                "y_anchor": "100%",
                "width": 30,
                "height": 30,
            },
        )
    )
    frame = frame_at(out.path, 0.5)
    assert near(pixel(frame, 160 - 27, 120 - 17), RED)
    assert near(pixel(frame, 160 + 27, 120 + 17), RED)
    assert near(pixel(frame, 160 - 33, 120), BLACK)
    assert near(pixel(frame, 160, 120), BLUE)
    assert near(pixel(frame, 317, 237), GREEN) and near(pixel(frame, 293, 213), GREEN)
    assert near(pixel(frame, 286, 205), BLACK)


def test_fit_modes(media: Media, render: Renderer) -> None:
    """A 2:1 red|blue image in 100x100 boxes: cover crops, contain letterboxes, fill stretches."""
    box = {"type": "image", "source": "split", "width": 100, "height": 100, "y": 20}
    out = render(
        _spec(
            {**box, "x": 0, "fit_mode": "cover"},
            {**box, "x": 110, "fit_mode": "contain"},
            {**box, "x": 220, "fit_mode": "fill"},
        ),
        {i: media.split_png() for i in range(3)},
    )
    frame = frame_at(out.path, 0.5)
    # cover: the middle 100x100 of a 200x100 scaled image -> left half red, right half blue
    assert near(pixel(frame, 20, 70), RED) and near(pixel(frame, 80, 70), BLUE)
    assert near(pixel(frame, 20, 22), RED)  # no bars
    # contain: 100x50 in the middle, bars above and below are transparent
    assert near(pixel(frame, 130, 30), BLACK) and near(pixel(frame, 130, 110), BLACK)
    assert near(pixel(frame, 130, 70), RED) and near(pixel(frame, 190, 70), BLUE)
    # fill: whole image stretched, red left half reaches the top
    assert near(pixel(frame, 230, 22), RED) and near(pixel(frame, 310, 117), BLUE)


def test_alpha_opacity_and_rotation(media: Media, render: Renderer) -> None:
    out = render(
        _spec(
            {"type": "color", "color": "#ffffff", "x": 0, "y": 0, "width": 320, "height": 120},
            {"type": "image", "source": "alpha", "x": 10, "y": 10, "width": 64, "height": 64, "track": 2},
            {
                "type": "color",
                "color": "#0000ff",
                "x": 100,
                "y": 10,
                "width": 60,
                "height": 60,
                "track": 2,
                "opacity": 0.5,
            },
            {
                "type": "color",
                "color": "#ff0000",
                "x": 200,
                "y": 130,
                "width": 100,
                "height": 20,
                "track": 2,
                "rotation": 90,
            },
        ),
        {1: media.alpha_png()},
    )
    frame = frame_at(out.path, 0.5)
    assert near(pixel(frame, 20, 40), WHITE)  # transparent half of the PNG
    assert near(pixel(frame, 60, 40), RED)
    assert near(pixel(frame, 130, 40), (128, 128, 255), tol=30)  # half-transparent blue on white
    # a 100x20 bar turned 90 degrees about its center (250, 140) is 20 wide and 100 tall
    assert near(pixel(frame, 250, 100), RED) and near(pixel(frame, 250, 185), RED)
    assert near(pixel(frame, 215, 140), BLACK)
