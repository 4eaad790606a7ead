"""Child process: SVOX Pico speaks sentences into one WAV (16 kHz mono s16).

stdin: `{"voice": "en-US", "sentences": [...], "wav": path}` (sentences already clean of markup);
stdout: `{"spans": [[start, end, voiced_start, voiced_end], ...]}` in samples, one per sentence,
so the parent knows exactly where each sentence and its voice begin and end.
"""

from __future__ import annotations

import array
import json
import sys
import wave

import ttspico

from media.voices.child import bounded

RATE = 16_000
_FRAME = RATE // 100
_VOICED = 400  # peak amplitude of a 10 ms frame that counts as voice (of 32767)


def voiced(samples: array.array[int], start: int, end: int) -> tuple[int, int]:
    """The first and last voiced sample of [start, end), 10 ms frames at a time; (start, start) if silent."""
    first = start
    while first < end and max(map(abs, samples[first : first + _FRAME])) < _VOICED:
        first += _FRAME
    if first >= end:
        return start, start
    last = end
    while last > first and max(map(abs, samples[max(first, last - _FRAME) : last])) < _VOICED:
        last -= _FRAME
    return first, min(last, end)


def main() -> None:
    bounded()
    request = json.load(sys.stdin)
    engine = ttspico.TtsEngine(request["voice"])
    spans = []
    at = 0
    with wave.open(request["wav"], "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        for sentence in request["sentences"]:
            pcm = engine.speak(sentence) or b""
            samples = array.array("h", pcm[: len(pcm) // 2 * 2])
            out.writeframes(samples.tobytes())
            first, last = voiced(samples, 0, len(samples))
            spans.append([at, at + len(samples), at + first, at + last])
            at += len(samples)
    json.dump({"spans": spans}, sys.stdout)


if __name__ == "__main__":
    main()
