"""The Kokoro (misaki) phoneme alphabet shared by hibari and Kokoro-82M, and timings from its durations.

Both models read one character per token from the same 114-symbol vocabulary and predict an
integer duration per token (units of 600 samples at 24 kHz, 25 ms) before their decoders
upsample; the audio length is exactly Σ durations × 600. `timed_phonemes` turns those per-token
durations into PhonemeEvent-style spans in the IPA spelling the viseme table reads
(`KOKORO_TO_IPA`: misaki writes diphthongs and affricates as single letters, A = eɪ, ʧ = tʃ, ꭧ = tʂ …).

Conventions (the same as the Piper backend's): stress marks give their time to the phoneme after
them; length marks, aspiration, tones and other modifiers join the phoneme before them; the pads
at both ends and punctuation are pauses ("_"); a space (word boundary) shorter than
`SHORT_SPACE_UNITS` is split between its neighbours (there is no silence between words in
running speech), a longer one is a pause. Spans cover the audio without gaps.
"""

from __future__ import annotations

from dataclasses import dataclass

PAUSE = "_"
UNIT_SAMPLES = 600
"""Native samples (24 kHz) per duration unit of both models."""
NATIVE_RATE = 24000

KOKORO_TO_IPA: dict[str, str] = {
    "A": "eɪ", "I": "aɪ", "O": "oʊ", "W": "aʊ", "Y": "ɔɪ", "Q": "əʊ", "T": "ɾ", "ᵊ": "ə",
    "ʤ": "dʒ", "ʧ": "tʃ", "ʦ": "ts", "ʣ": "dz", "ʨ": "tɕ", "ʥ": "dʑ", "ꭧ": "tʂ", "S": "ʃ",
}  # fmt: skip
"""misaki's one-letter symbols -> the IPA the viseme table reads (other symbols are IPA already)."""

PUNCTUATION = frozenset(';:,.!?—…"()“”')
STRESS = frozenset("ˈˌ")
MODIFIERS = frozenset("ːʰʲ̃ᵝ↓→↗↘")
"""Symbols that change the sound before them without a mouth shape of their own (length,
aspiration, palatalization, nasalization, compression, Mandarin tones)."""
SHORT_SPACE_UNITS = 4
"""A word boundary shorter than this (100 ms) is running speech, not a pause."""


def to_ipa(symbol: str) -> str:
    """One Kokoro symbol in the IPA the viseme table reads."""
    return KOKORO_TO_IPA.get(symbol, symbol)


@dataclass(frozen=True)
class TimedToken:
    """One model token: its symbol ("" for a pad) and its span in native samples."""

    symbol: str
    start: int
    end: int


def token_spans(symbols: list[str], units: list[int]) -> list[TimedToken]:
    """Per-token spans from the model's durations; `symbols` excludes the two pads, `units` includes them."""
    if len(units) != len(symbols) + 2:
        raise ValueError(f"{len(units)} durations for {len(symbols)} symbols plus two pads")
    out: list[TimedToken] = []
    pos = 0
    for sym, u in zip(["", *symbols, ""], units):
        out.append(TimedToken(sym, pos, pos + int(u) * UNIT_SAMPLES))
        pos += int(u) * UNIT_SAMPLES
    return out


def timed_phonemes(tokens: list[TimedToken]) -> list[tuple[str, int, int]]:
    """Contiguous (ipa, start, end) spans in native samples covering all tokens (see the module doc)."""
    spans = _split_short_spaces(tokens)
    merged: list[list[object]] = []  # [ipa, start, end]
    pending: int | None = None  # start of a stress mark waiting for its phoneme
    for tok, (a, b) in zip(tokens, spans):
        sym = tok.symbol
        if sym in STRESS:
            pending = a if pending is None else pending
            continue
        if sym in MODIFIERS and merged and merged[-1][0] != PAUSE:
            merged[-1][2] = b
            continue
        pause = sym == "" or sym in PUNCTUATION or sym == " " or sym in MODIFIERS
        name = PAUSE if pause else to_ipa(sym)
        start = a if pending is None else pending
        pending = None
        if name == PAUSE and merged and merged[-1][0] == PAUSE:
            merged[-1][2] = b
        elif b > start or name != PAUSE:
            merged.append([name, start, b])
    if pending is not None and merged:  # a stress mark at the very end
        merged[-1][2] = spans[-1][1]
    out = [(str(n), int(s), int(e)) for n, s, e in merged]  # type: ignore[call-overload]
    # make the spans contiguous: each starts where the previous ended
    for i in range(1, len(out)):
        out[i] = (out[i][0], out[i - 1][2], out[i][2])
    return [ev for ev in out if ev[2] > ev[1]]


def lead_events(events: list[tuple[str, int, int]], lead: int) -> list[tuple[str, int, int]]:
    """Every boundary between events moved `lead` samples earlier (the first start and the last
    end stay, so the events still tile the audio; events left empty are dropped).

    Measured on held-out sentences against the audio's loudness (bench.voices), the durations of
    both models put sounds a little after they are heard: hibari by ~25 ms, Kokoro by ~50 ms."""
    if lead <= 0 or not events:
        return events
    first, last = events[0][1], events[-1][2]
    out: list[tuple[str, int, int]] = []
    for i, (name, a, b) in enumerate(events):
        a2 = a if i == 0 else max(first, a - lead)
        b2 = b if i == len(events) - 1 else max(first, b - lead)
        a2 = out[-1][2] if out else a2
        if b2 > a2:
            out.append((name, a2, b2))
    if out and out[-1][2] != last:
        out[-1] = (out[-1][0], out[-1][1], last)
    return out


def _split_short_spaces(tokens: list[TimedToken]) -> list[tuple[int, int]]:
    """Spans with each short space's time given half to the token before it, half to the one after."""
    spans = [(t.start, t.end) for t in tokens]
    for i in range(1, len(tokens) - 1):
        t = tokens[i]
        if t.symbol != " " or t.end - t.start >= SHORT_SPACE_UNITS * UNIT_SAMPLES:
            continue
        if tokens[i - 1].symbol in PUNCTUATION or tokens[i + 1].symbol in PUNCTUATION:
            continue
        mid = (t.start + t.end) // 2
        spans[i - 1] = (spans[i - 1][0], mid)
        spans[i] = (mid, mid)
        spans[i + 1] = (mid, spans[i + 1][1])
    return spans


def word_groups(tokens: list[TimedToken]) -> list[tuple[int, int, int, int]]:
    """Runs of sounding tokens between spaces/punctuation/pads as (first token, last token + 1,
    start, end) — the spoken words, in order."""
    groups: list[tuple[int, int, int, int]] = []
    start_i: int | None = None
    for i, t in enumerate(tokens):
        boundary = t.symbol == "" or t.symbol == " " or t.symbol in PUNCTUATION
        if boundary:
            if start_i is not None:
                groups.append((start_i, i, tokens[start_i].start, tokens[i - 1].end))
                start_i = None
        elif start_i is None:
            start_i = i
    if start_i is not None:
        groups.append((start_i, len(tokens), tokens[start_i].start, tokens[-1].end))
    return groups
