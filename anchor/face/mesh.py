"""Piecewise-affine mesh warp over a landmark triangulation, restricted to a region of interest.

The mesh is triangulated once (on a reference pose, so triangles stay valid while the pose
changes); each frame supplies new vertex positions and every destination pixel is mapped
back into the source exactly through the affine map of the triangle that covers it.
"""

from __future__ import annotations

import cv2
import numpy as np

from anchor.disk_cache import cached_value, digest_key
from anchor.face.base import Rect


def triangulate(points: np.ndarray) -> np.ndarray:
    """(T, 3) int32 vertex indices of the Delaunay triangulation of (V, 2) `points`.

    Cached on disk by the points' bytes: an avatar's layout never changes, and importing
    scipy.spatial costs ~0.3 s of every cold start."""
    pts = np.ascontiguousarray(points, np.float64)

    def build() -> bytes:
        from scipy.spatial import Delaunay

        return bytes(Delaunay(pts).simplices.astype(np.int32).tobytes())

    data = cached_value("delaunay", digest_key(pts.tobytes(), str(pts.shape).encode()), build)
    return np.frombuffer(data, np.int32).reshape(-1, 3).copy()


def border_points(rect: Rect, step: float) -> np.ndarray:
    """Points along the edge of `rect` (in absolute pixels), at most `step` apart; they stay fixed."""
    xs = np.linspace(rect.x0, rect.x1 - 1, max(2, int(np.ceil(rect.width / step)) + 1))
    ys = np.linspace(rect.y0, rect.y1 - 1, max(2, int(np.ceil(rect.height / step)) + 1))
    top = np.stack([xs, np.full_like(xs, rect.y0)], 1)
    bottom = np.stack([xs, np.full_like(xs, rect.y1 - 1)], 1)
    left = np.stack([np.full_like(ys[1:-1], rect.x0), ys[1:-1]], 1)
    right = np.stack([np.full_like(ys[1:-1], rect.x1 - 1), ys[1:-1]], 1)
    return np.concatenate([top, bottom, left, right]).astype(np.float32)


class MeshWarp:
    """Warps the pixels of `rect` so that `source` vertices move to per-frame destinations.

    `source` are (V, 2) absolute pixel positions in the rest pose; `layout` are positions
    (same order) whose Delaunay triangulation defines the mesh topology — pass a pose with
    every opening open (mouth, eyes) so the triangles of the openings are well formed.
    Vertices on the border of `rect` must not move; that keeps the warp seamless.
    """

    def __init__(self, source: np.ndarray, rect: Rect, layout: np.ndarray | None = None) -> None:
        self.source = np.asarray(source, np.float32)
        self.rect = rect
        topo = self.source if layout is None else np.asarray(layout, np.float32)
        self.triangles = triangulate(topo)
        h, w = rect.height, rect.width
        self._ids = np.empty((h, w), np.int32)
        gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        self._gx, self._gy = gx, gy
        self._src_local = self.source - np.array([rect.x0, rect.y0], np.float32)

    def _affines(self, dst_local: np.ndarray, which: np.ndarray) -> np.ndarray:
        """2x3 affine maps from destination to source (local coordinates) for triangles `which`.

        Closed form: src = s1 + M @ inv(D) @ (p - d1) with D, M the edge matrices of the
        destination and source triangles. Degenerate destination triangles cover no pixels.
        """
        t = self.triangles[which]
        d1, d2, d3 = dst_local[t[:, 0]], dst_local[t[:, 1]], dst_local[t[:, 2]]
        s1, s2, s3 = self._src_local[t[:, 0]], self._src_local[t[:, 1]], self._src_local[t[:, 2]]
        a, b = d2[:, 0] - d1[:, 0], d3[:, 0] - d1[:, 0]
        c, d = d2[:, 1] - d1[:, 1], d3[:, 1] - d1[:, 1]
        det = a * d - b * c
        det = np.where(np.abs(det) < 1e-9, 1e-9, det)
        # inv(D) = [[d, -b], [-c, a]] / det
        i00, i01, i10, i11 = d / det, -b / det, -c / det, a / det
        m00, m01 = s2[:, 0] - s1[:, 0], s3[:, 0] - s1[:, 0]
        m10, m11 = s2[:, 1] - s1[:, 1], s3[:, 1] - s1[:, 1]
        out = np.empty((len(t), 2, 3), np.float32)
        out[:, 0, 0] = m00 * i00 + m01 * i10
        out[:, 0, 1] = m00 * i01 + m01 * i11
        out[:, 1, 0] = m10 * i00 + m11 * i10
        out[:, 1, 1] = m10 * i01 + m11 * i11
        out[:, 0, 2] = s1[:, 0] - out[:, 0, 0] * d1[:, 0] - out[:, 0, 1] * d1[:, 1]
        out[:, 1, 2] = s1[:, 1] - out[:, 1, 0] * d1[:, 0] - out[:, 1, 1] * d1[:, 1]
        return out

    def maps(self, destination: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Remap tables (map_x, map_y), local to rect, for vertices moved to `destination`."""
        dst_local = np.asarray(destination, np.float32) - np.array([self.rect.x0, self.rect.y0], np.float32)
        moved = np.any(np.abs(dst_local - self._src_local) > 1e-3, axis=1)
        ids = self._ids
        ids.fill(-1)
        # Only triangles touching a moved vertex differ from the identity map.
        active = np.flatnonzero(moved[self.triangles].any(axis=1))
        pts = np.round(dst_local[self.triangles[active]] * 16).astype(np.int32)
        for k, tri in enumerate(pts):
            cv2.fillConvexPoly(ids, tri, (k,), lineType=cv2.LINE_8, shift=4)
        map_x = self._gx.copy()
        map_y = self._gy.copy()
        ys, xs = np.nonzero(ids >= 0)
        if len(xs):
            a = self._affines(dst_local, active)[ids[ys, xs]]
            fx, fy = xs.astype(np.float32), ys.astype(np.float32)
            map_x[ys, xs] = a[:, 0, 0] * fx + a[:, 0, 1] * fy + a[:, 0, 2]
            map_y[ys, xs] = a[:, 1, 0] * fx + a[:, 1, 1] * fy + a[:, 1, 2]
        return map_x, map_y

    def warp(self, image: np.ndarray, destination: np.ndarray) -> np.ndarray:
        """The rect of `image` warped so the vertices land on `destination` (returns rect-sized array)."""
        map_x, map_y = self.maps(destination)
        r = self.rect
        return cv2.remap(
            image[r.y0 : r.y1, r.x0 : r.x1], map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
