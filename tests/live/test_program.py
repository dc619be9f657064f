"""The live program timeline: idle fill, item hand-over, interrupts, contiguous pts and audio."""

from __future__ import annotations

import numpy as np
import pytest

from anchor.config import BUILTIN_AVATARS, Settings
from anchor.face.avatar import AvatarStore
from anchor.face.blink import BlinkSchedule
from anchor.face.renderer import FaceRenderer
from anchor.lipsync.coarticulation import mouth_track_from_phonemes
from anchor.live.program import PreparedItem, ProgramTimeline, TimelineEvent
from anchor.speech.registry import make_speech_backend
from anchor.studio.presenter import PresenterShot, presenter_placement

W, H, FPS = 320, 180, 25


@pytest.fixture(scope="module")
def parts() -> tuple[FaceRenderer, PresenterShot]:
    avatar = AvatarStore(BUILTIN_AVATARS).load("default")
    place = presenter_placement(avatar, W, H)
    renderer = FaceRenderer(avatar, place.scale, BlinkSchedule(seed=1))
    return renderer, PresenterShot(W, H, place, renderer.size)


def prepared(settings: Settings, item_id: int, text: str) -> PreparedItem:
    speech = make_speech_backend(settings.speech).synthesize(text)
    return PreparedItem(item_id, None, speech, mouth_track_from_phonemes(speech.phonemes, speech.n_samples, FPS))


def run(timeline: ProgramTimeline, n: int) -> tuple[list, np.ndarray]:
    frames, audio = [], []
    for _ in range(n):
        v, a = timeline.next_frame()
        frames.append(v)
        audio.append(a)
    for _k, (v, a) in enumerate(zip(frames, audio)):
        assert a.pts == v.pts * 1920 and len(a.samples) == 1920
    return frames, np.concatenate([a.samples for a in audio])


def test_idle_then_item_then_idle_with_exact_audio(settings: Settings, parts) -> None:
    timeline = ProgramTimeline(*parts, FPS)
    events: list[TimelineEvent] = []
    timeline.listeners.append(events.append)
    item = prepared(settings, 1, "Hello and welcome.")
    idle_frames, idle_audio = run(timeline, 10)
    assert timeline.idle and not idle_audio.any()
    timeline.play(item)
    n = len(item.track)
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


def test_play_during_an_item_interrupts_it_at_the_next_frame(settings: Settings, parts) -> None:
    timeline = ProgramTimeline(*parts, FPS)
    events: list[TimelineEvent] = []
    timeline.listeners.append(events.append)
    first, second = (
        prepared(settings, 1, "This is a long story about the weather."),
        prepared(settings, 2, "Breaking news."),
    )
    timeline.play(first)
    run(timeline, 15)
    timeline.play(second)
    _, audio = run(timeline, 5)
    assert [(e.kind, e.item_id) for e in events] == [("started", 1), ("interrupted", 1), ("started", 2)]
    assert np.array_equal(audio, second.speech.pcm[: len(audio)])


def test_cut_at_sentence_end_finishes_the_sentence_first(settings: Settings, parts) -> None:
    timeline = ProgramTimeline(*parts, FPS)
    events: list[TimelineEvent] = []
    timeline.listeners.append(events.append)
    item = prepared(settings, 7, "First sentence is here. Second sentence follows it. Third one too.")
    assert len(item.speech.sentences) == 3
    timeline.play(item)
    run(timeline, 5)  # inside the first sentence
    end = timeline.cut_at_sentence_end()
    first_end = item.speech.sentences[0].end
    assert end == -(-first_end // 1920)
    assert end < len(item.track)
    run(timeline, end - timeline.frame_index + 1)
    assert events[-1] == TimelineEvent("interrupted", 7, end)
    assert timeline.idle
