"""Clocks for the sinks: the only place that looks at wall time (see the time model).

`SystemClock` is the real one; `VirtualClock` lets tests run hours of program time in
seconds. Both expose the `Clock` protocol: `now()` in seconds and `sleep_until(t)` for an
absolute deadline, so a schedule built on them never accumulates sleep error.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """A monotonic time source that can sleep until an absolute time (seconds)."""

    def now(self) -> float:
        """Current time in seconds (arbitrary origin, never goes backwards)."""
        ...

    def sleep_until(self, t: float) -> None:
        """Return once `now() >= t` (at once if `t` has passed)."""
        ...


class SystemClock:
    """`time.monotonic`, sleeping towards an absolute deadline (no drift accumulates)."""

    def now(self) -> float:
        return time.monotonic()

    def sleep_until(self, t: float) -> None:
        # time.sleep may wake a little early on some platforms: loop on the remaining delta.
        while True:
            remaining = t - time.monotonic()
            if remaining <= 0:
                return
            time.sleep(remaining)


class VirtualClock:
    """A clock that moves only when told: `sleep_until` jumps to the deadline and returns.

    Thread-safe; time never goes backwards (`sleep_until` of a past time is a no-op).
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def sleep_until(self, t: float) -> None:
        with self._lock:
            self._now = max(self._now, float(t))

    def advance(self, seconds: float) -> None:
        """Move time forward by `seconds` (>= 0), e.g. to simulate slow work."""
        if seconds < 0:
            raise ValueError(f"a clock cannot go backwards, got advance({seconds})")
        with self._lock:
            self._now += seconds
