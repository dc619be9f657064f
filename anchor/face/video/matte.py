"""Cleaner person mattes for a recording: a clean background plate, a difference matte at the
edge, and the background's colour taken back out of the edge pixels.

The selfie-segmentation mask is coarse (a 256x256 model) and reaches a few pixels into the
background, so a presenter cut out by it wears a rim of the old backdrop's colour. A camera
that does not move sees the same background behind the person all through the clip: its
mean over sampled frames (where the segmentation says "not person") is a clean plate. At
the mask's uncertain edge a pixel that looks like the plate is background; and the colour
of an edge pixel that is part person, part background, I = a F + (1 - a) B, gives back the
person's own colour F once a and B are known, so the new backdrop shows no rim.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

BAND_PX = 0.012  # of the frame's long side: how far around the mask edge the matte is refined
NEAR, FAR = 14.0, 42.0  # RGB distance from the plate: background below NEAR, person above FAR


@dataclass(frozen=True)
class Plate:
    """The recording's background where it was seen (`known`), RGB float32."""

    rgb: np.ndarray
    known: np.ndarray  # bool (h, w)

    @classmethod
    def of(cls, frames: list[np.ndarray], masks: list[np.ndarray]) -> Plate:
        """Mean of each pixel over the frames where the mask says background (mask < 10%)."""
        total = np.zeros(frames[0].shape, np.float32)
        count = np.zeros(frames[0].shape[:2], np.float32)
        for rgb, m in zip(frames, masks, strict=True):
            away = (m < 26).astype(np.float32)
            total += rgb.astype(np.float32) * away[..., None]
            count += away
        seen = count >= max(2.0, len(frames) / 5)
        rgb = np.clip(total / np.maximum(count, 1.0)[..., None] + 0.5, 0, 255).astype(np.uint8)
        if not seen.any():
            return cls(rgb.astype(np.float32), seen)
        # Right next to the person the background is never seen clear (the mask's margin):
        # carry the plate in from around it, for the few pixels of the edge band.
        filled = cv2.inpaint(rgb, (~seen).astype(np.uint8), 3, cv2.INPAINT_TELEA)
        return cls(filled.astype(np.float32), np.ones_like(seen))


def refine(rgb: np.ndarray, mask: np.ndarray, plate: Plate) -> tuple[np.ndarray, np.ndarray]:
    """(RGB with the background's colour removed at the edge, refined mask) for one frame."""
    h, w = mask.shape
    r = max(1, int(round(BAND_PX * max(h, w))))
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    solid = mask > 127
    band = (cv2.dilate(solid.astype(np.uint8), k) > 0) & ~(cv2.erode(solid.astype(np.uint8), k) > 0)
    band &= plate.known
    if not band.any():
        return rgb, mask
    ys, xs = np.nonzero(band)
    pix = rgb[ys, xs].astype(np.float32)
    bg = plate.rgb[ys, xs]
    # The person's own colour near each edge pixel: the nearest pixel well inside the mask.
    from scipy.ndimage import distance_transform_edt

    inside = cv2.erode(solid.astype(np.uint8), k) > 0
    if not inside.any():
        return rgb, mask
    _, (iy, ix) = distance_transform_edt(~inside, return_indices=True)
    fg = cv2.blur(rgb, (3, 3))[iy[ys, xs], ix[ys, xs]].astype(np.float32)
    # Alpha: how far the pixel sits from the background colour towards the person's colour
    # (a projection onto the line B -> F), where the two colours differ enough to tell.
    d = fg - bg
    dd = (d * d).sum(axis=1)
    a_line = np.clip(((pix - bg) * d).sum(axis=1) / np.maximum(dd, 1.0), 0.0, 1.0)
    dist = np.linalg.norm(pix - bg, axis=1)
    a_diff = np.clip((dist - NEAR) / (FAR - NEAR), 0.0, 1.0)
    a_seg = mask[ys, xs].astype(np.float32) / 255.0
    a = np.where(np.sqrt(dd) > 2 * FAR, a_line, np.minimum(a_seg, a_diff))
    # Never more person than the segmentation's (dilated) reach allows.
    a = np.minimum(a, np.clip(a_seg * 2.0, 0.0, 1.0))
    out_mask = mask.copy()
    out_mask[ys, xs] = np.clip(a * 255.0 + 0.5, 0, 255).astype(np.uint8)
    out = rgb.copy()
    a_col = np.maximum(a, 0.35)[:, None]
    unmixed = (pix - (1.0 - a_col) * bg) / a_col
    # Faint pixels: unmixing would amplify noise; the person's nearby colour is the better guess.
    colour = np.where((a < 0.35)[:, None], fg, unmixed)
    out[ys, xs] = np.clip(colour + 0.5, 0, 255).astype(np.uint8)
    return out, out_mask
