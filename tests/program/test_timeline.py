"""The program timeline: idle fill, hand-over, interrupts, contiguous pts and audio, straps that end with their segment."""

from __future__ import annotations

import numpy as np
import pytest

from anchor.config import Settings
from anchor.face.renderer import FaceRenderer
from anchor.program.pipeline import Pipeline
from anchor.program.segment import Segment
from anchor.program.timeline import ProgramTimeline, TimelineEvent
from anchor.studio.presenter import PresenterShot, presenter_placement

W, H, FPS = 320, 180, 25


@pytest.fixture(scope="module")
def pipeline(settings: Settings) -> Pipeline:
    return Pipeline(settings)


@pytest.fixture
def parts(pipeline: Pipeline) -> tuple[FaceRenderer, PresenterShot]:
    avatar = pipeline.avatar("default")
    place = presenter_placement(avatar, W, H)
    renderer = pipeline.renderer(avatar, place.scale)
    assert isinstance(renderer, FaceRenderer)
    return renderer, PresenterShot(W, H, place, renderer.size)


def prepared(pipeline: Pipeline, key: int, text: str, title: str | None = None) -> Segment:
    return pipeline.segment(pipeline.speak(text), FPS, key=key, title=title)


def run(timeline: ProgramTimeline, n: int) -> tuple[list, np.ndarray]:
    frames, audio = [], []
    for _ in range(n):
        v, a = timeline.next_frame()
        frames.append(v)
        audio.append(a)
    for _k, (v, a) in enumerate(zip(frames, audio)):
        assert a.pts == v.pts * 1920 and len(a.samples) == 1920
    return frames, np.concatenate([a.samples for a in audio])


