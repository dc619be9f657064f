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


def interpolate(m_a: np.ndarray, m_b: np.ndarray, lam: float, anchor: np.ndarray) -> np.ndarray:
    """A similarity between m_a (lam 0) and m_b (lam 1): scale, roll and the position of `anchor`
    (a point of the face) interpolated, so the face glides straight from one place to the other."""

    def parts(m: np.ndarray) -> tuple[float, float, np.ndarray]:
        return (
            float(np.log(np.hypot(m[0, 0], m[1, 0]))),
            float(np.arctan2(m[1, 0], m[0, 0])),
            m[:, :2] @ anchor + m[:, 2],
        )

    la, ta, pa = parts(m_a)
    lb, tb, pb = parts(m_b)
    d = (tb - ta + np.pi) % (2 * np.pi) - np.pi
    s, t = np.exp(la + lam * (lb - la)), ta + lam * d
    rot = s * np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    pos = pa + lam * (pb - pa)
    return np.concatenate([rot, (pos - rot @ anchor)[:, None]], axis=1)


class BaseTrack:
    """Serves walk frames of a pack's base footage."""

    def __init__(self, pack: VideoPack, seed: int = 7) -> None:
        self.pack = pack
        self.walk = BaseWalk(pack.graph, seed)
        self.frames = FootageReader(pack.base_path)
        self.masks = FootageReader(pack.base_mask_path, grey=True)
        self.keep_background = pack.info.background == "keep"
        self._anchor = pack.reference.astype(np.float64).mean(axis=0)  # the face's centre (canonical)
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
        m = interpolate(invert(ta), invert(tb), wf.lam, self._anchor)  # canonical -> output image
        to_canonical = invert(m)
        w, h = self.size
        warp_a = compose(m, ta)  # frame a pixels -> output
        warp_b = compose(m, tb)
        wa, wb = self._warp(a_img, warp_a, (w, h)), self._warp(b_img, warp_b, (w, h))
        lam = float(wf.lam)
        image = cv2.addWeighted(wa, 1.0 - lam, wb, lam, 0.0)
        if self.keep_background:
            mask = self._full
        else:
            ms = self.mask_size
            ma = self._warp(a_mask, compose(self._to_mask, compose(warp_a, self._from_mask)), ms)
            mb = self._warp(b_mask, compose(self._to_mask, compose(warp_b, self._from_mask)), ms)
            mask = np.asarray(cv2.addWeighted(ma, 1.0 - lam, mb, lam, 0.0))
        return BaseFrame(image, mask, to_canonical, (wf.frame, wf.previous, lam))

    def _warp(self, img: np.ndarray, m: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """`img` moved by the 2x3 `m`, unless no pixel of the frame would move by a quarter pixel."""
        w, h = size
        corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64)
        moved = corners @ m.T - corners[:, :2]
        if np.abs(moved).max() < 0.25:
            return img
        return np.asarray(cv2.warpAffine(img, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))
