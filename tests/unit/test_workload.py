"""The estimator's features: what a spec asks of a worker (media/workload.py) and what the API sees
ahead of a job (JobStore.queue, the workers' consumer group)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from api.jobstore import JobStore
from media.workload import workload
from schemas.events import Ahead, JobAccepted, JobEnded, StageProgress, Workload
from schemas.settings import Settings
from schemas.spec import VideoSpec
from streams.admin import group_members

CLIP = "https://example.com/clip.mp4"


def spec(*elements: dict[str, Any], **output: Any) -> VideoSpec:
    return VideoSpec.model_validate({"width": 1280, "height": 720, **output, "elements": list(elements)})


def test_pixels_encoded_and_layers_composed_in_seconds_of_720p() -> None:
    job = workload(
        spec(
            {"type": "video", "source": CLIP},  # length unknown before probing: 10 s
            {"type": "text", "text": "hi", "time": 9, "duration": 2},  # cut at the output's end: 1 s
            {"type": "image", "source": "https://example.com/logo.png", "time": 4},  # until the end: 6 s
            {"type": "audio", "source": "https://example.com/music.m4a", "duration": 30},  # no layer
            width=1920,
            height=1080,
            duration=10,
        )
    )
    assert (job.pixel_seconds, job.layer_seconds) == pytest.approx((22.5, 2.25 * 17))
    assert (job.effects, job.stream_copy) == (0, False)


def test_a_still_is_one_frame() -> None:
    job = workload(
        spec({"type": "text", "text": "hi"}, {"type": "color", "color": "#000000"}, output_format="png")
    )
    assert (job.pixel_seconds, job.layer_seconds) == pytest.approx((1 / 30, 2 / 30))


def test_one_whole_video_qualifies_for_the_stream_copy() -> None:
    assert workload(spec({"type": "video", "source": CLIP})) == Workload(
        pixel_seconds=0.0, layer_seconds=0.0, effects=0, stream_copy=True
    )
    for changed in (
        spec({"type": "video", "source": CLIP, "trim_start": 1}),
        spec({"type": "video", "source": CLIP, "time": 2}),
        spec({"type": "video", "source": CLIP, "duration": 3}),
        spec({"type": "video", "source": CLIP}, duration=3),
        spec({"type": "video", "source": CLIP}, color_preset="warm"),
        spec({"type": "video", "source": CLIP}, output_format="gif"),
        spec({"type": "video", "source": CLIP}, {"type": "text", "text": "hi"}),
        spec({"type": "image", "source": "https://example.com/logo.png"}),
    ):
        assert not workload(changed).stream_copy
        assert workload(changed).pixel_seconds > 0


def test_effects_and_nested_layers_of_any_element_model() -> None:
    """Read through getattr, so per-type element models (animations, effect, compositions) count."""

    def element(type_: str, **extra: Any) -> SimpleNamespace:
        return SimpleNamespace(type=type_, time=0.0, duration=None, trim_start=None, trim_end=None, **extra)

    nested = element(
        "composition", animations=["fade"], elements=[element("text"), element("image", effect="zoom-in")]
    )
    elements = [element("video", transition=None), nested, element("text", transition=object())]
    job = workload(
        VideoSpec.model_construct(width=1280, height=720, fps=30.0, output_format="mp4", elements=elements)
    )
    assert job.effects == 3
    assert job.layer_seconds == pytest.approx(10 * (1 + 3 + 1))  # the composition holds 3 layers


def accepted(job_id: str, pixel_seconds: float) -> JobAccepted:
    load = Workload(pixel_seconds=pixel_seconds, layer_seconds=2 * pixel_seconds, effects=1)
    return JobAccepted(job_id=job_id, workload=load)


def test_ahead_are_the_unfinished_jobs_by_what_is_left_of_them() -> None:
    store = JobStore(Settings())
    assert store.ahead() == Ahead() and store.workers == 1
    for job_id, pixel_seconds in (("vg_a", 40.0), ("vg_b", 20.0), ("vg_c", 8.0)):
        store.record(accepted(job_id, pixel_seconds))
    store._fold(StageProgress(job_id="vg_a", stage="render", progress_percent=75.0))
    store._fold(JobEnded(job_id="vg_c", stage="notify", status="completed"))
    assert store.ahead() == Ahead(jobs=1.25, pixel_seconds=30.0, layer_seconds=60.0, effects=1.25)
    store.forget("vg_b")
    assert store.ahead() == Ahead(jobs=0.25, pixel_seconds=10.0, layer_seconds=20.0, effects=0.25)


async def test_live_workers_are_the_members_of_their_consumer_group() -> None:
    member = ("member-id", "client", "host", b"", b"")
    asked: list[list[str]] = []

    class Admin:
        async def describe_consumer_groups(self, groups: list[str]) -> list[Any]:
            asked.append(groups)
            return [
                SimpleNamespace(groups=[(0, "videogen", "Stable", "consumer", "range", [member, member])])
            ]

    assert await group_members(Admin(), "videogen") == 2  # type: ignore[arg-type]
    assert asked == [["videogen"]]


def test_a_sound_only_output_draws_no_picture() -> None:
    spec = VideoSpec.model_validate(
        {
            "output_format": "mp3",
            "elements": [{"type": "audio", "source": "https://example.com/a.mp3", "duration": 5}],
        }
    )
    load = workload(spec)
    assert load.pixel_seconds == 0 and load.layer_seconds == 0 and not load.stream_copy
