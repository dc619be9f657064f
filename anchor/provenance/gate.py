"""`PolicedSpeech`: a speech backend that checks the content policy before it speaks.

Every path to the air (say, render, API jobs, the channel) goes through a SpeechBackend, so
wrapping the configured backend once (`PolicedSpeech(make_speech_backend(...), policy)`) is
a backstop that no edge can forget: a refused script raises `PolicyRefused` and the inner
backend never sees it. Holding for review is the edges' business (a queue item waits in
`held`); this gate lets held scripts through, because an operator approved them or the edge
decided to wait before calling it.
"""

from __future__ import annotations

from anchor.provenance.policy import ContentPolicy, PolicyDecision
from anchor.speech.base import Speech, SpeechBackend, SpeechCapabilities, VoiceInfo


class PolicedSpeech:
    """Wraps `inner`; `synthesize` runs `policy.require(text, language)` first."""

    def __init__(self, inner: SpeechBackend, policy: ContentPolicy) -> None:
        self.inner = inner
        self.policy = policy
        self.name: str = inner.name
        self.capabilities: SpeechCapabilities = inner.capabilities
        self.last_decision: PolicyDecision | None = None

    def synthesize(
        self,
        text: str,
        *,
        language: str | None = None,
        voice: str | None = None,
        rate: int | None = None,
        pitch: int | None = None,
    ) -> Speech:
        self.last_decision = self.policy.require(text, language)
        return self.inner.synthesize(text, language=language, voice=voice, rate=rate, pitch=pitch)

    def voices(self) -> list[VoiceInfo]:
        return self.inner.voices()
