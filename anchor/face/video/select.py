"""Choosing a mouth crop per frame: close to the target shape, never popping from the last one.

Cost of crop k for target mouth m: a weighted distance in (opening, width, round, close),
opening = jaw * (1 - close) as in MouthTrack.opening. Cost of going from crop a to crop b:
nothing when b is the frame after a in the recording (real motion), a little for holding a,
else a charge growing with their appearance distance. Jumps wider than the bank's natural
step (the recording's own 99th-percentile frame-to-frame change) are not allowed at all, so
no output frame pops; the fitter's opening warp absorbs what the crop cannot reach at once.

`step` chooses online (one frame at a time, what a live renderer gets); `plan` runs a Viterbi
search over a whole known track with the same costs (the best path, not a greedy one).
"""

from __future__ import annotations

import numpy as np

from anchor.face.video.bank import MouthBank
from anchor.lipsync.track import CLOSE, JAW, ROUND, WIDTH

WEIGHTS = np.array([6.0, 0.6, 0.6, 1.5], np.float32)  # opening, width, round, close
HOLD_COST = 0.004
JUMP_COST = 0.01
APPEARANCE_COST = 0.03  # per (distance / natural step)^2
CANDIDATES = 32  # per frame, for the Viterbi plan
KEEP_PATHS = 8  # best partial paths whose natural continuations stay candidates


def keys(params: np.ndarray) -> np.ndarray:
    """(n, 4) mouth params -> (n, 4) selection keys: opening, width, round, close."""
    p = np.atleast_2d(np.asarray(params, np.float32))
    opening = p[:, JAW] * (1.0 - p[:, CLOSE])
    return np.stack([opening, p[:, WIDTH], p[:, ROUND], p[:, CLOSE]], axis=1)


class MouthSelector:
    """Picks crops from a bank for a stream of target mouths."""

    def __init__(self, bank: MouthBank) -> None:
        self.bank = bank
        self.keys = keys(bank.params)
        src = bank.source
        nxt = np.full(len(bank), -1, np.int64)
        follows = np.flatnonzero(np.diff(src) == 1)
        nxt[follows] = follows + 1
        self.next_of = nxt  # crop that shows the following source frame, or -1
        self.bound = float(bank.step)
        self.previous = -1

    def reset(self) -> None:
        self.previous = -1

    def match(self, mouth: np.ndarray) -> np.ndarray:
        """(K,) cost of every crop for one target mouth."""
        d = self.keys - keys(mouth)[0]
        return (d * d) @ WEIGHTS

    def transitions(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """(len(a), len(b)) cost of moving from each crop in a to each crop in b; inf where it would pop."""
        a = np.asarray(a, np.int64).reshape(-1)
        b = np.asarray(b, np.int64).reshape(-1)
        f = self.bank.features
        dist = np.sqrt(((f[a][:, None, :] - f[b][None, :, :]) ** 2).sum(axis=-1))
        cost = JUMP_COST + APPEARANCE_COST * (dist / max(self.bound, 1e-6)) ** 2
        cost = np.where(dist > self.bound, np.inf, cost)
        cost = np.where(a[:, None] == b[None, :], HOLD_COST, cost)
        return np.where(self.next_of[a][:, None] == b[None, :], 0.0, cost)

    def transition(self, a: int) -> np.ndarray:
        """(K,) cost of moving from crop a to every crop."""
        return self.transitions(np.array([a]), np.arange(len(self.bank)))[0]

    def step(self, mouth: np.ndarray) -> int:
        """The crop for this frame, given the one chosen for the frame before."""
        cost = self.match(mouth)
        if self.previous >= 0:
            cost = cost + self.transition(self.previous)
        k = int(np.argmin(cost))
        self.previous = k
        return k

    def plan(self, params: np.ndarray, start: int = -1) -> np.ndarray:
        """Crops for every row of `params` (n, 4): the cheapest path (Viterbi over CANDIDATES per frame).

        `start` is the crop shown just before the first row (-1: none). Every step of the
        returned path keeps under the pop bound.
        """
        n = len(params)
        if n == 0:
            return np.zeros(0, np.int64)
        k = min(CANDIDATES, len(self.bank))
        cands: list[np.ndarray] = []
        costs: list[np.ndarray] = []
        backs: list[np.ndarray] = []
        prev_c = np.array([start]) if start >= 0 else None
        prev_total = np.zeros(1)
        for t in range(n):
            m = self.match(params[t])
            c = np.argpartition(m, k - 1)[:k]
            if prev_c is not None:
                # The best few paths so far may continue naturally or hold: keep those crops reachable.
                lead = prev_c[np.argsort(prev_total)[:KEEP_PATHS]]
                nxt = self.next_of[lead]
                c = np.unique(np.concatenate([c, lead, nxt[nxt >= 0]]))
                total = prev_total[:, None] + self.transitions(prev_c, c)  # (P, C)
                back = np.argmin(total, axis=0)
                best = total[back, np.arange(len(c))]
            else:
                back = np.zeros(len(c), np.int64)
                best = np.zeros(len(c))
            best = best + m[c]
            cands.append(c)
            costs.append(best)
            backs.append(back)
            prev_c, prev_total = c, best
        path = np.empty(n, np.int64)
        j = int(np.argmin(costs[-1]))
        for t in range(n - 1, -1, -1):
            path[t] = cands[t][j]
            j = int(backs[t][j])
        return path
