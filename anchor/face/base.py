"""The renderer interface: what every avatar kind (photo, video) gives the studio.

A renderer turns mouth parameters (a MouthTrack row) at a program time into the anchor layer:
an RGB image with an alpha mask at a fixed layer size, plus the rectangles that changed since
the rest frame. The studio, the program pipeline, the jobs and the live channel use only this
interface, never a concrete renderer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from anchor.face.mesh import Rect

__all__ = ["AnchorFrame", "AnchorRenderer", "Rect"]


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
