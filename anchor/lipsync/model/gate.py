"""Silence keeps the mouth shut: a voice-activity gate on the audio model's mouth.

Two cues decide whether a video frame is voiced:
- its level: the loudest 10 ms hop from the frame's start to the end of the model's look-ahead
  after it (dBFS), against a running noise floor (the lowest such level so far, rising slowly,
  so it follows a noise that grows) and an absolute floor; hops of digital silence say nothing
  about the noise;
- the model's own silence class (its probability of "sil"), which tells breath, rumble and
  lip noise from speech better than loudness alone.
A frame opens the gate when both say speech (ON_DB over the floor, P(sil) under SIL_ON); the gate
stays open until either says silence (under OFF_DB, or P(sil) over SIL_OFF) for longer than
HANG_S. The gate's value ramps up over ATTACK_S and down over RELEASE_S and scales all four mouth
parameters, so pauses give the relaxed closed mouth and onsets/offsets never pop. Because the
level reads the look-ahead, the ramp starts before the sound, as a real mouth does.

The gate is causal frame by frame (no more look-ahead than the model's), so streaming inference
(`stream.MouthStream`) gates exactly as whole-clip inference does.
"""

from __future__ import annotations

import numpy as np

from anchor.lipsync.model.features import PROGRAM_HOP
from anchor.timebase import samples_per_frame

ON_DB = 9.0
OFF_DB = 6.0
ABSOLUTE_FLOOR_DB = -60.0
FLOOR_RISE_DB_PER_S = 3.75
SIL_ON = 0.5
SIL_OFF = 0.7
HANG_S = 0.08  # longer bridges clean speech's stop closures (0.28: held-out espeak r 0.774 -> 0.834) but keeps the mouth moving into real silences (GRID still 0.969 -> 0.966, re-detected video 0.920)
ATTACK_S = 0.08
RELEASE_S = 0.12
_DIGITAL_SILENCE_DB = ABSOLUTE_FLOOR_DB - 10.0


def hop_levels(pcm: np.ndarray) -> np.ndarray:
    """Level (dBFS) of each 10 ms hop (480 program samples) of int16 audio; the tail is zero-padded."""
    n = -(-pcm.size // PROGRAM_HOP)
    x = np.zeros(n * PROGRAM_HOP)
    x[: pcm.size] = pcm.astype(np.float64) / 32768.0
    return 10.0 * np.log10((x.reshape(n, PROGRAM_HOP) ** 2).mean(axis=1) + 1e-10)


def frame_hop_spans(first: int, last: int, fps: int, lookahead: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For frames first..last-1: the hop index range [a, b) of the frame itself and the end c of
    the frame plus `lookahead` hops (hops whose start lies in the span)."""
    spf = samples_per_frame(fps)
    n = np.arange(first, last)
    a = -(-(n * spf) // PROGRAM_HOP)
    b = -(-((n + 1) * spf) // PROGRAM_HOP)
    c = -(-((n + 1) * spf + lookahead * PROGRAM_HOP) // PROGRAM_HOP)
    return a, np.maximum(b, a + 1), np.maximum(c, a + 1)


def first_hop(frame: int, fps: int) -> int:
    """The first hop the level of `frame` (and of every later frame) reads."""
    return int(frame_hop_spans(frame, frame + 1, fps, 0)[0][0])


def frame_levels(
    hops: np.ndarray, first: int, last: int, fps: int, lookahead: int, hop0: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(own, ahead) levels of frames first..last-1: the loudest hop of the frame, and of the frame
    plus the look-ahead. `hops[i]` is hop `hop0 + i`; hops past the end count as silence."""
    a, b, c = (x - hop0 for x in frame_hop_spans(first, last, fps, lookahead))
    need = int(c.max()) if c.size else 0
    if hops.size < need:
        hops = np.concatenate([hops, np.full(need - hops.size, -100.0)])
    own = np.array([hops[i:j].max() for i, j in zip(a, b)])
    ahead = np.array([hops[i:j].max() for i, j in zip(a, c)])
    return own, ahead


class SilenceGate:
    """The gate's state for one stream of frames at `fps`; `step` frame by frame, or `run` a clip."""

    def __init__(self, fps: int) -> None:
        self.fps = fps
        self._rise = FLOOR_RISE_DB_PER_S / fps
        self._hang = max(1, round(HANG_S * fps))
        self._up = 1.0 / max(1, round(ATTACK_S * fps))
        self._down = 1.0 / max(1, round(RELEASE_S * fps))
        self._floor: float | None = None
        self._active = False
        self._quiet = 0
        self._value = 0.0

    def step(self, own_db: float, ahead_db: float, p_silence: float) -> float:
        """The gate value (0 shut .. 1 open) for the next frame."""
        if ahead_db >= _DIGITAL_SILENCE_DB:
            if self._floor is None:  # the first sound: the frame's own level, not what comes after it
                self._floor = own_db if own_db >= _DIGITAL_SILENCE_DB else ahead_db
            self._floor = ahead_db if ahead_db < self._floor else self._floor + self._rise
        floor = ABSOLUTE_FLOOR_DB if self._floor is None else self._floor
        starts = ahead_db > max(floor + ON_DB, ABSOLUTE_FLOOR_DB) and p_silence < SIL_ON
        holds = ahead_db > max(floor + OFF_DB, ABSOLUTE_FLOOR_DB) and p_silence < SIL_OFF
        if starts or (self._active and holds):
            self._active, self._quiet = True, 0
        elif self._active:
            self._quiet += 1
            if self._quiet > self._hang:
                self._active = False
        if self._active:
            self._value = min(1.0, self._value + self._up)
        else:
            self._value = max(0.0, self._value - self._down)
        return self._value

    def run(self, own_db: np.ndarray, ahead_db: np.ndarray, p_silence: np.ndarray) -> np.ndarray:
        """Gate values for consecutive frames."""
        return np.array(
            [self.step(float(o), float(a), float(p)) for o, a, p in zip(own_db, ahead_db, p_silence)], np.float32
        )


def gate_for_clip(pcm: np.ndarray, p_silence: np.ndarray, fps: int, lookahead: int) -> np.ndarray:
    """Gate values for every frame of a whole clip (what a stream of the same audio gives)."""
    n = p_silence.shape[0]
    own, ahead = frame_levels(hop_levels(pcm), 0, n, fps, lookahead)
    return SilenceGate(fps).run(own, ahead, p_silence)
