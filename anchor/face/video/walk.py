"""The endless base track: a seeded random walk over the loop graph's pieces.

Frame n of the walk (n counts source frames from program time 0) is one frame of a piece, or,
during the first `fade` frames after a loop point, a blend of the previous piece's last
frames with the new piece's first frames. The walk never repeats as a whole: at every piece
end it picks one of the allowed joins (cheaper joins more often, recently shown pieces
avoided). It is a pure function of (graph, seed, n): checkpoints let it jump back in time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from anchor.face.video.loops import LoopGraph

RECENT = 4  # pieces not to revisit soon, when there is a choice
CHECKPOINT_EVERY = 256  # visits
MAX_CHECKPOINTS = 4096


@dataclass(frozen=True)
class WalkFrame:
    """Base footage frame `frame`, or a blend: (1 - lam) * `previous` + lam * `frame`."""

    frame: int  # index into the base footage
    previous: int = -1  # base footage index of the outgoing piece's frame; -1 = no blend
    lam: float = 1.0
    previous_stop: int = -1  # end (exclusive) of the outgoing piece in the base footage


@dataclass
class _Visit:
    piece: int
    start: int  # walk frame at which this visit begins
    fade_in: int
    fade_out: int
    prev_piece: int


class BaseWalk:
    """Which base footage frame(s) to show at walk frame n."""

    def __init__(self, graph: LoopGraph, seed: int = 7) -> None:
        if not graph.pieces:
            raise ValueError("the loop graph has no pieces")
        self.graph = graph
        self.seed = seed
        lengths = np.array([p.length for p in graph.pieces])
        self.offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        self.lengths = lengths
        self._fade_weights = [self._weights(i) for i in range(len(graph.pieces))]
        self._checkpoints: list[tuple[int, int, int, int, dict]] = []  # (visit no, start, piece, fade_in, rng state)
        self._restart()

    def _weights(self, i: int) -> np.ndarray:
        costs = np.array([j.cost for j in self.graph.joins[i]], np.float64)
        if not len(costs):
            return costs
        scale = max(float(np.median(costs)), 1e-3)
        return np.exp(-costs / scale)

    def _restart(self) -> None:
        self._rng = np.random.default_rng(self.seed)
        self._recent: list[int] = []
        self._visit_no = 0
        self._current = self._make_visit(0, 0, 0, -1)

    def _make_visit(self, piece: int, start: int, fade_in: int, prev: int) -> _Visit:
        nxt, fade_out = self._choose(piece)
        visit = _Visit(piece, start, fade_in, fade_out, prev)
        visit_next = (nxt, fade_out)
        self._pending = visit_next
        return visit

    def _choose(self, piece: int) -> tuple[int, int]:
        joins = self.graph.joins[piece]
        if not joins:  # a piece with no way out (a one-piece graph): play it again with a fade
            return piece, self.graph.fade
        w = self._fade_weights[piece].copy()
        for k, j in enumerate(joins):
            if j.to in self._recent and j.fade:
                w[k] *= 0.05
        k = int(self._rng.choice(len(joins), p=w / w.sum()))
        self._recent = ([piece] + self._recent)[:RECENT]
        return joins[k].to, joins[k].fade

    def _length(self, v: _Visit) -> int:
        return int(self.lengths[v.piece]) - v.fade_out

    def _advance(self) -> None:
        v = self._current
        nxt, fade = self._pending
        self._visit_no += 1
        self._current = self._make_visit(nxt, v.start + self._length(v), fade, v.piece)
        if self._visit_no % CHECKPOINT_EVERY == 0:
            self._checkpoint()

    def _checkpoint(self) -> None:
        v = self._current
        state = (self._visit_no, v.start, v.piece, v.fade_in, v.prev_piece, self._pending, list(self._recent))
        self._checkpoints.append((v.start, state, self._rng.bit_generator.state))  # type: ignore[arg-type]
        if len(self._checkpoints) > MAX_CHECKPOINTS:
            self._checkpoints = self._checkpoints[::2]

    def _rewind(self, n: int) -> None:
        best = None
        for cp in self._checkpoints:
            if cp[0] <= n:
                best = cp
        if best is None:
            self._restart()
            return
        _, state, rng_state = best
        visit_no, start, piece, fade_in, prev, pending, recent = state  # type: ignore[misc]
        self._rng = np.random.default_rng()
        self._rng.bit_generator.state = rng_state
        self._visit_no = visit_no
        self._recent = list(recent)
        self._pending = pending
        self._current = _Visit(piece, start, fade_in, pending[1], prev)

    def at(self, n: int) -> WalkFrame:
        """The base frame(s) for walk frame n >= 0."""
        if n < 0:
            raise ValueError("walk frames start at 0")
        if n < self._current.start:
            self._rewind(n)
        while n >= self._current.start + self._length(self._current):
            self._advance()
        v = self._current
        k = n - v.start
        frame = int(self.offsets[v.piece]) + k
        if k < v.fade_in and v.prev_piece >= 0:
            prev_end = int(self.offsets[v.prev_piece] + self.lengths[v.prev_piece])
            return WalkFrame(frame, prev_end - v.fade_in + k, (k + 1) / (v.fade_in + 1), prev_end)
        return WalkFrame(frame)

    def is_join(self, n: int) -> bool:
        """Whether walk frame n is inside a cross-fade or the first frame after a loop point."""
        w = self.at(n)
        return w.previous >= 0
