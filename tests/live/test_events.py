"""The event fan-out: every subscriber gets what is published; closing the hub ends every stream."""

from __future__ import annotations

import asyncio

from anchor.live.events import Event, EventHub


def test_subscribers_get_events_and_closing_ends_their_streams() -> None:
    hub = EventHub()

    async def main() -> list[list[str]]:
        async def reader() -> list[str]:
            return [chunk async for chunk in hub.subscribe(heartbeat_s=30)]

        readers = [asyncio.create_task(reader()) for _ in range(3)]
        while hub.subscribers < 3:
            await asyncio.sleep(0.01)
        hub.publish(Event("item.started", {"item_id": 1}))
        await asyncio.sleep(0.05)
        hub.close()  # a stopping channel: every stream must end although the heartbeat is 30 s away
        return await asyncio.wait_for(asyncio.gather(*readers), 5)

    streams = asyncio.run(main())
    for chunks in streams:
        assert chunks[0] == ": connected\n\n"
        assert chunks[1].startswith("event: item.started\n") and '"item_id": 1' in chunks[1]
        assert len(chunks) == 2
    assert hub.subscribers == 0

    async def late() -> list[str]:
        return [c async for c in hub.subscribe()]

    assert asyncio.run(late()) == [], "a closed hub ends new streams at once"
