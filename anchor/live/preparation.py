"""Preparing queue items for air, sentence by sentence, without ever holding up the air.

Each item's text is spoken piece by piece (one sentence each where the speech backend streams);
each piece gets its mouth planned and becomes a Segment the moment it is made, so an item can go
on air as soon as its first sentence is ready while the rest is prepared during it. The work is
cut into these small units, and two workers pick the most urgent unit each time:

- the urgent worker only makes the first piece of a due interrupt (say-now), so an interrupt
  never waits behind other preparation;
- the general worker keeps the item on air fed first, then makes the first pieces of the next
  items, then the rest, never more than `lead_s` ahead of what is playing.

An item removed or edited while it is prepared is dropped between two pieces (its half-made
preparation is thrown away; an edited item starts again). What each item's preparation stands
at is readable for the queue's display (`status`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from anchor.errors import AnchorError, NotFoundError
from anchor.live.items import Item
from anchor.live.store import ScriptQueue
from anchor.program.pipeline import Pipeline
from anchor.program.segment import Segment
from anchor.speech.base import Speech
from anchor.speech.text import sentence_bounds

log = logging.getLogger(__name__)


@dataclass
class Preparation:
    """One item's preparation: the pieces made so far, whether more will come, and who works on it."""

    item: Item
    pieces: list[Segment] = field(default_factory=list)
    sentences: int = 1  # how many pieces are expected (an estimate until done)
    done: bool = False
    busy: bool = False
    dropped: bool = False
    aired: int = 0  # pieces handed to the timeline
    resume_from: int = 0  # where an interrupted item picks up again
    source: Iterator[Speech] | None = None

    @property
    def ready(self) -> bool:
        """At least the piece the item starts (or resumes) with is made."""
        return len(self.pieces) > self.resume_from

    @property
    def frames_ready(self) -> int:
        return sum(p.frames for p in self.pieces)

    def status(self) -> dict[str, object]:
        """For the queue display: why the item waits (n of m sentences ready)."""
        return {
            "sentences_ready": len(self.pieces),
            "sentences": max(self.sentences, len(self.pieces)),
            "complete": self.done,
            "seconds_ready": round(sum(p.duration for p in self.pieces), 2),
        }


Failed = Callable[[Item, str], None]
"""Told about an item whose preparation failed, with the reason."""


