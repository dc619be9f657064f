"""Data that flows to sinks carries its own timestamp (pts in an explicit time base)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np


@dataclass(frozen=True)
class AudioChunk:
    """Mono int16 PCM; `pts` counts samples at `sample_rate` (time base 1/sample_rate)."""

    pts: int
    samples: np.ndarray  # (n,) int16
    sample_rate: int = 48_000

    @property
    def time_base(self) -> Fraction:
        return Fraction(1, self.sample_rate)


@dataclass(frozen=True)
class VideoFrame:
    """An RGB picture; `pts` is the frame index at `fps` (time base 1/fps)."""

    pts: int
    image: np.ndarray  # (H, W, 3) uint8 RGB
    fps: int = 25

    @property
    def time_base(self) -> Fraction:
        return Fraction(1, self.fps)
