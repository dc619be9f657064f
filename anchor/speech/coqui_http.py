"""Speech from Coqui TTS's `tts-server` (also XTTS setups exposing the same API): GET {url}/api/tts.

Query parameters: text, speaker_id (multi-speaker models), language_id (multilingual models).
Settings: `speech.coqui.url`, `.voice` (speaker id), `.timeout_s`, `.retries`. The answer is
a WAV file without timings: the mouth comes from the audio-to-mouth model.
"""

from __future__ import annotations

from anchor.config import SpeechSettings
from anchor.errors import InputError
from anchor.speech.base import SpeaksWholeText, Speech, SpeechCapabilities, VoiceInfo
from anchor.speech.external import check_text, speech_from_audio
from anchor.speech.http_client import HttpRequest, fetch, join_url, with_query

ENDPOINT = "/api/tts"


class CoquiSpeechBackend(SpeaksWholeText):
    """SpeechBackend for Coqui tts-server."""

    name = "coqui"
    capabilities = SpeechCapabilities(timings=False, languages=("en", "zh"))

    def __init__(self, settings: SpeechSettings) -> None:
        self._s = settings.coqui
        if not self._s.url:
            raise InputError("speech.coqui.url is not set (e.g. http://127.0.0.1:5002)", field="speech.coqui.url")
        self.url = join_url(self._s.url, ENDPOINT)

    def synthesize(
        self,
        text: str,
        *,
        language: str | None = None,
        voice: str | None = None,
        rate: int | None = None,
        pitch: int | None = None,
    ) -> Speech:
        """Ask the server for a WAV of `text`; rate and pitch are not part of its API."""
        clean = check_text(text)
        if rate is not None or pitch is not None:
            raise InputError(
                "Coqui tts-server has no rate or pitch control; leave them unset",
                field="rate" if rate is not None else "pitch",
            )
        speaker = voice or self._s.voice
        params = {"text": clean, "speaker_id": speaker, "style_wav": "", "language_id": language or ""}
        url = with_query(self.url, params)
        server = f"the Coqui TTS server ({self.url})"
        body = fetch(HttpRequest(url, "GET"), timeout_s=self._s.timeout_s, retries=self._s.retries, server=server)
        return speech_from_audio(body, clean, language, speaker or "default", server)

    def voices(self) -> list[VoiceInfo]:
        return [VoiceInfo(id=self._s.voice or "default", language="", name=f"Coqui {self.url}", backend=self.name)]
