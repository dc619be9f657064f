"""Pick the speech backend named in the settings, through an explicit mapping."""

from __future__ import annotations

from collections.abc import Callable

from anchor.config import SpeechSettings
from anchor.errors import InputError
from anchor.speech.base import SpeechBackend
from anchor.speech.coqui_http import CoquiSpeechBackend
from anchor.speech.espeak import EspeakBackend
from anchor.speech.hibari import HibariBackend
from anchor.speech.kokoro import KokoroBackend
from anchor.speech.openai_http import OpenAISpeechBackend
from anchor.speech.piper import PiperBackend
from anchor.speech.router import SpeechRouter

SPEECH_BACKENDS: dict[str, Callable[[SpeechSettings], SpeechBackend]] = {
    "espeak": EspeakBackend,
    "piper": PiperBackend,
    "hibari": HibariBackend,
    "kokoro": KokoroBackend,
    "openai": OpenAISpeechBackend,
    "coqui": CoquiSpeechBackend,
}
"""Backend name (settings.speech.backend, or a value of settings.speech.backends) -> constructor."""

LOCAL_BACKENDS = ("hibari", "kokoro", "espeak", "piper")
"""In-process backends whose voices `auto` lists and selects by voice id (when installed)."""


def _make(settings: SpeechSettings, name: str, field: str) -> SpeechBackend:
    factory = SPEECH_BACKENDS.get(name)
    if factory is None:
        known = ", ".join(["auto", *sorted(SPEECH_BACKENDS)])
        raise InputError(f"unknown speech backend {name!r}; known backends: {known}", field=field)
    return factory(settings)


def make_speech_backend(settings: SpeechSettings) -> SpeechBackend:
    """The backend `settings.backend` names; `auto` routes by language (`settings.backends`) and voice."""
    if settings.backend == "auto":
        for lang, name in settings.backends.items():
            if name not in SPEECH_BACKENDS:
                _make(settings, name, f"speech.backends.{lang}")
        return SpeechRouter(settings, lambda name: _make(settings, name, "speech.backends"), LOCAL_BACKENDS)
    return _make(settings, settings.backend, "speech.backend")
