"""Fan-out of channel events to any number of asyncio subscribers (the SSE stream)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    """One event: `kind` (e.g. item.started, output.down) and a JSON-able payload."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)

    def sse(self) -> str:
        """The event as a Server-Sent Events message."""
        return f"event: {self.kind}\ndata: {json.dumps({**self.data, 'at': self.at}, ensure_ascii=False)}\n\n"


_END = Event("stream.end")
"""Put on a subscriber's queue to end its stream."""


class EventHub:
    """Thread-safe publish; each subscriber gets a bounded queue (slow readers lose old events)."""

    def __init__(self, max_pending: int = 256) -> None:
        self._subs: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Event]]] = set()
        self._lock = threading.Lock()
        self._closed = False
        self.max_pending = max_pending

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    @property
    def closed(self) -> bool:
        """True once `close()` ran (the channel stopped)."""
        return self._closed

    def close(self) -> None:
        """End every subscriber's stream (the channel is stopping); later subscribers end at once."""
        with self._lock:
            self._closed = True
            subs = list(self._subs)
        for loop, q in subs:
            try:
                loop.call_soon_threadsafe(self._put, q, _END)
            except RuntimeError:
                pass

    def publish(self, event: Event) -> None:
        """Deliver to every subscriber; callable from any thread."""
        with self._lock:
            subs = list(self._subs)
        for loop, q in subs:
            try:
                loop.call_soon_threadsafe(self._put, q, event)
            except RuntimeError:  # that subscriber's loop is closed; it will unsubscribe
                pass

    @staticmethod
    def _put(q: asyncio.Queue[Event], event: Event) -> None:
        if q.full():
            q.get_nowait()
        q.put_nowait(event)

    async def subscribe(self, heartbeat_s: float = 15.0) -> AsyncGenerator[str, None]:
        """SSE text chunks for one client, with comment heartbeats; ends when the client leaves."""
        q: asyncio.Queue[Event] = asyncio.Queue(self.max_pending)
        entry = (asyncio.get_running_loop(), q)
        with self._lock:
            if self._closed:
                return
            self._subs.add(entry)
        try:
            yield ": connected\n\n"
            while True:
                try:
                    event = await asyncio.wait_for(q.get(), heartbeat_s)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if event is _END:
                    return
                yield event.sse()
        finally:
            with self._lock:
                self._subs.discard(entry)
