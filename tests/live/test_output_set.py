"""OutputSet: an operator removing or stopping an output while the air loop writes never stops the channel."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from anchor.live.config import OutputConfig
from anchor.live.outputs import OutputSet
from streaming.frames import AudioChunk, VideoFrame
from streaming.outputs import OutputStatus, SinkClosedError, StateCallback


class RecordingOutput:
    """A network output that records frames and refuses writes once closed, as RtmpSink does."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.frames: list[int] = []
        self.closed = False
        self.before_write: Callable[[], None] | None = None

    def write(self, frame: VideoFrame, audio: AudioChunk) -> None:
        if self.before_write is not None:
            self.before_write()
        if self.closed:
            raise SinkClosedError(f"{self.url} is closed")
        self.frames.append(frame.pts)

    def close(self) -> None:
        self.closed = True

    def status(self) -> OutputStatus:
        return OutputStatus(self.url, "closed" if self.closed else "up", 0, len(self.frames), 0)

    def on_state(self, callback: StateCallback) -> None:
        pass


def _frame(i: int) -> tuple[VideoFrame, AudioChunk]:
    return VideoFrame(i, np.zeros((4, 4, 3), np.uint8), 25), AudioChunk(i * 1920, np.zeros(1920, np.int16))


@pytest.fixture
def made() -> dict[str, RecordingOutput]:
    return {}


@pytest.fixture
def outputs(made: dict[str, RecordingOutput]) -> OutputSet:
    def factory(config: OutputConfig) -> RecordingOutput:
        made[config.url] = RecordingOutput(config.url)
        return made[config.url]

    return OutputSet(factory)  # type: ignore[arg-type]


@pytest.mark.parametrize("action", ["remove", "stop"])
def test_an_output_removed_or_stopped_during_a_write_is_skipped(
    outputs: OutputSet, made: dict[str, RecordingOutput], action: str
) -> None:
    first = outputs.add(OutputConfig(url="rtmp://a.example/live/key-a"))
    second = outputs.add(OutputConfig(url="rtmp://b.example/live/key-b"))
    a, b = made["rtmp://a.example/live/key-a"], made["rtmp://b.example/live/key-b"]
    outputs.write(*_frame(0))

    def operator_acts() -> None:  # on the second output, while the air loop writes frame 1 to the first
        a.before_write = None
        getattr(outputs, action)(second.id)

    a.before_write = operator_acts
    outputs.write(*_frame(1))  # must not raise
    outputs.write(*_frame(2))
    assert a.frames == [0, 1, 2]
    assert b.frames == [0] and b.closed
    assert [o.id for o in outputs.list()] == ([first.id] if action == "remove" else [first.id, second.id])


def test_an_output_closed_by_anything_else_is_an_error(outputs: OutputSet, made: dict[str, RecordingOutput]) -> None:
    outputs.add(OutputConfig(url="rtmp://a.example/live/key-a"))
    made["rtmp://a.example/live/key-a"].close()  # closed behind the set's back: a bug, not an operator
    with pytest.raises(SinkClosedError):
        outputs.write(*_frame(0))
