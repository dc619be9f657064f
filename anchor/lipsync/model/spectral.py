"""Spectral augmentation of log-mel crops during training: a different "voice and room" per crop.

Waveform augmentation (data.augment) varies tempo, pitch, noise, reverberation and codecs; it
cannot change the spectral envelope of a synthesizer. These two do, on the features, per crop:
- a random equalizer: a smooth gain curve over the mel bands (overall level, tilt and a few
  broad bumps), as different microphones, rooms and vocoders colour speech;
- a frequency warp: the mel axis stretched or squeezed by a few percent (vocal tract length
  perturbation), moving formants the way a longer or shorter vocal tract does.
Both act on log10 power, before the features are normalized.
"""

from __future__ import annotations

import numpy as np
import torch

from anchor.lipsync.model.features import N_MELS

EQ_TILT = 0.6
"""Largest tilt across the bands, in log10 power (0.6 = 6 dB from the lowest to the highest band)."""
EQ_BUMP = 0.3
"""Largest amplitude of each of the three cosine bumps, in log10 power."""
WARP = 0.12
"""Largest relative stretch of the mel axis."""


def equalizer_curves(batch: int, rng: np.random.Generator) -> np.ndarray:
    """(batch, N_MELS) smooth random gain curves in log10 power."""
    f = np.linspace(0.0, 1.0, N_MELS)
    tilt = rng.uniform(-EQ_TILT, EQ_TILT, (batch, 1)) * (f - 0.5)
    bumps = rng.uniform(-EQ_BUMP, EQ_BUMP, (batch, 3, 1)) * np.cos(
        np.pi * np.arange(1, 4)[None, :, None] * f[None, None, :] + rng.uniform(0, np.pi, (batch, 3, 1))
    )
    return (tilt + bumps.sum(axis=1)).astype(np.float32)


def warp_indices(batch: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per crop, the source band of every output band as (lower index, upper index, weight)."""
    alpha = rng.uniform(1 - WARP, 1 + WARP, (batch, 1))
    src = np.clip(np.arange(N_MELS)[None, :] * alpha, 0, N_MELS - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, N_MELS - 1)
    return lo, hi, (src - lo).astype(np.float32)


def augment_crops(
    x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, rng: np.random.Generator, probability: float
) -> torch.Tensor:
    """Equalize and warp each crop of normalized features x (batch, N_MELS, T) with `probability`."""
    batch = x.shape[0]
    chosen = rng.random(batch) < probability
    if not chosen.any():
        return x
    raw = x * std.view(1, -1, 1) + mean.view(1, -1, 1)
    lo, hi, w = warp_indices(batch, rng)
    lo_t, hi_t = torch.from_numpy(lo)[:, :, None], torch.from_numpy(hi)[:, :, None]
    w_t = torch.from_numpy(w)[:, :, None]
    warped = raw.gather(1, lo_t.expand_as(raw)) * (1 - w_t) + raw.gather(1, hi_t.expand_as(raw)) * w_t
    warped = warped + torch.from_numpy(equalizer_curves(batch, rng))[:, :, None]
    out = (warped - mean.view(1, -1, 1)) / std.view(1, -1, 1)
    keep = torch.from_numpy(~chosen).view(batch, 1, 1)
    return torch.where(keep, x, out)
