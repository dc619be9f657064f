"""Idle pieces of the recording and the joins between them: the graph the base track walks.

A piece is a stretch of consecutive source frames with the mouth closed, the face tracked and
no edit inside (a frame that jumps much more than its neighbours away from the face breaks a
stretch). Long stretches are split; a piece's natural successor (the next part of the same
stretch) joins it at no cost. Every other join is a loop point: the last frames of one piece
and the first frames of another, compared by head position, face appearance and eye opening,
and cross-faded over `fade` frames at render time. Each piece keeps its cheapest joins; the
pieces that cannot reach each other through those are dropped (largest strongly connected set).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import median_filter
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from anchor.face import landmarks as L

MIN_PIECE_S = 0.5
MAX_PIECE_S = 4.0
FADE_S = 0.24
EDGE_TRIM = 2  # frames dropped at both ends of a closed stretch (lips about to part)
JUMP_RATIO = 2.0  # a frame changing this much more than its neighbours breaks a stretch
SUCCESSORS = 6
MAX_BASE_S = 150.0  # the base footage keeps at most this much idle material


@dataclass(frozen=True)
class Piece:
    """Source frames [start, stop) of one idle piece."""

    start: int
    stop: int

    @property
    def length(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class Join:
    """Piece `to` may follow; `fade` frames are cross-faded (0 for a natural continuation)."""

    to: int
    cost: float
    fade: int


@dataclass(frozen=True)
class LoopGraph:
    """Idle pieces (in source frames) and, per piece, the pieces that may follow it."""

    pieces: tuple[Piece, ...]
    joins: tuple[tuple[Join, ...], ...]
    fade: int

    def to_dict(self) -> dict[str, object]:
        return {
            "fade": self.fade,
            "pieces": [[p.start, p.stop] for p in self.pieces],
            "joins": [[[j.to, round(j.cost, 5), j.fade] for j in js] for js in self.joins],
        }

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> LoopGraph:
        pieces = tuple(Piece(int(a), int(b)) for a, b in d["pieces"])  # type: ignore[union-attr]
        joins = tuple(tuple(Join(int(t), float(c), int(f)) for t, c, f in js) for js in d["joins"])  # type: ignore[union-attr]
        return cls(pieces, joins, int(d["fade"]))  # type: ignore[call-overload]


def breaks(jump: np.ndarray) -> np.ndarray:
    """Frames that change much more than their neighbours (edits, dropped frames): bool (N,)."""
    j = np.asarray(jump, np.float64)
    local = median_filter(j, size=11, mode="nearest")
    floor = max(float(np.median(j)) * 0.5, 1e-3)
    return j > JUMP_RATIO * np.maximum(local, floor)


def idle_pieces(idle: np.ndarray, broken: np.ndarray, fps: float) -> list[Piece]:
    """Pieces from the runs of `idle` frames, split at `broken` frames and into MAX_PIECE_S parts."""
    min_len = max(int(round(MIN_PIECE_S * fps)), 2 * int(round(FADE_S * fps)) + 2)
    max_len = int(round(MAX_PIECE_S * fps))
    ok = np.asarray(idle, bool).copy()
    n = len(ok)
    pieces: list[Piece] = []
    i = 0
    while i < n:
        if not ok[i]:
            i += 1
            continue
        j = i + 1
        while j < n and ok[j] and not broken[j]:
            j += 1
        a, b = i + EDGE_TRIM, j - EDGE_TRIM
        length = b - a
        if length >= min_len:
            parts = max(1, int(np.ceil(length / max_len)))
            edges = np.linspace(a, b, parts + 1).round().astype(int)
            pieces.extend(Piece(int(s), int(e)) for s, e in zip(edges[:-1], edges[1:], strict=True))
        i = j
    return pieces


def eye_opening(landmarks: np.ndarray) -> np.ndarray:
    """Mean upper-to-lower lid distance in face heights per frame (N,)."""
    lm = np.asarray(landmarks, np.float64)
    h = np.linalg.norm(lm[:, L.CHIN_BOTTOM, :2] - lm[:, L.FOREHEAD_TOP, :2], axis=1)
    d = [
        np.linalg.norm(lm[:, lo, :2] - lm[:, up, :2], axis=1)
        for up, lo in zip(L.RIGHT_EYE_UPPER + L.LEFT_EYE_UPPER, L.RIGHT_EYE_LOWER + L.LEFT_EYE_LOWER, strict=True)
    ]
    return np.mean(d, axis=0) / np.maximum(h, 1e-6)


_POSE_POINTS = (*L.FACE_OVAL[::3], 1, 2, 33, 133, 362, 263, 61, 291, 13, 14, 152)


def frame_distance(
    landmarks: np.ndarray, thumbs: np.ndarray, eyes: np.ndarray, a: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """Distance of frames `a` to frames `b` (same length): head position (face heights), looks, eyes."""
    lm = landmarks[:, list(_POSE_POINTS), :2].astype(np.float64)
    h = np.linalg.norm(landmarks[:, L.CHIN_BOTTOM, :2] - landmarks[:, L.FOREHEAD_TOP, :2], axis=1)
    pose = np.linalg.norm(lm[a] - lm[b], axis=2).mean(axis=1) / h[a]
    look = np.abs(thumbs[a].astype(np.float32) - thumbs[b].astype(np.float32)).mean(axis=(1, 2)) / 255.0
    blink = np.abs(eyes[a] - eyes[b]) / max(float(np.median(eyes)), 1e-6)
    return pose + 0.5 * look + 0.05 * blink


def build_graph(
    pieces: list[Piece], landmarks: np.ndarray, thumbs: np.ndarray, fps: float, max_base_s: float = MAX_BASE_S
) -> LoopGraph:
    """The loop graph over `pieces`: natural continuations plus each piece's cheapest loop points."""
    fade = max(2, int(round(FADE_S * fps)))
    if not pieces:
        return LoopGraph((), (), fade)
    pieces = _cap(pieces, int(max_base_s * fps))
    eyes = eye_opening(landmarks)
    calm = float(np.median(eyes))
    n = len(pieces)
    k = np.arange(fade)
    cost = np.full((n, n), np.inf)
    for i, p in enumerate(pieces):
        tail = p.stop - fade + k
        for j, q in enumerate(pieces):
            if j == i:
                continue
            head = q.start + k
            c = float(frame_distance(landmarks, thumbs, eyes, tail, head).mean())
            # A blink cut in half by a cross-fade ghosts: keep loop points away from closing lids.
            lids = min(float(eyes[tail].min()), float(eyes[head].min()))
            if lids < 0.6 * calm:
                c += 1.0
            cost[i, j] = c
    # Each piece keeps its cheapest ways out and its cheapest ways in, so every piece can be reached.
    chosen = np.zeros((n, n), bool)
    for i in range(n):
        finite = np.flatnonzero(np.isfinite(cost[i]))
        chosen[i, finite[np.argsort(cost[i, finite])[:SUCCESSORS]]] = True
        finite_in = np.flatnonzero(np.isfinite(cost[:, i]))
        chosen[finite_in[np.argsort(cost[finite_in, i])[:SUCCESSORS]], i] = True
    joins: list[list[Join]] = [[] for _ in range(n)]
    for i in range(n):
        natural = i + 1 < n and pieces[i + 1].start == pieces[i].stop
        if natural:
            joins[i].append(Join(i + 1, 0.0, 0))
        for j in sorted(np.flatnonzero(chosen[i]), key=lambda j: cost[i, j]):
            if not (natural and j == i + 1):
                joins[i].append(Join(int(j), float(cost[i, j]), fade))
    keep = _strongly_connected(joins)
    return _subgraph(pieces, joins, keep, fade)


