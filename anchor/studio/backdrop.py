"""Backdrops: what stands behind the presenter (the studio look, a colour, a gradient, a picture).

The studio owns these choices; `backdrop_from_request` turns what a user asked for (a colour
spec or a picture file) into the picture, refusing what cannot be used.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from anchor.errors import InputError
from anchor.studio.graphics import fit_cover


def studio_backdrop(width: int, height: int) -> np.ndarray:
    """A calm news-studio backdrop: deep blue gradient, soft light behind the anchor, faint grid."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    top, bottom = np.array([18, 32, 64], np.float32), np.array([6, 12, 28], np.float32)
    img = top + (bottom - top) * (yy / height)[..., None]
    glow = np.exp(-(((xx - width / 2) / (0.35 * width)) ** 2 + ((yy - 0.42 * height) / (0.45 * height)) ** 2))
    img += glow[..., None] * np.array([40, 60, 95], np.float32)
    step = max(8, min(width, height) // 14)
    grid = ((xx.astype(int) % step) == 0) | ((yy.astype(int) % step) == 0)
    img[grid] += 6
    return np.clip(img, 0, 255).astype(np.uint8)


def solid_background(
    width: int, height: int, top: tuple[int, int, int], bottom: tuple[int, int, int] | None = None
) -> np.ndarray:
    """A flat colour, or a vertical gradient from `top` to `bottom`."""
    if bottom is None:
        return np.broadcast_to(np.array(top, np.uint8), (height, width, 3)).copy()
    t = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    col = np.array(top, np.float32) + (np.array(bottom, np.float32) - np.array(top, np.float32)) * t
    return np.broadcast_to(col, (height, width, 3)).round().astype(np.uint8).copy()


def parse_background(spec: str | None, width: int, height: int) -> np.ndarray | None:
    """A backdrop from "#rrggbb" (flat colour) or "#rrggbb,#rrggbb" (top-to-bottom gradient)."""
    if spec is None:
        return None
    parts = [p.strip() for p in spec.split(",")]
    if not 1 <= len(parts) <= 2 or not all(re.fullmatch(r"#[0-9a-fA-F]{6}", p) for p in parts):
        raise InputError(
            f"background {spec!r} is not understood: use a colour '#1a2b3c' or a gradient '#1a2b3c,#000000'",
            field="background",
        )
    cols = [(int(p[1:3], 16), int(p[3:5], 16), int(p[5:7], 16)) for p in parts]
    return solid_background(width, height, cols[0], cols[1] if len(cols) == 2 else None)


def decode_background_image(source: Path | bytes) -> np.ndarray:
    """A picture file (or its bytes) as RGB: EXIF rotation applied, transparency flattened onto black."""
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else Path(source)) as opened:
            im = ImageOps.exif_transpose(opened)
            if im.mode.startswith("I"):  # 16/32-bit grey: keep the top 8 bits rather than clipping
                im = Image.fromarray((np.asarray(im).astype(np.int64) >> 8).clip(0, 255).astype(np.uint8))
            rgba = im.convert("RGBA")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise InputError(f"the background image cannot be decoded ({e})", field="background_image") from e
    flat = Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba)
    return np.asarray(flat.convert("RGB"))


def background_from_image(path: Path, width: int, height: int) -> np.ndarray:
    """The picture at `path` scaled to cover width x height and centre-cropped (aspect kept, no bars)."""
    return fit_cover(decode_background_image(path), width, height)


def backdrop_from_request(color: str | None, image: Path | None, width: int, height: int) -> np.ndarray | None:
    """The backdrop a user asked for: a colour/gradient spec or a picture (not both); None = the studio look."""
    if color is not None and image is not None:
        raise InputError(
            "give either background (a colour) or background_image (a picture), not both", field="background"
        )
    if image is not None:
        return background_from_image(image, width, height)
    return parse_background(color, width, height)
