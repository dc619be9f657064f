"""Head alignment and the person's mouth parameters, measured from face-mesh landmarks.

Alignment: a similarity transform (scale, rotation, shift) per frame that maps the frame's
stable landmarks (eye corners, nose, temples: points an expression hardly moves) onto a
reference shape, the median aligned face of the clip. "Canonical" coordinates are the
reference's, which sit where the face typically is in the source frame.

Mouth parameters are in MouthTrack's space (jaw, width, round, close; anchor/lipsync/track.py),
calibrated to the person from their own range: 1.0 jaw is their widest usual opening, 0 width
their relaxed closed mouth, close measures how much thinner the lips are than when relaxed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from anchor.face import landmarks as L

STABLE = (33, 133, 362, 263, 168, 6, 197, 195, 5, 4, 1, 2, 98, 327, 127, 356)
"""Landmarks used for alignment: eye corners, nose bridge, tip and base, temples."""

JAW_AT_OPEN = 0.8
"""MouthTrack jaw given to the person's widest usual opening: text-driven tracks reach ~0.75 at
their 97th percentile, so a typical track spans the person's own range without clipping."""

GAP_PAIRS = ((13, 14), (82, 87), (312, 317), (81, 178), (311, 402), (80, 88), (310, 318))
"""(upper, lower) inner-lip pairs averaged for the opening (more than detect.py's three: steadier)."""


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2x3 least-squares similarity transform taking points `src` (n, 2) onto `dst` (n, 2) (Umeyama)."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    ms, md = src.mean(0), dst.mean(0)
    s, d = src - ms, dst - md
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1
    rot = u @ sign @ vt
    var = (s**2).sum() / len(src)
    scale = float(np.trace(np.diag(sig) @ sign) / var) if var > 0 else 1.0
    m = np.empty((2, 3), np.float64)
    m[:, :2] = scale * rot
    m[:, 2] = md - m[:, :2] @ ms
    return m


def apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Points (..., 2) through the 2x3 affine `m`."""
    pts = np.asarray(pts, np.float64)
    return pts @ m[:, :2].T + m[:, 2]


def invert(m: np.ndarray) -> np.ndarray:
    """The inverse of a 2x3 affine transform."""
    m = np.asarray(m, np.float64)
    (a, b, c), (d, e, f) = m
    det = a * e - b * d
    ia, ib, id_, ie = e / det, -b / det, -d / det, a / det  # 2x2 inverse in closed form (no LAPACK call)
    return np.array([[ia, ib, -(ia * c + ib * f)], [id_, ie, -(id_ * c + ie * f)]])


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """outer ∘ inner as a 2x3 affine (apply `inner` first)."""
    a = outer[:, :2] @ inner[:, :2]
    return np.concatenate([a, (outer[:, :2] @ inner[:, 2] + outer[:, 2])[:, None]], axis=1)


def align(landmarks: np.ndarray, valid: np.ndarray, iterations: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(reference (478, 2), transforms (N, 2, 3) image -> canonical) for landmarks (N, 478, >=2).

    Frames not `valid` get the identity transform. The reference starts as the first valid
    frame and becomes the median of the aligned shapes (a few Procrustes rounds).
    """
    lm = np.asarray(landmarks, np.float64)[:, :, :2]
    idx = np.flatnonzero(valid)
    if not len(idx):
        raise ValueError("no valid frame to align")
    stable = list(STABLE)
    ref = lm[idx[0]].copy()
    mats = np.tile(np.array([[1.0, 0, 0], [0, 1.0, 0]]), (len(lm), 1, 1))
    for _ in range(iterations):
        for i in idx:
            mats[i] = similarity(lm[i, stable], ref[stable])
        aligned = np.einsum("nij,nkj->nki", mats[idx, :, :2], lm[idx]) + mats[idx, None, :, 2]
        new_ref = np.median(aligned, axis=0)
        # Keep the reference where the first frame is (no drift of the canonical frame).
        new_ref = apply(similarity(new_ref[stable], lm[idx[0], stable]), new_ref)
        ref = new_ref
    for i in idx:
        mats[i] = similarity(lm[i, stable], ref[stable])
    return ref.astype(np.float32), mats.astype(np.float32)


def to_canonical(landmarks: np.ndarray, transforms: np.ndarray) -> np.ndarray:
    """Landmarks (N, 478, >=2) mapped by their frames' transforms (N, 2, 3) -> (N, 478, 2)."""
    lm = np.asarray(landmarks, np.float32)[:, :, :2]
    return np.einsum("nij,nkj->nki", transforms[:, :, :2], lm) + transforms[:, None, :, 2]