class Preparer:
    """Owns the preparations and the two worker threads; start() / stop()."""

    def __init__(
        self,
        pipeline: Pipeline,
        queue: ScriptQueue,
        fps: int,
        *,
        ahead: int = 2,
        lead_s: float = 20.0,
        on_failed: Failed | None = None,
        warm: Callable[[str], object] | None = None,
        open_audio: Callable[[str], Path] = Path,
    ) -> None:
        self.pipeline = pipeline
        self.queue = queue
        self.fps = fps
        self.ahead = ahead
        self.lead_frames = round(lead_s * fps)
        self.on_failed = on_failed
        self.warm = warm  # loads an item's avatar ahead of its turn
        self.open_audio = open_audio  # where an item's audio_path may point (the channel's media roots)
        self.on_air: int | None = None  # set by the channel: the item on air
        self.aired_frames = 0  # set by the channel: frames of the item on air already played
        self._preps: dict[int, Preparation] = {}
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._stop = False
        self._threads: list[threading.Thread] = []

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        for name, urgent in (("urgent", True), ("general", False)):
            t = threading.Thread(target=self._work, args=(urgent,), name=f"prepare-{name}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        with self._lock:
            self._stop = True
            self._wake.notify_all()
        for t in self._threads:
            t.join()
        self._threads.clear()

    def nudge(self) -> None:
        """The queue changed: look again."""
        with self._lock:
            self._wake.notify_all()

    # -- what the channel asks -------------------------------------------------------------

    def get(self, item_id: int) -> Preparation | None:
        with self._lock:
            return self._preps.get(item_id)

    def forget(self, item_id: int) -> None:
        """Drop an item's preparation (it finished, failed or was skipped)."""
        with self._lock:
            prep = self._preps.pop(item_id, None)
            if prep is not None:
                prep.dropped = True

    def status(self) -> dict[int, dict[str, object]]:
        """Per item being prepared: how far its preparation is."""
        with self._lock:
            return {i: p.status() for i, p in self._preps.items()}

    # -- the work ------------------------------------------------------------------------------

    def _work(self, urgent: bool) -> None:
        while True:
            with self._lock:
                if self._stop:
                    return
            try:
                job = self._pick(urgent)
            except Exception:  # the queue could not be read: keep preparing, the air must not starve
                log.exception("preparer could not read the queue")
                job = None
            if job is None:
                with self._lock:
                    if not self._stop:
                        self._wake.wait(0.05)
                continue
            self._step(job)

    def _pick(self, urgent: bool) -> Preparation | None:
        """The most urgent unit of work, claimed (busy) — or None."""
        interrupt = self.queue.pending_interrupt()
        with self._lock:
            self._sync_dropped()
            if interrupt is not None:
                prep = self._prep_for(interrupt)
                if prep is not None and not prep.ready and not prep.busy and not prep.done:
                    prep.busy = True
                    return prep
            if urgent:
                return None
            on_air = self._preps.get(self.on_air) if self.on_air is not None else None
            if on_air is not None and self._wants_more(on_air):
                on_air.busy = True
                return on_air
        upcoming = self.queue.list(states=("queued", "preparing", "ready"), limit=self.ahead + 1)
        with self._lock:
            waiting = [i for i in upcoming if i.id != self.on_air][: self.ahead]
            for item in waiting:
                prep = self._prep_for(item)
                if prep is not None and not prep.ready and not prep.busy and not prep.done:
                    prep.busy = True
                    return prep
            for item in waiting:
                prep = self._preps.get(item.id)
                if prep is not None and self._wants_more(prep):
                    prep.busy = True
                    return prep
        return None

    def _wants_more(self, prep: Preparation) -> bool:
        if prep.busy or prep.done or prep.dropped:
            return False
        played = self.aired_frames if prep.item.id == self.on_air else 0
        return prep.frames_ready - played < self.lead_frames

    def _prep_for(self, item: Item) -> Preparation | None:
        """The item's preparation (created on first sight; a stale one is replaced). Lock held."""
        prep = self._preps.get(item.id)
        if prep is not None and prep.item.revision != item.revision:
            prep.dropped = True
            prep = None
        if prep is None:
            if item.state not in ("queued", "preparing", "ready", "playing"):
                return None
            prep = self._preps[item.id] = Preparation(item)
        return prep

    def _sync_dropped(self) -> None:
        """Forget preparations of items that were removed, edited or ended meanwhile. Lock held."""
        for item_id, prep in list(self._preps.items()):
            try:
                current = self.queue.get(item_id)
            except NotFoundError:
                current = None
            if current is None or current.revision != prep.item.revision or current.is_final:
                prep.dropped = True
                del self._preps[item_id]

    def _step(self, prep: Preparation) -> None:
        """Make one piece of `prep` (outside the lock); store it unless the item went away meanwhile."""
        item = prep.item
        try:
            if prep.source is None:
                if not prep.pieces:
                    self._mark(self.queue.mark_preparing, item)
                if item.avatar and self.warm is not None:
                    self.warm(item.avatar)
                prep.source, prep.sentences = self._source(item)
            speech = next(prep.source, None)
            piece = None if speech is None else self.pipeline.segment(speech, self.fps, key=item.id, title=item.title)
        except AnchorError as e:
            self._fail(prep, str(e))
            return
        if piece is not None and not prep.pieces and item.state in ("queued", "preparing"):
            # Ready is recorded before the piece is published: once the channel can see the piece
            # it may put the item on air (ready -> playing) at the next frame.
            self._mark(lambda i: self.queue.mark_ready(i, revision=item.revision), item)
        with self._lock:
            prep.busy = False
            if prep.dropped:
                return
            if piece is None:
                prep.done = True
                prep.sentences = len(prep.pieces)
            else:
                prep.pieces.append(piece)
            self._wake.notify_all()
        if prep.done and not prep.pieces:
            self._fail(prep, "the text held nothing to say")

    def _source(self, item: Item) -> tuple[Iterator[Speech], int]:
        """The pieces of an item, and how many to expect."""
        p = self.pipeline
        if item.audio_path is not None:
            path = self.open_audio(item.audio_path)
            heard = p.listen(path, language=item.language, text=item.text or "", field="audio_path")
            return iter([heard.speech]), 1
        text = item.text or ""
        pieces = p.speak_pieces(text, language=item.language, voice=item.voice)
        expected = len(sentence_bounds(text)) if p.speech.capabilities.streams else 1
        return pieces, max(1, expected)

    def _mark(self, mark: Callable[[int], object], item: Item) -> None:
        try:
            mark(item.id)
        except NotFoundError:
            self.forget(item.id)
        except AnchorError as e:  # edited meanwhile (revision): the next pick starts it again
            log.info("item %s: %s", item.id, e)

    def _fail(self, prep: Preparation, reason: str) -> None:
        with self._lock:
            prep.busy = False
            if prep.dropped:
                return
            self._preps.pop(prep.item.id, None)
        try:
            self.queue.mark_failed(prep.item.id, reason)
        except AnchorError:
            return  # gone or already final: nothing to report
        if self.on_failed is not None:
            self.on_failed(prep.item, reason)
