"""The program time model: 48 kHz audio samples are the master clock; video frames sit on it.

Frame n of a stream at `fps` starts at sample n * PROGRAM_RATE / fps. Every pts is derived
from that counter, never from wall time.
"""

from __future__ import annotations

PROGRAM_RATE = 48_000
"""Program audio sample rate (Hz); mono int16."""

SUPPORTED_FPS = (25, 30)


def samples_per_frame(fps: int) -> int:
    """Audio samples per video frame (1920 at 25 fps, 1600 at 30 fps)."""
    if fps not in SUPPORTED_FPS:
        raise ValueError(f"fps must be one of {SUPPORTED_FPS}, got {fps}")
    return PROGRAM_RATE // fps


def frames_for_samples(n_samples: int, fps: int) -> int:
    """Number of whole video frames needed to cover n_samples of audio (rounded up)."""
    spf = samples_per_frame(fps)
    return -(-n_samples // spf)


def seconds(n_samples: int) -> float:
    """Program seconds for a sample count."""
    return n_samples / PROGRAM_RATE
