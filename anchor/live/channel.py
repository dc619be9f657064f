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

from anchor.errors import AnchorError
from anchor.face.avatar import AvatarPack
from anchor.face.base import MotionControl
from anchor.live.events import Event, EventHub
from anchor.live.governor import GovernorStats, RenderGovernor
from anchor.live.items import Item
from anchor.live.media import MediaRoots
from anchor.live.store import ScriptQueue
from anchor.program.pipeline import Pipeline
from anchor.program.segment import Segment
from anchor.program.timeline import ProgramTimeline, TimelineEvent
from anchor.studio.presenter import PresenterShot, presenter_placement
from streaming.clock import Clock
from streaming.outputs import NetworkOutput, OutputStatus, Sink, ViewerFanout
from streaming.pacer import FramePacer

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
        media: MediaRoots | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.media = media or MediaRoots()  # where audio_path may point (none: uploads only)
        self.queue = queue
        self.sinks = list(sinks)
        self.clock = clock
        self.fps = fps
        self.idle_playlist = idle_playlist
        self.prepare_ahead = prepare_ahead
        self.recover_policy = recover
        place = presenter_placement(avatar, width, height)
        renderer = pipeline.renderer(avatar, place.scale, idle_motion)
        self.shot = PresenterShot(width, height, place, renderer.size, fps=fps)
        self._clock_shown = False
        self.timeline = ProgramTimeline(renderer, self.shot, fps)
        if ticker:
            self.set_ticker(ticker)
        self.timeline.listeners.append(self._on_timeline)
        self.pacer = FramePacer(fps, clock)
        self.governor = RenderGovernor(fps)
        self.idle_motion = idle_motion
        self._applied_level = -1
        self._audio_level = 0.0
        self.listeners: list[Callable[[ChannelEvent], None]] = []
        self.paused = False
        self._prepared: dict[int, Segment] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._cut_requested_for: int | None = None
        self._threads: list[threading.Thread] = []
        self.error: BaseException | None = None
        self.hub = EventHub()
        self.listeners.append(self._publish)
        self._av_max_diff = 0.0
        for out in self.network_outputs:
            out.on_state(self._on_output_state)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> Channel:
        report = self.queue.recover(self.recover_policy)
        log.info("recovered queue: %s", report)
        for target, name in ((self._prepare_loop, "prepare"), (self._air_loop, "air")):
            t = threading.Thread(target=target, name=f"channel-{name}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        """Stop both threads and close the sinks (always)."""
        self._stop.set()
        self._wake.set()
        for t in self._threads:
            t.join()
        self._threads.clear()
        for sink in self.sinks:
            try:
                sink.close()
            except Exception:  # one bad sink must not keep the others open
                log.exception("closing sink %r failed", sink)

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
        self._wake.set()

    # -- state for the control API and metrics -------------------------------------------------

    @property
    def network_outputs(self) -> list[NetworkOutput]:
        return [s for s in self.sinks if isinstance(s, NetworkOutput)]

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
        current = self.timeline.current
        item = self.queue.get(current.key) if current else None
        return {
            "item": item.model_dump(mode="json") if item else None,
            "position_s": round(self.timeline.position_s, 3),
            "duration_s": round(current.duration, 3) if current else 0.0,
            "paused": self.paused,
            "next": [
                i.model_dump(mode="json") for i in self.queue.list(states=("queued", "preparing", "ready"), limit=5)
            ],
            "outputs": [asdict(o) for o in self.outputs()],
            "program_time_s": self.timeline.frame_index / self.fps,
        }

    def _publish(self, e: ChannelEvent) -> None:
        self.hub.publish(Event(f"item.{e.kind}", {"item_id": e.item_id, "frame": e.frame, "reason": e.reason}))

    def _on_output_state(self, sink: object, state: str) -> None:
        kind = {"up": "output.up", "reconnecting": "output.down"}.get(state, f"output.{state}")
        name = sink.status().name if isinstance(sink, NetworkOutput) else type(sink).__name__
        self.hub.publish(Event(kind, {"output": name, "state": state}))

    # -- preparation ---------------------------------------------------------------------

    def prepare(self, item: Item) -> Segment:
        """Speech and mouth for `item` (raises AnchorError for what cannot be spoken).

        Text goes through the speech backend; a recorded audio file through the recording path;
        the mouth through the pipeline's planner, as for every clip and bulletin.
        """
        p = self.pipeline
        if item.audio_path is not None:
            audio = self.media.resolve(item.audio_path)  # checked again where it is opened
            speech = p.listen(audio, language=item.language, text=item.text or "", field="audio_path").speech
        else:
            speech = p.speak(item.text or "", language=item.language, voice=item.voice)
        return p.segment(speech, self.fps, key=item.id, title=item.title)

    def _prepare_loop(self) -> None:
        while not self._stop.is_set():
            try:
                todo = [i for i in self.queue.list(states=("queued",)) if i.id not in self._prepared]
                for item in todo[: self.prepare_ahead]:
                    self._prepare_one(item)
            except Exception as e:  # keep preparing; the air loop must never starve
                log.exception("preparer error: %s", e)
            self._wake.wait(0.05)
            self._wake.clear()

    def _prepare_one(self, item: Item) -> None:
        self.queue.mark_preparing(item.id)
        try:
            prepared = self.prepare(item)
        except AnchorError as e:
            self.queue.mark_failed(item.id, str(e))
            self._emit(ChannelEvent("failed", item.id, self.timeline.frame_index, str(e)))
            return
        with self._lock:
            self._prepared[item.id] = prepared
        self.queue.mark_ready(item.id, revision=item.revision)

    # -- on air --------------------------------------------------------------------------

    def _emit(self, event: ChannelEvent) -> None:
        for listener in self.listeners:
            listener(event)

    def _on_timeline(self, e: TimelineEvent) -> None:
        if e.kind == "finished":
            self.queue.mark_played(e.key)
        elif e.kind == "interrupted":
            self.queue.mark_skipped(e.key, "interrupted on air")
        with self._lock:
            if e.kind != "started":
                self._prepared.pop(e.key, None)
        self._emit(ChannelEvent(e.kind, e.key, e.frame))

    def _ready(self, item: Item | None) -> Segment | None:
        if item is None or item.state != "ready":
            return None
        with self._lock:
            return self._prepared.get(item.id)

    def _schedule(self) -> None:
        """Between frames: honour interrupts, then start the next ready item when idle."""
        current = self.timeline.current
        interrupt = self.queue.pending_interrupt()
        if interrupt is not None and (current is None or interrupt.id != current.key):
            if interrupt.interrupt_at == "sentence" and current is not None:
                # Let the sentence finish; once the cut lands the queue hands us the interrupt first.
                if self._cut_requested_for != current.key:
                    self._cut_requested_for = current.key
                    self.timeline.cut_at_sentence_end()
            else:
                prepared = self._ready(interrupt)
                if prepared is not None:
                    self._put_on_air(interrupt, prepared)  # cuts whatever plays, at this frame
                    return
        if self.timeline.idle and not self.paused:
            item = self.queue.next_due()
            if item is None and self.idle_playlist:
                if self.queue.next_playlist_item(self.idle_playlist) is not None:
                    self.nudge()
                return
            prepared = self._ready(item)
            if item is not None and prepared is not None:
                self._put_on_air(item, prepared)

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

    def _put_on_air(self, item: Item, prepared: Segment) -> None:
        # The timeline reports the cut item first (marked skipped), so only one item plays.
        self.timeline.play(prepared)
        self.queue.mark_playing(item.id)

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
                diff = abs(audio.pts / audio.sample_rate - frame.pts / frame.fps)
                self._av_max_diff = max(self._av_max_diff, diff)
                self._audio_level = float(np.sqrt(np.mean(audio.samples.astype(np.float32) ** 2))) / 32768.0
                self.pacer.wait_for(frame.pts)
                for sink in self.sinks:
                    sink.write(frame, audio)
        except BaseException as e:  # surfaced through `error` and the log; the owner decides
            self.error = e
            log.exception("channel stopped by an error")
            raise
