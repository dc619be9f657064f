"""Finding fonts (a CJK-capable one for Chinese) and drawing text onto RGB frames with Pillow."""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

CJK_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
LATIN_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)


def _fc_match(pattern: str) -> Path | None:
    if not shutil.which("fc-match"):
        return None
    out = subprocess.run(["fc-match", "-f", "%{file}", pattern], capture_output=True, text=True, check=False)
    p = Path(out.stdout.strip())
    return p if out.returncode == 0 and p.is_file() else None


@functools.cache
def font_path(cjk: bool) -> Path | None:
    """A font file that can draw CJK (cjk=True) or Latin text; None if the machine has none."""
    for c in CJK_CANDIDATES if cjk else LATIN_CANDIDATES + CJK_CANDIDATES:
        if Path(c).is_file():
            return Path(c)
    found = _fc_match(":lang=zh-cn" if cjk else "sans:bold")
    if found and (not cjk or "cjk" in found.name.lower() or "wqy" in found.name.lower()):
        return found
    return None


def has_cjk(text: str) -> bool:
    return any("\u2e80" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text)


@functools.cache
def load_font(size: int, cjk: bool) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = font_path(cjk)
    return ImageFont.truetype(str(path), size) if path else ImageFont.load_default(size)


def draw_text(
    image: np.ndarray,
    text: str,
    xy: tuple[int, int],
    size: int,
    fill: tuple[int, int, int] = (255, 255, 255),
    box: tuple[int, int, int, int] | None = None,
    pad: int = 6,
) -> tuple[int, int, int, int]:
    """Draw `text` at xy (top-left) in place; with `box` (RGBA) a rounded plate behind it. Returns its bounds."""
    font = load_font(size, has_cjk(text))
    pil = Image.fromarray(image)
    draw = ImageDraw.Draw(pil, "RGBA")
    x0, y0, x1, y1 = draw.textbbox(xy, text, font=font)
    bounds = (x0 - pad, y0 - pad, x1 + pad, y1 + pad)
    if box is not None:
        draw.rounded_rectangle(bounds, radius=pad, fill=box)
    draw.text(xy, text, font=font, fill=fill)
    image[:] = np.asarray(pil)
    return bounds
