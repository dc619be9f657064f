"""Fitting a mouth crop onto a base frame: aligned to its head, warped to the target opening,
colour-matched to it, blended in with a feathered mask.

One remap does the geometry: every base pixel near the mouth goes to canonical coordinates
(the base frame's alignment), is shifted by the opening correction (the lower lip, chin and
jaw move down or up by `delta`, fading out towards the cheeks and the neck) and goes back
into the crop's pixels (the crop's alignment). Colour: the low-frequency difference between
base and warped crop, measured on the skin around the mouth (normalised convolution, lips and
teeth left out), is added to the crop, so lighting matches to the seam. The result is mixed
into the base with the canonical paste mask times `strength`.
"""

from __future__ import annotations

import cv2
import numpy as np

from anchor.face.mesh import Rect
from anchor.face.video.bank import MouthBank
from anchor.face.video.geometry import LowerFace
from anchor.face.video.measure import apply, invert

COLOUR_SIGMA = 0.07  # of the face height: how local the colour matching is


class MouthFitter:
    """Pastes bank crops onto base frames of one pack."""

    def __init__(
        self, lower: LowerFace, bank: MouthBank, mouth_y: float, chin_y: float, mouth_half_width: float
    ) -> None:
        self.lower = lower
        self.bank = bank
        x0, y0, x1, y1 = lower.roi
        self._roi_corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)
        h = lower.height
        self.mouth_y, self.chin_y = mouth_y, chin_y
        self._cx = (x0 + x1) / 2
        self._half = mouth_half_width
        self._h = h

    def _drop_weight(self, cx: np.ndarray, cy: np.ndarray) -> np.ndarray:
        """How much of the opening correction each canonical point takes: 1 on the lower lip and
        chin, 0 above the mouth line, fading out below the chin and towards the cheeks."""
        h = self._h
        down = np.clip((cy - (self.mouth_y - 0.004 * h)) / (0.02 * h), 0.0, 1.0)
        below = np.clip(1.0 - (cy - self.chin_y) / (0.12 * h), 0.0, 1.0)
        side = np.clip(1.0 - (np.abs(cx - self._cx) - 1.1 * self._half) / (0.9 * self._half), 0.0, 1.0)
        w = down * below * side
        return w * w * (3 - 2 * w)

    def region(self, base_to_canonical: np.ndarray, width: int, height: int) -> Rect:
        """The base-frame rectangle a paste can change."""
        pts = apply(invert(np.asarray(base_to_canonical, np.float64)), self._roi_corners)
        return Rect(
            int(np.floor(pts[:, 0].min())), int(np.floor(pts[:, 1].min())),
            int(np.ceil(pts[:, 0].max())) + 1, int(np.ceil(pts[:, 1].max())) + 1,
        ).clip(width, height)  # fmt: skip

    def fit(self, base: np.ndarray, base_to_canonical: np.ndarray, crop: int, delta: float, strength: float) -> Rect:
        """Paste crop `crop` into `base` (modified in place) with the opening moved by `delta`
        canonical pixels (positive opens); returns the rectangle that changed."""
        h_img, w_img = base.shape[:2]
        r = self.region(base_to_canonical, w_img, h_img)
        if r.width <= 1 or r.height <= 1 or strength <= 0:
            return Rect(r.x0, r.y0, r.x0, r.y0)
        gx, gy = np.meshgrid(np.arange(r.x0, r.x1, dtype=np.float32), np.arange(r.y0, r.y1, dtype=np.float32))
        m = np.asarray(base_to_canonical, np.float32)
        cx = m[0, 0] * gx + m[0, 1] * gy + m[0, 2]
        cy = m[1, 0] * gx + m[1, 1] * gy + m[1, 2]
        x0, y0 = self.lower.roi[:2]
        mask = cv2.remap(self.lower.mask, cx - x0, cy - y0, cv2.INTER_LINEAR, borderValue=(0.0,))
        match = cv2.remap(self.lower.match, cx - x0, cy - y0, cv2.INTER_LINEAR, borderValue=(0.0,))
        sy = cy - np.float32(delta) * self._drop_weight(cx, cy) if delta else cy
        inv = invert(self.bank.transforms[crop].astype(np.float64)).astype(np.float32)  # canonical -> crop px
        mx = inv[0, 0] * cx + inv[0, 1] * sy + inv[0, 2]
        my = inv[1, 0] * cx + inv[1, 1] * sy + inv[1, 2]
        warped = cv2.remap(self.bank.rgb(crop), mx, my, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)

        roi = base[r.slices]
        b = roi.astype(np.float32)
        wf = warped.astype(np.float32)
        sigma = max(1.0, COLOUR_SIGMA * self._h * float(np.sqrt(abs(np.linalg.det(m[:, :2].astype(np.float64)))) ** -1))
        weight = _smooth(match, sigma)
        diff = _smooth((b - wf) * match[..., None], sigma)
        corr = diff / np.maximum(weight, 1e-3)[..., None]
        # Far from any skin sample the estimate is noise: fade it out there.
        corr *= np.clip(weight / 0.05, 0.0, 1.0)[..., None]
        a = (mask * np.float32(strength))[..., None]
        out = b + a * (wf + corr - b)
        roi[:] = np.clip(out + 0.5, 0, 255).astype(np.uint8)
        return r


def _smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """A wide Gaussian blur, done at a fraction of the size (the result is smooth anyway)."""
    f = max(1, int(sigma / 2.0))
    if f == 1:
        return cv2.GaussianBlur(x, (0, 0), sigma)
    h, w = x.shape[:2]
    small = cv2.resize(x, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA)
    blurred = cv2.GaussianBlur(small, (0, 0), sigma / f)
    return np.asarray(cv2.resize(blurred, (w, h), interpolation=cv2.INTER_LINEAR))
