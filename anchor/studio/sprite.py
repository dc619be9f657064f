"""Sprites: pre-rendered premultiplied RGBA pictures and the fast blend that composites them.

Every graphic is drawn once into a Sprite; per frame only `blend` (two OpenCV SIMD passes over
the sprite's area) or a plain copy (opaque sprites) runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in frame pixels: [x, x + w) x [y, y + h)."""

    x: int
    y: int
    w: int
    h: int

    @property
    def x1(self) -> int:
        return self.x + self.w

    @property
    def y1(self) -> int:
        return self.y + self.h

    def inside(self, other: Box) -> bool:
        return self.x >= other.x and self.y >= other.y and self.x1 <= other.x1 and self.y1 <= other.y1

    def intersects(self, other: Box) -> bool:
        return self.x < other.x1 and other.x < self.x1 and self.y < other.y1 and other.y < self.y1

    def intersection(self, other: Box) -> Box | None:
        x0, y0 = max(self.x, other.x), max(self.y, other.y)
        x1, y1 = min(self.x1, other.x1), min(self.y1, other.y1)
        return Box(x0, y0, x1 - x0, y1 - y0) if x1 > x0 and y1 > y0 else None


@dataclass(frozen=True)
class Sprite:
    """A premultiplied RGBA picture. `inv` is 255 - alpha replicated on 3 channels (what blend needs)."""

    rgb: np.ndarray  # (h, w, 3) uint8, premultiplied by alpha
    alpha: np.ndarray  # (h, w) uint8
    inv: np.ndarray = field(repr=False)  # (h, w, 3) uint8
    opaque: bool = False

    @property
    def w(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def h(self) -> int:
        return int(self.rgb.shape[0])

    @classmethod
    def from_rgba(cls, rgba: np.ndarray | Image.Image) -> Sprite:
        """From straight (not premultiplied) RGBA."""
        a = np.asarray(rgba, dtype=np.uint8)
        alpha = np.ascontiguousarray(a[..., 3])
        a3 = cv2.merge([alpha, alpha, alpha])
        rgb = cv2.multiply(np.ascontiguousarray(a[..., :3]), a3, scale=1 / 255)
        return cls(rgb, alpha, cv2.bitwise_not(a3), bool(alpha.min() == 255))

    def faded(self, opacity: float) -> Sprite:
        """This sprite at `opacity` (0..1)."""
        if opacity >= 1:
            return self
        alpha = (self.alpha.astype(np.float32) * opacity + 0.5).astype(np.uint8)
        rgb = (self.rgb.astype(np.float32) * opacity + 0.5).astype(np.uint8)
        return Sprite(rgb, alpha, cv2.bitwise_not(cv2.merge([alpha, alpha, alpha])), False)


def blend(dst: np.ndarray, sprite: Sprite, x: int, y: int, clip: Box | None = None) -> Box | None:
    """Composite `sprite` with its top-left at (x, y) over `dst` in place, limited to `clip`; returns the area touched."""
    h, w = dst.shape[:2]
    area = Box(x, y, sprite.w, sprite.h).intersection(Box(0, 0, w, h))
    if area is not None and clip is not None:
        area = area.intersection(clip)
    if area is None:
        return None
    d = dst[area.y : area.y1, area.x : area.x1]
    sy, sx = slice(area.y - y, area.y1 - y), slice(area.x - x, area.x1 - x)
    if sprite.opaque:
        d[:] = sprite.rgb[sy, sx]
    else:
        d[:] = cv2.add(cv2.multiply(d, sprite.inv[sy, sx], scale=1 / 255), sprite.rgb[sy, sx])
    return area
