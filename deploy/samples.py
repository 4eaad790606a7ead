"""Sample media in the embedded bucket, so the examples and a first `curl` work on a machine with no
internet access: `videogen up` makes them with FFmpeg's lavfi sources on first start and stores
them under `samples/` (sources read them as `s3://{bucket}/samples/...`, the bucket every stage may
read). Only the embedded S3 gets them: a real bucket is the user's, not ours to write samples to."""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path

from media.ffmpeg_bin import ffmpeg_bin
from schemas.settings import Settings
from storage.s3 import s3_client, stored_size

log = logging.getLogger(__name__)

PREFIX = "samples/"


@dataclass(frozen=True)
class Sample:
    name: str
    content_type: str
    lavfi: tuple[str, ...]  # FFmpeg input options
    encode: tuple[str, ...]  # FFmpeg output options


SAMPLES = (
    Sample(
        "clip.mp4",
        "video/mp4",
        ("-f", "lavfi", "-i", "testsrc2=s=1280x720:r=30:d=6", "-f", "lavfi", "-i", "sine=f=330:d=6"),
        ("-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"),
    ),
    Sample(
        "logo.png",
        "image/png",
        ("-f", "lavfi", "-i", "color=c=orange:s=400x400:d=1,drawbox=x=80:y=80:w=240:h=240:color=white:t=40"),
        (
            "-frames:v",
            "1",
        ),
    ),
    Sample(
        "music.m4a",
        "audio/mp4",
        ("-f", "lavfi", "-i", "sine=f=220:d=10,volume=0.5"),
        (
            "-c:a",
            "aac",
        ),
    ),
)


def sample_url(settings: Settings, name: str) -> str:
    return f"s3://{settings.s3_bucket_name}/{PREFIX}{name}"


def publish_samples(settings: Settings) -> None:
    """Make and store each sample the bucket lacks (made once under DATA_DIR/samples)."""
    folder = settings.data_dir / "samples"
    folder.mkdir(parents=True, exist_ok=True)
    client = s3_client(settings)
    for sample in SAMPLES:
        key = PREFIX + sample.name
        if stored_size(settings, key):
            continue
        path = folder / sample.name
        if not path.is_file() or path.stat().st_size == 0:
            make_sample(settings, sample, path)
        client.upload_file(
            str(path), settings.s3_bucket_name, key, ExtraArgs={"ContentType": sample.content_type}
        )
        log.info("sample %s stored", sample_url(settings, sample.name))


def make_sample(settings: Settings, sample: Sample, path: Path) -> None:
    """Write one sample with FFmpeg, atomically (a half-made file is never taken for a sample)."""
    partial = path.with_name(f".{path.name}.partial{path.suffix}")
    argv = [ffmpeg_bin(settings), "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
    argv += [*sample.lavfi, *sample.encode, "-threads", "1", str(partial)]
    subprocess.run(argv, check=True, timeout=120)
    partial.replace(path)
