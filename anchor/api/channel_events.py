"""The channel's server-sent event stream as the control room reads it.

Every stream carries the channel's events (item.*, output.*, channel.*) and ends with a
`channel.stopped` event when the channel stops, so a page knows the difference between "the
channel stopped" and "the connection dropped". Asked with `meter`, it also carries a `meter` event
a few times a second: the audio level of the programme and the real-time health (governor level,
seconds behind). One reading is shared by every stream that asks within `Meter.ttl_s`, so many
open pages cost one reading, not one each.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from starlette.concurrency import run_in_threadpool

from anchor.live.channel import Channel
from anchor.live.events import Event

log = logging.getLogger(__name__)

RETRY_MS = 3000
"""How long a browser waits before it reconnects a dropped stream."""


def channel_state(channel: Channel) -> dict[str, Any]:
    """running | stopped (shut down) | failed (stopped by an error, with it)."""
    if channel.error is not None:
        return {"state": "failed", "error": str(channel.error) or type(channel.error).__name__}
    if channel.hub.closed:
        return {"state": "stopped", "error": None}
    return {"state": "running", "error": None}


class Meter:
    """The programme's audio level and real-time health, read at most once per `ttl_s`."""

    def __init__(self, channel: Channel, ttl_s: float = 0.15) -> None:
        self.channel = channel
        self.ttl_s = ttl_s
        self._at = -1e9
        self._last = ""

    def _read(self) -> str:
        s = self.channel.stats()  # a thread: it counts the queue in SQLite
        g = s.governor
        data = {
            "audio_level": round(s.audio_level, 4),
            "governor_level": g.level,
            "governor": g.level_name,
            "behind_s": round(g.behind_seconds, 3),
            "repeated_frames": g.repeated_frames,
            "frames_sent": s.frames_sent,
        }
        return f"event: meter\ndata: {json.dumps(data)}\n\n"

    async def reading(self) -> str:
        now = time.monotonic()
        if now - self._at >= self.ttl_s:
            self._last = await run_in_threadpool(self._read)
            self._at = time.monotonic()
        return self._last


async def event_stream(channel: Channel, meter: Meter | None = None, every_s: float = 0.2) -> AsyncIterator[str]:
    """SSE text for one client: the hub's events (and meter readings), then `channel.stopped`."""
    yield f"retry: {RETRY_MS}\n\n"
    if meter is None:
        async with aclosing(channel.hub.subscribe()) as events:
            async for chunk in events:
                yield chunk
    else:
        out: asyncio.Queue[str | None] = asyncio.Queue(maxsize=64)

        async def pump() -> None:
            async with aclosing(channel.hub.subscribe()) as events:
                async for chunk in events:
                    await out.put(chunk)
            await out.put(None)

        async def tick() -> None:
            while True:
                await asyncio.sleep(every_s)
                try:
                    reading = await meter.reading()
                except sqlite3.Error:  # the queue is busy or gone: this reading is skipped
                    log.warning("meter reading failed", exc_info=True)
                    continue
                if out.qsize() < out.maxsize // 2:  # a slow reader skips readings, never events
                    out.put_nowait(reading)

        tasks = [asyncio.create_task(pump()), asyncio.create_task(tick())]
        try:
            while (piece := await out.get()) is not None:
                yield piece
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    yield Event("channel.stopped", channel_state(channel)).sse()
