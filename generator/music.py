"""The storyboard's music beds, synthesized offline: chords written as FFmpeg `aevalsrc`
expressions, encoded once and stored in the results bucket under `generator/music/`, where a prompt
job's spec reads them as `s3://` sources (like any source: fetched, cached, probed, mixed).

Each bed is one seamless loop (every voice silent, or whole cycles, where it wraps), looped by the
audio element to the video's length. Workers store the missing ones before they consume anything,
so any worker that fetches a prompt job's music finds it there. The key carries a version: a
changed bed gets a new key instead of overwriting one that a job in flight may be reading.
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from media.ffmpeg_bin import ffmpeg_bin
from schemas.settings import Settings
from storage.s3 import s3_client, stored_size

log = logging.getLogger(__name__)

PREFIX = "generator/music/"
VERSION = "v1"
SAMPLE_RATE = 32_000  # the highest partial is under 1 kHz


def _chosen(index: str, values: list[float]) -> str:
    """The expression worth values[i] where `index` evaluates to i."""
    expression = f"{values[-1]:g}"
    for n in range(len(values) - 2, -1, -1):
        expression = f"if(eq({index},{n}),{values[n]:g},{expression})"
    return expression


def _chords(chords: list[list[float]], gains: list[float], index: str) -> str:
    """A sum of sines, one voice per chord tone, the chord picked by `index`."""
    voices = zip(zip(*chords, strict=True), gains, strict=True)
    return "+".join(f"{gain:g}*sin(2*PI*{_chosen(index, list(tones))}*t)" for tones, gain in voices)


@dataclass(frozen=True)
class Bed:
    name: str
    seconds: float
    expression: str  # of t, in aevalsrc's language

    @property
    def key(self) -> str:
        return f"{PREFIX}{self.name}-{VERSION}.m4a"


# fun: 120 bpm plucked major chords (C G Am F, a bar each) over a bass; each pluck starts from silence
FUN = Bed(
    "fun",
    8.0,
    "st(0,mod(floor(t/2),4));st(1,mod(t,0.5));(1-exp(-300*ld(1)))*exp(-7*ld(1))*("
    + _chords(
        [[261.63, 329.63, 392.0, 130.81], [196.0, 246.94, 293.66, 98.0], [220.0, 261.63, 329.63, 110.0],
         [174.61, 220.0, 261.63, 87.31]],
        [0.25, 0.2, 0.18, 0.3],
        "ld(0)",
    )
    + ")",
)  # fmt: skip
# calm: a slow pad of seventh chords (Cmaj7 Am7 Fmaj7 G), each swelling in and out over 4 s
CALM = Bed(
    "calm",
    16.0,
    "st(0,mod(floor(t/4),4));sin(PI*mod(t,4)/4)*(1+0.15*sin(PI*t))*("
    + _chords(
        [[130.81, 164.81, 196.0, 246.94], [110.0, 130.81, 164.81, 196.0], [87.31, 110.0, 130.81, 164.81],
         [98.0, 123.47, 146.83, 196.0]],
        [0.16, 0.13, 0.12, 0.09],
        "ld(0)",
    )
    + ")",
)  # fmt: skip
# background: a low drone (root, fifth, octave, a slowly beating root) breathing over 12 s; whole
# cycles of every voice fit the loop
BACKGROUND = Bed(
    "background",
    12.0,
    "(0.6+0.4*sin(2*PI*t/12))*(0.22*sin(2*PI*110*t)+0.12*sin(2*PI*110.5*t)"
    "+0.14*sin(2*PI*165*t)+0.08*sin(2*PI*220*t))",
)
BEDS: dict[str, Bed] = {bed.name: bed for bed in (FUN, CALM, BACKGROUND)}


def music_url(settings: Settings, name: str) -> str:
    return f"s3://{settings.s3_bucket_name}/{BEDS[name].key}"


def synthesize(settings: Settings, bed: Bed, path: Path) -> None:
    """Encode one loop of the bed to AAC in an .m4a file."""
    source = f"aevalsrc=exprs='{bed.expression}':s={SAMPLE_RATE}:d={bed.seconds:g}"
    argv = [ffmpeg_bin(settings), "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
    argv += ["-f", "lavfi", "-i", source, "-c:a", "aac", "-b:a", "128k", "-threads", "1", str(path)]
    subprocess.run(argv, check=True, timeout=120)


def publish_music(settings: Settings) -> None:
    """Store each bed the bucket lacks (idempotent: workers starting together store the same bytes)."""
    client = s3_client(settings)
    for bed in BEDS.values():
        if stored_size(settings, bed.key):
            continue
        with tempfile.TemporaryDirectory(prefix="videogen-music-") as folder:
            path = Path(folder) / f"{bed.name}.m4a"
            synthesize(settings, bed, path)
            client.upload_file(
                str(path), settings.s3_bucket_name, bed.key, ExtraArgs={"ContentType": "audio/mp4"}
            )
        log.info("music bed %s stored", music_url(settings, bed.name))
