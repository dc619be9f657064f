"""FramePacer: release frame n at start + n / fps on an absolute schedule.

A slow iteration never shifts later deadlines (each deadline is computed from the start,
not from the previous sleep). When the caller falls more than a frame period behind,
the pacer counts the frame as late and `behind(n)` says how many frames to drop so the
picture catches up; audio is never stretched (that is the caller's contract).
"""

from __future__ import annotations

import math

from streaming.clock import Clock


class FramePacer:
    """Pace frame indices against a `Clock`. Counters: frames_sent, late_frames, dropped_frames.

    The schedule starts at the first `wait_for`/`behind` call (frame n is due at once) or
    at `start_at(t, n)`.
    """

    def __init__(self, fps: int, clock: Clock) -> None:
        if not isinstance(fps, int) or fps <= 0:
            raise ValueError(f"fps must be a positive int, got {fps!r}")
        self.fps = fps
        self.clock = clock
        self._origin: float | None = None  # time at which frame 0 is due
        self.frames_sent = 0
        self.late_frames = 0
        self.dropped_frames = 0
        self.max_lateness = 0.0  # seconds, largest lateness seen by wait_for

    def start_at(self, t: float, n: int = 0) -> None:
        """Anchor the schedule: frame `n` is due at time `t`."""
        self._origin = t - n / self.fps

    def deadline(self, n: int) -> float:
        """When frame `n` is due (anchors the schedule at now if it was not yet)."""
        if self._origin is None:
            self.start_at(self.clock.now(), n)
        assert self._origin is not None
        return self._origin + n / self.fps

    def wait_for(self, n: int) -> float:
        """Sleep until frame `n` is due; return how late the caller was (0 if on time).

        Lateness above one frame period counts as a late frame.
        """
        due = self.deadline(n)
        lateness = self.clock.now() - due
        if lateness < 0:
            self.clock.sleep_until(due)
            lateness = 0.0
        elif lateness > 1 / self.fps:
            self.late_frames += 1
        self.max_lateness = max(self.max_lateness, lateness)
        self.frames_sent += 1
        return lateness

    def behind(self, n: int) -> int:
        """How many frames, starting at `n`, the caller should drop to be on time again.

        0 while frame `n` is less than a whole period late.
        """
        lateness = self.clock.now() - self.deadline(n)
        return max(0, math.floor(lateness * self.fps + 1e-9))

    def drop(self, count: int) -> None:
        """Record that the caller dropped `count` frames."""
        if count < 0:
            raise ValueError(f"cannot drop a negative number of frames, got {count}")
        self.dropped_frames += count
