"""The channel on a virtual clock: items play in order, idle fills the gaps, interrupts cut in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from anchor.config import BUILTIN_AVATARS, Settings
from anchor.face.avatar import AvatarStore
from anchor.live.channel import Channel, ChannelEvent
from anchor.live.items import ItemIn
from anchor.live.media import MediaRoots
from anchor.live.store import ScriptQueue
from anchor.program.pipeline import Pipeline
from anchor.speech.registry import make_speech_backend
from streaming.clock import VirtualClock
from streaming.frames import AudioChunk, VideoFrame
from tests.helpers import wait_until

EPOCH = datetime(2026, 11, 20, 23, 59, 0, tzinfo=UTC)


class RecordingSink:
    """Keeps pts and loudness of what it was sent (no pictures, to stay light)."""

    def __init__(self) -> None:
        self.video_pts: list[int] = []
        self.audio_pts: list[int] = []
        self.loud: list[bool] = []
        self.closed = False

    def write(self, frame: VideoFrame, audio: AudioChunk) -> None:
        self.video_pts.append(frame.pts)
        self.audio_pts.append(audio.pts)
        self.loud.append(bool(np.abs(audio.samples).max() > 500))

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def channel_parts(settings: Settings, tmp_path: Path):
    clock = VirtualClock()
    queue = ScriptQueue(tmp_path / "q.db", clock=lambda: EPOCH + timedelta(seconds=clock.now()))
    sink = RecordingSink()
    events: list[ChannelEvent] = []
    channel = Channel(
        Pipeline(settings), queue, AvatarStore(BUILTIN_AVATARS).load("default"),
        [sink], clock, width=320, height=180,
    )  # fmt: skip
    channel.listeners.append(events.append)
    yield channel, queue, sink, events, clock
    queue.close()


def kinds(events: list[ChannelEvent]) -> list[tuple[str, int]]:
    return [(e.kind, e.item_id) for e in events]


def test_items_play_in_order_with_idle_between_and_no_gap(channel_parts) -> None:
    channel, queue, sink, events, _ = channel_parts
    a = queue.add(ItemIn(text="First story."))
    b = queue.add(ItemIn(text="Second story.", priority=5))  # higher priority plays first
    with channel:
        wait_until(lambda: ("finished", a.id) in kinds(events))
    assert sink.closed
    assert kinds(events) == [("started", b.id), ("finished", b.id), ("started", a.id), ("finished", a.id)]
    assert sink.video_pts == list(range(len(sink.video_pts)))  # one timeline, no jump
    assert sink.audio_pts == [p * 1920 for p in sink.video_pts]
    assert not any(sink.loud[: events[0].frame])  # idle before: silence
    assert any(sink.loud[events[0].frame : events[1].frame])
    assert [queue.get(i).state for i in (a.id, b.id)] == ["played", "played"]
    assert channel.error is None


def test_interrupt_now_cuts_the_current_item(channel_parts) -> None:
    channel, queue, sink, events, _ = channel_parts
    long = queue.add(ItemIn(text="This is a long story. " * 8))
    with channel:
        wait_until(lambda: ("started", long.id) in kinds(events))
        urgent = queue.add(ItemIn(text="Breaking news.", mode="interrupt"))
        channel.nudge()
        wait_until(lambda: ("finished", urgent.id) in kinds(events))
    assert kinds(events)[:3] == [("started", long.id), ("interrupted", long.id), ("started", urgent.id)]
    assert queue.get(long.id).state == "skipped" and queue.get(urgent.id).state == "played"


def test_a_failing_item_is_marked_failed_and_the_channel_goes_on(channel_parts) -> None:
    channel, queue, sink, events, _ = channel_parts
    bad = queue.add(ItemIn(text="Hello.", voice="no-such-voice"))
    good = queue.add(ItemIn(text="Good evening."))
    with channel:
        wait_until(lambda: ("finished", good.id) in kinds(events))
    failed = queue.get(bad.id)
    assert failed.state == "failed" and "voice" in (failed.reason or "")
    assert ("failed", bad.id) in kinds(events)


def test_paused_channel_stays_idle_but_keeps_sending(channel_parts) -> None:
    channel, queue, sink, events, _ = channel_parts
    channel.paused = True
    item = queue.add(ItemIn(text="Not yet."))
    with channel:
        wait_until(lambda: len(sink.video_pts) > 200 and queue.get(item.id).state == "ready")
        assert not events and not any(sink.loud)
        channel.paused = False
        wait_until(lambda: ("finished", item.id) in kinds(events))


def test_interrupt_at_sentence_end_lets_the_sentence_finish(channel_parts) -> None:
    channel, queue, sink, events, _ = channel_parts
    story = queue.add(
        ItemIn(text="The first sentence is quite long and keeps going for a while. The second one follows.")
    )
    with channel:
        wait_until(lambda: ("started", story.id) in kinds(events))
        urgent = queue.add(ItemIn(text="Breaking news.", mode="interrupt", interrupt_at="sentence"))
        channel.nudge()
        wait_until(lambda: ("finished", urgent.id) in kinds(events))
    assert kinds(events)[:4] == [
        ("started", story.id),
        ("interrupted", story.id),
        ("started", urgent.id),
        ("finished", urgent.id),
    ]
    cut = next(e.frame for e in events if e.kind == "interrupted")
    start = next(e.frame for e in events if e.kind == "started" and e.item_id == story.id)
    sentence_end = (
        channel.pipeline.speak("The first sentence is quite long and keeps going for a while. The second one follows.")
        .sentences[0]
        .end
    )
    # cut at the first frame boundary at or after the end of the first sentence
    assert (cut - start - 1) * 1920 < sentence_end <= (cut - start) * 1920
    assert queue.get(story.id).state == "skipped"


def test_an_audio_file_item_plays_for_its_length_and_a_missing_or_outside_file_fails_alike(
    channel_parts, settings: Settings, tmp_path: Path
) -> None:
    from anchor.speech.audio_in import encode_audio

    channel, queue, sink, events, _ = channel_parts
    roots, outside = tmp_path / "media", tmp_path / "private"
    roots.mkdir()
    outside.mkdir()
    channel.media = MediaRoots([roots])
    voice = make_speech_backend(settings.speech).synthesize("Hello from a recorded voice. Good evening.")
    path = roots / "voice.wav"
    encode_audio(voice.pcm, path)
    encode_audio(voice.pcm, outside / "secret.wav")
    (roots / "escape.wav").symlink_to(outside / "secret.wav")
    item = queue.add(ItemIn(audio_path=str(path), title="Recorded"))
    # stored behind the API's back (the queue file itself): the check where the file is opened refuses them
    missing = queue.add(ItemIn(audio_path=str(roots / "missing.mp3")))
    secret = queue.add(ItemIn(audio_path=str(outside / "secret.wav")))
    linked = queue.add(ItemIn(audio_path=str(roots / "escape.wav")))
    refused = (missing.id, secret.id, linked.id)
    with channel:
        wait_until(
            lambda: ("finished", item.id) in kinds(events) and all(queue.get(i).state == "failed" for i in refused),
            timeout=90,  # listening to the recording (Whisper) is slow on a busy machine
        )
    start = next(e.frame for e in events if e.kind == "started" and e.item_id == item.id)
    end = next(e.frame for e in events if e.kind == "finished" and e.item_id == item.id)
    assert abs((end - start) / 25 - voice.duration) <= 0.05
    assert any(sink.loud[start:end])
    reasons = {queue.get(i).reason for i in refused}
    assert len(reasons) == 1, reasons  # a missing file and a readable one outside the roots look the same
    assert "media roots" in reasons.pop()
    assert not any(e.kind == "started" and e.item_id in refused for e in events)
