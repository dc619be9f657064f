"""Figures for audio-to-mouth predictions against the timing-derived truth, and the energy baseline.

- r: Pearson correlation of predicted vs true visible opening (jaw x (1 - close)) per frame.
- viseme accuracy: frames whose predicted viseme class equals the true one (15 classes).
- closure recall: true bilabial closures (runs of frames the timing path shuts, close = 1)
  during which, allowing one frame either side, the prediction closes the lips (close >= 0.5).
- best lag: the shift (frames, -6..6; positive = prediction late) that maximizes r.
- still in silence: the true silent frames (labelled silence by the timing path) on which the
  predicted opening stays under 15 % of its own 90th percentile (the mouth is still).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from anchor.lipsync.track import CLOSE, JAW, MouthTrack
from anchor.lipsync.visemes import SILENCE
from anchor.timebase import samples_per_frame

MAX_LAG = 6
STILL_SHARE = 0.15


@dataclass(frozen=True)
class Figures:
    """The evaluation figures for one system on one set."""

    r: float
    viseme_accuracy: float
    closure_recall: float
    best_lag: int
    frames: int
    closures: int
    still_in_silence: float


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    d = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / d) if d > 0 else 0.0


def best_lag(pred: np.ndarray, true: np.ndarray, max_lag: int = MAX_LAG) -> int:
    """The lag k maximizing corr(pred[t + k], true[t])."""
    scores = {}
    for k in range(-max_lag, max_lag + 1):
        if k >= 0:
            scores[k] = pearson(pred[k:], true[: true.size - k])
        else:
            scores[k] = pearson(pred[: pred.size + k], true[-k:])
    return max(scores, key=lambda k: (scores[k], -abs(k)))


def still_share(opening: np.ndarray, silent: np.ndarray) -> float:
    """Share of `silent` frames whose opening is under STILL_SHARE of the opening's 90th percentile."""
    if not silent.any():
        return float("nan")
    level = float(np.percentile(opening, 90)) or 1e-6
    return float((opening[silent] < STILL_SHARE * level).mean())


def closure_runs(track: MouthTrack) -> list[tuple[int, int]]:
    closed = track.params[:, CLOSE] >= 0.999
    runs, start = [], None
    for i, c in enumerate(closed):
        if c and start is None:
            start = i
        elif not c and start is not None:
            runs.append((start, i))
            start = None
    if start is not None:
        runs.append((start, len(closed)))
    return runs


def figures(preds: list[MouthTrack], truths: list[MouthTrack]) -> Figures:
    """Pooled figures over clips (each prediction paired with its truth, same length)."""
    po = np.concatenate([p.opening for p in preds])
    to = np.concatenate([t.opening for t in truths])
    pv = [v for p in preds for v in p.visemes]
    tv = [v for t in truths for v in t.visemes]
    acc = float(np.mean([a == b for a, b in zip(pv, tv)]))
    hit = total = 0
    for p, t in zip(preds, truths):
        for a, b in closure_runs(t):
            total += 1
            if (p.params[max(0, a - 1) : b + 1, CLOSE] >= 0.5).any():
                hit += 1
    silent = np.array([v == SILENCE for v in tv])
    return Figures(
        pearson(po, to),
        acc,
        hit / total if total else float("nan"),
        best_lag(po, to),
        po.size,
        total,
        still_share(po, silent),
    )


def energy_baseline(pcm: np.ndarray, fps: int) -> MouthTrack:
    """The plain audio-energy baseline: opening follows the frame's loudness (dB, scaled between
    the clip's 10th and 97th percentiles); quiet frames close the lips; loud frames are labelled
    the commonest open viseme "E", quiet ones silence."""
    spf = samples_per_frame(fps)
    n = -(-pcm.size // spf)
    x = np.zeros(n * spf)
    x[: pcm.size] = pcm.astype(np.float64) / 32768.0
    db = 10 * np.log10((x.reshape(n, spf) ** 2).mean(axis=1) + 1e-10)
    lo, hi = np.percentile(db, 10), np.percentile(db, 97)
    level = np.clip((db - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
    params = np.zeros((n, 4), np.float32)
    params[:, JAW] = 0.7 * level
    quiet = level < 0.15
    params[quiet, CLOSE] = 1.0
    labels = tuple(SILENCE if q else "E" for q in quiet)
    return MouthTrack(fps, params, labels)
