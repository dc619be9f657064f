"""A recorded voice as Speech: the speech stage's path for audio files (no synthesis).

The file is decoded and checked (`audio_in.decode_audio`), then listened to (`listen.Listener`):
word-timed captions from speech recognition (or the given transcript, timed), a language guess,
and for English phonemes force-aligned to the sound, so the exact timing path drives the mouth.
Where alignment is not possible the Speech has no phonemes and the audio-to-mouth model plans it.
"""

from __future__ import annotations

from pathlib import Path

from anchor.errors import InputError
from anchor.speech.audio_in import MAX_AUDIO_SECONDS, decode_audio
from anchor.speech.listen import LANGUAGES, HeardSpeech, Listener


def hear_file(
    listener: Listener,
    path: str | Path,
    language: str | None = None,
    text: str = "",
    *,
    field: str = "audio",
    max_seconds: float = MAX_AUDIO_SECONDS,
) -> HeardSpeech:
    """The recording at `path` as Speech with words (and aligned phonemes for English); refuses
    unusable files. `text` is its transcript when known; `language` None means recognise it."""
    if language is not None and language not in LANGUAGES:
        raise InputError(f"language {language!r} is not supported; use en or zh", field="language")
    pcm = decode_audio(path, field=field, max_seconds=max_seconds)
    return listener.speech_from_recording(
        pcm, text=text if text.strip() else None, language=language, voice=f"audio:{Path(path).name}"
    )
