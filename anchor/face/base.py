"""The renderer interface: what every avatar kind (photo, video) gives the studio.

A renderer turns mouth parameters (a MouthTrack row) at a program time into the anchor layer:
an RGB image with an alpha mask at a fixed layer size, plus the rectangles that changed since
the rest frame. The studio, the program pipeline, the jobs and the live channel use only this
interface, never a concrete renderer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["AnchorFrame", "AnchorRenderer", "MotionControl", "MouthPlanning", "Rect"]


@dataclass(frozen=True)
class Rect:
    """Axis-aligned pixel rectangle [x0, x1) x [y0, y1)."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    def clip(self, width: int, height: int) -> Rect:
        return Rect(max(0, self.x0), max(0, self.y0), min(width, self.x1), min(height, self.y1))


@dataclass(frozen=True)
class AnchorFrame:
    """The anchor layer for one frame: RGB + alpha at layer size; only `dirty` rects changed.

    The arrays may be buffers the renderer reuses on its next call: a caller that keeps a frame
    beyond that copies it (or asks the renderer for `rest()`, which is always its own copy).
    """

    image: np.ndarray  # (h, w, 3) uint8
    alpha: np.ndarray  # (h, w) uint8
    dirty: tuple[Rect, ...]

    def copy(self) -> AnchorFrame:
        """A frame that owns its pixels."""
        return AnchorFrame(self.image.copy(), self.alpha.copy(), self.dirty)


@runtime_checkable
class MotionControl(Protocol):
    """A renderer whose idle motion (sway, breathing) can be turned down at run time, e.g. by a live
    channel that must save CPU to keep real time."""

    def set_motion(self, amplitude: float) -> None:
        """Idle motion amplitude from now on (0 = none; the configured amplitude restores it)."""
        ...


@runtime_checkable
class MouthPlanning(Protocol):
    """A renderer that renders better when told the mouth track ahead (the video renderer then picks
    its real mouth crops by a search over the whole track instead of frame by frame)."""

    def plan(self, params: np.ndarray, t0: float, fps: float) -> None:
        """The mouth rows `params` will be rendered from program time `t0` on, one per frame at `fps`."""
        ...


class AnchorRenderer(Protocol):
    """Renders one avatar: `render(mouth, t)` per program frame, `rest()` once for the studio's base."""

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the anchor layer."""
        ...

    def render(self, mouth: np.ndarray, t: float) -> AnchorFrame:
        """The layer with mouth parameters `mouth` (jaw, width, round, close) at program time t (s)."""
        ...

    def rest(self) -> AnchorFrame:
        """The layer at rest (closed mouth, eyes open), as a frame the caller owns."""
        ...
