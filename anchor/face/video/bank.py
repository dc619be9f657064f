"""The mouth bank: the recording's own lower-face crops, indexed by their mouth parameters.

Each crop is the raw source pixels of a fixed-size box around the lower face (no resampling
at ingest, so nothing is softened before the single warp at render time), with the transform
that takes crop pixels to canonical coordinates, the crop's mouth parameters, its lip
landmarks (canonical) and a small appearance vector (the canonical mouth area, grey,
projected on its principal components) for the continuity cost. `step` is the recording's
own largest usual frame-to-frame mouth change (99th percentile of consecutive frames), the
bound selection keeps every jump under.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from anchor.face import landmarks as L
from anchor.face.video.geometry import OUTER_LIPS, CropBox, LowerFace
from anchor.face.video.measure import compose

MAX_BANK_BYTES = 96 * 2**20  # crops kept in memory by a renderer
FEATURE_DIMS = 16
FEATURE_SIZE = (24, 16)  # grey mouth area used for appearance (w, h)
LIP_POINTS = (*OUTER_LIPS, L.INNER_CORNER_R, *L.UPPER_INNER, L.INNER_CORNER_L, *L.LOWER_INNER, L.CHIN_BOTTOM)
"""Landmarks stored per crop: outer and inner lips and the chin (canonical)."""


@dataclass(frozen=True)
class MouthBank:
    """K crops with what selection and fitting need."""

    crops: np.ndarray  # (K, 3, bh, bw) uint8 Y, U, V planes as stored (limited range BT.601); see rgb()
    transforms: np.ndarray  # (K, 2, 3) float32: crop pixels -> canonical
    params: np.ndarray  # (K, 4) float32 jaw, width, round, close
    features: np.ndarray  # (K, D) float32 appearance
    lips: np.ndarray  # (K, len(LIP_POINTS), 2) float32 canonical
    source: np.ndarray  # (K,) int32 source frame index (consecutive crops play naturally)
    step: float  # appearance distance of the recording's own 99th-percentile frame step

    def __len__(self) -> int:
        return len(self.params)

    def rgb(self, k: int) -> np.ndarray:
        """Crop k as RGB (bh, bw, 3) uint8. Kept as YUV planes: a pack loads in a fraction of the time."""
        from anchor.face.video.footage import yuv444_to_rgb

        return yuv444_to_rgb(self.crops[k : k + 1])[0]

    def distance(self, a: int | np.ndarray, b: int | np.ndarray) -> np.ndarray:
        """Appearance distance between crops a and b (broadcasting)."""
        return np.linalg.norm(self.features[a] - self.features[b], axis=-1)


def choose_frames(tracked: np.ndarray, params: np.ndarray, broken: np.ndarray, box: CropBox) -> np.ndarray:
    """Source frames that go into the bank: every tracked frame with the mouth moving, every 3rd
    still one (they are alike), thinned evenly if the bank would exceed MAX_BANK_BYTES."""
    n = len(tracked)
    still = np.abs(params).max(axis=1) < 0.08
    keep = tracked & (~still | (np.arange(n) % 3 == 0))
    idx = np.flatnonzero(keep)
    cap = max(64, MAX_BANK_BYTES // (box.width * box.height * 3))
    if len(idx) > cap:
        idx = idx[np.linspace(0, len(idx) - 1, cap).round().astype(int)]
    return idx.astype(np.int32)


def mouth_patch(crop: np.ndarray, to_canonical: np.ndarray, lower: LowerFace) -> np.ndarray:
    """The canonical mouth area of a crop, grey, FEATURE_SIZE, float32 (for appearance vectors)."""
    x0, y0, x1, y1 = lower.roi
    w, h = x1 - x0, y1 - y0
    # Mouth area: the middle of the ROI (lips and their surroundings).
    mx0, mx1 = x0 + 0.22 * w, x1 - 0.22 * w
    my0, my1 = y0 + 0.18 * h, y0 + 0.78 * h
    fw, fh = FEATURE_SIZE
    scale = np.array([[(mx1 - mx0) / fw, 0, mx0], [0, (my1 - my0) / fh, my0]])  # patch px -> canonical
    m = compose(np.linalg.inv(np.vstack([to_canonical, [0, 0, 1]]))[:2], scale)  # patch px -> crop px
    grey = cv2.GaussianBlur(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY), (0, 0), 1.0)  # no aliasing when shrinking
    return cv2.warpAffine(
        grey, m, (fw, fh), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE
    ).astype(np.float32)


def appearance(patches: np.ndarray, dims: int = FEATURE_DIMS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features (K, dims), mean, basis) by PCA of the patches, each normalised for brightness."""
    x = patches.reshape(len(patches), -1).astype(np.float64)
    x = (x - x.mean(axis=1, keepdims=True)) / 255.0
    mean = x.mean(axis=0)
    u, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    basis = vt[:dims]
    return ((x - mean) @ basis.T).astype(np.float32), mean.astype(np.float32), basis.astype(np.float32)


def natural_step(features: np.ndarray, source: np.ndarray) -> float:
    """99th percentile of the appearance change between crops of consecutive source frames."""
    consecutive = np.flatnonzero(np.diff(source) == 1)
    if not len(consecutive):
        return float(np.percentile(np.linalg.norm(np.diff(features, axis=0), axis=1), 50))
    d = np.linalg.norm(features[consecutive + 1] - features[consecutive], axis=1)
    return float(np.percentile(d, 99))


def crop_transform(frame_to_canonical: np.ndarray, origin: tuple[int, int]) -> np.ndarray:
    """crop pixels -> canonical for a crop cut at `origin` from a frame with `frame_to_canonical`."""
    shift = np.array([[1.0, 0, origin[0]], [0, 1.0, origin[1]]])
    return compose(np.asarray(frame_to_canonical, np.float64), shift).astype(np.float32)
