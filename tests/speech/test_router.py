"""`speech.backend: auto`: text goes to the language's backend, a voice id to the backend that has it."""

from __future__ import annotations

import pytest

from anchor.config import Settings
from anchor.errors import InputError
from anchor.speech.registry import make_speech_backend
from anchor.speech.router import SpeechRouter


@pytest.fixture(scope="module")
def router(settings: Settings) -> SpeechRouter:
    speech = settings.speech.model_copy(update={"backend": "auto", "backends": {"en": "hibari", "zh": "espeak"}})
    backend = make_speech_backend(speech)
    assert isinstance(backend, SpeechRouter)
    return backend


def test_language_picks_the_backend(router: SpeechRouter) -> None:
    assert router.synthesize("Good evening.").voice == "heart"
    assert router.synthesize("晚上好。").voice == "cmn"
    assert router.capabilities.languages == ("en", "zh") and router.capabilities.streams


def test_a_voice_id_picks_the_backend_that_has_it(router: SpeechRouter) -> None:
    assert router.synthesize("Good evening.", voice="en-gb").voice == "en-gb"
    assert router.synthesize("Good evening.", voice="en-us+f3").voice == "en-us+f3"
    with pytest.raises(InputError) as e:
        router.synthesize("Good evening.", voice="nobody")
    assert e.value.field == "voice"


def test_unknown_language_and_backend_names_are_refused(router: SpeechRouter, settings: Settings) -> None:
    with pytest.raises(InputError) as e:
        router.synthesize("Bonjour.", language="fr")
    assert e.value.field == "language"
    with pytest.raises(InputError) as e:
        make_speech_backend(settings.speech.model_copy(update={"backend": "auto", "backends": {"en": "nope"}}))
    assert e.value.field == "speech.backends.en"


def test_streaming_yields_sentences_even_from_a_backend_that_does_not_stream(router: SpeechRouter) -> None:
    pieces = list(router.synthesize_sentences("One. Two."))
    assert len(pieces) == 2
    (whole,) = list(router.synthesize_sentences("一。二。"))  # espeak speaks it in one piece
    assert len(whole.sentences) == 2


def test_voices_lists_every_installed_backend(router: SpeechRouter) -> None:
    backends = {v.backend for v in router.voices()}
    assert {"hibari", "espeak", "kokoro", "piper"} <= backends