def _cap(pieces: list[Piece], max_frames: int) -> list[Piece]:
    """At most `max_frames` of pieces, spread over the whole recording (every k-th stretch)."""
    total = sum(p.length for p in pieces)
    if total <= max_frames:
        return pieces
    ratio = max_frames / total
    return [p for i, p in enumerate(pieces) if int((i + 1) * ratio) > int(i * ratio)]


def _strongly_connected(joins: list[list[Join]]) -> np.ndarray:
    n = len(joins)
    rows = [i for i, js in enumerate(joins) for _ in js]
    cols = [j.to for js in joins for j in js]
    graph = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    _, labels = connected_components(graph, directed=True, connection="strong")
    biggest = int(np.argmax(np.bincount(labels)))
    return labels == biggest


def _subgraph(pieces: list[Piece], joins: list[list[Join]], keep: np.ndarray, fade: int) -> LoopGraph:
    new_id = -np.ones(len(pieces), int)
    new_id[np.flatnonzero(keep)] = np.arange(int(keep.sum()))
    out_pieces = tuple(p for p, k in zip(pieces, keep, strict=True) if k)
    out_joins = tuple(
        tuple(Join(int(new_id[j.to]), j.cost, j.fade) for j in js if keep[j.to])
        for js, k in zip(joins, keep, strict=True)
        if k
    )
    return LoopGraph(out_pieces, out_joins, fade)
