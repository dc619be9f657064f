"""Paints the inside of an opened mouth: dark cavity, upper teeth under the lip, a hint of tongue."""

from __future__ import annotations

import cv2
import numpy as np

CAVITY = np.array([38, 14, 16], np.float32)
TONGUE = np.array([120, 52, 55], np.float32)
UPPER_TEETH = np.array([240, 228, 210], np.float32)
LOWER_TEETH = np.array([150, 138, 124], np.float32)


def _curve(points: np.ndarray, xs: np.ndarray) -> np.ndarray:
    order = np.argsort(points[:, 0])
    return np.interp(xs, points[order, 0], points[order, 1])


def paint_mouth_interior(
    image: np.ndarray,
    upper: np.ndarray,
    lower: np.ndarray,
    rest_upper: np.ndarray,
    face_height: float,
) -> None:
    """Fill the opening between the inner lips of `image` in place.

    `upper`/`lower`: inner-lip contours corner to corner (K, 2) in `image` pixels, sharing their
    end points; `rest_upper`: the upper contour in the rest pose (where the upper teeth hang from).
    """
    gap = lower[:, 1] - upper[:, 1]
    if float(gap.max()) < 0.6:
        return
    poly = np.concatenate([upper, lower[::-1]])
    x0, y0 = np.floor(poly.min(0)).astype(int) - 2
    x1, y1 = np.ceil(poly.max(0)).astype(int) + 3
    h, w = image.shape[:2]
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    local = np.round((poly - [x0, y0]) * 8).astype(np.int32)
    cv2.fillPoly(mask, [local], (255,), lineType=cv2.LINE_AA, shift=3)
    alpha = mask.astype(np.float32)[..., None] / 255.0

    xs = np.arange(x0, x1, dtype=np.float32) + 0.5
    ys = np.arange(y0, y1, dtype=np.float32)[:, None] + 0.5
    y_up = _curve(upper, xs)[None, :]
    y_lo = _curve(lower, xs)[None, :]
    left, right = float(upper[:, 0].min()), float(upper[:, 0].max())
    across = np.clip(np.abs((xs - (left + right) / 2) / max((right - left) / 2, 1.0)), 0, 1)[None, :]

    depth = np.clip((ys - y_up) / np.maximum(y_lo - y_up, 1.0), 0, 1)
    colour = CAVITY * (1.0 - 0.35 * np.sin(np.pi * depth))[..., None]
    # Tongue: low in a wide-open mouth, towards the middle.
    tongue = np.clip((depth - 0.62) / 0.3, 0, 1) * np.clip(1.0 - across * 1.3, 0, 1)
    tongue *= np.clip((y_lo - y_up - 0.05 * face_height) / (0.05 * face_height), 0, 1)
    colour = colour + (TONGUE - CAVITY) * tongue[..., None] * 0.8

    # Upper teeth hang from the skull: from the (moving) upper lip down to a fixed edge. They
    # fade into shadow towards the corners; faint gaps between teeth narrow with the arch.
    edge = _curve(rest_upper, xs)[None, :] + 0.027 * face_height * (1.0 - 0.5 * across**2)
    teeth_up = np.clip(edge - ys, 0, 1.5) / 1.5 * (ys >= y_up)
    teeth_up = teeth_up * np.clip(1.0 - (across / 0.9) ** 4, 0, 1)
    signed = np.clip((xs - (left + right) / 2) / max((right - left) / 2, 1.0), -1, 1)[None, :]
    phase = np.arcsin(signed) / (np.pi / 2) * 4.0
    gaps = 1.0 - 0.16 * np.cos(np.pi * phase) ** 20
    shade = (1.0 - 0.55 * across**1.5) * (0.82 + 0.18 * np.clip((ys - y_up) / (0.012 * face_height), 0, 1)) * gaps
    colour = colour * (1 - teeth_up[..., None]) + (UPPER_TEETH * shade[..., None]) * teeth_up[..., None]
    # Lower teeth ride on the jaw, mostly hidden by the lower lip.
    lower_len = 0.016 * face_height * np.clip((y_lo - y_up) / (0.06 * face_height) - 0.4, 0, 1)
    teeth_lo = np.clip(ys - (y_lo - lower_len), 0, 1.0) * (lower_len > 0.5) * np.clip(1.0 - (across / 0.75) ** 2, 0, 1)
    colour = (
        colour * (1 - teeth_lo[..., None]) + (LOWER_TEETH * (1.0 - 0.8 * across**1.6)[..., None]) * teeth_lo[..., None]
    )

    roi = image[y0:y1, x0:x1].astype(np.float32)
    image[y0:y1, x0:x1] = np.clip(roi * (1 - alpha) + colour * alpha, 0, 255).astype(np.uint8)
