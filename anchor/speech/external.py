"""Shared pieces of the external-TTS backends: checks on the text and turning audio into Speech.

External servers return audio without phoneme timing; such Speech has no phoneme events and
the say job gets its mouth from the audio-to-mouth model instead.
"""

from __future__ import annotations

from anchor.errors import BackendError, InputError
from anchor.speech.audio_in import decode_audio
from anchor.speech.base import SentenceSpan, Speech
from anchor.speech.text import collapse_whitespace, detect_language, normalize_text, require_speakable


def check_text(text: str) -> str:
    """The cleaned text, or an InputError for empty/over-long text."""
    require_speakable(text)
    return collapse_whitespace(normalize_text(text))


def speech_from_audio(body: bytes, text: str, language: str | None, voice: str, server: str) -> Speech:
    """Decode a server's audio answer into program-rate Speech (no phoneme timings)."""
    if not body:
        raise BackendError(f"{server} returned an empty answer instead of audio", retryable=True)
    try:
        pcm = decode_audio(body, field="speech")
    except InputError as e:
        raise BackendError(f"{server} returned unusable audio: {e}", retryable=False) from e
    lang = language if language is not None else detect_language(text)
    return Speech(pcm=pcm, language=lang, voice=voice, sentences=(SentenceSpan(text, 0, int(pcm.size)),))
