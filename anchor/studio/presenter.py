"""The presenter shot: a studio backdrop with the anchor framed like a news presenter.

Static parts (backdrop, anchor at rest) are composed once; each frame re-blends only the
rectangles the face renderer changed, so the per-frame cost stays small.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from anchor.face.avatar import AvatarPack
from anchor.face.mesh import Rect
from anchor.face.renderer import AnchorFrame
from anchor.studio.fonts import draw_text, font_path, has_cjk

FACE_HEIGHT_SHARE = 0.33  # face (forehead to chin) as a share of the frame height
FACE_CENTRE_Y = 0.40  # where the face centre sits, as a share of the frame height


@dataclass(frozen=True)
class Placement:
    """How the avatar layer maps into the program frame: scale, then offset (may be negative)."""

    scale: float
    x: int
    y: int


def presenter_placement(avatar: AvatarPack, width: int, height: int) -> Placement:
    """Scale and position that frame the avatar's head and shoulders like a presenter."""
    lm = avatar.landmarks
    face_h = float(lm[152, 1] - lm[10, 1])
    scale = FACE_HEIGHT_SHARE * height / face_h
    img_h, img_w = avatar.image.shape[:2]
    cx, cy = float(lm[:, 0].mean()) * scale, float(lm[:, 1].mean()) * scale
    x = round(width / 2 - cx)
    y = round(FACE_CENTRE_Y * height - cy)
    bottom = y + img_h * scale
    if bottom < height:  # never leave the body floating above the bottom edge
        y += int(np.ceil(height - bottom))
    return Placement(scale, x, y)


def studio_backdrop(width: int, height: int) -> np.ndarray:
    """A calm news-studio backdrop: deep blue gradient, soft light behind the anchor, faint grid."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    top, bottom = np.array([18, 32, 64], np.float32), np.array([6, 12, 28], np.float32)
    img = top + (bottom - top) * (yy / height)[..., None]
    glow = np.exp(-(((xx - width / 2) / (0.35 * width)) ** 2 + ((yy - 0.42 * height) / (0.45 * height)) ** 2))
    img += glow[..., None] * np.array([40, 60, 95], np.float32)
    grid = ((xx.astype(int) % max(8, width // 24)) == 0) | ((yy.astype(int) % max(8, width // 24)) == 0)
    img[grid] += 6
    return np.clip(img, 0, 255).astype(np.uint8)


class PresenterShot:
    """Composes program frames: backdrop + anchor layer placed by `placement`."""

    def __init__(
        self, width: int, height: int, placement: Placement, layer_size: tuple[int, int], label: str = "AI-generated"
    ) -> None:
        self.width, self.height = width, height
        self.placement = placement
        lw, lh = layer_size
        # The visible part of the layer, in frame and in layer coordinates.
        fx0, fy0 = max(0, placement.x), max(0, placement.y)
        fx1, fy1 = min(width, placement.x + lw), min(height, placement.y + lh)
        self.visible = Rect(fx0 - placement.x, fy0 - placement.y, fx1 - placement.x, fy1 - placement.y)
        self.backdrop = studio_backdrop(width, height)
        self.label = label if not has_cjk(label) or font_path(cjk=True) else "AI-generated"
        self.base = self.backdrop.copy()

    def _blend(self, out: np.ndarray, anchor: AnchorFrame, r: Rect) -> None:
        """Blend layer rect `r` (layer coordinates) of the anchor over the backdrop into `out`."""
        v = self.visible
        r = Rect(max(r.x0, v.x0), max(r.y0, v.y0), min(r.x1, v.x1), min(r.y1, v.y1))
        if r.width <= 0 or r.height <= 0:
            return
        dst = (slice(r.y0 + self.placement.y, r.y1 + self.placement.y), slice(r.x0 + self.placement.x, r.x1 + self.placement.x))
        a = anchor.alpha[r.slices].astype(np.float32)[..., None] * (1 / 255)
        fg = anchor.image[r.slices].astype(np.float32)
        bg = self.backdrop[dst].astype(np.float32)
        out[dst] = (bg + (fg - bg) * a + 0.5).astype(np.uint8)

    def set_rest(self, anchor: AnchorFrame) -> None:
        """Compose the whole anchor once; later frames only update their dirty rects."""
        self.base = self.backdrop.copy()
        self._blend(self.base, anchor, self.visible)
        # The AI disclosure sits on top of everything, from the first frame on.
        size = max(12, self.height // 34)
        margin = max(8, self.height // 40)
        draw_text(self.base, self.label, (margin + 6, margin + 4), size, box=(0, 0, 0, 150))

    def compose(self, anchor: AnchorFrame) -> np.ndarray:
        """A new program frame (H, W, 3) RGB for this anchor frame."""
        out = self.base.copy()
        for r in anchor.dirty:
            self._blend(out, anchor, r)
        return out
