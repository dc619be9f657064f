"""Preparation never blocks the air, and the operator controls what plays (on a virtual clock).

Long items go on air after their first sentence; say-now jumps ahead of a preparation in
progress; removing or editing an item being prepared cancels it cleanly; the item on air can be
skipped; with the resume policy an interrupted item goes on from the sentence it was cut in.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from anchor.config import Settings
from anchor.live.channel import Channel, ChannelEvent
from anchor.live.items import ItemIn
from anchor.live.store import ScriptQueue
from anchor.program.pipeline import Pipeline
from streaming.clock import VirtualClock
from streaming.frames import AudioChunk, VideoFrame
from tests.helpers import wait_until

EPOCH = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
SENTENCES = [
    "The council met this evening to talk about the bridge.",
    "Work on the river crossing starts in the spring.",
    "Shops near the old bridge are worried about the noise.",
    "The mayor promised quiet hours during the night.",
    "In sport, the home side won its third match in a row.",
    "And the weather stays mild with rain from the west.",
]


class AudioSink:
    """Keeps every audio chunk (to check what was said, where)."""

    def __init__(self) -> None:
        self.audio: list[np.ndarray] = []

    def write(self, frame: VideoFrame, audio: AudioChunk) -> None:
        self.audio.append(audio.samples.copy())

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def pipeline(settings: Settings) -> Pipeline:
    return Pipeline(settings)


def _channel(pipeline: Pipeline, tmp_path: Path, **options: object) -> tuple[Channel, ScriptQueue, AudioSink, list]:
    clock = VirtualClock()
    queue = ScriptQueue(tmp_path / "q.db", clock=lambda: EPOCH + timedelta(seconds=clock.now()))
    sink = AudioSink()
    channel = Channel(pipeline, queue, pipeline.avatar(None), [sink], clock, width=320, height=180, **options)  # type: ignore[arg-type]
    events: list[ChannelEvent] = []
    channel.listeners.append(events.append)
    return channel, queue, sink, events


def kinds(events: list[ChannelEvent]) -> list[tuple[str, int]]:
    return [(e.kind, e.item_id) for e in events]


def test_a_long_item_goes_on_air_after_its_first_sentence_and_airs_every_sentence(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    channel, queue, sink, events = _channel(pipeline, tmp_path)
    item = queue.add(ItemIn(text=" ".join(SENTENCES * 2), title="Evening news"))
    seen_partial = []

    def on_start(e: ChannelEvent) -> None:
        if e.kind == "started":
            status = channel.preparation().get(e.item_id)
            seen_partial.append(status is not None and not status["complete"])

    channel.listeners.append(on_start)
    with channel:
        wait_until(lambda: ("finished", item.id) in kinds(events), 90)
    assert seen_partial == [True], "the item started before all of it was prepared"
    whole = pipeline.text_segment(" ".join(SENTENCES * 2), 25)
    start, end = (next(e.frame for e in events if e.kind == k) for k in ("started", "finished"))
    aired = np.concatenate(sink.audio[start:end])
    loud = [bool(np.abs(a).max() > 500) for a in sink.audio[start:end]]
    assert sum(loud) >= 0.9 * sum(bool(np.abs(whole.audio(k)).max() > 500) for k in range(whole.frames))
    assert aired.size >= whole.pcm.size, "every sentence was aired"
    assert queue.get(item.id).state == "played"


def test_say_now_jumps_ahead_of_a_long_preparation(pipeline: Pipeline, tmp_path: Path) -> None:
    channel, queue, sink, events = _channel(pipeline, tmp_path)
    channel.paused = True  # nothing plays: the long item is only being prepared
    long = queue.add(ItemIn(text=" ".join(SENTENCES * 12)))  # ~4,000 characters
    with channel:
        wait_until(lambda: (channel.preparation().get(long.id) or {}).get("sentences_ready", 0) >= 1, 90)
        urgent = queue.add(ItemIn(text="Breaking news from the harbour.", mode="interrupt"))
        channel.nudge()
        wait_until(lambda: ("finished", urgent.id) in kinds(events), 90)
        status = channel.preparation().get(long.id)
    assert kinds(events)[:2] == [("started", urgent.id), ("finished", urgent.id)]
    assert status is not None and not status["complete"], "the say-now did not wait for the long item"


def test_removing_or_editing_an_item_being_prepared_cancels_it_cleanly(
    pipeline: Pipeline, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    channel, queue, sink, events = _channel(pipeline, tmp_path)
    channel.paused = True
    doomed = queue.add(ItemIn(text=" ".join(SENTENCES * 10)))
    edited = queue.add(ItemIn(text=" ".join(SENTENCES * 10)))
    with caplog.at_level(logging.WARNING), channel:
        wait_until(lambda: (channel.preparation().get(doomed.id) or {}).get("sentences_ready", 0) >= 1, 90)
        queue.remove(doomed.id)
        queue.update(edited.id, {"text": "A short new text. It replaces the old one."})
        channel.nudge()
        wait_until(lambda: (channel.preparation().get(edited.id) or {}).get("complete") is True, 90)
        prep = channel.preparer.get(edited.id)
        assert prep is not None and doomed.id not in channel.preparation()
        assert [p.speech.sentences[0].text for p in prep.pieces] == ["A short new text.", "It replaces the old one."]
        channel.paused = False
        channel.nudge()
        wait_until(lambda: ("finished", edited.id) in kinds(events), 90)
    assert ("started", doomed.id) not in kinds(events)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]


def test_skip_stops_the_item_on_air_and_the_queue_goes_on(pipeline: Pipeline, tmp_path: Path) -> None:
    channel, queue, sink, events = _channel(pipeline, tmp_path)
    long = queue.add(ItemIn(text=" ".join(SENTENCES), title="Long"))
    after = queue.add(ItemIn(text="And the next story."))
    with channel:
        wait_until(lambda: ("started", long.id) in kinds(events), 90)
        assert channel.skip() == long.id
        wait_until(lambda: ("finished", after.id) in kinds(events), 90)
        assert channel.skip() is None or channel.timeline.current_key is not None
    assert kinds(events)[:3] == [("started", long.id), ("interrupted", long.id), ("started", after.id)]
    skipped = queue.get(long.id)
    assert skipped.state == "skipped" and skipped.reason == "skipped by operator"


def test_resume_policy_goes_on_from_the_sentence_that_was_cut(pipeline: Pipeline, tmp_path: Path) -> None:
    channel, queue, sink, events = _channel(pipeline, tmp_path, interrupt_policy="resume")
    story = queue.add(ItemIn(text=" ".join(SENTENCES), title="Story"))
    with channel:
        wait_until(lambda: ("started", story.id) in kinds(events), 90)
        # into the second sentence
        wait_until(lambda: channel.timeline.current is not None and channel.preparer.get(story.id) is not None
                   and (channel.preparer.get(story.id).aired >= 2), 30)  # fmt: skip
        urgent = queue.add(ItemIn(text="Breaking news.", mode="interrupt"))
        channel.nudge()
        wait_until(lambda: ("finished", story.id) in kinds(events), 90)
    assert kinds(events) == [
        ("started", story.id),
        ("interrupted", story.id),
        ("started", urgent.id),
        ("finished", urgent.id),
        ("started", story.id),
        ("finished", story.id),
    ]
    cut = next(e for e in events if e.kind == "interrupted")
    assert cut.reason.startswith("to resume at sentence ")
    resumed_at = int(cut.reason.rsplit(" ", 1)[1]) - 1
    # what airs after the interruption is the story from that sentence on
    restart = [e.frame for e in events if e.kind == "started" and e.item_id == story.id][1]
    pieces = list(pipeline.speak_pieces(" ".join(SENTENCES)))
    expected = pipeline.segment(pieces[resumed_at], 25)
    got = np.concatenate(sink.audio[restart : restart + expected.frames])
    assert np.array_equal(got, expected.pcm), "the resumed part starts with the sentence that was cut"
    assert queue.get(story.id).state == "played"


class ColourSink:
    """Keeps the mean colour of every picture."""

    def __init__(self) -> None:
        self.means: list[np.ndarray] = []

    def write(self, frame: VideoFrame, audio: AudioChunk) -> None:
        self.means.append(frame.image.reshape(-1, 3).mean(axis=0))

    def close(self) -> None:
        pass


def test_an_item_can_be_presented_by_another_avatar_and_the_channel_one_returns(
    settings: Settings, pipeline: Pipeline, tmp_path: Path
) -> None:
    import shutil

    import cv2

    from anchor.config import BUILTIN_AVATARS

    avatars = tmp_path / "avatars"
    shutil.copytree(BUILTIN_AVATARS / "default", avatars / "green")
    image = cv2.imread(str(avatars / "green" / "image.png"))
    image[..., 1] = 255  # an unmistakably green presenter
    cv2.imwrite(str(avatars / "green" / "image.png"), image)
    meta = (avatars / "green" / "meta.json").read_text().replace('"name": "default"', '"name": "green"')
    (avatars / "green" / "meta.json").write_text(meta)
    p = Pipeline(settings.model_copy(update={"avatars_dir": avatars}), speech=pipeline.speech, planner=pipeline.planner)
    clock = VirtualClock()
    queue = ScriptQueue(tmp_path / "q.db", clock=lambda: EPOCH + timedelta(seconds=clock.now()))
    sink = ColourSink()
    channel = Channel(p, queue, p.avatar("default"), [sink], clock, width=320, height=180)
    events: list[ChannelEvent] = []
    channel.listeners.append(events.append)
    guest = queue.add(ItemIn(text="Good evening from the green studio.", avatar="green"))
    host = queue.add(ItemIn(text="And back to the host."))
    with channel:
        wait_until(lambda: ("finished", host.id) in kinds(events), 90)
    queue.close()
    frames = {e.item_id: e.frame for e in events if e.kind == "started"}
    green = [m[1] - m[0] for m in sink.means]
    during_guest = np.mean(green[frames[guest.id] + 1 : frames[host.id] - 1])
    during_host = np.mean(green[frames[host.id] + 1 : frames[host.id] + 20])
    before = np.mean(green[: frames[guest.id]])
    assert during_guest > during_host + 5 and abs(during_host - before) < 2, (before, during_guest, during_host)


def test_an_item_is_ready_in_the_queue_before_the_channel_can_put_it_on_air(pipeline: Pipeline, tmp_path: Path) -> None:
    """A slow queue write must not let the channel air an interrupt the queue still calls `preparing`
    (playing would be refused, and the item would end `ready` instead of `played`)."""
    channel, queue, sink, events = _channel(pipeline, tmp_path)
    real_mark_ready = queue.mark_ready

    def slow_mark_ready(item_id: int, revision: int | None = None):  # type: ignore[no-untyped-def]
        time.sleep(0.3)
        return real_mark_ready(item_id, revision=revision)

    long = queue.add(ItemIn(text=" ".join(SENTENCES)))
    with channel:
        wait_until(lambda: ("started", long.id) in kinds(events), 90)
        queue.mark_ready = slow_mark_ready  # type: ignore[method-assign]
        urgent = queue.add(ItemIn(text="Breaking news.", mode="interrupt"))  # cuts in as soon as it is ready
        channel.nudge()
        wait_until(lambda: ("finished", urgent.id) in kinds(events), 90)
    assert queue.get(urgent.id).state == "played"
