"""Keeping real time on a busy machine: when to render a new picture and when to repeat the last.

The air loop asks `RenderGovernor.decide(n, frames_behind)` before every frame. Behind the clock,
it repeats the last picture (the audio and the timeline go on untouched), so the programme keeps
wall-clock pace. Under sustained pressure it degrades in steps an operator can see — level 1 turns
the idle motion off, level 2 renders every other picture, level 3 every fourth — and it steps back
down once the frames have been on time for a while.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

LEVELS = ("full", "motion off", "half picture rate", "quarter picture rate")
"""Degradation levels, by index."""
RENDER_EVERY = (1, 1, 2, 4)
"""At each level, render one picture in this many frames (the others repeat the last one)."""


@dataclass(frozen=True)
class GovernorStats:
    """What the governor did: pictures repeated to keep time, the current level and lateness."""

    repeated_frames: int
    level: int
    level_name: str
    behind_seconds: float
    level_changes: int


class RenderGovernor:
    """Decides per frame whether to render; steps its level up under pressure and down after calm.

    `window` frames are looked at: more than `up_share` of them late -> one level up; `calm`
    frames in a row on time -> one level down.
    """

    def __init__(self, fps: int, *, window: int | None = None, up_share: float = 0.2, calm_s: float = 10.0) -> None:
        self.fps = fps
        self.window = window or 2 * fps
        self.up_share = up_share
        self.calm_frames = round(calm_s * fps)
        self.level = 0
        self.repeated_frames = 0
        self.level_changes = 0
        self.behind_seconds = 0.0
        self._late: deque[bool] = deque(maxlen=self.window)
        self._on_time_run = 0

    def decide(self, n: int, frames_behind: int) -> bool:
        """True: render frame n. False: repeat the last picture for it."""
        late = frames_behind >= 1
        self.behind_seconds = frames_behind / self.fps
        self._late.append(late)
        self._on_time_run = 0 if late else self._on_time_run + 1
        if len(self._late) == self.window and sum(self._late) > self.up_share * self.window and self.level < 3:
            self._set_level(self.level + 1)
        elif self._on_time_run >= self.calm_frames and self.level > 0:
            self._set_level(self.level - 1)
        render = not late and n % RENDER_EVERY[self.level] == 0
        if not render:
            self.repeated_frames += 1
        return render

    def _set_level(self, level: int) -> None:
        self.level = level
        self.level_changes += 1
        self._late.clear()
        self._on_time_run = 0

    @property
    def motion_allowed(self) -> bool:
        return self.level == 0

    def stats(self) -> GovernorStats:
        return GovernorStats(
            self.repeated_frames, self.level, LEVELS[self.level], self.behind_seconds, self.level_changes
        )
