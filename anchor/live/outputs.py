"""The channel's RTMP outputs as an operator manages them: added, removed, stopped, started while on air.

Each output has a short id; its status never shows the stream key. The air loop reads a snapshot
of the live sinks (`sinks()`), replaced as a whole on every change, so it never waits on an
operator. Outputs added at run time live as long as the process (the channel file is the
lasting configuration).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from anchor.errors import InputError, NotFoundError
from anchor.live.config import OutputConfig
from streaming.frames import AudioChunk, VideoFrame
from streaming.outputs import NetworkOutput, OutputStatus, SinkClosedError, StateCallback, masked_url

log = logging.getLogger(__name__)

SinkFactory = Callable[[OutputConfig], NetworkOutput]
"""Opens an output (an RtmpSink at the channel's size and rate) for a configuration."""


@dataclass
class _Output:
    id: str
    config: OutputConfig
    sink: NetworkOutput | None  # None while stopped


@dataclass(frozen=True)
class OutputInfo:
    """One output as the control room shows it."""

    id: str
    name: str  # the URL without its stream key
    enabled: bool
    status: OutputStatus | None  # None while stopped


class OutputSet:
    """The RTMP outputs of one channel."""

    def __init__(self, factory: SinkFactory, limit: int = 16) -> None:
        self._factory = factory
        self._on_state: StateCallback | None = None
        self._limit = limit
        self._outputs: list[_Output] = []
        self._next = 1
        self._lock = threading.Lock()
        self._live: tuple[NetworkOutput, ...] = ()

    def listen(self, callback: StateCallback) -> None:
        """Tell `callback(output, state)` about every state change of every output, now and later."""
        with self._lock:
            self._on_state = callback
            for out in self._outputs:
                if out.sink is not None:
                    out.sink.on_state(callback)

    def sinks(self) -> tuple[NetworkOutput, ...]:
        """The outputs currently pushing (a snapshot; cheap, for every frame)."""
        return self._live

    def write(self, frame: VideoFrame, audio: AudioChunk) -> None:
        """Hand the frame to every output pushing now. An output the operator removes or stops
        between the snapshot and its write is skipped; one closed by anything else is an error."""
        for sink in self._live:
            try:
                sink.write(frame, audio)
            except SinkClosedError:
                if sink in self._live:
                    raise

    def add(self, config: OutputConfig, *, enabled: bool = True) -> OutputInfo:
        with self._lock:
            if len(self._outputs) >= self._limit:
                raise InputError(f"a channel has at most {self._limit} outputs", field="url")
            if any(o.config.url == config.url for o in self._outputs):
                raise InputError("this output is already configured", field="url")
            out = _Output(f"o{self._next}", config, None)
            self._next += 1
            self._outputs.append(out)
            if enabled:
                self._open(out)
            self._refresh()
            return self._info(out)

    def remove(self, output_id: str) -> OutputInfo:
        with self._lock:
            out = self._find(output_id)
            self._outputs.remove(out)
            self._close(out)
            self._refresh()
            return self._info(out)

    def stop(self, output_id: str) -> OutputInfo:
        with self._lock:
            out = self._find(output_id)
            self._close(out)
            self._refresh()
            return self._info(out)

    def start(self, output_id: str) -> OutputInfo:
        with self._lock:
            out = self._find(output_id)
            if out.sink is None:
                self._open(out)
            self._refresh()
            return self._info(out)

    def list(self) -> list[OutputInfo]:
        with self._lock:
            return [self._info(o) for o in self._outputs]

    def close(self) -> None:
        with self._lock:
            for out in self._outputs:
                self._close(out)
            self._refresh()

    # -- inside the lock -----------------------------------------------------------------------

    def _find(self, output_id: str) -> _Output:
        for out in self._outputs:
            if out.id == output_id:
                return out
        raise NotFoundError(f"no output {output_id!r}", field="id")

    def _open(self, out: _Output) -> None:
        out.sink = self._factory(out.config)
        if self._on_state is not None:
            out.sink.on_state(self._on_state)

    def _close(self, out: _Output) -> None:
        sink, out.sink = out.sink, None
        self._refresh()  # out of the air loop's next snapshot before it is closed
        if sink is not None:
            try:
                sink.close()
            except Exception:  # a broken connection must not keep the output from stopping
                log.exception("closing output %s failed", out.id)

    def _refresh(self) -> None:
        self._live = tuple(o.sink for o in self._outputs if o.sink is not None)

    @staticmethod
    def _info(out: _Output) -> OutputInfo:
        status = out.sink.status() if out.sink is not None else None
        return OutputInfo(out.id, masked_url(out.config.url), out.sink is not None, status)
