"""Where the face's vertices go for a given mouth shape or eyelid closure.

Geometry is expressed in a face frame: u runs from the right mouth corner to the left one,
v runs down from forehead to chin; distances are in units of the face height H (mediapipe
landmark 10 to 152) or the half mouth width. The rest pose is the photo (mouth closed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from anchor.face import landmarks as L
from anchor.lipsync.track import CLOSE, JAW, ROUND, WIDTH

JAW_DROP = 0.105  # lower-lip travel at jaw=1, in face heights
UPPER_LIP_RAISE = 0.14  # upper inner lip rises by this share of the jaw drop (shows teeth)
SPREAD = 0.13  # corner travel at width=1, in half mouth widths
ROUNDING = 0.24  # corner pull-in at round=1, in half mouth widths
PUCKER = 0.018  # lip thickening at round=1, in face heights
PRESS = 0.010  # lip thinning at close=1, in face heights


def _smoothstep(x: np.ndarray, a: float, b: float) -> np.ndarray:
    t = np.clip((x - a) / (b - a), 0.0, 1.0)
    return t * t * (3 - 2 * t)


@dataclass(frozen=True)
class FaceFrame:
    """The face's own axes in the image."""

    center: np.ndarray  # mouth centre
    u: np.ndarray  # unit vector, right corner -> left corner
    v: np.ndarray  # unit vector, down the face
    height: float  # forehead-to-chin distance (pixels)
    half_mouth: float  # half the mouth width (pixels)

    @classmethod
    def of(cls, lm: np.ndarray) -> FaceFrame:
        c = (lm[13, :2] + lm[14, :2]) / 2
        across = lm[L.MOUTH_CORNER_L, :2] - lm[L.MOUTH_CORNER_R, :2]
        u = across / np.linalg.norm(across)
        down = lm[L.CHIN_BOTTOM, :2] - lm[L.FOREHEAD_TOP, :2]
        v = down - u * float(down @ u)
        v = v / np.linalg.norm(v)
        return cls(c, u, v, float(np.linalg.norm(down)), float(np.linalg.norm(across)) / 2)

    def local(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(a, b): across in half mouth widths, down in face heights, from the mouth centre."""
        d = pts - self.center
        return d @ self.u / self.half_mouth, d @ self.v / self.height


class MouthDeformer:
    """Moves lip, jaw and chin vertices for mouth parameters (jaw, width, round, close)."""

    def __init__(self, rest: np.ndarray, vertex_ids: np.ndarray, frame: FaceFrame) -> None:
        """`rest`: (V, 2) vertex positions; `vertex_ids`: their landmark index or -1 (fixed points)."""
        self.rest = np.asarray(rest, np.float32)
        self.frame = frame
        a, b = frame.local(self.rest)
        ids = np.asarray(vertex_ids)
        landmark = ids >= 0
        pos = {int(i): k for k, i in enumerate(ids) if i >= 0}

        def sel(names: tuple[int, ...]) -> np.ndarray:
            return np.array([pos[i] for i in names if i in pos], np.int64)

        self.upper_inner = sel(L.UPPER_INNER)
        self.lower_inner = sel(L.LOWER_INNER)
        self.upper_outer = sel(L.UPPER_OUTER)
        self.lower_outer = sel(L.LOWER_OUTER)
        corners = sel((L.MOUTH_CORNER_R, L.MOUTH_CORNER_L, L.INNER_CORNER_R, L.INNER_CORNER_L))

        # Jaw: everything below the mouth line moves with the jaw, less towards the ears.
        side = np.clip(1.0 - (np.abs(a) - 1.2) / 2.2, 0.0, 1.0)
        jaw_w = _smoothstep(b, -0.005, 0.11) * side
        jaw_w[self.lower_inner] = 1.0
        jaw_w[self.lower_outer] = 1.0
        lips = np.concatenate([self.lower_inner, self.lower_outer])
        taper = 0.35 + 0.65 * np.clip(1 - a[lips] ** 2, 0, 1)  # the opening is lens-shaped
        jaw_w[lips] = taper
        jaw_w[corners] = 0.3
        self.jaw_w = np.where(landmark, jaw_w, 0.0).astype(np.float32)

        # Upper lip rise (only the lip, strongest in the middle).
        up_w = np.zeros(len(ids), np.float32)
        up_w[self.upper_inner] = np.clip(1 - a[self.upper_inner] ** 2, 0, 1)
        up_w[self.upper_outer] = 0.5 * np.clip(1 - a[self.upper_outer] ** 2, 0, 1)
        self.up_w = up_w

        # Horizontal: lips stretch with `a`, cheeks follow the corners and fade out.
        near = np.exp(-((b / 0.09) ** 2))
        horiz = np.where(np.abs(a) <= 1.0, a, np.sign(a) * np.clip(1.0 - (np.abs(a) - 1.0) / 1.2, 0, 1))
        self.horiz_w = np.where(landmark, horiz * near, 0.0).astype(np.float32)

        # Pucker/press: outer lips thicken (round) or thin (close), middle strongest.
        thick = np.zeros(len(ids), np.float32)
        thick[self.upper_outer] = -np.clip(1 - a[self.upper_outer] ** 2, 0, 1)
        thick[self.lower_outer] = np.clip(1 - a[self.lower_outer] ** 2, 0, 1)
        self.thick_w = thick

        # Rest gap between paired inner lips (0 for a closed-mouth photo); closure removes it.
        n = min(len(self.upper_inner), len(self.lower_inner))
        gap = (self.rest[self.lower_inner[:n]] - self.rest[self.upper_inner[:n]]) @ frame.v
        self.rest_gap = np.maximum(gap, 0.0).astype(np.float32)
        self._n_pairs = n

    def deform(self, params: np.ndarray) -> np.ndarray:
        """Vertex positions (V, 2) for one frame's mouth parameters."""
        f = self.frame
        jaw, width, rnd, close = (float(params[i]) for i in (JAW, WIDTH, ROUND, CLOSE))
        drop = JAW_DROP * f.height * jaw
        dv = self.jaw_w * drop - self.up_w * UPPER_LIP_RAISE * drop
        dv = dv + self.thick_w * f.height * (PUCKER * rnd - PRESS * close)
        du = self.horiz_w * f.half_mouth * (SPREAD * width - ROUNDING * rnd)
        if close > 0:
            # Bring the lower inner lip up to the upper one: the lips meet whatever the jaw does.
            n = self._n_pairs
            up, lo = self.upper_inner[:n], self.lower_inner[:n]
            gap = self.rest_gap + dv[lo] - dv[up]
            lift = close * np.maximum(gap, 0.0)
            dv[lo] -= lift
            dv[self.lower_outer] -= close * float(np.mean(np.maximum(gap, 0.0)))
        return self.rest + np.outer(du, f.u) + np.outer(dv, f.v)


class EyelidDeformer:
    """Lowers the upper eyelids onto the lower ones for a blink (0 = open, 1 = shut)."""

    def __init__(self, rest: np.ndarray, vertex_ids: np.ndarray, frame: FaceFrame) -> None:
        self.rest = np.asarray(rest, np.float32)
        self.frame = frame
        pos = {int(i): k for k, i in enumerate(vertex_ids) if i >= 0}
        dv = np.zeros(len(self.rest), np.float32)
        self._move = np.zeros(len(self.rest), np.float32)
        for upper, lower in ((L.RIGHT_EYE_UPPER, L.RIGHT_EYE_LOWER), (L.LEFT_EYE_UPPER, L.LEFT_EYE_LOWER)):
            for iu, il in zip(upper, lower):
                if iu in pos and il in pos:
                    gap = float((self.rest[pos[il]] - self.rest[pos[iu]]) @ frame.v)
                    dv[pos[iu]] = 0.9 * max(gap, 0.0)
                    dv[pos[il]] = -0.1 * max(gap, 0.0)
        # Skin between lid and brow stretches a little with the lid.
        moving = np.flatnonzero(dv > 0)
        for k, i in enumerate(vertex_ids):
            if i < 0 or dv[k] != 0 or not len(moving):
                continue
            d = np.linalg.norm(self.rest[moving] - self.rest[k], axis=1)
            j = int(np.argmin(d))
            above = float((self.rest[moving[j]] - self.rest[k]) @ frame.v) > 0
            if above and d[j] < 0.06 * frame.height:
                dv[k] = dv[moving[j]] * 0.35 * (1 - d[j] / (0.06 * frame.height))
        self._dv = dv

    def deform(self, closure: float) -> np.ndarray:
        return self.rest + np.outer(self._dv * float(closure), self.frame.v)
