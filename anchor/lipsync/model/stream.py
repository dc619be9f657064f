"""Incremental audio-to-mouth inference: feed audio as it arrives, get mouth frames out.

`MouthStream.push(pcm)` takes any amount of 48 kHz int16 audio and returns the video frames
that are now certain; `flush()` ends the stream and returns the rest. The frames equal what
`AudioMouthModel.mouth_track` gives for the whole clip (the features of a frame only need
its own 25 ms window, and the network is causal), and a frame comes out once the audio has
reached its end plus the model's look-ahead and one feature window: 80 + 25 ms for the
committed model, plus the wait for the frame's own 40 ms to arrive. The silence gate
(`gate.py`) runs frame by frame on the same levels and silence probabilities, so it gates
exactly as whole-clip inference does at no extra latency.
"""

from __future__ import annotations

import numpy as np
import torch

from anchor.errors import InputError
from anchor.lipsync.model.features import N_MELS, PROGRAM_HOP, log_mel
from anchor.lipsync.model.gate import LevelMeter, SilenceGate, first_hop, frame_levels
from anchor.lipsync.model.infer import SIL_INDEX, AudioMouthModel, RawPrediction, track_from_prediction
from anchor.lipsync.track import MouthTrack
from anchor.timebase import frames_for_samples, samples_per_frame

_SUB = 160  # program samples per pooling sub-step (3 per feature frame)
_WINDOW_SAMPLES = 1200  # one feature window (25 ms) at the program rate
_MARGIN = PROGRAM_HOP  # extra audio each side, so resampling edges never reach used samples


