"""The speech interface: what every TTS backend returns and how it is asked."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
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

    def synthesize_sentences(
        self,
        text: str,
        *,
        language: str | None = None,
        voice: str | None = None,
        rate: int | None = None,
        pitch: int | None = None,
    ) -> Iterator[Speech]:
        """Speak `text` as pieces (one per sentence where `capabilities.streams`, else one piece);
        joined back to back they are what `synthesize` returns. Input errors are raised before the
        first piece is made."""
        ...

    def voices(self) -> list[VoiceInfo]:
        """The voices actually installed."""
        ...


def join_speech(
    pieces: Sequence[Speech],
    *,
    gaps: Sequence[int] | None = None,
    char_offsets: Sequence[int] | None = None,
    language: str | None = None,
    voice: str | None = None,
) -> Speech:
    """The pieces back to back as one Speech, timings shifted onto the joined audio.

    `gaps[i]` samples of silence follow piece i (default none); `char_offsets[i]` is added to the
    character positions of piece i's words (default 0: the pieces index one text already).
    Language and voice are the first piece's unless given.
    """
    if not pieces and (language is None or voice is None):
        raise ValueError("joining no pieces needs a language and a voice")
    pcm: list[np.ndarray] = []
    ph: list[PhonemeEvent] = []
    wo: list[WordEvent] = []
    se: list[SentenceSpan] = []
    at = 0
    for i, sp in enumerate(pieces):
        off = char_offsets[i] if char_offsets else 0
        ph += [PhonemeEvent(p.phoneme, p.start + at, p.end + at) for p in sp.phonemes]
        wo += [WordEvent(w.text, w.start + at, w.end + at, w.char_start + off, w.char_end + off) for w in sp.words]
        se += [SentenceSpan(s.text, s.start + at, s.end + at) for s in sp.sentences]
        gap = gaps[i] if gaps else 0
        pcm += [sp.pcm, np.zeros(gap, np.int16)]
        at += sp.n_samples + gap
    audio = np.concatenate(pcm) if pcm else np.zeros(0, np.int16)
    return Speech(
        audio,
        language if language is not None else pieces[0].language,
        voice if voice is not None else pieces[0].voice,
        tuple(ph),
        tuple(wo),
        tuple(se),
    )


class SpeaksWholeText:
    """`synthesize_sentences` for a backend that cannot stream: the whole text as one piece."""

    def synthesize(
        self,
        text: str,
        *,
        language: str | None = None,
        voice: str | None = None,
        rate: int | None = None,
        pitch: int | None = None,
    ) -> Speech:
        raise NotImplementedError

    def synthesize_sentences(
        self,
        text: str,
        *,
        language: str | None = None,
        voice: str | None = None,
        rate: int | None = None,
        pitch: int | None = None,
    ) -> Iterator[Speech]:
        """The whole text as one piece (this backend does not stream)."""
        yield self.synthesize(text, language=language, voice=voice, rate=rate, pitch=pitch)
