"""Idle motion: breathing and a slight, never-repeating sway of head and shoulders.

Each component is a sum of slow sines with seeded random phases, so the motion is smooth,
deterministic for a seed, and does not loop visibly. Amplitudes are in face heights and
degrees so they look the same at any output size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BREATH_HZ = 0.23  # about 14 breaths a minute


@dataclass(frozen=True)
class Pose:
    """Offsets of the anchor layer at one instant."""

    dx: float  # in face heights
    dy: float  # in face heights
    angle: float  # degrees, positive = counter-clockwise
    breath: float  # vertical stretch of the torso, fraction (e.g. 0.003)


class IdleMotion:
    """Pose of the presenter at program time t (seconds)."""

    def __init__(self, seed: int = 7, amplitude: float = 1.0) -> None:
        rng = np.random.default_rng(seed)
        self.amplitude = amplitude
        self._freqs = rng.uniform(0.03, 0.21, (3, 3))  # 3 components x 3 sines
        self._phases = rng.uniform(0, 2 * np.pi, (3, 3))
        self._weights = np.array([0.55, 0.3, 0.15])
        self._breath_phase = float(rng.uniform(0, 2 * np.pi))

    def pose(self, t: float) -> Pose:
        if self.amplitude == 0:
            return Pose(0.0, 0.0, 0.0, 0.0)
        waves = np.sin(2 * np.pi * self._freqs * t + self._phases) @ self._weights  # each in -1..1
        a = self.amplitude
        breath = 0.5 * (1 - np.cos(2 * np.pi * BREATH_HZ * t + self._breath_phase))
        return Pose(
            dx=a * 0.010 * float(waves[0]),
            dy=a * 0.004 * float(waves[1]),
            angle=a * 0.7 * float(waves[2]),
            breath=a * 0.004 * float(breath),
        )
