"""The speech interface: what every TTS backend returns and how it is asked."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from anchor.timebase import PROGRAM_RATE


@dataclass(frozen=True)
class PhonemeEvent:
    """One phoneme in IPA, spanning samples [start, end) of the program audio."""

    phoneme: str
    start: int
    end: int


@dataclass(frozen=True)
class WordEvent:
    """One word of the input text spanning samples [start, end); char_start/char_end index the text."""

    text: str
    start: int
    end: int
    char_start: int
    char_end: int


@dataclass(frozen=True)
class SentenceSpan:
    """One sentence of the input, spanning samples [start, end)."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Speech:
    """Synthesized speech: 48 kHz mono int16 PCM plus its timings (all in program samples)."""

    pcm: np.ndarray
    language: str
    voice: str
    phonemes: tuple[PhonemeEvent, ...] = ()
    words: tuple[WordEvent, ...] = ()
    sentences: tuple[SentenceSpan, ...] = ()
    sample_rate: int = field(default=PROGRAM_RATE)

    @property
    def n_samples(self) -> int:
        return int(self.pcm.shape[0])

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.n_samples / self.sample_rate


@dataclass(frozen=True)
class VoiceInfo:
    """A voice a backend can speak with."""

    id: str
    language: str
    name: str
    backend: str
    gender: str = ""  # "female", "male" or "" when unknown
    licence: str = ""  # licence of the voice model / data
    timings: bool = False  # True when this voice gives phoneme timings


@dataclass(frozen=True)
class SpeechCapabilities:
    """What a backend can do, so no caller has to guess.

    timings: every Speech it returns carries phoneme timings (else the mouth comes from the
    audio-to-mouth model). streams: it can speak sentence by sentence (`synthesize_sentences`),
    so a long text reaches the air before all of it is synthesized. languages: what it speaks.
    """

    timings: bool
    streams: bool = False
    languages: tuple[str, ...] = ("en",)


class SpeechBackend(Protocol):
    """A text-to-speech engine that yields timed speech at the program rate."""

    name: str
    capabilities: SpeechCapabilities

    def synthesize(
        self,
        text: str,
        *,
        language: str | None = None,
        voice: str | None = None,
        rate: int | None = None,
        pitch: int | None = None,
    ) -> Speech:
        """Speak `text`; `language` None means detect it from the text."""
        ...

    def voices(self) -> list[VoiceInfo]:
        """The voices actually installed."""
        ...


def join_speech(parts: list[tuple[Speech, int, int]], language: str, voice: str) -> Speech:
    """Join (speech, samples of silence after it, char offset of its text) parts into one Speech.

    Timings are shifted onto the joined audio; word character positions by each part's offset.
    """
    pcm: list[np.ndarray] = []
    ph: list[PhonemeEvent] = []
    wo: list[WordEvent] = []
    se: list[SentenceSpan] = []
    at = 0
    for sp, pause, off in parts:
        ph += [PhonemeEvent(p.phoneme, p.start + at, p.end + at) for p in sp.phonemes]
        wo += [WordEvent(w.text, w.start + at, w.end + at, w.char_start + off, w.char_end + off) for w in sp.words]
        se += [SentenceSpan(s.text, s.start + at, s.end + at) for s in sp.sentences]
        pcm += [sp.pcm, np.zeros(pause, np.int16)]
        at += sp.n_samples + pause
    audio = np.concatenate(pcm) if pcm else np.zeros(0, np.int16)
    return Speech(audio, language, voice, tuple(ph), tuple(wo), tuple(se))
