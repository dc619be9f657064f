"""The video-avatar renderer: the person's own idle footage, their own mouths where they speak.

Per program frame: the base track's frame for t (an endless walk over the idle pieces, at
the recording's frame rate), then, if the target mouth is not at rest, the selected crop
fitted onto it (selection with a continuity cost, alignment, opening warp, colour match,
feathered blend), then the frame scaled to the layer size. A target at rest (all zeros, as
silence arrives) shows the base frame untouched: its mouth is closed by construction. The
head moves in every frame, so the dirty rectangle is everywhere the person is (now or at rest).

Base frames are read one ahead on a worker thread (decoding and the join warps release the GIL),
so the next frame's footage decodes while this one is fitted and composed; the base track is
only ever touched from that thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from anchor.face.avatar import AvatarPack
from anchor.face.base import AnchorFrame
from anchor.face.mesh import Rect
from anchor.face.video.base_track import BaseFrame, BaseTrack
from anchor.face.video.geometry import LowerFace
from anchor.face.video.pack import VideoPack, load_video_pack
from anchor.face.video.paste import MouthFitter
from anchor.face.video.select import MouthSelector, keys

REST_LEVEL = 0.06  # target activity at which the crop is pasted at full strength
MAX_DELTA = 0.35  # opening correction limit, in shares of the person's widest usual gap


def _smoothstep(x: float) -> float:
    x = min(1.0, max(0.0, x))
    return x * x * (3 - 2 * x)


def _edge_ramp(w: int, h: int, fade: int) -> np.ndarray:
    """Alpha fade towards the left, right and top edges, where the recording's frame cuts the person."""
    ramp = np.clip(np.minimum(np.arange(w), np.arange(w)[::-1]) / fade, 0, 1).astype(np.float32)
    vramp = np.clip(np.arange(h) / fade, 0, 1).astype(np.float32)[:, None]
    return ramp[None, :] * vramp


@dataclass(frozen=True)
class _Base:
    """What the reader thread prepares for one output frame."""

    frame: BaseFrame
    alpha: np.ndarray  # the faded person mask at the layer size
    bounds: Sequence[int]  # x, y, w, h of the faded mask (at mask_size)
    mask_size: tuple[int, int]


