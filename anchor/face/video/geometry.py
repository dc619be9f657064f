"""The lower face in canonical coordinates: crop box, paste mask, colour-matching weights.

Everything is laid out once on the reference shape (measure.align): the region a mouth crop
must cover, the soft mask a crop is blended in with (from under the nose to below the chin,
hugging the cheeks, taking in the jaw line near the chin so a dropped jaw shows), and the
mouth area left out when matching colour (the lips and teeth are what differ).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from anchor.face import landmarks as L
from anchor.face.video.measure import apply, face_height, invert

LOWER_OVAL = (132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288, 361)
"""Face-oval landmarks from the right cheek round the chin to the left cheek."""
TOP = (205, 2, 425)
"""Under the nose: cheeks beside the nostrils and the philtrum's top."""
OUTER_LIPS = (L.MOUTH_CORNER_R, *L.UPPER_OUTER, L.MOUTH_CORNER_L, *reversed(L.LOWER_OUTER))


@dataclass(frozen=True)
class LowerFace:
    """Canonical layout of the lower face for one pack (pixels of the reference frame)."""

    roi: tuple[int, int, int, int]  # x0, y0, x1, y1: what a crop must cover (canonical)
    mask: np.ndarray  # float32 (roi h, roi w) 0..1 paste mask
    match: np.ndarray  # float32 (roi h, roi w) weights for colour matching (mask minus the mouth)
    height: float  # reference face height

    @property
    def size(self) -> tuple[int, int]:
        x0, y0, x1, y1 = self.roi
        return x1 - x0, y1 - y0

    @classmethod
    def of(cls, reference: np.ndarray) -> LowerFace:
        ref = np.asarray(reference, np.float64)
        h = face_height(ref)
        centre = (ref[13] + ref[14]) / 2
        oval = ref[list(LOWER_OVAL)]
        # Cheeks inset (their outline belongs to the base frame), chin outset (a dropped jaw shows).
        t = np.linspace(-1.0, 1.0, len(oval))
        factor = 0.80 + 0.30 * (1.0 - np.abs(t)) ** 1.5
        oval = centre + (oval - centre) * factor[:, None]
        oval[len(oval) // 2, 1] += 0.06 * h
        top = ref[list(TOP)].copy()
        top[:, 1] += 0.01 * h
        poly = np.concatenate([oval, top[::-1]])
        pad = 0.05 * h
        x0 = int(np.floor(poly[:, 0].min() - pad))
        x1 = int(np.ceil(poly[:, 0].max() + pad))
        y0 = int(np.floor(poly[:, 1].min() - pad))
        y1 = int(np.ceil(poly[:, 1].max() + pad))
        w, hh = x1 - x0, y1 - y0
        solid = np.zeros((hh, w), np.uint8)
        cv2.fillPoly(solid, [np.rint((poly - [x0, y0]) * 4).astype(np.int32)], (255,), cv2.LINE_AA, shift=2)
        feather = max(1.0, 0.025 * h)
        k = int(2 * round(feather) + 1)
        inner = cv2.erode(solid, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
        mask = cv2.GaussianBlur(inner.astype(np.float32) / 255.0, (0, 0), feather)
        mouth = np.zeros((hh, w), np.uint8)
        lips = ref[list(OUTER_LIPS)] - [x0, y0]
        # The mouth at its widest: the lips' outline stretched down by a full jaw drop.
        lips_open = lips.copy()
        lower = lips_open[:, 1] > centre[1] - y0
        lips_open[lower, 1] += 0.09 * h
        hull = cv2.convexHull(np.rint(np.concatenate([lips, lips_open])).astype(np.int32))
        cv2.fillConvexPoly(mouth, hull, (255,))
        grown = cv2.dilate(mouth, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
        match = mask * (1.0 - cv2.GaussianBlur(grown.astype(np.float32) / 255.0, (0, 0), feather))
        return cls((x0, y0, x1, y1), mask.astype(np.float32), match.astype(np.float32), h)


@dataclass(frozen=True)
class CropBox:
    """The fixed-size box every mouth crop is cut with, in source pixels."""

    width: int
    height: int

    @classmethod
    def of(cls, lower: LowerFace, transforms: np.ndarray, valid: np.ndarray) -> CropBox:
        """Big enough to hold the canonical ROI at every frame's scale and roll (plus a margin)."""
        x0, y0, x1, y1 = lower.roi
        corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)
        ws, hs = [], []
        for m in transforms[np.asarray(valid, bool)]:
            pts = apply(invert(m.astype(np.float64)), corners)
            ws.append(pts[:, 0].max() - pts[:, 0].min())
            hs.append(pts[:, 1].max() - pts[:, 1].min())
        w = int(np.ceil(max(ws))) + 6
        h = int(np.ceil(max(hs))) + 6
        return cls(w + w % 2, h + h % 2)

    def origin(self, lower: LowerFace, transform: np.ndarray) -> tuple[int, int]:
        """Top-left corner (source pixels) of the box centred on the ROI for a frame's transform."""
        x0, y0, x1, y1 = lower.roi
        c = apply(invert(np.asarray(transform, np.float64)), np.array([(x0 + x1) / 2, (y0 + y1) / 2]))
        return int(round(c[0] - self.width / 2)), int(round(c[1] - self.height / 2))

    def cut(self, rgb: np.ndarray, origin: tuple[int, int]) -> np.ndarray:
        """The box at `origin` from `rgb`, edge pixels repeated where it leaves the frame."""
        x, y = origin
        h, w = rgb.shape[:2]
        if 0 <= x and 0 <= y and x + self.width <= w and y + self.height <= h:
            return rgb[y : y + self.height, x : x + self.width].copy()
        pad = max(0, -x, -y, x + self.width - w, y + self.height - h)
        padded = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        return padded[y + pad : y + pad + self.height, x + pad : x + pad + self.width].copy()
