"""Finding fonts (a CJK-capable one for Chinese) and drawing text onto RGB frames with Pillow."""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

from PIL import ImageFont

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
def load_font(size: int, cjk: bool) -> ImageFont.FreeTypeFont:
    path = font_path(cjk)
    return ImageFont.truetype(str(path), size) if path else default_font(size)


def default_font(size: int) -> ImageFont.FreeTypeFont:
    """Pillow's bundled font at `size` (a FreeType font since Pillow 10.1)."""
    font = ImageFont.load_default(size)
    if not isinstance(font, ImageFont.FreeTypeFont):
        raise RuntimeError("Pillow was built without FreeType; anchor needs it to draw text")
    return font
