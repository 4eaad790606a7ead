"""What speech and transcription cost: CPU seconds per minute of speech for each offline engine,
and what a re-render that finds them in the bucket cache costs instead.

The engines run in child processes (media/voices/child.py), so their CPU is read from
RUSAGE_CHILDREN (user + system, of reaped children: Pico, pocketsphinx, FFmpeg); the worker's own
share from RUSAGE_SELF. Rows:

    speak en-US        Pico, then pocketsphinx hearing each sentence to time the words
    speak de-DE        Pico alone (words timed by length: pocketsphinx knows only English)
    transcribe en      FFmpeg to 16 kHz, then pocketsphinx on the whole file
    cached speak       the same en-US request again, from the bucket (moto, in process)
    cached transcribe  the same file again, from the bucket

    python -m bench.voices --minutes 1
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from media.voices import SpeechRequest, speak, transcribe
from schemas.settings import Settings

EN = (
    "Good morning, everyone. This is your captain speaking. We will be landing in about twenty minutes. "
    "The weather on the ground is clear and the temperature is mild. Please return to your seats and "
    "fasten your seat belts. Thank you for flying with us today. "
)
DE = (
    "Guten Morgen. Heute zeigen wir Ihnen, wie man in fünf Minuten ein einfaches Video macht. Zuerst "
    "wählen Sie ein Bild und etwas Musik. Dann schreiben Sie einen kurzen Titel und drücken den Knopf. "
)
WORDS_PER_MINUTE = 150  # about Pico's pace


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def measure(what: Callable[[], Any]) -> tuple[Any, float, float, float]:
    """The result, wall seconds, CPU seconds of the children and of this process."""
    wall, children, own = time.monotonic(), _cpu(resource.RUSAGE_CHILDREN), _cpu(resource.RUSAGE_SELF)
    result = what()
    return (
        result,
        time.monotonic() - wall,
        _cpu(resource.RUSAGE_CHILDREN) - children,
        _cpu(resource.RUSAGE_SELF) - own,
    )


def text_of(paragraph: str, minutes: float) -> str:
    words = paragraph.split()
    wanted = int(WORDS_PER_MINUTE * minutes)
    return " ".join((words * (wanted // len(words) + 1))[:wanted]).rstrip(",") + "."


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=1.0, help="length of the speech to make")
    args = parser.parse_args()
    settings = Settings(voice_cache_enabled=True, s3_bucket_name="bench-voices", voice_timeout_seconds=600)
    rows: list[tuple[str, float, float, float, float]] = []
    with tempfile.TemporaryDirectory() as root, mock_aws():
        work = Path(root)
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="bench-voices")
        english = SpeechRequest(text_of(EN, args.minutes), "en-US", None, 1.0)
        spoken, wall, children, own = measure(lambda: speak(english, work, settings, s3))
        rows.append(("speak en-US", spoken.duration, wall, children, own))
        german = SpeechRequest(text_of(DE, args.minutes), "de-DE", None, 1.0)
        other, wall, children, own = measure(lambda: speak(german, work, settings, None))
        rows.append(("speak de-DE", other.duration, wall, children, own))
        _, wall, children, own = measure(lambda: transcribe(spoken.path, "en", settings, s3))
        rows.append(("transcribe en", spoken.duration, wall, children, own))
        (work / "again").mkdir()
        again, wall, children, own = measure(lambda: speak(english, work / "again", settings, s3))
        assert again.cached
        rows.append(("cached speak", spoken.duration, wall, children, own))
        heard, wall, children, own = measure(lambda: transcribe(spoken.path, "en", settings, s3))
        assert heard.cached
        rows.append(("cached transcribe", spoken.duration, wall, children, own))
    print(f"{'':18} {'speech s':>9} {'wall s':>8} {'child CPU s':>12} {'own CPU s':>10} {'CPU s/min':>10}")
    for name, seconds, wall, children, own in rows:
        per_minute = (children + own) / (seconds / 60)
        print(f"{name:18} {seconds:9.1f} {wall:8.2f} {children:12.2f} {own:10.2f} {per_minute:10.2f}")
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
