"""`speech.backend: auto` — one SpeechBackend that sends each text to the right backend.

The language (given, or detected from the text) picks `speech.backends[language]` (by default
hibari for English, Kokoro for Mandarin). A `voice` picks the backend that has that voice, so
every installed voice stays selectable by its id (`en-us+f3` is espeak, `en_US-joe-medium` is
Piper, `heart` is hibari). Backends are built when first needed and kept, so each loads its
model once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from anchor.config import SpeechSettings
from anchor.errors import InputError, MissingDependencyError
from anchor.speech.base import Speech, SpeechBackend, SpeechCapabilities, VoiceInfo
from anchor.speech.text import detect_language, normalize_text, require_speakable

BackendFactory = Callable[[str], SpeechBackend]


class SpeechRouter:
    """SpeechBackend over several backends, chosen per language and per voice."""

    name = "auto"

    def __init__(self, settings: SpeechSettings, make: BackendFactory, selectable: tuple[str, ...]) -> None:
        if not settings.backends:
            raise InputError("speech.backends is empty: name a backend per language", field="speech.backends")
        self._settings = settings
        self._make = make
        self._names = tuple(dict.fromkeys([*settings.backends.values(), *selectable]))
        self._built: dict[str, SpeechBackend] = {}
        self._voice_owner: dict[str, str] | None = None
        self._lock = threading.RLock()
        caps = [self.backend(n).capabilities for n in dict.fromkeys(settings.backends.values())]
        self.capabilities = SpeechCapabilities(
            timings=all(c.timings for c in caps), streams=True, languages=tuple(sorted(settings.backends))
        )

    def backend(self, name: str) -> SpeechBackend:
        """The backend called `name`, built on first use."""
        with self._lock:
            if name not in self._built:
                self._built[name] = self._make(name)
            return self._built[name]

    def voices(self) -> list[VoiceInfo]:
        """Every installed voice of every selectable backend (backends whose packages are missing
        are left out; a backend listed in speech.backends must be installed)."""
        out: list[VoiceInfo] = []
        required = set(self._settings.backends.values())
        for name in self._names:
            try:
                out.extend(self.backend(name).voices())
            except MissingDependencyError:
                if name in required:
                    raise
        return out

    def pick(self, text: str, language: str | None, voice: str | None) -> tuple[SpeechBackend, str]:
        """The backend for this request and the language it is in."""
        require_speakable(text)
        lang = language if language is not None else detect_language(normalize_text(text))
        if lang not in self._settings.backends:
            known = ", ".join(sorted(self._settings.backends))
            raise InputError(f"language {lang!r} is not supported; use one of: {known}", field="language")
        default = self.backend(self._settings.backends[lang])
        if voice is None:
            return default, lang
        owner = self._owner_of(voice)
        if owner is None:
            raise InputError(f"unknown voice {voice!r}; `anchor voices` lists the installed ones", field="voice")
        return self.backend(owner), lang

    def _owner_of(self, voice: str) -> str | None:
        with self._lock:
            default_names = list(dict.fromkeys(self._settings.backends.values()))
            for name in default_names:  # cheap first: the default backends' own voices
                if any(v.id == voice for v in self.backend(name).voices()):
                    return name
            if self._voice_owner is None:
                self._voice_owner = {}
                for name in self._names:
                    try:
                        for v in self.backend(name).voices():
                            self._voice_owner.setdefault(v.id, name)
                    except MissingDependencyError:
                        continue
            owner = self._voice_owner.get(voice)
            if owner is None and "+" in voice and self._voice_owner.get(voice.partition("+")[0]) == "espeak":
                owner = "espeak"  # espeak voice + any variant
            return owner

    def synthesize(
        self,
        text: str,
        *,
        language: str | None = None,
        voice: str | None = None,
        rate: int | None = None,
        pitch: int | None = None,
    ) -> Speech:
        backend, lang = self.pick(text, language, voice)
        return backend.synthesize(text, language=lang, voice=voice, rate=rate, pitch=pitch)

    def synthesize_sentences(
        self,
        text: str,
        *,
        language: str | None = None,
        voice: str | None = None,
        rate: int | None = None,
        pitch: int | None = None,
    ) -> Iterator[Speech]:
        """One Speech per sentence from backends that stream, else the whole text as one piece."""
        backend, lang = self.pick(text, language, voice)
        return backend.synthesize_sentences(text, language=lang, voice=voice, rate=rate, pitch=pitch)
