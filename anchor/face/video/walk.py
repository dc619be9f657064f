"""The endless base track: a seeded random walk over the loop graph's pieces.

Frame n of the walk (n counts source frames from program time 0) is one frame of a piece, or,
during the `fade` frames after a loop point, a blend of the outgoing piece's frames from its
exit on with the incoming piece's frames from its entry on. At every visit the walk picks one
of the piece's joins that leaves it time to play (cheaper joins more often, pieces shown
recently avoided), so it never repeats as a whole. It is a pure function of (graph, seed, n):
checkpoints let it go back in time without replaying from the start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from anchor.face.video.loops import FADE_S, Join, LoopGraph

RECENT = 4  # pieces not to revisit soon, when there is a choice
CHECKPOINT_EVERY = 256  # visits
MAX_CHECKPOINTS = 4096
TARGET_PLAY_S = 1.5  # visits this long or longer are not held back
PREFERENCE = 0.25  # join weights exp(-cost / (PREFERENCE * median cost)): cheaper loop points win


@dataclass(frozen=True)
class WalkFrame:
    """Base footage frame `frame`, or a blend: (1 - lam) * `previous` + lam * `frame`."""

    frame: int  # index into the base footage
    previous: int = -1  # base footage index of the outgoing piece's frame; -1 = no blend
    lam: float = 1.0
    previous_stop: int = -1  # end (exclusive) of the outgoing fade window in the base footage


@dataclass(frozen=True)
class _Visit:
    piece: int
    start: int  # walk frame at which this visit begins
    entry: int  # offset into the piece of the first frame shown
    fade_in: int
    prev_piece: int
    prev_exit: int  # offset into prev_piece where the fade started
    join: Join  # how this visit ends


class BaseWalk:
    """Which base footage frame(s) to show at walk frame n."""

    def __init__(self, graph: LoopGraph, seed: int = 7) -> None:
        if not graph.pieces:
            raise ValueError("the loop graph has no pieces")
        self.graph = graph
        self.seed = seed
        lengths = np.array([p.length for p in graph.pieces])
        self.target_play = max(1.0, TARGET_PLAY_S * graph.fade / FADE_S)  # frames
        self.offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        self.lengths = lengths
        self._checkpoints: list[tuple[int, _Visit, list[int], Any]] = []
        self._visit_no = 0
        self._restart()

    def _restart(self) -> None:
        self._rng = np.random.default_rng(self.seed)
        self._recent: list[int] = []
        self._visit_no = 0
        self._current = self._visit(0, 0, 0, 0, -1, 0)

    def _visit(self, piece: int, start: int, entry: int, fade_in: int, prev: int, prev_exit: int) -> _Visit:
        return _Visit(piece, start, entry, fade_in, prev, prev_exit, self._choose(piece, entry + fade_in))

    def _choose(self, piece: int, earliest: int) -> Join:
        """A way out of `piece` whose fade starts no sooner than `earliest` + min_play."""
        joins = self.graph.joins[piece]
        ok = [j for j in joins if j.exit >= earliest + self.graph.min_play]
        if not ok:  # entered late: leave by the latest exit there is
            ok = [max(joins, key=lambda j: j.exit)] if joins else []
        if not ok:  # a piece with no way out (a one-piece graph): play it again from its start
            return Join(piece, 0.0, self.graph.fade, int(self.lengths[piece]) - self.graph.fade, 0)
        costs = np.array([j.cost for j in ok])
        faded = costs[[j.fade > 0 for j in ok]]
        scale = PREFERENCE * max(float(np.median(faded)) if len(faded) else 1.0, 1e-3)
        w = np.exp(-(costs - costs.min()) / scale)
        # Long visits: fewer cross-fades (each one is a moment of two pictures at once).
        play = np.array([j.exit - earliest for j in ok], np.float64)
        w *= np.exp(-2.0 * np.clip(1.0 - play / self.target_play, 0.0, 1.0))
        w *= np.array([0.05 if (j.fade and j.to in self._recent) else 1.0 for j in ok])
        k = int(self._rng.choice(len(ok), p=w / w.sum()))
        self._recent = ([piece] + self._recent)[:RECENT]
        return ok[k]

    @staticmethod
    def _length(v: _Visit) -> int:
        return max(1, v.join.exit - v.entry)

    def _advance(self) -> None:
        v = self._current
        j = v.join
        self._visit_no += 1
        self._current = self._visit(j.to, v.start + self._length(v), j.entry, j.fade, v.piece, j.exit)
        if self._visit_no % CHECKPOINT_EVERY == 0:
            self._checkpoints.append((self._visit_no, self._current, list(self._recent), self._rng.bit_generator.state))
            if len(self._checkpoints) > MAX_CHECKPOINTS:
                self._checkpoints = self._checkpoints[::2]

    def _rewind(self, n: int) -> None:
        usable = [cp for cp in self._checkpoints if cp[1].start <= n]
        if not usable:
            self._restart()
            return
        visit_no, visit, recent, state = usable[-1]
        self._rng = np.random.default_rng()
        self._rng.bit_generator.state = state
        self._visit_no, self._current, self._recent = visit_no, visit, list(recent)

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
        frame = int(self.offsets[v.piece]) + v.entry + k
        if k < v.fade_in and v.prev_piece >= 0:
            prev = int(self.offsets[v.prev_piece]) + v.prev_exit
            return WalkFrame(frame, prev + k, (k + 1) / (v.fade_in + 1), prev + v.fade_in)
        return WalkFrame(frame)
