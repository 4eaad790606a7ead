"""Speech for `speech` elements and captions from speech: one interface, two engines each.

Offline, everything ships with the Python packages: SVOX Pico (`ttspico`) speaks en-US, en-GB,
de-DE, es-ES, fr-FR and it-IT, and pocketsphinx hears US English. In production SPEECH_URL and
TRANSCRIBE_URL point at servers speaking the OpenAI audio API (Kokoro, Piper, whisper). Results
are cached in the bucket by content hash; the engines run in bounded child processes. See
docs/voices.md.
"""

from media.voices.model import SpeechRequest, Spoken, Transcript, Word
from media.voices.speech import speak
from media.voices.transcription import transcribe

__all__ = ["SpeechRequest", "Spoken", "Transcript", "Word", "speak", "transcribe"]