def test_idle_then_item_then_idle_with_exact_audio(pipeline: Pipeline, parts) -> None:
    timeline = ProgramTimeline(*parts, FPS)
    events: list[TimelineEvent] = []
    timeline.listeners.append(events.append)
    item = prepared(pipeline, 1, "Hello and welcome.")
    idle_frames, idle_audio = run(timeline, 10)
    assert timeline.idle and not idle_audio.any()
    timeline.play(item)
    n = item.frames
    frames, audio = run(timeline, n + 10)
    assert [f.pts for f in idle_frames + frames] == list(range(10 + n + 10))  # no gap, no jump
    assert np.array_equal(audio[: item.speech.n_samples], item.speech.pcm)
    assert not audio[n * 1920 :].any()
    assert [(e.kind, e.frame) for e in events] == [("started", 10), ("finished", 10 + n)]
    assert timeline.idle
    # the picture moves while speaking, and is the calm anchor when idle
    speaking = np.std([f.image.astype(float).mean() for f in frames[:n]])
    assert speaking > 0
    # after the item the mouth is at rest again: the mouth region equals the idle one before it
    m, place = parts[0].mouth_rect, parts[1].placement
    region = (slice(max(0, m.y0 + place.y), m.y1 + place.y), slice(max(0, m.x0 + place.x), m.x1 + place.x))
    assert np.array_equal(frames[-1].image[region], idle_frames[-1].image[region])
    assert not np.array_equal(frames[n // 2].image[region], idle_frames[-1].image[region])


def test_play_during_an_item_interrupts_it_at_the_next_frame(pipeline: Pipeline, parts) -> None:
    timeline = ProgramTimeline(*parts, FPS)
    events: list[TimelineEvent] = []
    timeline.listeners.append(events.append)
    first, second = (
        prepared(pipeline, 1, "This is a long story about the weather."),
        prepared(pipeline, 2, "Breaking news."),
    )
    timeline.play(first)
    run(timeline, 15)
    timeline.play(second)
    _, audio = run(timeline, 5)
    assert [(e.kind, e.key) for e in events] == [("started", 1), ("interrupted", 1), ("started", 2)]
    assert np.array_equal(audio, second.speech.pcm[: len(audio)])


def test_cut_at_sentence_end_finishes_the_sentence_first(pipeline: Pipeline, parts) -> None:
    timeline = ProgramTimeline(*parts, FPS)
    events: list[TimelineEvent] = []
    timeline.listeners.append(events.append)
    item = prepared(pipeline, 7, "First sentence is here. Second sentence follows it. Third one too.")
    assert len(item.speech.sentences) == 3
    timeline.play(item)
    run(timeline, 5)  # inside the first sentence
    end = timeline.cut_at_sentence_end()
    first_end = item.speech.sentences[0].end
    assert (end - 1) * 1920 < first_end <= end * 1920, "the cut is the first frame boundary after the sentence"
    assert end < item.frames
    run(timeline, end - timeline.frame_index + 1)
    assert (events[-1].kind, events[-1].key, events[-1].frame) == ("interrupted", 7, end)
    assert not events[-1].piece_done, "the piece had two more sentences"
    assert timeline.idle


def test_a_cut_segment_takes_its_lower_third_with_it(pipeline: Pipeline, parts) -> None:
    """The strap of an interrupted item must not come back over the idle anchor or a later item."""
    timeline = ProgramTimeline(*parts, FPS)
    shot = parts[1]
    strap = shot.layout.lower_third
    region = (slice(strap.y, strap.y1), slice(strap.x, strap.x1))
    idle_before, _ = timeline.next_frame()
    story = prepared(
        pipeline, 1, "A long story about the harbour, the ships and the weather at sea tonight.", "Harbour"
    )
    timeline.play(story)
    run(timeline, 30)  # the strap is fully in
    on_air, _ = timeline.next_frame()
    assert not np.array_equal(on_air.image[region], idle_before.image[region])
    timeline.cut()
    frames, _ = run(timeline, story.frames)  # well past the cut item's original end
    assert timeline.idle
    for f in frames:
        assert np.array_equal(f.image[region], idle_before.image[region]), f"the cut strap is back at frame {f.pts}"


def test_an_interrupting_segment_does_not_inherit_the_cut_strap(pipeline: Pipeline, parts) -> None:
    timeline = ProgramTimeline(*parts, FPS)
    strap = parts[1].layout.lower_third
    region = (slice(strap.y, strap.y1), slice(strap.x, strap.x1))
    idle_before, _ = timeline.next_frame()
    timeline.play(
        prepared(pipeline, 1, "The council met today to talk about the new bridge and the budget.", "Council")
    )
    run(timeline, 30)
    breaking = prepared(pipeline, 2, "Breaking news just in, more at eleven.")
    timeline.play(breaking)  # untitled: no strap at all while it plays
    frames, _ = run(timeline, breaking.frames)
    for f in frames:
        assert np.array_equal(f.image[region], idle_before.image[region]), f"the cut strap shows at frame {f.pts}"


def test_an_entry_made_of_pieces_plays_them_back_to_back_and_waits_quietly_for_a_late_one(
    pipeline: Pipeline, parts
) -> None:
    timeline = ProgramTimeline(*parts, FPS)
    events: list[TimelineEvent] = []
    timeline.listeners.append(events.append)
    one, two = (prepared(pipeline, 5, t) for t in ("The first sentence.", "And the second one."))
    timeline.play(one, more=True)
    _, audio = run(timeline, one.frames)  # the first piece, exactly
    assert np.array_equal(audio, one.pcm)
    assert timeline.waiting and not timeline.idle
    _, gap = run(timeline, 10)  # the second piece is late: silence, still on air, no event
    assert not gap.any() and [e.kind for e in events] == ["started"]
    timeline.extend(two, last=True)
    _, audio = run(timeline, two.frames + 1)
    assert np.array_equal(audio[: two.pcm.size], two.pcm)
    assert [e.kind for e in events] == ["started", "finished"] and timeline.idle


def test_a_queued_piece_starts_on_the_frame_the_previous_one_ends(pipeline: Pipeline, parts) -> None:
    timeline = ProgramTimeline(*parts, FPS)
    one, two = (prepared(pipeline, 5, t) for t in ("Good evening.", "Here is the news."))
    timeline.play(one, more=True)
    timeline.extend(two)
    timeline.complete()
    _, audio = run(timeline, one.frames + two.frames)
    assert np.array_equal(audio, np.concatenate([one.pcm, two.pcm]))
    assert not timeline.idle  # ends at the next frame
    run(timeline, 1)
    assert timeline.idle
