"""Renderer v1: animates an avatar photo's mouth, jaw and eyelids by mesh warping.

The avatar is scaled once to the size it will appear at; each frame re-warps only two small
regions (lower face, eyes) of that layer, so the per-frame cost stays a few milliseconds.
"""

from __future__ import annotations

import cv2
import numpy as np

from anchor.face import landmarks as L
from anchor.face.avatar import AvatarPack
from anchor.face.base import AnchorFrame
from anchor.face.blink import BlinkSchedule
from anchor.face.deform import JAW_DROP, EyelidDeformer, FaceFrame, MouthDeformer
from anchor.face.interior import paint_mouth_interior
from anchor.face.mesh import MeshWarp, Rect, border_points
from anchor.face.motion import IdleMotion


def _region(lm: np.ndarray, rect: Rect, margin: float, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Vertices for a warp region: landmarks well inside `rect` (not iris) plus its fixed border."""
    keep = [
        i
        for i in range(L.N_LANDMARKS)
        if i not in L.IRIS
        and rect.x0 + margin < lm[i, 0] < rect.x1 - 1 - margin
        and rect.y0 + margin < lm[i, 1] < rect.y1 - 1 - margin
    ]
    border = border_points(rect, step)
    pts = np.concatenate([lm[keep, :2], border]).astype(np.float32)
    ids = np.concatenate([np.array(keep, np.int64), np.full(len(border), -1, np.int64)])
    return pts, ids


def _soften_cut_edges(alpha: np.ndarray) -> np.ndarray:
    """Fade the person out towards the photo's left, right and top edges, where the photo cut them off."""
    h, w = alpha.shape
    fade = max(4, w // 14)
    ramp = np.clip(np.minimum(np.arange(w), np.arange(w)[::-1]) / fade, 0, 1).astype(np.float32)
    vramp = np.clip(np.arange(h) / fade, 0, 1).astype(np.float32)[:, None]
    return (alpha.astype(np.float32) * ramp[None, :] * vramp).astype(np.uint8)


class FaceRenderer:
    """Renders the avatar with a given mouth shape and the blink schedule at program time t."""

    def __init__(
        self, avatar: AvatarPack, scale: float, blinks: BlinkSchedule, motion: IdleMotion | None = None
    ) -> None:
        self.avatar = avatar
        self.motion = motion
        self.scale = float(scale)
        self.blinks = blinks
        h0, w0 = avatar.image.shape[:2]
        size = (max(2, round(w0 * scale)), max(2, round(h0 * scale)))
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        self.rest_image = cv2.resize(avatar.image, size, interpolation=interp)
        self.rest_alpha = _soften_cut_edges(cv2.resize(avatar.mask, size, interpolation=cv2.INTER_LINEAR))
        self.landmarks = avatar.landmarks[:, :2] * np.float32(scale)
        self.image = self.rest_image.copy()
        self.alpha = self.rest_alpha.copy()
        h, w = self.rest_image.shape[:2]
        lm = self.landmarks
        self.frame_axes = FaceFrame.of(lm)
        fh = self.frame_axes.height

        # Lower face: from under the nose to below the chin (room for the jaw to drop).
        oval = lm[list(L.FACE_OVAL)]
        nose_y = float(lm[2, 1])
        low = oval[oval[:, 1] > nose_y]
        self.mouth_rect = Rect(
            int(low[:, 0].min() - 0.08 * fh),
            int(nose_y - 0.02 * fh),
            int(low[:, 0].max() + 0.08 * fh) + 1,
            int(lm[L.CHIN_BOTTOM, 1] + (JAW_DROP + 0.12) * fh) + 1,
        ).clip(w, h)
        pts, ids = _region(lm, self.mouth_rect, 0.01 * fh, 0.09 * fh)
        self._mouth_ids = {int(i): k for k, i in enumerate(ids) if i >= 0}
        self.mouth = MouthDeformer(pts, ids, self.frame_axes)
        open_pose = self.mouth.deform(np.array([1.0, 0.0, 0.0, 0.0], np.float32))
        self.mouth_warp = MeshWarp(pts, self.mouth_rect, layout=open_pose)

        # Eyes: from above the brows to below the lower lids.
        eyes = lm[
            list(
                L.RIGHT_EYE_UPPER
                + L.RIGHT_EYE_LOWER
                + L.LEFT_EYE_UPPER
                + L.LEFT_EYE_LOWER
                + L.RIGHT_EYE_CORNERS
                + L.LEFT_EYE_CORNERS
            )
        ]
        brows = lm[list(L.RIGHT_BROW + L.LEFT_BROW)]
        self.eye_rect = Rect(
            int(eyes[:, 0].min() - 0.06 * fh),
            int(brows[:, 1].min() - 0.02 * fh),
            int(eyes[:, 0].max() + 0.06 * fh) + 1,
            int(eyes[:, 1].max() + 0.05 * fh) + 1,
        ).clip(w, h)
        epts, eids = _region(lm, self.eye_rect, 0.005 * fh, 0.06 * fh)
        self.eyelids = EyelidDeformer(epts, eids, self.frame_axes)
        self.eye_warp = MeshWarp(epts, self.eye_rect)

        self._upper_contour = [self._mouth_ids[i] for i in (L.INNER_CORNER_R, *L.UPPER_INNER, L.INNER_CORNER_L)]
        self._lower_contour = [self._mouth_ids[i] for i in (L.INNER_CORNER_R, *L.LOWER_INNER, L.INNER_CORNER_L)]

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the anchor layer."""
        return self.rest_image.shape[1], self.rest_image.shape[0]

    def set_motion(self, amplitude: float) -> None:
        """Idle motion amplitude from now on (0 = none); see face.base.MotionControl."""
        if self.motion is not None:
            self.motion.amplitude = amplitude

    def rest(self) -> AnchorFrame:
        """The avatar at rest (closed mouth, open eyes, no sway), in arrays the caller owns."""
        frame = self.render(np.zeros(4, np.float32), 0.0) if self.motion is None else self._still_rest()
        return frame.copy()

    def _still_rest(self) -> AnchorFrame:
        motion, self.motion = self.motion, None
        try:
            return self.render(np.zeros(4, np.float32), 0.0)
        finally:
            self.motion = motion

    def _apply(self, warp: MeshWarp, dst: np.ndarray) -> np.ndarray:
        r = warp.rect
        map_x, map_y = warp.maps(dst)
        src = self.rest_image[r.slices]
        out = cv2.remap(src, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        self.alpha[r.slices] = cv2.remap(
            self.rest_alpha[r.slices], map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        return out

    def render(self, mouth: np.ndarray, t: float) -> AnchorFrame:
        """The anchor layer with mouth parameters `mouth` (jaw, width, round, close) at time t."""
        r = self.mouth_rect
        dst = self.mouth.deform(mouth)
        roi = self._apply(self.mouth_warp, dst)
        off = np.array([r.x0, r.y0], np.float32)
        paint_mouth_interior(
            roi,
            dst[self._upper_contour] - off,
            dst[self._lower_contour] - off,
            self.mouth.rest[self._upper_contour] - off,
            self.frame_axes.height,
        )
        self.image[r.slices] = roi

        e = self.eye_rect
        closure = self.blinks.closure(t)
        if closure > 0.01:
            self.image[e.slices] = self._apply(self.eye_warp, self.eyelids.deform(closure))
        else:
            self.image[e.slices] = self.rest_image[e.slices]
            self.alpha[e.slices] = self.rest_alpha[e.slices]
        if self.motion is not None and self.motion.amplitude > 0:
            return self._moved(t)
        return AnchorFrame(self.image, self.alpha, (r, e))

    def _moved(self, t: float) -> AnchorFrame:
        """The whole layer swayed/breathing about the base of the neck (the whole layer is dirty)."""
        assert self.motion is not None
        p = self.motion.pose(t)
        fh = self.frame_axes.height
        w, h = self.size
        pivot = (float(self.landmarks[L.CHIN_BOTTOM, 0]), float(self.landmarks[L.CHIN_BOTTOM, 1] + 0.35 * fh))
        m = cv2.getRotationMatrix2D(pivot, p.angle, 1.0)
        # Breathing: the torso stretches up from the bottom edge; the head rides on it.
        m[1] *= 1.0 + p.breath
        m[1, 2] -= p.breath * h
        m[0, 2] += p.dx * fh
        m[1, 2] += p.dy * fh
        image = cv2.warpAffine(self.image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        alpha = cv2.warpAffine(self.alpha, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return AnchorFrame(image, alpha, (Rect(0, 0, w, h),))