def face_height(ref: np.ndarray) -> float:
    """Forehead-to-chin length of a shape (478, 2)."""
    return float(np.linalg.norm(ref[L.CHIN_BOTTOM] - ref[L.FOREHEAD_TOP]))


@dataclass(frozen=True)
class MouthFeatures:
    """Raw mouth measurements per frame in face heights (canonical frame, so pose-free)."""

    gap: np.ndarray  # inner-lip opening
    width: np.ndarray  # outer corner to corner
    lips: np.ndarray  # red-lip thickness, upper + lower (thinner when pressed)
    chin: np.ndarray  # nose base to chin (grows as the jaw drops)

    @classmethod
    def of(cls, canon: np.ndarray, height: float) -> MouthFeatures:
        c = np.asarray(canon, np.float64)
        gap = np.mean([np.maximum(c[:, lo, 1] - c[:, up, 1], 0.0) for up, lo in GAP_PAIRS], axis=0)
        width = np.linalg.norm(c[:, L.MOUTH_CORNER_L] - c[:, L.MOUTH_CORNER_R], axis=1)
        lips = (c[:, 13, 1] - c[:, 0, 1]) + (c[:, 17, 1] - c[:, 14, 1])
        chin = c[:, L.CHIN_BOTTOM, 1] - c[:, 2, 1]
        return cls(gap / height, width / height, lips / height, chin / height)


@dataclass(frozen=True)
class MouthCalibration:
    """The person's own mouth range, fitted on their recording; maps MouthFeatures to MouthTrack params."""

    gap_open: float  # their widest usual opening (97th percentile) -> jaw JAW_AT_OPEN
    gap_closed: float  # below this the lips count as closed
    width_rest: float  # relaxed closed mouth
    width_narrow: float  # 1st percentile -> width -1
    width_wide: float  # 99th percentile -> width +1
    lips_rest: float  # lip thickness when relaxed and closed
    lips_pressed: float  # 2nd percentile of closed frames -> close 1

    @classmethod
    def fit(cls, f: MouthFeatures, valid: np.ndarray) -> MouthCalibration:
        v = np.asarray(valid, bool)
        gap_open = max(float(np.percentile(f.gap[v], 97)), 0.02)
        gap_closed = max(0.006, 0.1 * gap_open)
        closed = v & (f.gap < gap_closed)
        if not closed.any():
            closed = v
        w_rest = float(np.median(f.width[closed]))
        lips_rest = float(np.median(f.lips[closed]))
        return cls(
            gap_open=gap_open,
            gap_closed=gap_closed,
            width_rest=w_rest,
            width_narrow=min(float(np.percentile(f.width[v], 1)), w_rest - 1e-3),
            width_wide=max(float(np.percentile(f.width[v], 99)), w_rest + 1e-3),
            lips_rest=lips_rest,
            lips_pressed=min(float(np.percentile(f.lips[closed], 2)), lips_rest - 1e-3),
        )

    def closed(self, f: MouthFeatures) -> np.ndarray:
        """Frames whose lips are closed."""
        return np.asarray(f.gap < self.gap_closed)

    def params(self, f: MouthFeatures) -> np.ndarray:
        """(N, 4) float32 jaw, width, round, close in MouthTrack's ranges."""
        opening = np.clip(JAW_AT_OPEN * f.gap / self.gap_open, 0.0, 1.0)
        dw = f.width - self.width_rest
        width = np.where(dw >= 0, dw / (self.width_wide - self.width_rest), dw / (self.width_rest - self.width_narrow))
        width = np.clip(width, -1.0, 1.0)
        rnd = np.clip(-1.3 * width, 0.0, 1.0)
        press = np.clip((self.lips_rest - f.lips) / (self.lips_rest - self.lips_pressed), 0.0, 1.0)
        # Closure only means something when the lips touch; fade it out over the first bit of opening.
        touch = np.clip(1.0 - f.gap / (2 * self.gap_closed), 0.0, 1.0)
        close = press * touch
        return np.stack([opening, width, rnd, close], axis=1).astype(np.float32)

    def gap_of(self, opening: float | np.ndarray) -> float | np.ndarray:
        """The inner-lip gap (face heights) that a MouthTrack opening stands for."""
        return opening * self.gap_open / JAW_AT_OPEN

    def to_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, float]) -> MouthCalibration:
        return cls(**{k: float(d[k]) for k in cls.__dataclass_fields__})
