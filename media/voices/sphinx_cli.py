"""Child process: pocketsphinx (its bundled US English model) hears the words of a WAV
(16 kHz mono s16).

stdin: `{"wav": path, "spans": [[start, end], ...] | null}` in samples; stdout:
`{"utterances": [[[word, start, end], ...], ...]}` in seconds from the start of the file, one
utterance per span, or per stretch of speech the voice activity detector finds when spans is
null. Fillers (`<s>`, `</s>`, `<sil>`, `[NOISE]`) are left out and alternative pronunciations
(`word(2)`) are reported as the word.
"""

from __future__ import annotations

import io
import json
import re
import sys
import wave

from pocketsphinx import Decoder, Segmenter

from media.voices.child import bounded

RATE = 16_000
FRAMES_PER_SECOND = 100
_ALTERNATIVE = re.compile(r"\(\d+\)$")


def hear(decoder: Decoder, pcm: bytes, offset: float) -> list[list[object]]:
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    words: list[list[object]] = []
    for seg in decoder.seg():
        word = _ALTERNATIVE.sub("", seg.word)
        if word.startswith(("<", "[")) or not word:
            continue
        start = offset + seg.start_frame / FRAMES_PER_SECOND
        end = offset + (seg.end_frame + 1) / FRAMES_PER_SECOND
        words.append([word, round(start, 3), round(end, 3)])
    return words


def main() -> None:
    bounded()
    request = json.load(sys.stdin)
    with wave.open(request["wav"], "rb") as source:
        if (source.getframerate(), source.getnchannels(), source.getsampwidth()) != (RATE, 1, 2):
            raise SystemExit("sphinx_cli needs 16 kHz mono s16 audio")
        pcm = source.readframes(source.getnframes())
    decoder = Decoder(samprate=RATE, loglevel="ERROR")
    if request["spans"] is None:
        segments = Segmenter(sample_rate=RATE).segment(io.BytesIO(pcm))
        utterances = [hear(decoder, segment.pcm, segment.start_time) for segment in segments]
    else:
        utterances = [
            hear(decoder, pcm[start * 2 : end * 2], start / RATE) for start, end in request["spans"]
        ]
    json.dump({"utterances": utterances}, sys.stdout)


if __name__ == "__main__":
    main()
