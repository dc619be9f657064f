"""Natural blinks at irregular intervals, deterministic for a seed."""

from __future__ import annotations

import bisect

import numpy as np

CLOSE_S = 0.09  # lid coming down
HOLD_S = 0.04
OPEN_S = 0.16  # lid going up is slower


class BlinkSchedule:
    """Eyelid closure (0 open .. 1 shut) for any program time; intervals drawn from a seeded RNG.

    Intervals follow a gamma distribution clipped to [min_s, max_s]; one in six blinks is a
    quick double blink, as people do.
    """

    def __init__(self, min_s: float = 2.0, max_s: float = 6.0, seed: int = 7) -> None:
        if not 0.3 <= min_s <= max_s:
            raise ValueError("blink interval needs 0.3 <= min_s <= max_s")
        self._rng = np.random.default_rng(seed)
        self._min, self._max = min_s, max_s
        self._starts: list[float] = []
        self._next = float(self._rng.uniform(0.5, min_s + 0.5))

    def _extend(self, t: float) -> None:
        while self._next <= t + 1.0:
            self._starts.append(self._next)
            if self._rng.random() < 1 / 6:
                self._starts.append(self._next + CLOSE_S + HOLD_S + OPEN_S + 0.08)
            mean = (self._min + self._max) / 2
            interval = float(np.clip(self._rng.gamma(4.0, mean / 4.0), self._min, self._max))
            self._next = self._starts[-1] + interval

    def closure(self, t: float) -> float:
        """Lid closure at program time t (seconds)."""
        self._extend(t)
        k = bisect.bisect_right(self._starts, t)
        if k:
            for s in (self._starts[k - 1],):
                dt = t - s
                if dt < CLOSE_S:
                    return float(np.sin(0.5 * np.pi * dt / CLOSE_S))
                if dt < CLOSE_S + HOLD_S:
                    return 1.0
                if dt < CLOSE_S + HOLD_S + OPEN_S:
                    return float(np.cos(0.5 * np.pi * (dt - CLOSE_S - HOLD_S) / OPEN_S))
                return 0.0
        return 0.0

    def blink_starts(self, until: float) -> list[float]:
        """Start times of the blinks before `until` (for tests and inspection)."""
        self._extend(until)
        return [s for s in self._starts if s < until]
