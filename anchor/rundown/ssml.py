"""Inline pause marks: the SSML subset `<break time="500ms"/>` (also "1.5s") inside story text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from anchor.errors import InputError

MAX_BREAK_MS = 10_000
_TAG_RE = re.compile(r"<[^<>]*>|<[^<>]*$")
_BREAK_RE = re.compile(r"""^<\s*break\s+time\s*=\s*(["'])\s*(\d+(?:\.\d+)?)\s*(ms|s)\s*\1\s*/?\s*>$""", re.IGNORECASE)


@dataclass(frozen=True)
class Segment:
    """A run of text to speak, then `pause_ms` of silence. `offset` is where it starts in the clean text."""

    text: str
    pause_ms: int
    offset: int


def split_breaks(text: str, field: str = "text") -> tuple[str, list[Segment]]:
    """Split `text` at break marks. Returns the clean text (marks replaced by one space) and its segments.

    Any other tag, or a malformed break, is an InputError naming `field`.
    """
    clean: list[str] = []
    segments: list[Segment] = []
    pos, offset, start = 0, 0, 0
    for m in _TAG_RE.finditer(text):
        tag = m.group(0)
        b = _BREAK_RE.match(tag)
        if not b:
            raise InputError(
                f'unsupported mark {tag!r} in the text; only <break time="500ms"/> is understood', field=field
            )
        ms = round(float(b.group(2)) * (1 if b.group(3).lower() == "ms" else 1000))
        if ms > MAX_BREAK_MS:
            raise InputError(f"break of {ms} ms is too long (at most {MAX_BREAK_MS} ms)", field=field)
        piece = text[pos : m.start()]
        clean.append(piece)
        offset += len(piece)
        segments.append(Segment("".join(clean)[start:offset], ms, start))
        clean.append(" ")
        offset += 1
        start = offset
        pos = m.end()
    clean.append(text[pos:])
    full = "".join(clean)
    segments.append(Segment(full[start:], 0, start))
    merged: list[Segment] = []
    for s in segments:  # empty runs (marks side by side, leading marks) only add their pause
        if not s.text.strip():
            if merged:
                merged[-1] = Segment(merged[-1].text, merged[-1].pause_ms + s.pause_ms, merged[-1].offset)
            elif s.pause_ms:
                merged.append(Segment("", s.pause_ms, s.offset))
            continue
        merged.append(s)
    return full, merged
