"""What the program hands its frames to: the sink protocol, and the status a network output reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from streaming.frames import AudioChunk, VideoFrame


class SinkClosedError(RuntimeError):
    """A frame was written to a sink after it was closed."""


@runtime_checkable
class Sink(Protocol):
    """Where program frames go (Mp4Sink, RtmpSink, a WebRTC fan-out, a test recorder)."""

    def write(self, frame: VideoFrame, audio: AudioChunk) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class OutputStatus:
    """A network output as an operator sees it. `name` never shows a stream key."""

    name: str
    state: str  # connecting | up | reconnecting | closed
    reconnects: int
    frames_sent: int
    frames_dropped: int
    last_error: str | None = None


StateCallback = Callable[[object, str], None]
"""Called with (output, new state) from the output's own thread."""


@runtime_checkable
class NetworkOutput(Sink, Protocol):
    """A sink that pushes to a server and can be up or down."""

    def status(self) -> OutputStatus: ...

    def on_state(self, callback: StateCallback) -> None: ...


@runtime_checkable
class ViewerFanout(Sink, Protocol):
    """A sink that serves viewers directly (WebRTC)."""

    @property
    def viewer_count(self) -> int: ...


def masked_url(url: str) -> str:
    """An rtmp://host:port/app/key URL without its last part (the stream key)."""
    return url.rsplit("/", 1)[0] if url.count("/") > 3 else url
