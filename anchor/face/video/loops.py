"""Idle pieces of the recording and the joins between them: the graph the base track walks.

A piece is a stretch of consecutive source frames with the mouth closed, the face tracked and
no edit inside (a frame that jumps much more than its neighbours away from the face breaks a
stretch). Long stretches are split; a piece's natural successor (the next part of the same
stretch) joins it at no cost. Every other join is a loop point found frame by frame: a frame
late in one piece and a frame early in another whose surroundings look most alike (whole-frame
grey thumbnails; closing eyelids cost extra), cross-faded over `fade` frames at render time.
Each piece keeps its cheapest joins out and in; pieces that cannot reach each other through
those are dropped (the largest strongly connected set is kept).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.ndimage import median_filter
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from anchor.face import landmarks as L
from anchor.face.video.measure import STABLE

MIN_PIECE_S = 0.5
MAX_PIECE_S = 4.0
FADE_S = 0.24
MIN_PLAY_S = 0.2  # a visit shows at least this much of its piece between fades
EDGE_TRIM = 2  # frames dropped at both ends of a closed stretch (lips about to part)
JUMP_RATIO = 2.0  # a frame changing this much more than its neighbours breaks a stretch
SUCCESSORS = 6
WASTE_COST = 0.04  # grey levels per frame of a piece a loop point leaves unplayed
POSE_WEIGHT = 150.0  # grey levels per face height of head displacement at a loop point
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
    """Piece `to` may follow: the fade starts `exit` frames into this piece and lands `entry` frames
    into `to`; `fade` frames are cross-faded (0 for a natural continuation: exit = length, entry 0)."""

    to: int
    cost: float
    fade: int
    exit: int
    entry: int


@dataclass(frozen=True)
class LoopGraph:
    """Idle pieces (in source frames) and, per piece, the pieces that may follow it."""

    pieces: tuple[Piece, ...]
    joins: tuple[tuple[Join, ...], ...]
    fade: int
    min_play: int = 0  # frames a visit plays between its fade in and its fade out

    def to_dict(self) -> dict[str, Any]:
        return {
            "fade": self.fade,
            "min_play": self.min_play,
            "pieces": [[p.start, p.stop] for p in self.pieces],
            "joins": [[[j.to, round(j.cost, 5), j.fade, j.exit, j.entry] for j in js] for js in self.joins],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LoopGraph:
        pieces = tuple(Piece(int(a), int(b)) for a, b in d["pieces"])
        joins = tuple(
            tuple(Join(int(t), float(c), int(f), int(x), int(e)) for t, c, f, x, e in js) for js in d["joins"]
        )
        return cls(pieces, joins, int(d["fade"]), int(d.get("min_play", 0)))


def breaks(jump: np.ndarray) -> np.ndarray:
    """Frames that change much more than their neighbours (edits, dropped frames): bool (N,)."""
    j = np.asarray(jump, np.float64)
    local = median_filter(j, size=11, mode="nearest")
    floor = max(float(np.median(j)) * 0.5, 1e-3)
    return j > JUMP_RATIO * np.maximum(local, floor)


def idle_pieces(idle: np.ndarray, broken: np.ndarray, fps: float) -> list[Piece]:
    """Pieces from the runs of `idle` frames, split at `broken` frames and into MAX_PIECE_S parts."""
    fade, play = int(round(FADE_S * fps)), max(1, int(round(MIN_PLAY_S * fps)))
    min_len = max(int(round(MIN_PIECE_S * fps)), 2 * fade + play + 2)
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


def head_pose(landmarks: np.ndarray) -> np.ndarray:
    """(N, 4) head position per frame: centre x, y and log size in face heights (median face), roll in radians."""
    lm = np.asarray(landmarks, np.float64)
    stable = lm[:, list(STABLE), :2]
    h = np.linalg.norm(lm[:, L.CHIN_BOTTOM, :2] - lm[:, L.FOREHEAD_TOP, :2], axis=1)
    ref = float(np.nanmedian(h))
    across = lm[:, 263, :2] - lm[:, 33, :2]  # outer eye corners
    roll = np.arctan2(across[:, 1], across[:, 0])
    c = stable.mean(axis=1) / ref
    return np.stack([c[:, 0], c[:, 1], np.log(np.maximum(h, 1e-6) / ref), roll], axis=1)


def build_graph(
    pieces: list[Piece],
    thumbs: np.ndarray,
    eyes: np.ndarray,
    pose: np.ndarray,
    fps: float,
    max_base_s: float = MAX_BASE_S,
) -> LoopGraph:
    """The loop graph over `pieces`: natural continuations plus each piece's cheapest loop points.

    A loop point is found frame by frame (video-textures style): for every pair of pieces the
    exit frame a and the entry frame b whose fade windows look most alike (grey thumbnails of
    the whole frame, RMS), a blink in either window costing extra. `thumbs` and `eyes` are per
    source frame (analyse.FrameAnalysis.thumbs, eye_opening).
    """
    fade = max(2, int(round(FADE_S * fps)))
    min_play = max(1, int(round(MIN_PLAY_S * fps)))
    if not pieces:
        return LoopGraph((), (), fade, min_play)
    pieces = _cap(pieces, int(max_base_s * fps))
    calm = float(np.median(eyes))
    # Candidate exits (first frame of the fade out) and entries, every other frame.
    exits: list[np.ndarray] = []
    entries: list[np.ndarray] = []
    for p in pieces:
        # Entries leave room for a fade in, some play and a fade out; exits come after one fade in.
        entries.append(np.arange(p.start, p.stop - 2 * fade - min_play + 1, 2))
        exits.append(np.arange(p.start + fade + min_play, p.stop - fade + 1, 2))
    mid = fade // 2
    ex_all = np.concatenate(exits)
    en_all = np.concatenate(entries)
    dist = _rms_distances(thumbs, ex_all + mid, en_all + mid)
    pa, pb = pose[ex_all + mid], pose[en_all + mid]
    shift = np.sqrt(((pa[:, None, :] - pb[None, :, :]) ** 2).sum(axis=2))
    dist = dist + POSE_WEIGHT * shift
    # Lids closing in either fade window ghost: charge for it.
    lid_ex = np.array([eyes[a : a + fade].min() for a in ex_all])
    lid_en = np.array([eyes[b : b + fade].min() for b in en_all])
    dist = dist + 4.0 * ((lid_ex < 0.6 * calm)[:, None] | (lid_en < 0.6 * calm)[None, :])
    # Frames a loop point skips (after the exit, before the entry) shorten the visits, and every
    # visit ends in a cross-fade: a small charge for each keeps visits long.
    piece_of_ex = np.concatenate([np.full(len(e), i) for i, e in enumerate(exits)])
    piece_of_en = np.concatenate([np.full(len(e), i) for i, e in enumerate(entries)])
    stops = np.array([p.stop for p in pieces])
    starts = np.array([p.start for p in pieces])
    skipped_ex = stops[piece_of_ex] - fade - ex_all
    skipped_en = en_all - starts[piece_of_en]
    dist = dist + WASTE_COST * (skipped_ex[:, None] + skipped_en[None, :])
    n = len(pieces)
    ex_off = np.concatenate([[0], np.cumsum([len(e) for e in exits])])
    en_off = np.concatenate([[0], np.cumsum([len(e) for e in entries])])
    cost = np.full((n, n), np.inf)
    best: dict[tuple[int, int], tuple[int, int]] = {}
    late = np.full(n, np.inf)
    late_pick: dict[int, tuple[int, int, int]] = {}
    for i in range(n):
        for j in range(n):
            if i == j or not len(exits[i]) or not len(entries[j]):
                continue
            block = dist[ex_off[i] : ex_off[i + 1], en_off[j] : en_off[j + 1]]
            ka, kb = (int(v) for v in np.unravel_index(int(np.argmin(block)), block.shape))
            cost[i, j] = float(block[ka, kb])
            best[(i, j)] = (int(exits[i][ka]), int(entries[j][kb]))
            # The best way out from the last exit frame (always reachable, however late the entry).
            c_late = float(block[-1].min())
            if c_late < late[i]:
                late[i] = c_late
                late_pick[i] = (j, int(exits[i][-1]), int(entries[j][int(np.argmin(block[-1]))]))
    chosen = np.zeros((n, n), bool)
    for i in range(n):
        finite = np.flatnonzero(np.isfinite(cost[i]))
        chosen[i, finite[np.argsort(cost[i, finite])[:SUCCESSORS]]] = True
        finite_in = np.flatnonzero(np.isfinite(cost[:, i]))
        chosen[finite_in[np.argsort(cost[finite_in, i])[:SUCCESSORS]], i] = True
    joins: list[list[Join]] = [[] for _ in range(n)]
    for i, p in enumerate(pieces):
        natural = i + 1 < n and pieces[i + 1].start == p.stop
        if natural:
            joins[i].append(Join(i + 1, 0.0, 0, p.length, 0))
        elif i in late_pick:
            to, a, b = late_pick[i]
            joins[i].append(Join(to, float(late[i]), fade, a - p.start, b - pieces[to].start))
        for to in sorted((int(j) for j in np.flatnonzero(chosen[i])), key=lambda j: cost[i, j]):
            a, b = best[(i, to)]
            joins[i].append(Join(to, float(cost[i, to]), fade, a - p.start, b - pieces[to].start))
    keep = _strongly_connected(joins)
    return _subgraph(pieces, joins, keep, fade, min_play)


def _rms_distances(thumbs: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) RMS grey difference between thumbnails of frames a and frames b."""
    x = thumbs[a].reshape(len(a), -1).astype(np.float32)
    y = thumbs[b].reshape(len(b), -1).astype(np.float32)
    d2 = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2.0 * (x @ y.T)
    return np.sqrt(np.maximum(d2, 0.0) / x.shape[1])


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


def _subgraph(pieces: list[Piece], joins: list[list[Join]], keep: np.ndarray, fade: int, min_play: int) -> LoopGraph:
    new_id = -np.ones(len(pieces), int)
    new_id[np.flatnonzero(keep)] = np.arange(int(keep.sum()))
    out_pieces = tuple(p for p, k in zip(pieces, keep, strict=True) if k)
    out_joins = tuple(
        tuple(Join(int(new_id[j.to]), j.cost, j.fade, j.exit, j.entry) for j in js if keep[j.to])
        for js, k in zip(joins, keep, strict=True)
        if k
    )
    return LoopGraph(out_pieces, out_joins, fade, min_play)
