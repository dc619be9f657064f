"""The base track at render time: the walk's frame n as a picture, a person mask and its head alignment.

Plain walk frames come straight from the base footage. Cross-fade frames at a loop point are
made from the two pieces' frames, each first moved onto a head position interpolated between
theirs (so the head glides instead of ghosting), then mixed; their alignment is the
interpolated one.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from anchor.face.video.footage import FootageReader
from anchor.face.video.measure import compose, invert
from anchor.face.video.pack import VideoPack, mask_size
from anchor.face.video.walk import BaseWalk, WalkFrame


@dataclass(frozen=True)
class BaseFrame:
    """One base frame: RGB, person mask (uint8, at the pack's mask size) and transform image -> canonical.

    The arrays may be shared with the readers' caches: do not modify them.
    """

    image: np.ndarray
    mask: np.ndarray
    to_canonical: np.ndarray
    key: tuple[int, int, float]  # identifies the picture (same key, same pixels)


def similarity_params(m: np.ndarray) -> np.ndarray:
    """(log scale, angle, tx, ty) of a 2x3 similarity."""
    a, b = float(m[0, 0]), float(m[1, 0])
    return np.array([np.log(np.hypot(a, b)), np.arctan2(b, a), float(m[0, 2]), float(m[1, 2])])


def similarity_from(p: np.ndarray) -> np.ndarray:
    s = np.exp(p[0])
    c, si = s * np.cos(p[1]), s * np.sin(p[1])
    return np.array([[c, -si, p[2]], [si, c, p[3]]])


def interpolate(m_a: np.ndarray, m_b: np.ndarray, lam: float) -> np.ndarray:
    """A similarity between m_a (lam 0) and m_b (lam 1), interpolated in scale, angle and shift."""
    pa, pb = similarity_params(m_a), similarity_params(m_b)
    d = pb - pa
    d[1] = (d[1] + np.pi) % (2 * np.pi) - np.pi
    return similarity_from(pa + lam * d)


class BaseTrack:
    """Serves walk frames of a pack's base footage."""

    def __init__(self, pack: VideoPack, seed: int = 7) -> None:
        self.pack = pack
        self.walk = BaseWalk(pack.graph, seed)
        self.frames = FootageReader(pack.base_path)
        self.masks = FootageReader(pack.base_mask_path, grey=True)
        self.keep_background = pack.info.background == "keep"
        w, h = pack.info.frame_size
        self.size = (w, h)
        self.mask_size = mask_size(w, h)
        self._full = np.full((self.mask_size[1], self.mask_size[0]), 255, np.uint8)
        sx, sy = self.mask_size[0] / w, self.mask_size[1] / h
        self._to_mask = np.array([[sx, 0, 0], [0, sy, 0]], np.float64)
        self._from_mask = invert(self._to_mask)

    def close(self) -> None:
        self.frames.close()
        self.masks.close()

    def _mask(self, i: int) -> np.ndarray:
        return self._full if self.keep_background else self.masks.get(i)

    def at(self, n: int) -> BaseFrame:
        """The base picture for walk frame n."""
        wf = self.walk.at(n)
        return self.frame(wf)

    def frame(self, wf: WalkFrame) -> BaseFrame:
        t = self.pack.base_transforms
        if wf.previous < 0:
            return BaseFrame(
                self.frames.get(wf.frame), self._mask(wf.frame), t[wf.frame].astype(np.float64), (wf.frame, -1, 1.0)
            )
        # The outgoing piece's remaining frames follow the decoder's position: read them all
        # now (they stay cached), before the decoder seeks to the incoming piece.
        for j in range(wf.previous, wf.previous_stop):
            self.frames.get(j)
            self._mask(j)
        a_img, a_mask = self.frames.get(wf.previous), self._mask(wf.previous)
        b_img, b_mask = self.frames.get(wf.frame), self._mask(wf.frame)
        ta, tb = t[wf.previous].astype(np.float64), t[wf.frame].astype(np.float64)
        # Both frames move onto the interpolated head position (canonical <- output image = m).
        m = interpolate(invert(ta), invert(tb), wf.lam)  # canonical -> output image
        to_canonical = invert(m)
        w, h = self.size
        warp_a = compose(m, ta)  # frame a pixels -> output
        warp_b = compose(m, tb)
        flags = cv2.INTER_LINEAR
        wa = cv2.warpAffine(a_img, warp_a, (w, h), flags=flags, borderMode=cv2.BORDER_REPLICATE)
        wb = cv2.warpAffine(b_img, warp_b, (w, h), flags=flags, borderMode=cv2.BORDER_REPLICATE)
        lam = float(wf.lam)
        image = cv2.addWeighted(wa, 1.0 - lam, wb, lam, 0.0)
        if self.keep_background:
            mask = self._full
        else:
            ms = self.mask_size
            half_a = compose(self._to_mask, compose(warp_a, self._from_mask))
            half_b = compose(self._to_mask, compose(warp_b, self._from_mask))
            ma = cv2.warpAffine(a_mask, half_a, ms, flags=flags, borderMode=cv2.BORDER_REPLICATE)
            mb = cv2.warpAffine(b_mask, half_b, ms, flags=flags, borderMode=cv2.BORDER_REPLICATE)
            mask = cv2.addWeighted(ma, 1.0 - lam, mb, lam, 0.0)
        return BaseFrame(image, mask, to_canonical, (wf.frame, wf.previous, lam))
