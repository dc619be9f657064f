"""Resampling speech to the program rate (48 kHz), with libsoxr (python-soxr): fast to import and to run."""

from __future__ import annotations

import numpy as np
import soxr

from anchor.timebase import PROGRAM_RATE


def to_program_rate(x: np.ndarray, rate: int) -> np.ndarray:
    """Mono float audio at `rate` -> float64 at 48 kHz, ceil(len * 48000 / rate) samples long."""
    n_out = -(-x.size * PROGRAM_RATE // rate)
    if rate == PROGRAM_RATE or x.size == 0:
        return np.asarray(x, np.float64)[:n_out]
    y = soxr.resample(np.asarray(x, np.float64), rate, PROGRAM_RATE, quality="HQ")
    if y.size < n_out:
        y = np.concatenate([y, np.zeros(n_out - y.size)])
    return y[:n_out]
