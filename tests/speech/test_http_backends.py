"""OpenAI-compatible and Coqui TTS backends against stand-in servers on 127.0.0.1."""

from __future__ import annotations

import io
import json
import threading
import wave
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest

from anchor.config import HttpSpeechSettings, SpeechSettings
from anchor.errors import BackendError, InputError
from anchor.speech.coqui_http import CoquiSpeechBackend
from anchor.speech.openai_http import OpenAISpeechBackend
from anchor.speech.registry import make_speech_backend
from anchor.timebase import PROGRAM_RATE
from tests.helpers import Handler, StandIn, reply


def wav_bytes(seconds: float = 0.8, rate: int = 24000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    x = (np.sin(2 * np.pi * 180 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)) * 12000).astype(np.int16)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(x.tobytes())
    return buf.getvalue()


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], StandIn]]:
    servers: list[StandIn] = []

    def start(handler: Handler) -> StandIn:
        s = StandIn(handler).__enter__()
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.__exit__(None, None, None)


def settings_for(kind: str, url: str, **kw: object) -> SpeechSettings:
    http = HttpSpeechSettings(url=url, timeout_s=kw.pop("timeout_s", 5.0), retries=kw.pop("retries", 2), **kw)  # type: ignore[arg-type]
    return SpeechSettings(backend=kind, **{kind: http})


def test_openai_backend_posts_the_api_request_and_decodes_the_audio(serve) -> None:
    srv = serve(lambda h, reqs: reply(h, 200, wav_bytes(0.8)))
    backend = make_speech_backend(settings_for("openai", srv.url, api_key="sk-test", model="tts-1", voice="nova"))
    assert isinstance(backend, OpenAISpeechBackend)
    speech = backend.synthesize("Good evening.", rate=200)
    req = srv.requests[0]
    assert req["method"] == "POST" and req["path"] == "/v1/audio/speech"
    assert req["headers"]["Authorization"] == "Bearer sk-test"
    payload = json.loads(req["body"])
    assert payload["input"] == "Good evening." and payload["voice"] == "nova" and payload["model"] == "tts-1"
    assert payload["response_format"] == "wav" and payload["speed"] == pytest.approx(200 / 165, abs=1e-3)
    assert speech.sample_rate == PROGRAM_RATE and abs(speech.duration - 0.8) < 0.01
    assert speech.phonemes == ()  # no timings: the audio-to-mouth model takes over
    assert speech.language == "en" and speech.sentences[0].end == speech.n_samples


def test_coqui_backend_gets_api_tts_with_the_text(serve) -> None:
    srv = serve(lambda h, reqs: reply(h, 200, wav_bytes(0.5, 22050)))
    backend = make_speech_backend(settings_for("coqui", srv.url + "/", voice="p225"))
    assert isinstance(backend, CoquiSpeechBackend)
    speech = backend.synthesize("今天的新闻。")
    req = srv.requests[0]
    url = urlparse(req["path"])
    assert req["method"] == "GET" and url.path == "/api/tts"
    q = parse_qs(url.query)
    assert q["text"] == ["今天的新闻。"] and q["speaker_id"] == ["p225"]
    assert abs(speech.duration - 0.5) < 0.01 and speech.language == "zh"


def test_failing_server_is_retried_then_reported(serve) -> None:
    srv = serve(lambda h, reqs: reply(h, 503, b"overloaded", "text/plain"))
    backend = make_speech_backend(settings_for("openai", srv.url, retries=2))
    with pytest.raises(BackendError, match="HTTP 503: overloaded") as e:
        backend.synthesize("Hello.")
    assert e.value.retryable and len(srv.requests) == 3


def test_a_transient_failure_is_retried_to_success(serve) -> None:
    def flaky(h: BaseHTTPRequestHandler, reqs: list[dict]) -> None:
        reply(h, 500, b"oops", "text/plain") if len(reqs) == 1 else reply(h, 200, wav_bytes(0.3))

    srv = serve(flaky)
    speech = make_speech_backend(settings_for("coqui", srv.url)).synthesize("Hello.")
    assert len(srv.requests) == 2 and abs(speech.duration - 0.3) < 0.01


def test_client_errors_are_not_retried(serve) -> None:
    srv = serve(lambda h, reqs: reply(h, 401, b'{"error": "bad key"}', "application/json"))
    with pytest.raises(BackendError, match="HTTP 401") as e:
        make_speech_backend(settings_for("openai", srv.url, retries=3)).synthesize("Hello.")
    assert not e.value.retryable and len(srv.requests) == 1


def test_garbage_instead_of_audio_is_a_clear_error(serve) -> None:
    srv = serve(lambda h, reqs: reply(h, 200, b"<html>surprise</html>" * 50, "text/html"))
    with pytest.raises(BackendError, match="unusable audio"):
        make_speech_backend(settings_for("openai", srv.url)).synthesize("Hello.")


def test_server_that_does_not_answer_in_time_times_out(serve) -> None:
    release = threading.Event()

    def slow(h: BaseHTTPRequestHandler, reqs: list[dict]) -> None:
        release.wait(60)  # answers only once the test is over: a client that waited for it would get audio
        reply(h, 200, wav_bytes(0.3))

    srv = serve(slow)
    backend = make_speech_backend(settings_for("coqui", srv.url, timeout_s=0.3, retries=1))
    try:
        with pytest.raises(BackendError, match="did not answer within 0.3 s") as e:
            backend.synthesize("Hello.")
        assert not release.is_set() and len(srv.requests) == 2, "gave up on both attempts without an answer"
    finally:
        release.set()
    assert e.value.retryable


def test_server_that_is_down_is_reported(serve) -> None:
    srv = serve(lambda h, reqs: reply(h, 200, b""))
    url = srv.url
    srv.__exit__(None, None, None)  # nothing listens there any more
    with pytest.raises(BackendError, match="cannot reach|connection"):
        make_speech_backend(settings_for("openai", url, retries=1)).synthesize("Hello.")


def test_missing_url_is_an_input_error() -> None:
    with pytest.raises(InputError, match="speech.openai.url"):
        make_speech_backend(SpeechSettings(backend="openai"))
    with pytest.raises(InputError, match="speech.coqui.url"):
        make_speech_backend(SpeechSettings(backend="coqui"))
