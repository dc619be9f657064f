"""Run the trained audio-to-mouth model: program audio -> MouthTrack.

The committed weights live beside this module (`audio_to_mouth.pt`, trained by
`anchor train-lipsync`). The model is causal with a fixed look-ahead of `lookahead` feature
frames (10 ms each): the output for time t is read from the network LOOKAHEAD frames later,
and the clip is padded with that much silence at the end, so the predicted track is aligned
with the audio (lag 0) and a streaming use would add exactly that latency. A voice-activity
gate (`gate.py`) then shuts and relaxes the mouth wherever the audio is silent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from anchor.errors import BackendError
from anchor.lipsync.model.features import PROGRAM_HOP, log_mel
from anchor.lipsync.model.gate import gate_for_clip
from anchor.lipsync.model.net import AudioMouthNet
from anchor.lipsync.track import CLOSE, JAW, MouthTrack
from anchor.lipsync.visemes import SILENCE, VISEME_NAMES
from anchor.timebase import frames_for_samples, samples_per_frame

DEFAULT_WEIGHTS = Path(__file__).with_name("audio_to_mouth.pt")
_PP = VISEME_NAMES.index("PP")
SIL_INDEX = VISEME_NAMES.index(SILENCE)
_RES = 160  # program samples per sub-step when pooling feature frames onto video frames
_LO = np.array([0.0, -1.0, 0.0, 0.0], np.float32)
_HI = np.array([1.0, 1.0, 1.0, 1.0], np.float32)


@dataclass(frozen=True)
class RawPrediction:
    """Per video frame: mouth parameters (n, 4) and viseme probabilities (n, n_visemes)."""

    params: np.ndarray
    probs: np.ndarray


def pool_to_frames(values: np.ndarray, n_samples: int, fps: int) -> np.ndarray:
    """(T, k) per-feature-frame values -> (n_frames, k) means over each video frame's span."""
    n_frames = frames_for_samples(n_samples, fps)
    spf = samples_per_frame(fps)
    fine = np.repeat(values, PROGRAM_HOP // _RES, axis=0)
    need = n_frames * spf // _RES
    if fine.shape[0] < need:
        fine = np.concatenate([fine, np.repeat(fine[-1:], need - fine.shape[0], axis=0)])
    return fine[:need].reshape(n_frames, spf // _RES, -1).mean(axis=1)


class AudioMouthModel:
    """The trained network with its feature normalization and look-ahead."""

    def __init__(self, checkpoint: dict[str, Any]) -> None:

        cfg = checkpoint["config"]
        self.net = AudioMouthNet(cfg["channels"], cfg["kernel"], tuple(cfg["dilations"]))
        self.net.load_state_dict(checkpoint["state_dict"])
        self.net.eval()
        self.mean = np.asarray(checkpoint["mean"], np.float32)
        self.std = np.asarray(checkpoint["std"], np.float32)
        self.lookahead = int(checkpoint["lookahead"])
        self.meta: dict[str, Any] = dict(checkpoint.get("meta", {}))

    @classmethod
    def load(cls, path: str | Path | None = None) -> AudioMouthModel:
        """Load weights (default: the committed ones)."""
        path = Path(path) if path else DEFAULT_WEIGHTS
        if not path.is_file():
            raise BackendError(f"audio-to-mouth weights {path} are missing; train them with `anchor train-lipsync`")
        try:
            ckpt = torch.load(str(path), map_location="cpu", weights_only=True)
        except (RuntimeError, OSError, ValueError) as e:
            raise BackendError(f"cannot read audio-to-mouth weights {path}: {e}") from e
        return cls(ckpt)

    def features(self, pcm: np.ndarray) -> np.ndarray:
        """Normalized (T, N_MELS) features with `lookahead` frames of silence appended."""
        feats = log_mel(np.concatenate([pcm, np.zeros(self.lookahead * PROGRAM_HOP, pcm.dtype)]))
        return (feats - self.mean) / self.std

    def raw(self, pcm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per feature frame (aligned to the audio): params (T, 4) and viseme probabilities (T, V)."""
        feats = self.features(pcm)
        with torch.inference_mode():
            x = torch.from_numpy(feats.T[None].copy())
            p, logits = self.net(x)
            probs = torch.softmax(logits, dim=1)
        n = -(-pcm.size // PROGRAM_HOP)
        p_np = p[0].numpy().T[self.lookahead : self.lookahead + n]
        probs_np = probs[0].numpy().T[self.lookahead : self.lookahead + n]
        return p_np, probs_np

    def predict(self, pcm: np.ndarray, fps: int) -> RawPrediction:
        """Pooled per-video-frame parameters and viseme probabilities for 48 kHz int16 audio."""
        p, probs = self.raw(pcm)
        return RawPrediction(pool_to_frames(p, pcm.size, fps), pool_to_frames(probs, pcm.size, fps))

    def mouth_track(self, pcm: np.ndarray, fps: int, *, gate: bool = True) -> MouthTrack:
        """The MouthTrack for 48 kHz mono int16 program audio; `gate` shuts the mouth in silence."""
        if pcm.size == 0:
            return MouthTrack.silent(0, fps)
        pred = self.predict(pcm, fps)
        g = gate_for_clip(pcm, pred.probs[:, SIL_INDEX], fps, self.lookahead) if gate else None
        return track_from_prediction(pred, fps, g)


def track_from_prediction(pred: RawPrediction, fps: int, gate: np.ndarray | None = None) -> MouthTrack:
    """Clamp the parameters and label frames; frames whose likeliest viseme is PP are shut,
    as the timing path shuts bilabials. `gate` (0..1 per frame) scales the mouth towards the
    relaxed closed one; fully gated frames are labelled silence."""
    params = np.clip(pred.params, _LO, _HI).astype(np.float32)
    best = pred.probs.argmax(axis=1)
    shut = best == _PP
    params[shut, CLOSE] = 1.0
    params[shut, JAW] = np.minimum(params[shut, JAW], 0.08)
    labels = [VISEME_NAMES[i] for i in best]
    if gate is not None:
        params *= gate[:, None]
        labels = [SILENCE if g <= 0.0 else v for v, g in zip(labels, gate)]
    return MouthTrack(fps, params, tuple(labels))
