"""Speaking sentence by sentence: one Speech per sentence, and joining them back into one.

A backend that `streams` yields one Speech per sentence from `synthesize_sentences`; airing them
back to back gives exactly what `synthesize` returns (`join_speech` of the same pieces). Every
sentence after the first starts with the pause between sentences, so the first piece can go on
air as soon as it is made and no piece has to wait for the next one. Timings in each piece
count from its own first sample; char offsets index the whole (normalized) text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from anchor.errors import BackendError
from anchor.speech.base import PhonemeEvent, SentenceSpan, Speech, WordEvent, join_speech

__all__ = ["join_speech", "speak_sentences", "SpokenSentence"]
from anchor.speech.resample import to_program_rate
from anchor.speech.text import collapse_whitespace
from anchor.timebase import PROGRAM_RATE

PAUSE = "_"


@dataclass(frozen=True)
class SpokenSentence:
    """One sentence at the program rate: pcm, and phoneme/word timings from its first sample."""

    pcm: np.ndarray
    phonemes: tuple[PhonemeEvent, ...]
    words: tuple[WordEvent, ...]


SentenceSynth = Callable[[int, int], SpokenSentence | None]
"""Speak text[start:end] of the normalized text (None when it holds nothing to say)."""


def pause_samples(pause_ms: int) -> int:
    return round(pause_ms * PROGRAM_RATE / 1000)


def speak_sentences(
    text: str,
    bounds: list[tuple[int, int]],
    speak: SentenceSynth,
    *,
    pause_ms: int,
    language: str,
    voice: str,
) -> Iterator[Speech]:
    """One Speech per sentence of `text` (spans `bounds`), each after the first led by the pause."""
    pause = pause_samples(pause_ms)
    spoken_any = False
    for start, end in bounds:
        piece = speak(start, end)
        if piece is None or piece.pcm.size == 0:
            continue
        lead = pause if spoken_any else 0
        spoken_any = True
        pcm = np.concatenate([np.zeros(lead, np.int16), piece.pcm]) if lead else piece.pcm
        phonemes = [PhonemeEvent(p.phoneme, p.start + lead, p.end + lead) for p in piece.phonemes]
        if lead and phonemes and phonemes[0].phoneme == PAUSE:
            phonemes[0] = PhonemeEvent(PAUSE, 0, phonemes[0].end)
        elif lead:
            phonemes.insert(0, PhonemeEvent(PAUSE, 0, lead))
        words = tuple(WordEvent(w.text, w.start + lead, w.end + lead, w.char_start, w.char_end) for w in piece.words)
        yield Speech(
            pcm=pcm,
            language=language,
            voice=voice,
            phonemes=tuple(phonemes),
            words=words,
            sentences=(SentenceSpan(collapse_whitespace(text[start:end]), lead, int(pcm.size)),),
        )
    if not spoken_any:
        raise BackendError(f"the voice {voice} produced no audio for the text")


def native_to_program(audio: np.ndarray) -> np.ndarray:
    """24 kHz float audio in [-1, 1] -> 48 kHz int16 (exactly two program samples per native one,
    so native timings double exactly); loud output is scaled down rather than clipped."""
    y = to_program_rate(np.asarray(audio, np.float64), 24000)
    peak = float(np.abs(y).max()) if y.size else 0.0
    gain = 0.97 / peak if peak > 0.97 else 1.0
    return np.clip(np.rint(y * gain * 32767), -32768, 32767).astype(np.int16)
