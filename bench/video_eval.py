"""Measurements for the video-avatar benchmark: mouth-region image quality and re-detected lip-sync.

Image quality compares a rendered mouth with the real one in the pack's canonical frame (each
image is first aligned by its own head landmarks, so a still photo and a moving head are
judged on the same square of face): PSNR (RGB), SSIM (luminance, 7x7 Gaussian window,
sigma 1.5) and the sharpness ratio (variance of the Laplacian, output / real).

Lip-sync re-detects the face mesh on rendered frames and compares the inner-lip gap with the
planned opening: Pearson r, the best lag in frames (-5..5; positive = the picture is late),
closure at p/b/m frames, and over the silent frames the share where the mouth does not move
(re-detected gap changing by less than a tenth of the usual open gap from the frame before)
and the share where it is closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from anchor.face import landmarks as L
from anchor.face.detect import FaceAnalyzer, inner_lip_gap
from anchor.face.video.measure import STABLE, face_height, similarity
from anchor.lipsync.track import MouthTrack


@dataclass(frozen=True)
class MouthRoi:
    """A canonical rectangle around the lips (the reference's lips, room for the widest opening)."""

    x0: int
    y0: int
    x1: int
    y1: int

    @classmethod
    def of(cls, reference: np.ndarray, gap_open: float) -> MouthRoi:
        ref = np.asarray(reference, np.float64)
        h = face_height(ref)
        mw = float(np.linalg.norm(ref[L.MOUTH_CORNER_L] - ref[L.MOUTH_CORNER_R]))
        x0 = ref[L.MOUTH_CORNER_R, 0] - 0.2 * mw
        x1 = ref[L.MOUTH_CORNER_L, 0] + 0.2 * mw
        y0 = ref[0, 1] - 0.04 * h
        y1 = ref[17, 1] + (gap_open + 0.04) * h
        return cls(int(x0), int(y0), int(np.ceil(x1)), int(np.ceil(y1)))

    def cut(self, image: np.ndarray, to_canonical: np.ndarray) -> np.ndarray:
        """The ROI of `image` (aligned to canonical by `to_canonical`, image -> canonical 2x3)."""
        m = np.asarray(to_canonical, np.float64).copy()
        m[:, 2] -= (self.x0, self.y0)
        return cv2.warpAffine(image, m, (self.x1 - self.x0, self.y1 - self.y0), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)  # fmt: skip


def align_to(reference: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """image -> canonical similarity for one frame's landmarks (478, >=2)."""
    return similarity(np.asarray(landmarks)[list(STABLE), :2], np.asarray(reference)[list(STABLE)])


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0**2 / max(mse, 1e-10))


def _luma(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float64)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of the luminance (Wang et al. 2004 constants, Gaussian window sigma 1.5)."""
    x, y = _luma(a), _luma(b)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(z: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(z, (7, 7), 1.5)

    mx, my = blur(x), blur(y)
    sxx, syy, sxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return float(s[3:-3, 3:-3].mean())


def sharpness(rgb: np.ndarray) -> float:
    """Variance of the Laplacian of the luminance."""
    return float(cv2.Laplacian(_luma(rgb), cv2.CV_64F, ksize=3).var())


@dataclass
class QualityTally:
    """Running image-quality figures for one system."""

    psnr: list[float]
    ssim: list[float]
    sharp_out: list[float]
    sharp_real: list[float]

    @classmethod
    def empty(cls) -> QualityTally:
        return cls([], [], [], [])

    def add(self, out: np.ndarray, real: np.ndarray) -> None:
        self.psnr.append(psnr(out, real))
        self.ssim.append(ssim(out, real))
        self.sharp_out.append(sharpness(out))
        self.sharp_real.append(sharpness(real))

    def figures(self) -> tuple[float, float, float]:
        """(mean PSNR dB, mean SSIM, sharpness ratio)."""
        return (
            float(np.mean(self.psnr)),
            float(np.mean(self.ssim)),
            float(np.mean(self.sharp_out) / np.mean(self.sharp_real)),
        )


def redetect_gaps(frames: list[np.ndarray]) -> np.ndarray:
    """Inner-lip gap (face heights) re-detected on each frame with a face-mesh tracker; NaN where lost."""
    gaps = []
    with FaceAnalyzer.for_video() as fa:
        for img in frames:
            lms = fa.landmarks(img)
            gaps.append(inner_lip_gap(lms[0]) if lms else np.nan)
    return np.array(gaps)


@dataclass(frozen=True)
class SyncFigures:
    r: float  # Pearson r, re-detected gap vs planned opening, lag 0
    best_lag: int  # frames (positive: the picture is late)
    r_best: float
    closure: float  # share of p/b/m frames whose gap is under 15% of the open level
    pbm_frames: int
    still_in_silence: float  # share of silent frames whose mouth does not move (gap change < 10% of open)
    closed_in_silence: float  # share of silent frames with the lips closed (gap < 15% of open)
    silent_frames: int
    found: float  # share of frames where the face was re-detected


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    ok = ~(np.isnan(a) | np.isnan(b))
    if ok.sum() < 3 or np.std(a[ok]) == 0 or np.std(b[ok]) == 0:
        return float("nan")
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def quiet_frames(pcm: np.ndarray, n_frames: int, fps: int, margin: int = 1) -> np.ndarray:
    """Frames whose audio is > 20 dB under the clip's loud frames (and under -30 dBFS), `margin` frames from sound.

    The fallback silence reference for a clip without a word alignment file."""
    spf = 48000 // fps
    x = np.zeros(n_frames * spf, np.float64)
    m = min(len(pcm), len(x))
    x[:m] = np.asarray(pcm[:m], np.float64) / 32768.0
    rms = np.sqrt((x.reshape(n_frames, spf) ** 2).mean(axis=1))
    if not len(rms):
        return np.zeros(0, bool)
    threshold = min(0.1 * float(np.percentile(rms, 90)), 10 ** (-30 / 20))
    near = np.convolve((rms > threshold).astype(np.float64), np.ones(2 * margin + 1), mode="same") > 0
    return ~near


def silent_from_speech(speaking: np.ndarray, margin: int = 2) -> np.ndarray:
    """Frames at least `margin` frames away from any speaking frame (bool (n,))."""
    near = np.convolve(np.asarray(speaking, float), np.ones(2 * margin + 1), mode="same") > 0
    return ~near


def speaking_from_alignment(path: Path, start_s: float, n: int, fps: int) -> np.ndarray:
    """Speaking frames from a word alignment (start_s, end_s, word ...; "sil" = silence), from start_s on."""
    speaking = np.zeros(n, bool)
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        a, b, word = line.split("\t")[:3]
        if word == "sil":
            continue
        i0 = int(np.floor((float(a) - start_s) * fps))
        i1 = int(np.ceil((float(b) - start_s) * fps))
        if i1 > 0 and i0 < n:
            speaking[max(0, i0) : min(n, i1)] = True
    return speaking


def sync_figures(gaps: np.ndarray, track: MouthTrack, silent: np.ndarray) -> SyncFigures:
    """Lip-sync figures for re-detected `gaps` of frames rendered from `track`."""
    n = min(len(gaps), len(track))
    g, planned = gaps[:n], track.opening[:n].astype(np.float64)
    r0 = _corr(g, planned)
    best, r_best = 0, r0
    for lag in range(-5, 6):
        a = g[max(0, lag) : n + min(0, lag)]
        b = planned[max(0, -lag) : n - max(0, lag)]
        r = _corr(a, b)
        if np.isfinite(r) and (not np.isfinite(r_best) or r > r_best):
            best, r_best = lag, r
    pbm = np.array([v == "PP" for v in track.visemes[:n]])
    open_level = float(np.nanpercentile(g, 90))
    closed = g[pbm] < 0.15 * open_level
    sil = silent[:n]
    dg = np.abs(np.diff(g, prepend=g[0]))
    still = dg < 0.1 * open_level
    shut = g < 0.15 * open_level
    return SyncFigures(
        r=r0,
        best_lag=best,
        r_best=r_best,
        closure=float(closed.mean()) if pbm.any() else float("nan"),
        pbm_frames=int(pbm.sum()),
        still_in_silence=float(still[sil].mean()) if sil.any() else float("nan"),
        closed_in_silence=float(shut[sil].mean()) if sil.any() else float("nan"),
        silent_frames=int(sil.sum()),
        found=float((~np.isnan(g)).mean()),
    )
