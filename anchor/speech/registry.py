"""Pick the speech backend named in the settings, through an explicit mapping."""

from __future__ import annotations

from collections.abc import Callable

from anchor.config import SpeechSettings
from anchor.errors import InputError
from anchor.speech.base import SpeechBackend
from anchor.speech.coqui_http import CoquiSpeechBackend
from anchor.speech.espeak import EspeakBackend
from anchor.speech.openai_http import OpenAISpeechBackend
from anchor.speech.piper import PiperBackend

SPEECH_BACKENDS: dict[str, Callable[[SpeechSettings], SpeechBackend]] = {
    "espeak": EspeakBackend,
    "piper": PiperBackend,
    "openai": OpenAISpeechBackend,
    "coqui": CoquiSpeechBackend,
}
"""Backend name (settings.speech.backend) -> constructor taking the SpeechSettings."""


def make_speech_backend(settings: SpeechSettings) -> SpeechBackend:
    """The backend `settings.backend` names, built from `settings`."""
    factory = SPEECH_BACKENDS.get(settings.backend)
    if factory is None:
        known = ", ".join(sorted(SPEECH_BACKENDS))
        raise InputError(
            f"unknown speech backend {settings.backend!r}; known backends: {known}", field="speech.backend"
        )
    return factory(settings)
