"""Timed phonemes -> MouthTrack with coarticulation.

Each viseme segment pulls every mouth parameter towards its target with a dominance that
falls off in time (Cohen & Massaro's dominance model); the blend is the dominance-weighted
mean. Dominance reaches further ahead of a segment than behind it, so the mouth anticipates
upcoming shapes. Vowels dominate the jaw, so consonants ride on their neighbours' opening,
and open vowels open. Bilabials (p b m) then get full lip closure forced over their core.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from anchor.lipsync.track import CLOSE, JAW, MouthTrack
from anchor.lipsync.visemes import SILENCE, VISEMES, visemes_for
from anchor.speech.base import PhonemeEvent
from anchor.timebase import PROGRAM_RATE, frames_for_samples, samples_per_frame

STEP = 240  # internal resolution: 200 Hz at 48 kHz
ANTICIPATE_S = 0.04  # dominance reach before a segment (fitted with the jaw targets on a real mouth)
CARRY_S = 0.045  # dominance reach after a segment
CLOSURE_RAMP_S = 0.02
PEAK_KEEP = 0.8
# Lip closure is a quick gesture: its influence reaches less far than the jaw's or the lips' shape.
REACH = np.array([1.0, 1.0, 1.0, 0.35])


def _segments(phonemes: Sequence[PhonemeEvent]) -> list[tuple[str, int, int]]:
    """Split each phoneme event into its viseme segments (viseme, start, end) in samples."""
    segs: list[tuple[str, int, int]] = []
    for ev in phonemes:
        names = visemes_for(ev.phoneme)
        weights = np.array([1.0 if VISEMES[n].vowel or len(names) == 1 else 0.6 for n in names])
        edges = ev.start + np.concatenate([[0.0], np.cumsum(weights) / weights.sum()]) * (ev.end - ev.start)
        for n, a, b in zip(names, edges[:-1], edges[1:]):
            if b > a:
                segs.append((n, int(a), int(b)))
    return segs


def mouth_track_from_phonemes(phonemes: Sequence[PhonemeEvent], n_samples: int, fps: int) -> MouthTrack:
    """A MouthTrack covering n_samples of program audio from its phoneme timings."""
    n_frames = frames_for_samples(n_samples, fps)
    if n_frames == 0:
        return MouthTrack.silent(0, fps)
    segs = _segments(phonemes)
    # Silence fills the gaps, so long pauses relax the mouth.
    filled: list[tuple[str, int, int]] = []
    cursor = 0
    for name, a, b in sorted(segs, key=lambda s: s[1]):
        if a > cursor:
            filled.append((SILENCE, cursor, a))
        filled.append((name, a, b))
        cursor = max(cursor, b)
    total = n_frames * samples_per_frame(fps)
    if cursor < total:
        filled.append((SILENCE, cursor, total))

    t = (np.arange(0, total + STEP, STEP, dtype=np.float64)) / PROGRAM_RATE
    num = np.zeros((len(t), 4))
    den = np.full((len(t), 4), 1e-9)
    for name, a, b in filled:
        v = VISEMES[name]
        s, e = a / PROGRAM_RATE, b / PROGRAM_RATE
        # Distance outside the segment, scaled by the reach on that side; 0 inside.
        lo, hi = np.searchsorted(t, s - 3 * ANTICIPATE_S), np.searchsorted(t, e + 3 * CARRY_S)
        tt = t[lo:hi, None]
        before = np.clip(s - tt, 0, None) / (ANTICIPATE_S * REACH)
        after = np.clip(tt - e, 0, None) / (CARRY_S * REACH)
        w = np.exp(-((before + after) ** 2)) * np.asarray(v.dominance)
        num[lo:hi] += w * np.asarray(v.target)
        den[lo:hi] += w
    curve = num / den

    # Vowels reach most of their opening at their centre, however short they are.
    for name, a, b in filled:
        v = VISEMES[name]
        if v.vowel:
            s, e = a / PROGRAM_RATE, b / PROGRAM_RATE
            inside = (t >= s) & (t <= e)
            bump = np.sin(np.pi * (t[inside] - s) / max(e - s, 1e-6))
            curve[inside, JAW] = np.maximum(curve[inside, JAW], PEAK_KEEP * v.target[JAW] * bump)

    # Bilabials close fully over their core, ramping in and out.
    for name, a, b in filled:
        if name != "PP":
            continue
        s, e = a / PROGRAM_RATE, b / PROGRAM_RATE
        core_s, core_e = s + 0.15 * (e - s), e - 0.15 * (e - s)
        dist = np.maximum(core_s - t, t - core_e)
        ramp = np.clip(1.0 - dist / CLOSURE_RAMP_S, 0.0, 1.0)
        curve[:, CLOSE] = np.maximum(curve[:, CLOSE], ramp)
        curve[:, JAW] = curve[:, JAW] * (1 - ramp) + np.minimum(curve[:, JAW], 0.08) * ramp

    # Per frame: the mean of each parameter over the frame's span; a frame that holds the middle
    # of a bilabial (or whose centre lies in its closed core) is shut, so no closure is missed.
    spf = samples_per_frame(fps)
    per_frame = spf // STEP
    params = curve[: n_frames * per_frame].reshape(n_frames, per_frame, 4).mean(axis=1)
    closed = _bilabial_frames(filled, n_frames, spf)
    params[closed, CLOSE] = 1.0
    labels = _frame_labels(filled, n_frames, spf, closed)
    return MouthTrack(fps, params.astype(np.float32), labels)


def _bilabial_frames(segs: list[tuple[str, int, int]], n_frames: int, spf: int) -> np.ndarray:
    closed = np.zeros(n_frames, bool)
    for name, a, b in segs:
        if name == "PP":
            core_a, core_b = a + 0.15 * (b - a), b - 0.15 * (b - a)
            closed[min(n_frames - 1, int((a + b) / 2) // spf)] = True
            for n in range(int(core_a) // spf, min(n_frames, int(core_b) // spf + 1)):
                if core_a <= n * spf + spf / 2 <= core_b:
                    closed[n] = True
    return closed


def _frame_labels(segs: list[tuple[str, int, int]], n_frames: int, spf: int, closed: np.ndarray) -> tuple[str, ...]:
    """The viseme under each frame's centre; frames shut for a bilabial are "PP"."""
    labels = [SILENCE] * n_frames
    starts = np.array([a for _, a, _ in segs])
    for n in range(n_frames):
        centre = n * spf + spf // 2
        k = int(np.searchsorted(starts, centre, side="right")) - 1
        if k >= 0 and segs[k][2] > centre:
            labels[n] = segs[k][0]
    for n in np.flatnonzero(closed):
        labels[n] = "PP"
    return tuple(labels)
