"""A recorded voice as Speech: the speech stage's path for audio files (no synthesis)."""

from __future__ import annotations

from pathlib import Path

from anchor.errors import InputError
from anchor.speech.audio_in import MAX_AUDIO_SECONDS, decode_audio
from anchor.speech.base import SentenceSpan, Speech

LANGUAGES = ("en", "zh")


def speech_from_file(
    path: str | Path,
    language: str | None = None,
    text: str = "",
    *,
    field: str = "audio",
    max_seconds: float = MAX_AUDIO_SECONDS,
) -> Speech:
    """A recorded voice as Speech (48 kHz mono, no phoneme timings); refuses unusable files.

    `text` is the transcript when known (kept as the one sentence, for captions and interrupts).
    """
    if language is not None and language not in LANGUAGES:
        raise InputError(f"language {language!r} is not supported; use en or zh", field="language")
    pcm = decode_audio(path, field=field, max_seconds=max_seconds)
    spans = (SentenceSpan(" ".join(text.split()), 0, int(pcm.size)),) if text.strip() else ()
    return Speech(pcm=pcm, language=language or "en", voice=f"audio:{Path(path).name}", sentences=spans)