class MouthStream:
    """Streaming wrapper around an `AudioMouthModel` for one continuous stream of audio."""

    def __init__(self, model: AudioMouthModel, fps: int = 25, *, gate: bool = True) -> None:
        self.model = model
        self.fps = fps
        self.spf = samples_per_frame(fps)
        if self.spf % _SUB:
            raise InputError(
                f"streaming mouth inference needs a frame of whole 160-sample steps; {fps} fps is not", field="fps"
            )
        self._state = model.net.initial_state()
        self._net_done = 0  # feature frames the network has consumed
        self._audio = np.zeros(0, np.int16)  # received audio from absolute sample self._audio0
        self._audio0 = 0
        self._received = 0
        self._feats = np.zeros((0, N_MELS), np.float32)  # normalized, from absolute frame self._feats0
        self._feats0 = 0
        self._params = np.zeros((0, 4), np.float32)  # net outputs aligned to time, from self._out0
        self._probs = np.zeros((0, model.net.visemes.out_channels), np.float32)
        self._out0 = 0
        self._emitted = 0
        self._closed = False
        self._gate = SilenceGate(fps) if gate else None
        self._hops = np.zeros((0, 2))  # levels (whole, speech band) of whole 10 ms hops from hop self._hops0
        self._hops0 = 0
        self._meter = LevelMeter()

    @property
    def latency_samples(self) -> int:
        """Audio that must arrive after a frame's end before that frame can come out."""
        return self.model.lookahead * PROGRAM_HOP + _WINDOW_SAMPLES + _MARGIN

    def push(self, pcm: np.ndarray) -> MouthTrack:
        """Add audio; return the frames that became certain (possibly none)."""
        if self._closed:
            raise InputError("this mouth stream was flushed; start a new one", field="pcm")
        pcm = np.asarray(pcm)
        if pcm.dtype != np.int16 or pcm.ndim != 1:
            raise InputError("push 1-D int16 program audio (48 kHz mono)", field="pcm")
        self._audio = np.concatenate([self._audio, pcm])
        self._received += pcm.size
        self._add_hops(pcm)
        ready_feats = max(0, (self._received - _WINDOW_SAMPLES - _MARGIN) // PROGRAM_HOP + 1)
        return self._advance(ready_feats)

    def flush(self) -> MouthTrack:
        """End the stream: pad it as whole-clip inference does and return the remaining frames."""
        if self._closed:
            return MouthTrack.silent(0, self.fps)
        self._closed = True
        total = self._received
        self._hops = np.concatenate([self._hops, self._meter.flush()])  # the last part-hop, as whole clips
        pad = self.model.lookahead * PROGRAM_HOP + _WINDOW_SAMPLES + 2 * _MARGIN
        self._audio = np.concatenate([self._audio, np.zeros(pad, np.int16)])
        n_feats = -(-total // PROGRAM_HOP) + self.model.lookahead
        return self._advance(n_feats, total=total)

    def _add_hops(self, pcm: np.ndarray) -> None:
        self._hops = np.concatenate([self._hops, self._meter.push(pcm)])

    # -- the three stages: features, network, frames ------------------------------------

    def _advance(self, ready_feats: int, total: int | None = None) -> MouthTrack:
        """Compute what `ready_feats` feature frames allow; `total` (samples) ends the stream."""
        self._features_until(ready_feats)
        self._network_until(ready_feats)
        return self._frames(total)

    def _features_until(self, n: int) -> None:
        have = self._feats0 + len(self._feats)
        if n <= have:
            return
        start = have * PROGRAM_HOP - _MARGIN  # a multiple of 3, so the 48k -> 16k phase holds
        lead = _MARGIN if start >= 0 else _MARGIN + start
        start = max(start, 0)
        end = (n - 1) * PROGRAM_HOP + _WINDOW_SAMPLES + _MARGIN
        seg = self._audio[start - self._audio0 : end - self._audio0]
        feats = log_mel(seg)[lead // PROGRAM_HOP : lead // PROGRAM_HOP + n - have]
        normed = ((feats - self.model.mean) / self.model.std).astype(np.float32)
        self._feats = np.concatenate([self._feats, normed])
        drop = max(0, n * PROGRAM_HOP - _MARGIN - self._audio0)
        self._audio = self._audio[drop:]
        self._audio0 += drop

    def _network_until(self, n: int) -> None:
        """Feed features up to n through the network once each (it keeps its own past); the
        output at net index i is the prediction for time i - lookahead."""
        if n <= self._net_done:
            return

        x = self._feats[self._net_done - self._feats0 : n - self._feats0]
        with torch.inference_mode():
            p, logits, self._state = self.model.net.step(torch.from_numpy(np.ascontiguousarray(x.T[None])), self._state)
            probs = torch.softmax(logits, dim=1)
        skip = max(0, self.model.lookahead - self._net_done)  # outputs before time 0
        self._params = np.concatenate([self._params, p[0].numpy().T[skip:]])
        self._probs = np.concatenate([self._probs, probs[0].numpy().T[skip:]])
        self._net_done = n
        self._feats = self._feats[n - self._feats0 :]
        self._feats0 = n

    def _frames(self, total: int | None) -> MouthTrack:
        per_frame = self.spf // _SUB
        if total is None:
            n_frames = ((self._out0 + len(self._params)) * 3) // per_frame  # every sub-step has an output
        else:  # the end: as whole-clip inference, outputs for ceil(total / hop) times, frames for total
            n_frames = frames_for_samples(total, self.fps)
            keep = -(-total // PROGRAM_HOP)
            self._params = self._params[: keep - self._out0]
            self._probs = self._probs[: keep - self._out0]
        if n_frames <= self._emitted:
            return MouthTrack.silent(0, self.fps)
        first_sub, last_sub = self._emitted * per_frame, n_frames * per_frame
        subs = np.arange(first_sub, last_sub) // 3 - self._out0
        subs = np.minimum(subs, len(self._params) - 1)  # the clip's tail repeats its last output
        params = self._params[subs].reshape(n_frames - self._emitted, per_frame, 4).mean(axis=1)
        probs = self._probs[subs].reshape(n_frames - self._emitted, per_frame, -1).mean(axis=1)
        gate = None
        if self._gate is not None:
            own, ahead = frame_levels(self._hops, self._emitted, n_frames, self.fps, self.model.lookahead, self._hops0)
            gate = self._gate.run(own, ahead, probs[:, SIL_INDEX])
            keep = first_hop(n_frames, self.fps) - self._hops0
            self._hops, self._hops0 = self._hops[keep:], self._hops0 + keep
        self._emitted = n_frames
        drop = max(0, (n_frames * per_frame) // 3 - self._out0)
        drop = min(drop, max(0, len(self._params) - 1))
        self._params, self._probs = self._params[drop:], self._probs[drop:]
        self._out0 += drop
        return track_from_prediction(RawPrediction(params, probs), self.fps, gate)
