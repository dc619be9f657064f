"""Silence keeps the mouth shut: a voice-activity gate on the audio model's mouth.

Three cues decide whether a video frame is voiced:
- its level: the loudest 10 ms hop from the frame's start to the end of the model's look-ahead
  after it (dBFS), against a running noise floor (the lowest such level so far, rising slowly,
  so it follows a noise that grows) and an absolute floor; hops of digital silence say nothing
  about the noise;
- the model's own silence class (its probability of "sil"), which tells breath, rumble and
  lip noise from speech better than loudness alone;
- once speech has been heard, its speech-band level (over HIGH_PASS_HZ): a frame must come within
  PEAK_RANGE_DB of the voice's loudest (a peak falling PEAK_FALL_DB_PER_S). Breath rumble, wind
  and handling noise can be as loud as the voice over the whole band, and the model takes them
  for speech; they are far under it in the speech band.
A frame opens the gate when all say speech (ON_DB over the floor, P(sil) under SIL_ON, within
the range of the peak); the gate stays open until one says silence (under OFF_DB, P(sil) over
SIL_OFF, or out of the peak's range) for longer than HANG_S. The gate's value ramps up over
ATTACK_S and down over RELEASE_S and scales all four mouth parameters, so pauses give the
relaxed closed mouth and onsets/offsets never pop. Because the level reads the look-ahead, the
ramp starts before the sound, as a real mouth does.

The gate is causal frame by frame (no more look-ahead than the model's), so streaming inference
(`stream.MouthStream`) gates exactly as whole-clip inference does.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfilt

from anchor.lipsync.model.features import PROGRAM_HOP
from anchor.timebase import PROGRAM_RATE, samples_per_frame

ON_DB = 9.0
OFF_DB = 6.0
ABSOLUTE_FLOOR_DB = -60.0
FLOOR_RISE_DB_PER_S = 3.75
PEAK_RANGE_DB = 25.0
PEAK_FALL_DB_PER_S = 2.0
SIL_ON = 0.5
SIL_OFF = 0.7
HANG_S = 0.08  # longer bridges clean speech's stop closures (0.28: held-out espeak r 0.774 -> 0.834) but keeps the mouth moving into real silences (measured before the speech-band rule: GRID still 0.969 -> 0.966, re-detected video 0.920)
ATTACK_S = 0.08
RELEASE_S = 0.12
_DIGITAL_SILENCE_DB = ABSOLUTE_FLOOR_DB - 10.0


HIGH_PASS_HZ = 200.0
"""The speech band starts here (2nd-order Butterworth high-pass): breath rumble, wind and handling
noise live below it. The GRID recordings' pauses hold such noise at -20 dBFS (0-100 Hz), as loud
as the speech and taken by the model for speech; in the speech band it is 35 dB under it."""
_HIGH_PASS = butter(2, HIGH_PASS_HZ, "highpass", fs=PROGRAM_RATE, output="sos")


class LevelMeter:
    """Levels (dBFS) of consecutive 10 ms hops (480 program samples) of a stream of int16 audio:
    column 0 the whole band, column 1 the speech band (over HIGH_PASS_HZ). The filter's state
    carries across pushes, so a clip pushed in pieces gives exactly the levels of the whole clip."""

    def __init__(self) -> None:
        self._zi = np.zeros((_HIGH_PASS.shape[0], 2))
        self._tail = np.zeros((0, 2))  # samples (raw, filtered) not yet a whole hop

    def push(self, pcm: np.ndarray) -> np.ndarray:
        """Add audio; return the (n, 2) levels of the hops it completed."""
        x = np.asarray(pcm, np.float64) / 32768.0
        y, self._zi = sosfilt(_HIGH_PASS, x, zi=self._zi)
        both = np.concatenate([self._tail, np.stack([x, y], axis=1)])
        whole = both.shape[0] - both.shape[0] % PROGRAM_HOP
        self._tail = both[whole:]
        return _levels(both[:whole])

    def flush(self) -> np.ndarray:
        """The levels of the last part-hop, zero-padded (none when the audio ended on a hop)."""
        if not self._tail.shape[0]:
            return np.zeros((0, 2))
        x = np.zeros((PROGRAM_HOP, 2))
        x[: self._tail.shape[0]] = self._tail
        self._tail = self._tail[:0]
        return _levels(x)


def _levels(x: np.ndarray) -> np.ndarray:
    return 10.0 * np.log10((x.reshape(-1, PROGRAM_HOP, 2) ** 2).mean(axis=1) + 1e-10)


def hop_levels(pcm: np.ndarray) -> np.ndarray:
    """(n, 2) levels (dBFS: whole band, speech band) of each 10 ms hop of int16 audio; the tail is
    zero-padded."""
    meter = LevelMeter()
    return np.concatenate([meter.push(pcm), meter.flush()])


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
    plus the look-ahead, per column of `hops` ((n,) or (n, bands)). `hops[i]` is hop `hop0 + i`;
    hops past the end count as silence."""
    a, b, c = (x - hop0 for x in frame_hop_spans(first, last, fps, lookahead))
    need = int(c.max()) if c.size else 0
    if hops.shape[0] < need:
        hops = np.concatenate([hops, np.full((need - hops.shape[0], *hops.shape[1:]), -100.0)])
    own = np.array([hops[i:j].max(axis=0) for i, j in zip(a, b)])
    ahead = np.array([hops[i:j].max(axis=0) for i, j in zip(a, c)])
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
        self._peak: float | None = None  # speech-band level of the speech heard
        self._fall = PEAK_FALL_DB_PER_S / fps
        self._active = False
        self._quiet = 0
        self._value = 0.0

    def step(self, own_db: float, ahead_db: float, p_silence: float, band: tuple[float, float] | None = None) -> float:
        """The gate value (0 shut .. 1 open) for the next frame; `band` is the frame's (own, ahead)
        speech-band level, which must come within PEAK_RANGE_DB of the speech heard so far."""
        if ahead_db >= _DIGITAL_SILENCE_DB:
            if self._floor is None:  # the first sound: the frame's own level, not what comes after it
                self._floor = own_db if own_db >= _DIGITAL_SILENCE_DB else ahead_db
            self._floor = ahead_db if ahead_db < self._floor else self._floor + self._rise
        floor = ABSOLUTE_FLOOR_DB if self._floor is None else self._floor
        starts = ahead_db > max(floor + ON_DB, ABSOLUTE_FLOOR_DB) and p_silence < SIL_ON
        holds = ahead_db > max(floor + OFF_DB, ABSOLUTE_FLOOR_DB) and p_silence < SIL_OFF
        if band is not None:
            if self._active:  # the speech-band loudness of the speech heard, falling slowly
                self._peak = band[0] if self._peak is None else max(band[0], self._peak - self._fall)
            elif self._peak is not None:
                self._peak -= self._fall
            if self._peak is not None and band[1] <= self._peak - PEAK_RANGE_DB:
                starts = holds = False
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
        """Gate values for consecutive frames; levels (n,) (whole band) or (n, 2) (whole, speech band)."""
        own, ahead = np.asarray(own_db, np.float64), np.asarray(ahead_db, np.float64)
        if own.ndim == 1:
            return np.array([self.step(o, a, float(p)) for o, a, p in zip(own, ahead, p_silence)], np.float32)
        return np.array(
            [self.step(o[0], a[0], float(p), (o[1], a[1])) for o, a, p in zip(own, ahead, p_silence)], np.float32
        )


def gate_for_clip(pcm: np.ndarray, p_silence: np.ndarray, fps: int, lookahead: int) -> np.ndarray:
    """Gate values for every frame of a whole clip (what a stream of the same audio gives)."""
    n = p_silence.shape[0]
    own, ahead = frame_levels(hop_levels(pcm), 0, n, fps, lookahead)
    return SilenceGate(fps).run(own, ahead, p_silence)
