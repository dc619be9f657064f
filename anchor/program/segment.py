"""Segment: speech and its mouth track laid on the frame grid — what one clip, story or item airs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from anchor.lipsync.track import MouthTrack
from anchor.speech.base import Speech, join_speech
from anchor.timebase import frames_for_samples, samples_per_frame


@dataclass(frozen=True)
class Segment:
    """`frames` frames of program: frame k carries audio samples [k*spf, (k+1)*spf) and mouth row k.

    Build with `Segment.of`; the audio is padded with silence and the mouth with a closed mouth
    so both cover exactly `frames` frames. `key` identifies the segment in timeline events (a
    queue item id, a story index); `title` is shown as a lower-third while it plays (live).
    """

    speech: Speech
    track: MouthTrack
    pcm: np.ndarray = field(repr=False)  # (frames * spf,) int16
    params: np.ndarray = field(repr=False)  # (frames, 4) float32
    key: int = 0
    title: str | None = None

    @classmethod
    def of(cls, speech: Speech, track: MouthTrack, *, key: int = 0, title: str | None = None) -> Segment:
        fps = track.fps
        spf = samples_per_frame(fps)
        n = max(len(track), frames_for_samples(speech.n_samples, fps))
        pcm = np.zeros(n * spf, np.int16)
        pcm[: speech.n_samples] = speech.pcm[: n * spf]
        params = np.zeros((n, 4), np.float32)
        params[: len(track)] = track.params
        return cls(speech, track, pcm, params, key, title)

    @classmethod
    def silence(cls, n_samples: int, fps: int, language: str, voice: str) -> Segment:
        """`n_samples` of silence (rounded up to whole frames) with a closed mouth."""
        frames = frames_for_samples(n_samples, fps)
        speech = Speech(np.zeros(n_samples, np.int16), language, voice)
        return cls.of(speech, MouthTrack.silent(frames, fps))

    @property
    def fps(self) -> int:
        return self.track.fps

    @property
    def frames(self) -> int:
        return int(self.params.shape[0])

    @property
    def duration(self) -> float:
        """Seconds on air."""
        return self.frames / self.fps

    @classmethod
    def join(
        cls,
        pieces: Sequence[Segment],
        *,
        key: int = 0,
        title: str | None = None,
        char_offsets: Sequence[int] | None = None,
    ) -> Segment:
        """The pieces back to back, each on its own frame grid (as a live channel airs them).
        `char_offsets[i]` shifts the character positions of piece i's words (see join_speech)."""
        if not pieces:
            raise ValueError("no segments to join")
        fps = pieces[0].fps
        spf = samples_per_frame(fps)
        gaps = [p.frames * spf - p.speech.n_samples for p in pieces]
        speech = join_speech([p.speech for p in pieces], gaps=gaps, char_offsets=char_offsets)
        track = MouthTrack(
            fps, np.concatenate([p.params for p in pieces]), tuple(v for p in pieces for v in _padded_visemes(p))
        )
        return cls.of(speech, track, key=key, title=title)

    def audio(self, k: int) -> np.ndarray:
        """The program audio of frame k."""
        spf = samples_per_frame(self.fps)
        return self.pcm[k * spf : (k + 1) * spf]


def _padded_visemes(segment: Segment) -> tuple[str, ...]:
    """The segment's viseme labels, with "sil" for the frames its padding added."""
    return segment.track.visemes + ("sil",) * (segment.frames - len(segment.track))
