"""The channel: keeps a virtual host on air from the script queue, forever.

One thread owns the program timeline: each tick it picks up interrupts and the next ready
item from the queue, renders one frame with its audio, waits for that frame's slot on the
clock (live) and hands it to every sink. A second thread prepares items (speech + mouth
track) ahead of their turn. Only the sinks and the pacer look at the clock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol

from anchor.config import Settings
from anchor.errors import AnchorError
from anchor.face.avatar import AvatarPack
from anchor.face.blink import BlinkSchedule
from anchor.face.motion import IdleMotion
from anchor.face.renderer import FaceRenderer
from anchor.jobs.say import mouth_track_for, speech_from_file
from anchor.live.events import Event, EventHub
from anchor.live.items import Item
from anchor.live.program import PreparedItem, ProgramTimeline, TimelineEvent
from anchor.live.store import ScriptQueue
from anchor.speech.base import SpeechBackend
from anchor.studio.presenter import PresenterShot, presenter_placement
from streaming.clock import Clock
from streaming.frames import AudioChunk, VideoFrame
from streaming.pacer import FramePacer

log = logging.getLogger(__name__)


class Sink(Protocol):
    """Where program frames go (RtmpSink, Mp4Sink, a WebRTC fan-out, a test recorder)."""

    def write(self, frame: VideoFrame, audio: AudioChunk) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ChannelEvent:
    """item started/finished/interrupted/failed, at program frame `frame`."""

    kind: str
    item_id: int
    frame: int
    reason: str = ""


class Channel:
    """A 24/7 channel: timeline + queue + sinks on one clock. Use as a context manager."""

    def __init__(
        self,
        settings: Settings,
        queue: ScriptQueue,
        speech: SpeechBackend,
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
    ) -> None:
        self.queue = queue
        self.speech = speech
        self.sinks = list(sinks)
        self.clock = clock
        self.fps = fps
        self.idle_playlist = idle_playlist
        self.prepare_ahead = prepare_ahead
        self.recover_policy = recover
        place = presenter_placement(avatar, width, height)
        renderer = FaceRenderer(
            avatar,
            place.scale,
            BlinkSchedule(settings.face.blink_min_s, settings.face.blink_max_s, settings.face.seed),
            IdleMotion(settings.face.seed, idle_motion) if idle_motion > 0 else None,
        )
        shot = PresenterShot(width, height, place, renderer.size)
        if ticker:
            shot.set_ticker(list(ticker))
            now = datetime.now().astimezone()
            shot.set_clock(now.hour * 3600 + now.minute * 60 + now.second)  # then runs on program time
        self.timeline = ProgramTimeline(renderer, shot, fps)
        self.timeline.listeners.append(self._on_timeline)
        self.pacer = FramePacer(fps, clock)
        self.listeners: list[Callable[[ChannelEvent], None]] = []
        self.paused = False
        self._prepared: dict[int, PreparedItem] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._cut_requested_for: int | None = None
        self._threads: list[threading.Thread] = []
        self.error: BaseException | None = None
        self.hub = EventHub()
        self.listeners.append(self._publish)
        self._av_max_diff = 0.0
        for sink in self.sinks:
            if hasattr(sink, "on_state"):
                sink.on_state(self._on_output_state)

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

    # -- state for the control API and metrics -------------------------------------------------

    def pause(self) -> None:
        """Hold the queue: the current item finishes, nothing new starts; the host idles on air."""
        self.paused = True
        self.hub.publish(Event("channel.paused"))

    def resume(self) -> None:
        self.paused = False
        self.hub.publish(Event("channel.resumed"))
        self.nudge()

    @staticmethod
    def output_name(sink: object) -> str:
        """An output's name without its stream key (rtmp://host:port/app)."""
        url = getattr(sink, "url", None)
        if not url:
            return type(sink).__name__
        return url.rsplit("/", 1)[0] if url.count("/") > 3 else url

    def outputs(self) -> list[dict[str, object]]:
        """Network outputs (sinks with a URL) and their state."""
        return [
            {
                "name": self.output_name(s),
                "state": getattr(s, "state", "up"),
                "reconnects": getattr(s, "reconnects", 0),
                "frames_sent": getattr(s, "frames_sent", 0),
                "frames_dropped": getattr(s, "frames_dropped", 0) + getattr(s, "frames_discarded", 0),
            }
            for s in self.sinks
            if getattr(s, "url", None)
        ]

    def stats(self) -> dict[str, object]:
        """Counters for /metrics and the control room."""
        outputs = self.outputs()
        return {
            "frames_sent": self.pacer.frames_sent,
            "late_frames": self.pacer.late_frames,
            "dropped_frames": self.pacer.dropped_frames + sum(int(o["frames_dropped"]) for o in outputs),  # type: ignore[call-overload]
            "av_max_diff_s": self._av_max_diff,
            "queue_depth": self.queue.depth(),
            "uptime_s": self.timeline.frame_index / self.fps,
            "fps": self.fps,
            "outputs": outputs,
            "viewers": sum(getattr(s, "viewer_count", 0) for s in self.sinks),
        }

    def now_playing(self) -> dict[str, object]:
        current = self.timeline.current
        item = self.queue.get(current.item_id) if current else None
        return {
            "item": item.model_dump(mode="json") if item else None,
            "position_s": round(self.timeline.position_s, 3),
            "duration_s": round(len(current.track) / self.fps, 3) if current else 0.0,
            "paused": self.paused,
            "next": [
                i.model_dump(mode="json") for i in self.queue.list(states=("queued", "preparing", "ready"), limit=5)
            ],
            "outputs": self.outputs(),
            "program_time_s": self.timeline.frame_index / self.fps,
        }

    def _publish(self, e: ChannelEvent) -> None:
        self.hub.publish(Event(f"item.{e.kind}", {"item_id": e.item_id, "frame": e.frame, "reason": e.reason}))

    def _on_output_state(self, sink: object, state: str) -> None:
        kind = {"up": "output.up", "reconnecting": "output.down"}.get(state, f"output.{state}")
        self.hub.publish(Event(kind, {"output": self.output_name(sink), "state": state}))

    def nudge(self) -> None:
        """Tell the preparer that the queue changed."""
        self._wake.set()

    # -- preparation ---------------------------------------------------------------------

    def prepare(self, item: Item) -> PreparedItem:
        """Speech and mouth track for `item` (raises AnchorError for what cannot be spoken).

        Text goes through the speech backend; a recorded audio file is decoded and its mouth
        comes from the audio-to-mouth model (as does speech from backends without timings).
        """
        if item.audio_path is not None:
            speech = speech_from_file(Path(item.audio_path), item.language, item.text or "")
        else:
            speech = self.speech.synthesize(item.text or "", language=item.language, voice=item.voice)
        return PreparedItem(item.id, item.title, speech, mouth_track_for(speech, self.fps))

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
            self.queue.mark_played(e.item_id)
        elif e.kind == "interrupted":
            self.queue.mark_skipped(e.item_id, "interrupted on air")
        with self._lock:
            if e.kind != "started":
                self._prepared.pop(e.item_id, None)
        self._emit(ChannelEvent(e.kind, e.item_id, e.frame))

    def _ready(self, item: Item | None) -> PreparedItem | None:
        if item is None or item.state != "ready":
            return None
        with self._lock:
            return self._prepared.get(item.id)

    def _schedule(self) -> None:
        """Between frames: honour interrupts, then start the next ready item when idle."""
        current = self.timeline.current
        interrupt = self.queue.pending_interrupt()
        if interrupt is not None and (current is None or interrupt.id != current.item_id):
            if interrupt.interrupt_at == "sentence" and current is not None:
                # Let the sentence finish; once the cut lands the queue hands us the interrupt first.
                if self._cut_requested_for != current.item_id:
                    self._cut_requested_for = current.item_id
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

    def _put_on_air(self, item: Item, prepared: PreparedItem) -> None:
        # The timeline reports the cut item first (marked skipped), so only one item plays.
        self.timeline.play(prepared)
        self.queue.mark_playing(item.id)

    def _air_loop(self) -> None:
        try:
            while not self._stop.is_set():
                self._schedule()
                frame, audio = self.timeline.next_frame()
                diff = abs(audio.pts / audio.sample_rate - frame.pts / frame.fps)
                self._av_max_diff = max(self._av_max_diff, diff)
                self.pacer.wait_for(frame.pts)
                for sink in self.sinks:
                    sink.write(frame, audio)
        except BaseException as e:  # surfaced through `error` and the log; the owner decides
            self.error = e
            log.exception("channel stopped by an error")
            raise