class VideoRenderer:
    """AnchorRenderer for video packs."""

    def __init__(self, avatar: AvatarPack, scale: float, seed: int = 7, video: VideoPack | None = None) -> None:
        self.avatar = avatar
        self.video = video or load_video_pack(avatar.path)
        v = self.video
        self.fps = float(v.info.fps)
        self.track = BaseTrack(v, seed)
        self.selector = MouthSelector(v.bank)
        ref = v.reference.astype(np.float64)
        self.lower = LowerFace.of(ref)
        self.fitter = MouthFitter(
            self.lower,
            v.bank,
            mouth_y=float((ref[13, 1] + ref[14, 1]) / 2),
            chin_y=float(ref[152, 1]),
            mouth_half_width=float(np.linalg.norm(ref[291] - ref[61]) / 2),
        )
        self.calibration = v.calibration
        self._keys = keys(v.bank.params)
        w0, h0 = v.info.frame_size
        self.scale = float(scale)
        self._size = (max(2, round(w0 * scale)), max(2, round(h0 * scale)))
        self._interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        mw, mh = self.track.mask_size
        # The edge fade, laid out at the stored mask size (cheaper than at the layer size).
        self._ramp = _edge_ramp(mw, mh, fade=max(2, round(self._size[0] / 14 * mw / self._size[0])))
        self._image_key: object = None
        self._mask_key: object = None
        self._image = np.zeros((self._size[1], self._size[0], 3), np.uint8)
        self._alpha = np.zeros((self._size[1], self._size[0]), np.uint8)
        self._plan: tuple[float, float, np.ndarray, np.ndarray] | None = None
        self.last_crop = -1  # crop pasted on the last frame (-1: the base frame untouched)
        self._box = Rect(0, 0, *self._size)
        self._rest_box = Rect(0, 0, 0, 0)
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="video-avatar-base")
        self._ahead: tuple[int, Future[_Base]] | None = None
        self._frame(self._base(0), None, 0.0)
        self._rest_box = self._box

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the anchor layer."""
        return self._size

    def close(self) -> None:
        self._ahead = None
        self._reader.submit(self.track.close).result()
        self._reader.shutdown()

    def base_frame(self, n: int) -> BaseFrame:
        """Walk frame n's base picture."""
        return self._base(n).frame

    def _base(self, n: int) -> _Base:
        """Walk frame n's base picture and layer alpha; frame n + 1's are started behind it."""
        ahead = self._ahead
        job = ahead[1] if ahead is not None and ahead[0] == n else self._reader.submit(self._read, n)
        self._ahead = (n + 1, self._reader.submit(self._read, n + 1))
        return job.result()

    def _read(self, n: int) -> _Base:
        """On the reader thread: the base frame, its faded mask at the layer size and where it is."""
        frame = self.track.at(n)
        faded = (frame.mask * self._ramp).astype(np.uint8)
        alpha = cv2.resize(faded, self._size, interpolation=cv2.INTER_LINEAR)
        return _Base(frame, alpha, cv2.boundingRect(faded), (faded.shape[1], faded.shape[0]))

    def plan(self, params: np.ndarray, t0: float, fps: float) -> None:
        """Announce the mouth track that will be rendered from program time t0 at `fps`.

        The crops are then chosen by a Viterbi search over the whole track instead of frame
        by frame; frames rendered with other mouths than announced fall back to online choice.
        """
        params = np.asarray(params, np.float32)
        self._plan = (float(t0), float(fps), params, self.selector.plan(params))

    def _planned(self, mouth: np.ndarray, t: float) -> int:
        if self._plan is None:
            return -1
        t0, fps, params, path = self._plan
        i = int(round((t - t0) * fps))
        if 0 <= i < len(path) and np.allclose(params[i], mouth, atol=1e-6):
            return int(path[i])
        return -1

    def rest(self) -> AnchorFrame:
        """The layer at program time 0 with the mouth at rest, in arrays the caller owns."""
        return self._frame(self._base(0), None, 0.0).copy()

    def render(self, mouth: np.ndarray, t: float) -> AnchorFrame:
        """The layer for mouth parameters `mouth` (jaw, width, round, close) at program time t."""
        mouth = np.asarray(mouth, np.float32)
        base = self._base(max(0, int(np.floor(t * self.fps + 1e-6))))
        strength = _smoothstep(float(np.abs(mouth).max()) / REST_LEVEL)
        if strength <= 0.0:
            self.selector.reset()
            self.last_crop = -1
            return self._frame(base, None, 0.0)
        k = self._planned(mouth, t)
        if k < 0:
            k = self.selector.step(mouth)
        else:
            self.selector.previous = k
        self.last_crop = k
        return self._frame(base, (k, mouth), strength)

    def _delta(self, k: int, mouth: np.ndarray) -> float:
        """Canonical pixels to move the crop's lower lip so its opening is the target's."""
        target = float(keys(mouth)[0, 0])
        have = float(self._keys[k, 0])
        cal = self.calibration
        gap = float(cal.gap_of(target) - cal.gap_of(have)) * self.lower.height
        limit = MAX_DELTA * cal.gap_open * self.lower.height
        crop_gap = float(cal.gap_of(have)) * self.lower.height
        return float(np.clip(gap, -min(limit, crop_gap), limit))

    def _frame(self, read: _Base, paste: tuple[int, np.ndarray] | None, strength: float) -> AnchorFrame:
        w, h = self._size
        base = read.frame
        if paste is None:
            if self._image_key != base.key:
                cv2.resize(base.image, (w, h), dst=self._image, interpolation=self._interp)
                self._image_key = base.key
        else:
            k, mouth = paste
            img = base.image.copy()
            self.fitter.fit(img, base.to_canonical, k, self._delta(k, mouth), strength)
            cv2.resize(img, (w, h), dst=self._image, interpolation=self._interp)
            self._image_key = None
        if self._mask_key != base.key:
            self._alpha = read.alpha
            self._mask_key = base.key
            self._box = self._person_box(read.bounds, read.mask_size, w, h)
        return AnchorFrame(self._image, self._alpha, (self._box,))

    def _person_box(self, bounds: Sequence[int], mask_size: tuple[int, int], w: int, h: int) -> Rect:
        """What the studio must redraw: where the person is now (`bounds` of the mask, at `mask_size`)
        or was in the rest frame (the studio's base holds the rest frame; everywhere else both are
        transparent)."""
        x, y, bw, bh = bounds
        if bw == 0 or bh == 0:
            return self._rest_box
        sx, sy = w / mask_size[0], h / mask_size[1]
        box = Rect(int(x * sx) - 2, int(y * sy) - 2, int(np.ceil((x + bw) * sx)) + 2, int(np.ceil((y + bh) * sy)) + 2)
        r = self._rest_box
        if r.width > 0:
            box = Rect(min(box.x0, r.x0), min(box.y0, r.y0), max(box.x1, r.x1), max(box.y1, r.y1))
        return box.clip(w, h)
