"""Speech from an OpenAI-compatible server: POST {url}/v1/audio/speech.

Works with OpenAI itself and with the many self-hosted servers that speak its API (Kokoro,
CosyVoice, GPT-SoVITS and fish-speech wrappers, openedai-speech …). Settings:
`speech.openai.url` (base or full endpoint), `.api_key`, `.model`, `.voice`, `.timeout_s`, `.retries`.
The answer is audio only: the mouth comes from the audio-to-mouth model.
"""

from __future__ import annotations

from anchor.config import SpeechSettings
from anchor.errors import InputError
from anchor.speech.base import SpeaksWholeText, Speech, SpeechCapabilities, VoiceInfo
from anchor.speech.external import check_text, speech_from_audio
from anchor.speech.http_client import fetch, join_url, json_request

ENDPOINT = "/v1/audio/speech"
DEFAULT_RATE_WPM = 165


class OpenAISpeechBackend(SpeaksWholeText):
    """SpeechBackend for OpenAI-compatible /v1/audio/speech servers."""

    name = "openai"
    capabilities = SpeechCapabilities(timings=False, languages=("en", "zh"))

    def __init__(self, settings: SpeechSettings) -> None:
        self._s = settings.openai
        if not self._s.url:
            raise InputError("speech.openai.url is not set (e.g. http://127.0.0.1:8880)", field="speech.openai.url")
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
        """Ask the server for WAV audio of `text` (rate -> the API's speed, pitch unsupported)."""
        clean = check_text(text)
        if pitch is not None:
            raise InputError("OpenAI-compatible servers have no pitch control; leave pitch unset", field="pitch")
        payload: dict[str, object] = {
            "model": self._s.model,
            "input": clean,
            "voice": voice or self._s.voice,
            "response_format": "wav",
        }
        if rate is not None:
            speed = rate / DEFAULT_RATE_WPM
            if not 0.25 <= speed <= 4.0:
                raise InputError(f"rate {rate} is outside what the server allows (42-660 wpm)", field="rate")
            payload["speed"] = round(speed, 3)
        headers = {"Authorization": f"Bearer {self._s.api_key}"} if self._s.api_key else {}
        server = f"the OpenAI-compatible TTS server ({self.url})"
        body = fetch(
            json_request(self.url, payload, headers),
            timeout_s=self._s.timeout_s,
            retries=self._s.retries,
            server=server,
        )
        return speech_from_audio(body, clean, language, str(payload["voice"]), server)

    def voices(self) -> list[VoiceInfo]:
        """The configured voice (the API has no standard voice listing)."""
        return [VoiceInfo(id=self._s.voice, language="", name=f"{self._s.voice} ({self.url})", backend=self.name)]
