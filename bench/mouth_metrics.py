"""Lip-sync figures of a rendered mouth, shared by bench.voices and bench.lipsync_eval.

The mouth track is rendered with the default avatar (the same renderer `anchor say` uses) and the
inner-lip gap is re-detected on every frame with mediapipe's face mesh (gap / face height):
- r: Pearson r of the re-detected gap with the planned opening (renderer fidelity);
- lag: the shift (frames, + = mouth late) that best lines the re-detected gap up with the audio's
  loudness envelope (timing), and r at that shift;
- closure: the widest gap on frames the track shuts for p/b/m, over the 90th-percentile gap;
- still in silence: share of silent frames (no phoneme but "_", or loudness 35 dB under the peak)
  where the rendered gap stays under 15 % of the 90th-percentile gap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from anchor.lipsync.model.evaluate import best_lag, pearson
from anchor.lipsync.track import MouthTrack
from anchor.timebase import samples_per_frame

FPS = 25


def envelope_db(pcm: np.ndarray, fps: int = FPS) -> np.ndarray:
    spf = samples_per_frame(fps)
    n = -(-pcm.size // spf)
    x = np.zeros(n * spf)
    x[: pcm.size] = pcm.astype(np.float64) / 32768.0
    return 10 * np.log10((x.reshape(n, spf) ** 2).mean(axis=1) + 1e-10)


class MouthRenderer:
    """The default avatar's renderer and a face-mesh tracker, opened once."""

    def __init__(self) -> None:
        from anchor.config import BUILTIN_AVATARS
        from anchor.face.avatar import AvatarStore
        from anchor.face.blink import BlinkSchedule
        from anchor.face.detect import FaceAnalyzer
        from anchor.face.renderer import FaceRenderer
        from anchor.studio.presenter import presenter_placement

        avatar = AvatarStore(BUILTIN_AVATARS, BUILTIN_AVATARS).load("default")
        placement = presenter_placement(avatar, 1280, 720)
        self.renderer = FaceRenderer(avatar, placement.scale, BlinkSchedule(1e6, 2e6, 1))  # no blinks
        self.analyzer = FaceAnalyzer.for_video().__enter__()

    def gaps(self, track: MouthTrack) -> np.ndarray:
        from anchor.face.detect import inner_lip_gap

        out = []
        for i in range(len(track)):
            frame = self.renderer.render(track.params[i], i / track.fps)
            lms = self.analyzer.landmarks(frame.image)
            out.append(inner_lip_gap(lms[0]) if lms else np.nan)
        return np.array(out)


@dataclass(frozen=True)
class RenderedFigures:
    r_planned: float
    lag: int
    r_audio: float
    closure: float
    still: float
    frames: int


def rendered_figures(gaps: np.ndarray, track: MouthTrack, pcm: np.ndarray, silent: np.ndarray) -> RenderedFigures:
    """Figures for re-detected `gaps` of `track` spoken as `pcm`; `silent` marks silent frames."""
    n = min(len(gaps), len(track))
    g = np.nan_to_num(gaps[:n], nan=0.0)
    env = envelope_db(pcm)[:n]
    env = np.clip(env, np.percentile(env, 5), None)
    lag = best_lag(g, env)
    r_audio = pearson(g[lag:], env[: n - lag]) if lag >= 0 else pearson(g[:lag], env[-lag:])
    open_level = float(np.percentile(g, 90)) or 1e-6
    closed = [i for i, v in enumerate(track.visemes[:n]) if v == "PP"]
    closure = float(g[closed].max() / open_level) if closed else float("nan")
    s = silent[:n]
    still = float((g[s] < 0.15 * open_level).mean()) if s.any() else float("nan")
    return RenderedFigures(pearson(g, track.opening[:n]), lag, r_audio, closure, still, n)
