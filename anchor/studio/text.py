"""Broadcast text: one CJK-capable sans family (Noto Sans CJK SC) for Latin and Chinese, line breaking
for both scripts, and text rendered to premultiplied RGBA sprites.

Latin text breaks between words; Chinese breaks between any two characters except where the
line-breaking rules forbid it (no closing punctuation at a line start, no opening bracket at a
line end). Mixed text keeps Latin words whole.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from PIL import ImageFont

from anchor.studio.fonts import LATIN_CANDIDATES, default_font, font_path

SANS_CJK = {
    "bold": (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
        "/usr/share/fonts/truetype/noto/NotoSansCJK-Bold.ttc",
    ),
    "regular": (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    ),
}
SC_INDEX = 2  # face index of "Noto Sans CJK SC" in the .ttc collections

NO_LINE_START = set("。，、．！？；：）」』】》〉”’…—,.!?;:)]}%")
NO_LINE_END = set("（「『【《〈“‘([{")
_TOKEN_RE = re.compile(r"\s+|[A-Za-z0-9\u00c0-\u024f'’\-.,!?;:%$&/()\"]+|.", re.DOTALL)


@functools.cache
def broadcast_font(size: int, weight: str = "bold") -> ImageFont.FreeTypeFont:
    """The house font at `size` px: Noto Sans CJK SC (weight 'bold' or 'regular'), falling back to what exists."""
    for p in SANS_CJK.get(weight, SANS_CJK["bold"]):
        if Path(p).is_file():
            return ImageFont.truetype(p, size, index=SC_INDEX)
    path = font_path(cjk=True)
    if path is not None:
        return ImageFont.truetype(str(path), size)
    for p in LATIN_CANDIDATES:
        if Path(p).is_file():
            return ImageFont.truetype(p, size)
    return default_font(size)


def text_width(text: str, font: ImageFont.FreeTypeFont) -> float:
    return float(font.getlength(text))


def _tokens(text: str) -> list[str]:
    """Break opportunities: whitespace runs, Latin words (with attached punctuation), single other characters."""
    return _TOKEN_RE.findall(text)


def wrap_text(text: str, font: ImageFont.FreeTypeFont, max_width: float) -> list[str]:
    """Greedy line breaking of `text` to lines no wider than `max_width` (a single over-long word is cut)."""
    lines: list[str] = []
    line = ""
    for tok in _tokens(" ".join(text.split())):
        if tok.isspace():
            if line:
                line += " "
            continue
        candidate = line + tok
        if text_width(candidate.rstrip(), font) <= max_width or not line.strip():
            line = candidate
            while text_width(line.rstrip(), font) > max_width and len(line.strip()) > 1:  # one word wider than the line
                cut = len(line) - 1
                while cut > 1 and text_width(line[:cut], font) > max_width:
                    cut -= 1
                lines.append(line[:cut])
                line = line[cut:]
            continue
        if tok[0] in NO_LINE_START and len(line.rstrip()) > 1 and not line.endswith(" "):
            # Carry the last character down with the punctuation (kinsoku); Latin punctuation is part of its word.
            lines.append(line[:-1].rstrip())
            line = line[-1] + tok
            continue
        if line and line.rstrip()[-1] in NO_LINE_END:
            lines.append(line.rstrip()[:-1].rstrip())
            line = line.rstrip()[-1] + tok
            continue
        lines.append(line.rstrip())
        line = tok
    if line.strip():
        lines.append(line.strip())
    return [ln for ln in lines if ln]


def fit_text(
    text: str, max_width: float, max_lines: int, size: int, min_size: int, weight: str = "bold"
) -> tuple[list[str], ImageFont.FreeTypeFont]:
    """Lines and font for `text` in a box: shrink the size down to `min_size`, then ellipsise the last line."""
    s = size
    while True:
        font = broadcast_font(s, weight)
        lines = wrap_text(text, font, max_width)
        if len(lines) <= max_lines or s <= min_size:
            break
        s = max(min_size, int(s * 0.92))
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and text_width(last + "…", font) > max_width:
            last = last[:-1]
        lines[-1] = last.rstrip() + "…"
    return lines, font
