"""Log-mel features of program audio for the audio-to-mouth model.

48 kHz int16 -> 16 kHz -> 25 ms Hann windows every 10 ms (480 program samples, so a 25 fps
video frame is exactly 4 feature frames) -> 40 mel bands (60-7600 Hz) -> log10. Feature
frame j covers program samples [j*480, j*480 + 1200): it is computed from the audio that
starts at its own time, so the model never sees audio from before it was spoken.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import resample_poly

from anchor.timebase import PROGRAM_RATE

FEATURE_RATE = 16_000
HOP = 160  # at 16 kHz: 10 ms
WINDOW = 400  # 25 ms
N_FFT = 512
N_MELS = 40
PROGRAM_HOP = HOP * PROGRAM_RATE // FEATURE_RATE  # 480
FRAMES_PER_SECOND = FEATURE_RATE // HOP  # 100
LOG_FLOOR = 1e-6


def _mel(f: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + f / 700.0)


def mel_filterbank(n_mels: int = N_MELS, fmin: float = 60.0, fmax: float = 7600.0) -> np.ndarray:
    """(n_mels, N_FFT//2+1) triangular filters, area-normalized (Slaney style)."""
    freqs = np.linspace(0, FEATURE_RATE / 2, N_FFT // 2 + 1)
    edges_mel = np.linspace(_mel(np.array(fmin)), _mel(np.array(fmax)), n_mels + 2)
    edges = 700.0 * (10 ** (edges_mel / 2595.0) - 1.0)
    fb = np.zeros((n_mels, freqs.size))
    for i in range(n_mels):
        lo, mid, hi = edges[i], edges[i + 1], edges[i + 2]
        up = (freqs - lo) / (mid - lo)
        down = (hi - freqs) / (hi - mid)
        fb[i] = np.clip(np.minimum(up, down), 0, None) * (2.0 / (hi - lo))
    return fb.astype(np.float32)


_FB = mel_filterbank()
_WIN = np.hanning(WINDOW).astype(np.float32)


def log_mel(pcm: np.ndarray) -> np.ndarray:
    """(n_frames, N_MELS) float32 log-mel of 48 kHz int16 (or float in [-1, 1]) audio.

    n_frames = ceil(len(pcm) / 480): one feature frame per 10 ms of program audio; the tail
    is zero-padded.
    """
    x = pcm.astype(np.float32)
    if pcm.dtype == np.int16:
        x /= 32768.0
    n_frames = -(-x.size // PROGRAM_HOP)
    y = resample_poly(x, 1, PROGRAM_RATE // FEATURE_RATE).astype(np.float32)
    need = (n_frames - 1) * HOP + WINDOW
    if y.size < need:
        y = np.pad(y, (0, need - y.size))
    idx = np.arange(WINDOW)[None, :] + HOP * np.arange(n_frames)[:, None]
    frames = y[idx] * _WIN
    spec = np.abs(np.fft.rfft(frames, N_FFT, axis=1)).astype(np.float32) ** 2
    return np.log10(spec @ _FB.T + LOG_FLOOR).astype(np.float32)
