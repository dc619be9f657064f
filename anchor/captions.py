"""Captions from the speech's word events: cues on video-frame boundaries, written as SRT and WebVTT.

Rules (common broadcast/web practice): at most 2 lines; at most 42 characters a line for Latin
text and 16 for Chinese; a cue ends at a sentence end, before a pause longer than `gap_s`, or
when full; it lasts at least `min_s` (stretched into the silence after it, never over the next
cue) and at most `max_s`. Cue times are the first word's start and the last word's end, rounded
to the frame grid (start down, end up), so they are within one frame of the word events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from anchor.speech.base import WordEvent
from anchor.speech.text import is_cjk
from anchor.timebase import PROGRAM_RATE, samples_per_frame


@dataclass(frozen=True)
class Cue:
    """One caption: lines shown from `start` to `end` (program samples)."""

    start: int
    end: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True)
class CaptionRules:
    max_chars_latin: int = 42
    max_chars_cjk: int = 16
    max_lines: int = 2
    min_s: float = 1.0
    max_s: float = 7.0
    gap_s: float = 0.7


_SENTENCE_END = tuple(".!?。！？；;…")
_CLAUSE_END = tuple(",，、:：")


def _is_cjk_text(text: str) -> bool:
    han = sum(1 for c in text if is_cjk(c))
    return han > 0 and han >= len(text.split())


def _join(a: str, b: str) -> str:
    if not a:
        return b
    if is_cjk(a[-1]) or (b and is_cjk(b[0])) or a[-1] in "，、。！？；：“”（）":
        return a + b
    return a + " " + b


def _split_lines(pieces: list[str], max_chars: int) -> tuple[str, ...]:
    """Two lines of nearly equal length (the first no shorter than needed), breaking between pieces."""
    full = ""
    for p in pieces:
        full = _join(full, p)
    if len(full) <= max_chars:
        return (full,)
    best: tuple[int, tuple[str, str]] | None = None
    for k in range(1, len(pieces)):
        a, b = "", ""
        for p in pieces[:k]:
            a = _join(a, p)
        for p in pieces[k:]:
            b = _join(b, p)
        if len(a) <= max_chars and len(b) <= max_chars:
            score = abs(len(a) - len(b)) + (0 if a[-1] in ",，、;；:：" else 3)
            if best is None or score < best[0]:
                best = (score, (a, b))
    return best[1] if best else (full,)


def build_cues(
    text: str, words: Sequence[WordEvent], fps: int, rules: CaptionRules = CaptionRules(), offset: int = 0
) -> list[Cue]:
    """Caption cues for `words` spoken from `text`; `offset` (samples) shifts every cue (the story's place in the programme)."""
    if not words:
        return []
    spf = samples_per_frame(fps)
    cjk = _is_cjk_text(text)
    max_chars = rules.max_chars_cjk if cjk else rules.max_chars_latin
    groups: list[tuple[list[WordEvent], list[str]]] = []
    cur: list[WordEvent] = []
    pieces: list[str] = []
    for i, w in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else None
        end = nxt.char_start if nxt is not None else len(text)
        piece = text[w.char_start : end].strip() or w.text  # the word with its punctuation
        trial = pieces + [piece]
        fits = all(len(line) <= max_chars for line in _split_lines(trial, max_chars))
        too_long = cur and (not fits or (w.end - cur[0].start) > rules.max_s * PROGRAM_RATE)
        if too_long:
            # Prefer ending the cue at the last clause boundary (comma) in its second half.
            cut = next(
                (
                    j
                    for j in range(len(pieces) - 1, len(pieces) // 2 - 1, -1)
                    if j > 0 and pieces[j - 1].endswith(_CLAUSE_END)
                ),
                len(pieces),
            )
            groups.append((cur[:cut], pieces[:cut]))
            cur, pieces = cur[cut:], pieces[cut:]
        cur.append(w)
        pieces.append(piece)
        gap = (nxt.start - w.end) if nxt is not None else 0
        if piece.endswith(_SENTENCE_END) or gap > rules.gap_s * PROGRAM_RATE:
            groups.append((cur, pieces))
            cur, pieces = [], []
    if cur:
        groups.append((cur, pieces))

    cues: list[Cue] = []
    for ws, ps in groups:
        start = (ws[0].start + offset) // spf * spf
        end = -(-(ws[-1].end + offset) // spf) * spf
        cues.append(Cue(start, end, _split_lines(ps, max_chars)))
    min_len = round(rules.min_s * fps) * spf
    out: list[Cue] = []
    for i, c in enumerate(cues):
        limit = cues[i + 1].start if i + 1 < len(cues) else c.start + min_len
        end = max(c.end, min(c.start + min_len, limit))
        if i + 1 < len(cues):
            end = min(end, cues[i + 1].start)  # never overlap the next cue
        out.append(Cue(c.start, end, c.lines))
    return out


def _stamp(samples: int, sep: str) -> str:
    ms = round(samples * 1000 / PROGRAM_RATE)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def to_srt(cues: Sequence[Cue]) -> str:
    return "".join(f"{i}\n{_stamp(c.start, ',')} --> {_stamp(c.end, ',')}\n{c.text}\n\n" for i, c in enumerate(cues, 1))


def to_vtt(cues: Sequence[Cue], language: str | None = None) -> str:
    head = "WEBVTT\n" + (f"Language: {language}\n" if language else "") + "\n"
    return head + "".join(
        f"{i}\n{_stamp(c.start, '.')} --> {_stamp(c.end, '.')}\n{c.text}\n\n" for i, c in enumerate(cues, 1)
    )


def write_captions(video: Path, cues: Sequence[Cue], language: str | None = None) -> tuple[Path, Path]:
    """Write `video`.srt and `video`.vtt beside the video; returns their paths."""
    srt, vtt = Path(video).with_suffix(".srt"), Path(video).with_suffix(".vtt")
    srt.write_text(to_srt(cues), encoding="utf-8")
    vtt.write_text(to_vtt(cues, language), encoding="utf-8")
    return srt, vtt
