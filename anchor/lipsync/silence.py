"""Keep the mouth at rest where the audio is silent (for mouth tracks predicted from audio).

The audio-to-mouth model answers room noise and breaths with small movements; on a real
recording that is a mouth that keeps moving between sentences, the complaint users of every
audio-driven talking head make first. `hush` sets the track to rest on frames whose level is
far under the clip's speech level and away from any sound (and, for the model's tracks, where
its own viseme head says silence for a few frames running), easing in and out over a couple
of frames so the mouth settles instead of snapping shut.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from anchor.lipsync.track import MouthTrack
from anchor.lipsync.visemes import SILENCE
from anchor.timebase import samples_per_frame

QUIET_DB = -20.0  # under the 90th-percentile frame level
FLOOR_DBFS = -30.0  # and never louder than this
MARGIN = 1  # frames kept around sound
EASE = 2  # frames to ease into and out of rest
SILENT_RUN = 3  # frames of "sil" visemes in a row that count as silence


def quiet_frames(pcm: np.ndarray, n_frames: int, fps: int, margin: int = MARGIN) -> np.ndarray:
    """(n_frames,) bool: frames whose audio is quiet and at least `margin` frames away from sound."""
    spf = samples_per_frame(fps)
    x = np.zeros(n_frames * spf, np.float64)
    m = min(len(pcm), len(x))
    x[:m] = np.asarray(pcm[:m], np.float64) / 32768.0
    rms = np.sqrt((x.reshape(n_frames, spf) ** 2).mean(axis=1))
    if not len(rms):
        return np.zeros(0, bool)
    threshold = min(10 ** (QUIET_DB / 20) * float(np.percentile(rms, 90)), 10 ** (FLOOR_DBFS / 20))
    loud = rms > threshold
    near = np.convolve(loud.astype(np.float64), np.ones(2 * margin + 1), mode="same") > 0
    return ~near


def silent_runs(visemes: tuple[str, ...], min_frames: int = SILENT_RUN) -> np.ndarray:
    """(n,) bool: frames inside runs of at least `min_frames` frames labelled silence."""
    sil = np.array([v == SILENCE for v in visemes], bool)
    out = np.zeros_like(sil)
    i = 0
    while i < len(sil):
        if sil[i]:
            j = i
            while j < len(sil) and sil[j]:
                j += 1
            if j - i >= min_frames:
                out[i:j] = True
            i = j
        else:
            i += 1
    return out


def hush(track: MouthTrack, pcm: np.ndarray, *, trust_visemes: bool = True) -> MouthTrack:
    """`track` with the mouth at rest over the quiet stretches of `pcm` (48 kHz int16).

    With `trust_visemes` (for the audio-to-mouth model's tracks, whose viseme head tells
    silence from breaths and room noise better than a level threshold), runs of frames the
    track itself labels as silence rest too.
    """
    n = len(track)
    quiet = quiet_frames(pcm, n, track.fps)
    if trust_visemes:
        quiet |= silent_runs(track.visemes)
    if not quiet.any():
        return track
    from scipy.ndimage import distance_transform_edt

    # Quiet frames next to sound keep part of their movement: 2/3, 1/3, then rest.
    distance = distance_transform_edt(quiet) if not quiet.all() else np.full(n, np.inf)
    weight = np.where(quiet, np.clip(1.0 - distance / (EASE + 1), 0.0, 1.0), 1.0)
    params = (track.params * weight[:, None].astype(np.float32)).astype(np.float32)
    visemes = tuple(SILENCE if w == 0.0 else v for v, w in zip(track.visemes, weight, strict=True))
    return replace(track, params=params, visemes=visemes)
