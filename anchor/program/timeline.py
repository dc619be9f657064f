"""The program timeline: the one frame loop behind clips, bulletins and the live channel.

Frame n carries audio samples [n*spf, (n+1)*spf). While an entry plays, its segments' audio and
mouth drive the anchor; when nothing plays, the idle anchor (blinks and motion on the same
program clock, a relaxed closed mouth, silence) fills the time, so hand-overs cost nothing on
air. An entry is one clip, story or queue item: one segment, or — for a live item prepared
sentence by sentence — a first piece followed by more pieces as they are made (`extend`), each
starting exactly where the last one ended; if the next piece is late, the anchor waits quietly
on air. Entries start and are cut only at frame boundaries. An entry's lower-third (its title)
lasts exactly as long as the entry does on air: a cut ends it too.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from anchor.face.base import AnchorRenderer, MouthPlanning
from anchor.program.segment import Segment
from anchor.studio.compositor import Compositor, Placement
from anchor.timebase import samples_per_frame
from streaming.frames import AudioChunk, VideoFrame

REST = np.zeros(4, np.float32)
"""Mouth parameters of the idle anchor (closed, relaxed)."""

EventKind = Literal["started", "finished", "interrupted"]

Mark = Callable[[np.ndarray, int], object]
"""Marks a freshly composed program picture in place (the invisible watermark), given its frame index."""


@dataclass(frozen=True)
class TimelineEvent:
    """Something that happened on air at program frame `frame` (`key` names the entry).

    For "interrupted": `piece` is the index of the piece that was on air and `piece_done` whether it
    had been heard to its end, so a resumed item knows where to pick up.
    """

    kind: EventKind
    key: int
    frame: int
    piece: int = 0
    piece_done: bool = True


@dataclass
class _OnAir:
    key: int
    start_frame: int  # where the entry began
    piece: Segment  # the piece on air (the last one while waiting for the next)
    piece_index: int
    piece_start: int
    end_frame: int  # exclusive end of the current piece; pulled in by a cut
    strap: object | None  # the compositor's handle of the title strap
    complete: bool  # no more pieces will come
    cut: bool = False  # ended early: no more pieces, reported as interrupted
    upcoming: deque[Segment] = field(default_factory=deque)


class ProgramTimeline:
    """Produces program frames in order from one anchor renderer and the studio compositor."""

    def __init__(self, renderer: AnchorRenderer, studio: Compositor, fps: int, *, mark: Mark | None = None) -> None:
        self.renderer = renderer
        self.studio = studio
        self.mark = mark
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
        """The piece on air (None when idle)."""
        return self._on_air.piece if self._on_air else None

    @property
    def current_key(self) -> int | None:
        """The key of the entry on air (None when idle)."""
        return self._on_air.key if self._on_air else None

    @property
    def idle(self) -> bool:
        return self._on_air is None

    @property
    def open_entry(self) -> bool:
        """An entry is on air and still takes pieces (`extend`)."""
        air = self._on_air
        return air is not None and not air.complete and not air.cut

    @property
    def waiting(self) -> bool:
        """On air, but the next piece of the entry is not there yet (the anchor waits in silence)."""
        air = self._on_air
        return air is not None and self.frame_index >= air.end_frame and not air.upcoming and not air.complete

    @property
    def position_s(self) -> float:
        """Seconds into the current entry (0 when idle)."""
        return (self.frame_index - self._on_air.start_frame) / self.fps if self._on_air else 0.0

    @property
    def position_samples(self) -> int:
        """Program samples into the current piece (0 when idle)."""
        return (self.frame_index - self._on_air.piece_start) * self.spf if self._on_air else 0

    @property
    def end_frame(self) -> int | None:
        """The frame at which the current piece leaves the air (None when idle)."""
        return self._on_air.end_frame if self._on_air else None

    # -- control -----------------------------------------------------------------------

    def set_anchor(self, renderer: AnchorRenderer, solo: Placement, beside: Placement | None = None) -> None:
        """Switch to another avatar (takes effect at the next frame)."""
        self.renderer = renderer
        self.studio.set_anchor(renderer.size, solo, beside)
        self.studio.set_rest(renderer.rest())

    def play(self, segment: Segment, *, more: bool = False) -> None:
        """Start an entry with `segment` at the next frame, cutting whatever is on air.

        `more=True`: further pieces of this entry will follow (`extend`), then `complete()`."""
        self._check(segment)
        if self._on_air is not None:
            self._on_air.cut = True
            self._end(self._on_air, "interrupted")
        n = self.frame_index
        self.studio.clear_schedule(n)  # keeps a 24/7 schedule from growing
        strap = None
        if segment.title:
            strap = self.studio.show_lower_third(segment.title, start=n, end=None if more else n + segment.frames)
        self._on_air = _OnAir(segment.key, n, segment, 0, n, n + segment.frames, strap, complete=not more)
        self._announce(segment, n)
        self._emit("started", segment.key)

    def extend(self, segment: Segment, *, last: bool = False) -> None:
        """Queue the next piece of the entry on air; it starts the frame the current piece ends."""
        self._check(segment)
        air = self._on_air
        if air is None or air.complete or air.cut:
            raise ValueError("nothing on air to extend")
        air.upcoming.append(segment)
        if last:
            self.complete()

    def complete(self) -> None:
        """No more pieces will come for the entry on air: it finishes after the queued ones."""
        air = self._on_air
        if air is None or air.complete:
            return
        air.complete = True
        if air.strap is not None:
            end = max(air.end_frame, self.frame_index) + sum(p.frames for p in air.upcoming)
            self.studio.end_lower_third(air.strap, end)

    def cut(self) -> None:
        """End the current entry at the next frame (its graphics with it)."""
        air = self._on_air
        if air is not None:
            air.end_frame = min(air.end_frame, self.frame_index)
            air.cut = True
            air.upcoming.clear()

    def cut_at_sentence_end(self) -> int:
        """End the current entry at the end of the sentence being spoken; returns that frame."""
        air = self._on_air
        if air is None:
            return self.frame_index
        here = self.position_samples
        for s in air.piece.speech.sentences:
            if s.end >= here:
                end = air.piece_start + -(-s.end // self.spf)
                air.end_frame = min(air.end_frame, max(end, self.frame_index))
                break
        else:  # between pieces (waiting): end now
            air.end_frame = min(air.end_frame, self.frame_index)
        air.cut = True
        air.upcoming.clear()
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
            image = self.studio.compose(self.renderer.render(mouth, n / self.fps), n)
            if self.mark is not None:
                self.mark(image, n)
            self._last_image = image
            self.rendered_frames += 1
        self.frame_index += 1
        return VideoFrame(n, self._last_image, self.fps), AudioChunk(n * self.spf, audio)

    def _advance(self) -> tuple[np.ndarray, np.ndarray]:
        """Hand over at this frame if the piece on air ended; the mouth and audio of this frame."""
        n = self.frame_index
        air = self._on_air
        if air is not None and n >= air.end_frame:
            if air.upcoming and not air.cut:
                nxt = air.upcoming.popleft()
                air.piece, air.piece_index, air.piece_start = nxt, air.piece_index + 1, n
                air.end_frame = n + nxt.frames
                self._announce(nxt, n)
            elif air.cut or air.complete:
                self._end(air, "interrupted" if air.cut else "finished")
                air = None
            else:
                return REST, self._silence  # waiting for the next piece
        if air is None:
            return REST, self._silence
        k = n - air.piece_start
        return air.piece.params[k], air.piece.audio(k)

    def _announce(self, segment: Segment, n: int) -> None:
        """Tell a renderer that plans its mouths ahead which track starts at frame n."""
        if isinstance(self.renderer, MouthPlanning):
            self.renderer.plan(segment.params, n / self.fps, self.fps)

    def _check(self, segment: Segment) -> None:
        if segment.fps != self.fps:
            raise ValueError(f"segment is at {segment.fps} fps, the timeline at {self.fps}")

    def _end(self, air: _OnAir, kind: EventKind) -> None:
        if air.strap is not None:
            self.studio.end_lower_third(air.strap, self.frame_index)
        self._on_air = None
        done = self.frame_index >= air.piece_start + air.piece.frames
        for listener in self.listeners:
            listener(TimelineEvent(kind, air.key, self.frame_index, air.piece_index, done))

    def _emit(self, kind: EventKind, key: int) -> None:
        for listener in self.listeners:
            listener(TimelineEvent(kind, key, self.frame_index))
