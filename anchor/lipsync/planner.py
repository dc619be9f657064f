"""The lipsync stage's one decision: how Speech becomes a MouthTrack.

Speech with phoneme timings takes the exact timing path (visemes + coarticulation); speech
without them (a recording, an external TTS server) goes through the trained audio-to-mouth
model, which gates its own track (`lipsync/model/gate.py`: the mouth rests in silence, causally,
so streaming and whole-clip inference agree). The model is loaded once per planner, on first use, and reused.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from anchor.lipsync.coarticulation import mouth_track_from_phonemes
from anchor.lipsync.track import MouthTrack
from anchor.speech.base import Speech

if TYPE_CHECKING:
    from anchor.lipsync.model.infer import AudioMouthModel


def _load_default_model() -> AudioMouthModel:
    from anchor.lipsync.model.infer import AudioMouthModel

    return AudioMouthModel.load()


class MouthPlanner:
    """Plans the mouth for any Speech at a frame rate; thread-safe, one per process is plenty."""

    def __init__(
        self,
        model: AudioMouthModel | None = None,
        loader: Callable[[], AudioMouthModel] = _load_default_model,
    ) -> None:
        self._model = model
        self._loader = loader
        self._lock = threading.Lock()

    @property
    def audio_model(self) -> AudioMouthModel:
        """The audio-to-mouth model (loaded on first use)."""
        with self._lock:
            if self._model is None:
                self._model = self._loader()
            return self._model

    def track(self, speech: Speech, fps: int) -> MouthTrack:
        """The mouth track for `speech`: from its phoneme timings when it has them, else from its sound."""
        if speech.phonemes:
            return mouth_track_from_phonemes(speech.phonemes, speech.n_samples, fps)
        return self.audio_model.mouth_track(speech.pcm, fps)  # gated: silence keeps the mouth shut
