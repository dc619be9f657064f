"""The channel: keeps a virtual host on air from the script queue, forever.

One thread owns the program timeline: each tick it picks up interrupts and the next ready
item from the queue, renders one frame with its audio, waits for that frame's slot on the
clock and hands it to every sink. A second thread prepares items (speech + mouth, through the
program pipeline) ahead of their turn. Only the sinks and the pacer look at the clock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np

from anchor.errors import AnchorError, NotFoundError
from anchor.face.avatar import AvatarPack
from anchor.face.base import AnchorRenderer, MotionControl
from anchor.live.config import OutputConfig
from anchor.live.events import Event, EventHub
from anchor.live.governor import GovernorStats, RenderGovernor
from anchor.live.items import Item
from anchor.live.media import MediaRoots
from anchor.live.outputs import OutputSet
from anchor.live.preparation import Preparation, Preparer
from anchor.live.store import ScriptQueue
from anchor.program.pipeline import Pipeline
from anchor.program.segment import Segment
from anchor.program.timeline import Mark, ProgramTimeline, TimelineEvent
from anchor.studio.compositor import Placement
from anchor.studio.presenter import PresenterShot, presenter_placement
from streaming.clock import Clock
from streaming.outputs import NetworkOutput, OutputStatus, Sink, ViewerFanout
from streaming.pacer import FramePacer
from streaming.rtmp import RtmpSink

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChannelEvent:
    """item started/finished/interrupted/failed, at program frame `frame`."""

    kind: str
    item_id: int
    frame: int
    reason: str = ""


@dataclass(frozen=True)
class ChannelStats:
    """Counters for /metrics and the control room."""

    frames_sent: int
    late_frames: int
    dropped_frames: int
    av_max_diff_s: float
    queue_depth: int
    uptime_s: float
    fps: int
    outputs: tuple[OutputStatus, ...]
    viewers: int
    rendered_frames: int
    governor: GovernorStats
    audio_level: float  # RMS of the last frame's audio, 0..1 of full scale

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Channel:
    """A 24/7 channel: timeline + queue + sinks on one clock. Use as a context manager."""

    def __init__(
        self,
        pipeline: Pipeline,
        queue: ScriptQueue,
        avatar: AvatarPack,
        sinks: Sequence[Sink],
        clock: Clock,
        *,
        width: int,
        height: int,
        fps: int = 25,
        recover: Literal["replay", "skip"] = "replay",
        idle_playlist: str | None = None,
        prepare_ahead: int = 2,
        idle_motion: float = 1.0,
        ticker: Sequence[str] = (),
        interrupt_policy: Literal["skip", "resume"] = "skip",
        outputs: Sequence[OutputConfig] = (),
        mark: Mark | None = None,
        media: MediaRoots | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.media = media or MediaRoots()  # where audio_path may point (none: uploads only)
        self.queue = queue
        self.sinks = list(sinks)

        def open_output(o: OutputConfig) -> RtmpSink:
            return RtmpSink(o.url, width, height, fps, video_bitrate=o.video_bitrate, preset=o.preset)

        self.output_set = OutputSet(open_output)
        self.clock = clock
        self.fps = fps
        self.idle_playlist = idle_playlist
        self.prepare_ahead = prepare_ahead
        self.recover_policy = recover
        self.width, self.height = width, height
        self.idle_motion = idle_motion
        self.avatar = avatar
        self._anchors: dict[str, tuple[AnchorRenderer, Placement]] = {}
        self._anchors_lock = threading.Lock()
        renderer, place = self.anchor_for(avatar.name, avatar)
        self._on_screen = avatar.name
        self.shot = PresenterShot(width, height, place, renderer.size, fps=fps)
        self._clock_shown = False
        self.timeline = ProgramTimeline(renderer, self.shot, fps, mark=mark)
        if ticker:
            self.set_ticker(ticker)
        self.timeline.listeners.append(self._on_timeline)
        self.pacer = FramePacer(fps, clock)
        self.governor = RenderGovernor(fps)
        self._applied_level = -1
        self._audio_level = 0.0
        self.listeners: list[Callable[[ChannelEvent], None]] = []
        self.paused = False
        self.interrupt_policy = interrupt_policy
        self.preparer = Preparer(
            pipeline,
            queue,
            fps,
            ahead=prepare_ahead,
            on_failed=self._on_prepare_failed,
            warm=self.anchor_for,
            open_audio=lambda name: self.media.resolve(name),  # the roots may be replaced later
        )
        self._stop = threading.Event()
        self._cut_requested_for: int | None = None
        self._skip_requested: int | None = None
        self._skipped_now: int | None = None
        self._threads: list[threading.Thread] = []
        self.error: BaseException | None = None
        self.hub = EventHub()
        self.listeners.append(self._publish)
        self._av_max_diff = 0.0
        for sink in self.sinks:
            if isinstance(sink, NetworkOutput):
                sink.on_state(self._on_output_state)
        self.output_set.listen(self._on_output_state)
        for o in outputs:
            self.output_set.add(o)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> Channel:
        report = self.queue.recover(self.recover_policy)
        log.info("recovered queue: %s", report)
        self.preparer.start()
        t = threading.Thread(target=self._air_loop, name="channel-air", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self) -> None:
        """Stop the air and the preparation, end the event streams and close the sinks (always)."""
        self._stop.set()
        self.hub.close()
        for t in self._threads:
            t.join()
        self._threads.clear()
        self.preparer.stop()
        for sink in self.sinks:
            try:
                sink.close()
            except Exception:  # one bad sink must not keep the others open
                log.exception("closing sink %r failed", sink)
        self.output_set.close()

    def __enter__(self) -> Channel:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- control -------------------------------------------------------------------------

    def pause(self) -> None:
        """Hold the queue: the current item finishes, nothing new starts; the host idles on air."""
        self.paused = True
        self.hub.publish(Event("channel.paused"))

    def resume(self) -> None:
        self.paused = False
        self.hub.publish(Event("channel.resumed"))
        self.nudge()

    def set_ticker(self, items: Sequence[str]) -> None:
        """Scroll `items` in the ticker under the anchor, with the wall-clock time beside it (empty: none)."""
        self.shot.set_ticker(list(items))
        self._clock_shown = bool(items)
        self._sync_clock(self.timeline.frame_index)

    def _sync_clock(self, n: int) -> None:
        """Set the on-screen clock so that frame n shows the local wall-clock time (it then runs on
        program time, which the pacer keeps at wall-clock pace; re-synced every minute for DST and drift)."""
        if not self._clock_shown:
            self.shot.set_clock(None)
            return
        now = datetime.now().astimezone()
        self.shot.set_clock(now.hour * 3600 + now.minute * 60 + now.second + now.microsecond / 1e6 - n / self.fps)

    def nudge(self) -> None:
        """Tell the preparer that the queue changed."""
        self.preparer.nudge()

    # -- state for the control API and metrics -------------------------------------------------

    @property
    def network_outputs(self) -> list[NetworkOutput]:
        return [s for s in self.sinks if isinstance(s, NetworkOutput)] + list(self.output_set.sinks())

    def outputs(self) -> list[OutputStatus]:
        """Network outputs and their state."""
        return [o.status() for o in self.network_outputs]

    def stats(self) -> ChannelStats:
        outputs = tuple(self.outputs())
        return ChannelStats(
            frames_sent=self.pacer.frames_sent,
            late_frames=self.pacer.late_frames,
            dropped_frames=self.pacer.dropped_frames + sum(o.frames_dropped for o in outputs),
            av_max_diff_s=self._av_max_diff,
            queue_depth=self.queue.depth(),
            uptime_s=self.timeline.frame_index / self.fps,
            fps=self.fps,
            outputs=outputs,
            viewers=sum(s.viewer_count for s in self.sinks if isinstance(s, ViewerFanout)),
            rendered_frames=self.timeline.rendered_frames,
            governor=self.governor.stats(),
            audio_level=self._audio_level,
        )

    def now_playing(self) -> dict[str, Any]:
        key = self.timeline.current_key
        item = self._item_or_none(key)
        prep = self.preparer.get(key) if key is not None else None
        duration = sum(p.duration for p in prep.pieces[prep.resume_from :]) if prep is not None else 0.0
        return {
            "item": item.model_dump(mode="json") if item else None,
            "position_s": round(self.timeline.position_s, 3),
            "duration_s": round(duration, 3),
            "complete": prep.done if prep is not None else True,
            "paused": self.paused,
            "next": [
                i.model_dump(mode="json") for i in self.queue.list(states=("queued", "preparing", "ready"), limit=5)
            ],
            "outputs": [asdict(o) for o in self.outputs()],
            "program_time_s": self.timeline.frame_index / self.fps,
        }

    def _item_or_none(self, key: int | None) -> Item | None:
        if key is None:
            return None
        try:
            return self.queue.get(key)
        except NotFoundError:
            return None

    def preparation(self) -> dict[int, dict[str, object]]:
        """Per item being prepared: n of m sentences ready (why an item waits)."""
        return self.preparer.status()

    def _publish(self, e: ChannelEvent) -> None:
        self.hub.publish(Event(f"item.{e.kind}", {"item_id": e.item_id, "frame": e.frame, "reason": e.reason}))

    def _on_output_state(self, sink: object, state: str) -> None:
        kind = {"up": "output.up", "reconnecting": "output.down"}.get(state, f"output.{state}")
        name = sink.status().name if isinstance(sink, NetworkOutput) else type(sink).__name__
        self.hub.publish(Event(kind, {"output": name, "state": state}))

    # -- preparation ---------------------------------------------------------------------

    def prepare(self, item: Item) -> Segment:
        """`item` as one Segment, made exactly as it airs (sentence by sentence); for checks and tools.

        Raises AnchorError for what cannot be spoken. On air, items are prepared piece by piece by
        the Preparer instead, so they start as soon as their first sentence is ready."""
        p = self.pipeline
        if item.audio_path is not None:
            heard = p.listen(
                self.media.resolve(item.audio_path), language=item.language, text=item.text or "", field="audio_path"
            )
            return p.segment(heard.speech, self.fps, key=item.id, title=item.title)
        return p.text_segment(
            item.text or "", self.fps, language=item.language, voice=item.voice, key=item.id, title=item.title
        )

    def anchor_for(self, name: str, pack: AvatarPack | None = None) -> tuple[AnchorRenderer, Placement]:
        """The renderer and placement of avatar `name`, made once (the preparer warms them up ahead)."""
        with self._anchors_lock:
            found = self._anchors.get(name)
            if found is None:
                pack = pack or self.pipeline.avatar(name)
                place = presenter_placement(pack, self.width, self.height)
                found = self._anchors[name] = (self.pipeline.renderer(pack, place.scale, self.idle_motion), place)
            return found

    def _show(self, name: str) -> None:
        """Put avatar `name` on screen from the next frame."""
        if name != self._on_screen:
            renderer, place = self.anchor_for(name)
            self.timeline.set_anchor(renderer, place)
            self._on_screen = name
            self._applied_level = -1  # the new renderer gets the current motion level

    def _on_prepare_failed(self, item: Item, reason: str) -> None:
        self._emit(ChannelEvent("failed", item.id, self.timeline.frame_index, reason))

    # -- operator control ------------------------------------------------------------------

    def skip(self) -> int | None:
        """Stop the item on air at the next frame (its graphics with it); returns its id (None when idle).

        The item is marked skipped, whatever its interrupt policy."""
        key = self.timeline.current_key
        if key is not None:
            self._skip_requested = key
        return key

    # -- on air --------------------------------------------------------------------------

    def _emit(self, event: ChannelEvent) -> None:
        for listener in self.listeners:
            listener(event)

    def _on_timeline(self, e: TimelineEvent) -> None:
        reason = ""
        if e.kind == "finished":
            self._finish(e.key, self.queue.mark_played)
            self.preparer.forget(e.key)
        elif e.kind == "interrupted":
            reason = self._interrupted(e)
        self._emit(ChannelEvent(e.kind, e.key, e.frame, reason))

    def _interrupted(self, e: TimelineEvent) -> str:
        """An item was cut: skip it, or (resume policy, cut by an interrupt) put it back to go on from
        the sentence it was cut in once the interruption is over."""
        prep = self.preparer.get(e.key)
        by_operator = self._skipped_now == e.key
        self._skipped_now = None
        resume_at = e.piece + (1 if e.piece_done else 0)
        more = prep is not None and (not prep.done or resume_at < len(prep.pieces))
        policy = (prep.item.interrupt_policy if prep is not None else None) or self.interrupt_policy
        if policy == "resume" and not by_operator and prep is not None and more:
            prep.resume_from = prep.aired = resume_at
            self._finish(e.key, self.queue.resume_later)
            self.preparer.nudge()
            return f"to resume at sentence {resume_at + 1}"
        reason = "skipped by operator" if by_operator else "interrupted on air"
        self._finish(e.key, lambda i: self.queue.mark_skipped(i, reason))
        self.preparer.forget(e.key)
        return reason

    def _finish(self, item_id: int, mark: Callable[[int], object]) -> None:
        try:
            mark(item_id)
        except AnchorError as e:  # removed meanwhile: nothing to record
            log.info("item %s: %s", item_id, e)

    def _schedule(self) -> None:
        """Between frames: operator skips, interrupts, feeding the item on air, the next item when idle."""
        if self._skip_requested is not None:
            if self._skip_requested == self.timeline.current_key:
                self._skipped_now = self._skip_requested
                self.timeline.cut()
            self._skip_requested = None
        current = self.timeline.current_key
        interrupt = self.queue.pending_interrupt()
        if interrupt is not None and interrupt.id != current:
            if interrupt.interrupt_at == "sentence" and current is not None:
                # Let the sentence finish; once the cut lands the queue hands us the interrupt first.
                if self._cut_requested_for != current:
                    self._cut_requested_for = current
                    self.timeline.cut_at_sentence_end()
            else:
                prep = self.preparer.get(interrupt.id)
                if prep is not None and prep.ready and interrupt.state == "ready":
                    self._put_on_air(interrupt, prep)  # cuts whatever plays, at this frame
                    return
        self._feed()
        if self.timeline.idle:
            self._show(self.avatar.name)  # between items: the channel's own presenter
        if self.timeline.idle and not self.paused:
            item = self.queue.next_due()
            if item is None and self.idle_playlist:
                if self.queue.next_playlist_item(self.idle_playlist) is not None:
                    self.nudge()
                return
            prep = self.preparer.get(item.id) if item is not None else None
            if item is not None and prep is not None and prep.ready and item.state == "ready":
                self._put_on_air(item, prep)

    def _feed(self) -> None:
        """Hand the pieces made since the last frame to the entry on air; complete it after the last."""
        key = self.timeline.current_key
        if key is None or not self.timeline.open_entry:
            return
        prep = self.preparer.get(key)
        if prep is None:
            return
        while prep.aired < len(prep.pieces):
            self.timeline.extend(prep.pieces[prep.aired])
            prep.aired += 1
        if prep.done and prep.aired == len(prep.pieces):
            self.timeline.complete()
        before = sum(p.frames for p in prep.pieces[: prep.resume_from])
        self.preparer.aired_frames = before + round(self.timeline.position_s * self.fps)

    def _put_on_air(self, item: Item, prep: Preparation) -> None:
        # The timeline reports the cut item first (skipped or put back), so only one item plays.
        self._show(item.avatar or self.avatar.name)
        first = prep.pieces[prep.resume_from]
        prep.aired = prep.resume_from + 1
        self.timeline.play(first, more=not (prep.done and prep.aired == len(prep.pieces)))
        self.preparer.on_air = item.id
        self._cut_requested_for = None
        self._finish(item.id, self.queue.mark_playing)

    def _apply_level(self) -> None:
        """Idle motion follows the governor's level (off under pressure, back when calm)."""
        level = self.governor.level
        if level == self._applied_level:
            return
        if self._applied_level >= 0:
            self.hub.publish(Event("channel.degraded", {"level": level, "name": self.governor.stats().level_name}))
        self._applied_level = level
        renderer = self.timeline.renderer
        if isinstance(renderer, MotionControl):
            renderer.set_motion(self.idle_motion if self.governor.motion_allowed else 0.0)

    def _air_loop(self) -> None:
        try:
            while not self._stop.is_set():
                self._schedule()
                n = self.timeline.frame_index
                render = self.governor.decide(n, self.pacer.behind(n))
                if not render:
                    self.pacer.drop(1)  # the picture is repeated; audio and pts run on
                self._apply_level()
                if self._clock_shown and n % (60 * self.fps) == 0:
                    self._sync_clock(n)
                frame, audio = self.timeline.next_frame(render=render)
                if self.timeline.idle and self.preparer.on_air is not None:
                    self.preparer.on_air = None
                diff = abs(audio.pts / audio.sample_rate - frame.pts / frame.fps)
                self._av_max_diff = max(self._av_max_diff, diff)
                self._audio_level = float(np.sqrt(np.mean(audio.samples.astype(np.float32) ** 2))) / 32768.0
                self.pacer.wait_for(frame.pts)
                for sink in self.sinks:
                    sink.write(frame, audio)
                self.output_set.write(frame, audio)
        except BaseException as e:  # surfaced through `error` and the log; the owner decides
            self.error = e
            log.exception("channel stopped by an error")
            raise
