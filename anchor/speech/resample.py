"""Resampling speech to the program rate (48 kHz), with libsoxr (python-soxr): fast to import and to run."""

from __future__ import annotations

import numpy as np
import soxr

from anchor.timebase import PROGRAM_RATE


def to_program_rate(x: np.ndarray, rate: int) -> np.ndarray:
    """Mono float audio at `rate` -> float64 at 48 kHz, ceil(len * 48000 / rate) samples long."""
    return resample(x, rate, PROGRAM_RATE)


def resample(x: np.ndarray, rate: int, to: int) -> np.ndarray:
    """Mono float audio from `rate` to `to` Hz (float64), ceil(len * to / rate) samples long."""
    n_out = -(-x.size * to // rate)
    if rate == to or x.size == 0:
        return np.asarray(x, np.float64)[:n_out]
    y = soxr.resample(np.asarray(x, np.float64), rate, to, quality="HQ")
    if y.size < n_out:
        y = np.concatenate([y, np.zeros(n_out - y.size)])
    return y[:n_out]
