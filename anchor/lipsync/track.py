"""MouthTrack: the per-video-frame mouth parameters every renderer consumes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

JAW, WIDTH, ROUND, CLOSE = range(4)
PARAM_NAMES = ("jaw", "width", "round", "close")
"""Columns of MouthTrack.params:

- jaw:   jaw opening, 0 (closed) .. 1 (wide open vowel)
- width: lip spread, -1 (narrow) .. 0 (neutral) .. 1 (wide spread, as in "ee")
- round: lip rounding/protrusion, 0 .. 1 (as in "oo")
- close: lip closure/compression, 0 .. 1 (1 = lips pressed together, as in p b m)
"""


@dataclass(frozen=True)
class MouthTrack:
    """Mouth parameters for frames 0..n-1 of a stream at `fps` (frame n starts at sample n*48000/fps).

    `visemes` holds the dominant viseme class of each frame (see lipsync.visemes.VISEMES).
    """

    fps: int
    params: np.ndarray  # (n_frames, 4) float32
    visemes: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.params.ndim != 2 or self.params.shape[1] != len(PARAM_NAMES):
            raise ValueError(f"params must be (n, {len(PARAM_NAMES)}), got {self.params.shape}")
        if len(self.visemes) != self.params.shape[0]:
            raise ValueError("one viseme label per frame is required")

    def __len__(self) -> int:
        return int(self.params.shape[0])

    @property
    def opening(self) -> np.ndarray:
        """Planned visible lip gap per frame, 0..1: jaw opening reduced by closure."""
        return self.params[:, JAW] * (1.0 - self.params[:, CLOSE])

    @classmethod
    def silent(cls, n_frames: int, fps: int) -> MouthTrack:
        """A relaxed closed mouth for n_frames."""
        return cls(fps, np.zeros((n_frames, 4), np.float32), ("sil",) * n_frames)
