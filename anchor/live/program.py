"""The program timeline of a live channel: one frame and its audio at a time, never a gap.

Frame n carries audio samples [n*spf, (n+1)*spf). While an item plays, its speech and mouth
track drive the anchor; between items the idle anchor (blinks on the same program clock,
relaxed closed mouth, silence) fills the time, so hand-overs cost nothing on air.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from anchor.face.renderer import FaceRenderer
from anchor.lipsync.track import MouthTrack
from anchor.speech.base import Speech
from anchor.studio.presenter import PresenterShot
from anchor.timebase import samples_per_frame
from streaming.frames import AudioChunk, VideoFrame

REST = np.zeros(4, np.float32)


@dataclass(frozen=True)
class PreparedItem:
    """An item ready for air: its speech and mouth track at the channel's fps."""

    item_id: int
    title: str | None
    speech: Speech
    track: MouthTrack


@dataclass(frozen=True)
class TimelineEvent:
    """Something that happened on air at program frame `frame`."""

    kind: Literal["started", "finished", "interrupted"]
    item_id: int
    frame: int


@dataclass
class _OnAir:
    item: PreparedItem
    start_frame: int
    end_frame: int  # exclusive; may be pulled in by an interrupt at a sentence end
    pcm: np.ndarray = field(repr=False)


class ProgramTimeline:
    """Produces program frames in order; items are started and cut at frame boundaries."""

    def __init__(self, renderer: FaceRenderer, shot: PresenterShot, fps: int) -> None:
        self.renderer = renderer
        self.shot = shot
        self.fps = fps
        self.spf = samples_per_frame(fps)
        self.frame_index = 0
        self._on_air: _OnAir | None = None
        self._silence = np.zeros(self.spf, np.int16)
        self.listeners: list[Callable[[TimelineEvent], None]] = []
        shot.set_rest(renderer.render(REST, 0.0))

    @property
    def current(self) -> PreparedItem | None:
        return self._on_air.item if self._on_air else None

    @property
    def position_s(self) -> float:
        """Seconds into the current item (0 when idle)."""
        return (self.frame_index - self._on_air.start_frame) / self.fps if self._on_air else 0.0

    @property
    def idle(self) -> bool:
        return self._on_air is None

    def _emit(self, kind: Literal["started", "finished", "interrupted"], item_id: int) -> None:
        for listener in self.listeners:
            listener(TimelineEvent(kind, item_id, self.frame_index))

    def play(self, item: PreparedItem) -> None:
        """Start `item` at the next frame, cutting whatever is on air."""
        if self._on_air is not None:
            self._emit("interrupted", self._on_air.item.item_id)
        n = len(item.track)
        pcm = np.zeros(n * self.spf, np.int16)
        pcm[: min(item.speech.n_samples, len(pcm))] = item.speech.pcm[: len(pcm)]
        self._on_air = _OnAir(item, self.frame_index, self.frame_index + n, pcm)
        self.shot.clear_schedule(self.frame_index)  # keeps a 24/7 schedule from growing
        if item.title:
            self.shot.show_lower_third(item.title, start=self.frame_index, end=self.frame_index + n)
        self._emit("started", item.item_id)

    def cut_at_sentence_end(self) -> int:
        """End the current item at the end of the sentence being spoken; returns that frame."""
        air = self._on_air
        if air is None:
            return self.frame_index
        here = (self.frame_index - air.start_frame) * self.spf
        for s in air.item.speech.sentences:
            if s.end >= here:
                end = air.start_frame + -(-s.end // self.spf)
                air.end_frame = min(air.end_frame, max(end, self.frame_index))
                break
        return air.end_frame

    def next_frame(self) -> tuple[VideoFrame, AudioChunk]:
        """Render program frame `frame_index` and its audio, then advance."""
        n = self.frame_index
        air = self._on_air
        if air is not None and n >= air.end_frame:
            self._emit(
                "finished" if air.end_frame == air.start_frame + len(air.item.track) else "interrupted",
                air.item.item_id,
            )
            self._on_air = air = None
        if air is None:
            mouth, audio = REST, self._silence
        else:
            k = n - air.start_frame
            mouth, audio = air.item.track.params[k], air.pcm[k * self.spf : (k + 1) * self.spf]
        image = self.shot.compose(self.renderer.render(mouth, n / self.fps), n)
        self.frame_index += 1
        return VideoFrame(n, image, self.fps), AudioChunk(n * self.spf, audio)
