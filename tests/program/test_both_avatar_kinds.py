"""The renderer interface serves both avatar kinds on every path: the built-in video avatar (`grid`)
speaks through `say`, a bulletin and the live channel, with the recording's own motion and mouths."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from anchor.face.detect import FaceAnalyzer, inner_lip_gap
from anchor.face.video.renderer import VideoRenderer
from anchor.live.channel import Channel
from anchor.live.items import ItemIn
from anchor.live.store import ScriptQueue
from anchor.program.bulletin import render_rundown
from anchor.program.clip import SayRequest, say
from anchor.program.pipeline import Pipeline
from anchor.rundown.load import parse_rundown
from streaming.clock import VirtualClock
from streaming.probe import decode_frames
from tests.helpers import wait_until

TEXT = "Good evening. The harbour reopened this morning, and the ferries sailed at noon."


def test_say_with_the_video_avatar_moves_its_real_mouth_with_the_speech(
    pipeline: Pipeline, tmp_path: Path, video_analyzer: FaceAnalyzer
) -> None:
    result = say(pipeline, SayRequest(TEXT, tmp_path / "grid.mp4", avatar="grid", width=640, height=360))
    gaps = []
    for _, img in decode_frames(result.output):
        lms = video_analyzer.landmarks(img)
        gaps.append(inner_lip_gap(lms[0]) if lms else np.nan)
    gaps_a = np.array(gaps)
    ok = ~np.isnan(gaps_a)
    assert ok.mean() > 0.9, "the recorded face is found on nearly every frame"
    planned = result.track.opening[: len(gaps_a)]
    r = np.corrcoef(gaps_a[ok], planned[ok])[0, 1]
    assert r > 0.6, f"the real mouth follows the planned opening (r = {r:.2f})"


def test_a_bulletin_story_and_a_channel_item_can_be_presented_by_the_video_avatar(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    rundown = parse_rundown(
        {
            "programme": {"title": "Both kinds", "channel": "Test", "graphics": {"intro": False, "outro": False}},
            "stories": [{"text": "First, the host."}, {"text": "Then the video presenter.", "avatar": "grid"}],
        },
        tmp_path,
    )
    result = render_rundown(pipeline, rundown, tmp_path / "b.mp4")
    assert [p.avatar for p in result.stories] == ["default", "grid"]

    queue = ScriptQueue(tmp_path / "q.db")
    channel = Channel(pipeline, queue, pipeline.avatar("grid"), [], VirtualClock(), width=320, height=180)
    assert isinstance(channel.timeline.renderer, VideoRenderer)
    pictures: list[np.ndarray] = []

    class Keep:
        def write(self, frame, audio) -> None:
            if len(pictures) < 120:
                pictures.append(frame.image.copy())

        def close(self) -> None:
            pass

    channel.sinks.append(Keep())
    item = queue.add(ItemIn(text="Good evening from the video presenter."))
    with channel:
        wait_until(lambda: queue.get(item.id).state == "played", 90)
    queue.close()
    idle = pictures[:25]
    assert max(np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(idle, idle[1:])) > 0.05, (
        "the idle presenter is the recording, moving"
    )
