"""The program timeline: the one frame loop behind clips, bulletins and the live channel.

Frame n carries audio samples [n*spf, (n+1)*spf). While a segment plays, its audio and mouth
drive the anchor; when nothing plays, the idle anchor (blinks and motion on the same program
clock, a relaxed closed mouth, silence) fills the time, so hand-overs cost nothing on air.
Segments start and are cut only at frame boundaries. A segment's lower-third (its title) lasts
exactly as long as the segment does on air: a cut ends it too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from anchor.face.base import AnchorRenderer
from anchor.program.segment import Segment
from anchor.studio.compositor import Compositor, Placement
from anchor.timebase import samples_per_frame
from streaming.frames import AudioChunk, VideoFrame

REST = np.zeros(4, np.float32)
"""Mouth parameters of the idle anchor (closed, relaxed)."""

EventKind = Literal["started", "finished", "interrupted"]


@dataclass(frozen=True)
class TimelineEvent:
    """Something that happened on air at program frame `frame` (`key` names the segment)."""

    kind: EventKind
    key: int
    frame: int


@dataclass
class _OnAir:
    segment: Segment
    start_frame: int
    end_frame: int  # exclusive; pulled in by a cut
    strap: object | None  # the compositor's handle of the title strap


class ProgramTimeline:
    """Produces program frames in order from one anchor renderer and the studio compositor."""

    def __init__(self, renderer: AnchorRenderer, studio: Compositor, fps: int) -> None:
        self.renderer = renderer
        self.studio = studio
        self.fps = fps
        self.spf = samples_per_frame(fps)
        self.frame_index = 0
        self._on_air: _OnAir | None = None
        self._silence = np.zeros(self.spf, np.int16)
        self.listeners: list[Callable[[TimelineEvent], None]] = []
        self.rendered_frames = 0
        self._last_image: np.ndarray | None = None
        studio.set_rest(renderer.rest())

    # -- state -------------------------------------------------------------------------

    @property
    def current(self) -> Segment | None:
        """The segment on air (None when idle)."""
        return self._on_air.segment if self._on_air else None

    @property
    def idle(self) -> bool:
        return self._on_air is None

    @property
    def position_s(self) -> float:
        """Seconds into the current segment (0 when idle)."""
        return (self.frame_index - self._on_air.start_frame) / self.fps if self._on_air else 0.0

    @property
    def position_samples(self) -> int:
        """Program samples into the current segment (0 when idle)."""
        return (self.frame_index - self._on_air.start_frame) * self.spf if self._on_air else 0

    @property
    def end_frame(self) -> int | None:
        """The frame at which the current segment leaves the air (None when idle)."""
        return self._on_air.end_frame if self._on_air else None

    # -- control -----------------------------------------------------------------------

    def set_anchor(self, renderer: AnchorRenderer, solo: Placement, beside: Placement | None = None) -> None:
        """Switch to another avatar (takes effect at the next frame)."""
        self.renderer = renderer
        self.studio.set_anchor(renderer.size, solo, beside)
        self.studio.set_rest(renderer.rest())

    def play(self, segment: Segment) -> None:
        """Start `segment` at the next frame, cutting whatever is on air."""
        if segment.fps != self.fps:
            raise ValueError(f"segment is at {segment.fps} fps, the timeline at {self.fps}")
        if self._on_air is not None:
            self._end(self._on_air, "interrupted")
        n = self.frame_index
        self.studio.clear_schedule(n)  # keeps a 24/7 schedule from growing
        strap = self.studio.show_lower_third(segment.title, start=n, end=n + segment.frames) if segment.title else None
        self._on_air = _OnAir(segment, n, n + segment.frames, strap)
        self._emit("started", segment.key)

    def cut(self) -> None:
        """End the current segment at the next frame (its graphics with it)."""
        if self._on_air is not None:
            self._on_air.end_frame = self.frame_index

    def cut_at_sentence_end(self) -> int:
        """End the current segment at the end of the sentence being spoken; returns that frame."""
        air = self._on_air
        if air is None:
            return self.frame_index
        here = self.position_samples
        for s in air.segment.speech.sentences:
            if s.end >= here:
                end = air.start_frame + -(-s.end // self.spf)
                air.end_frame = min(air.end_frame, max(end, self.frame_index))
                break
        if air.strap is not None:
            self.studio.end_lower_third(air.strap, air.end_frame)
        return air.end_frame

    # -- frames ------------------------------------------------------------------------

    def next_frame(self, render: bool = True) -> tuple[VideoFrame, AudioChunk]:
        """Program frame `frame_index` and its audio, then advance.

        With `render=False` the picture is not rendered: the frame repeats the last picture (same
        image object) while the audio and everything on the timeline move on exactly as usual —
        how a live channel that fell behind the clock catches up without touching the sound.
        """
        mouth, audio = self._advance()
        n = self.frame_index
        if render or self._last_image is None:
            self._last_image = self.studio.compose(self.renderer.render(mouth, n / self.fps), n)
            self.rendered_frames += 1
        self.frame_index += 1
        return VideoFrame(n, self._last_image, self.fps), AudioChunk(n * self.spf, audio)

    def _advance(self) -> tuple[np.ndarray, np.ndarray]:
        """Hand over at this frame if the segment on air ended; the mouth and audio of this frame."""
        n = self.frame_index
        air = self._on_air
        if air is not None and n >= air.end_frame:
            self._end(air, "finished" if air.end_frame == air.start_frame + air.segment.frames else "interrupted")
            air = None
        if air is None:
            return REST, self._silence
        k = n - air.start_frame
        return air.segment.params[k], air.segment.audio(k)

    def _end(self, air: _OnAir, kind: EventKind) -> None:
        if air.strap is not None:
            self.studio.end_lower_third(air.strap, self.frame_index)
        self._on_air = None
        self._emit(kind, air.segment.key)

    def _emit(self, kind: EventKind, key: int) -> None:
        for listener in self.listeners:
            listener(TimelineEvent(kind, key, self.frame_index))
