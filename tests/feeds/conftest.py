"""Fixtures for the feed tests: a local feed server, a virtual clock, a queue and a desk on them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from anchor.feeds.config import BulletinConfig, FeedsConfig
from anchor.feeds.desk import NewsDesk
from anchor.feeds.stories import StoryStore
from anchor.live.store import ScriptQueue
from tests.feeds.fixtures import NOW
from tests.feeds.server import FeedServer


class VirtualClock:
    """Wall-clock time that moves only when slept on (or told to)."""

    def __init__(self, start: datetime = NOW) -> None:
        self.t = start.astimezone(UTC)
        self.slept = 0.0

    def now(self) -> datetime:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)
        self.slept += seconds

    def advance(self, **delta: float) -> datetime:
        self.t += timedelta(**delta)
        return self.t


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def queue(tmp_path: Path, clock: VirtualClock) -> Iterator[ScriptQueue]:
    with ScriptQueue(tmp_path / "channel.db", clock.now) as q:
        yield q


DeskFactory = Callable[..., NewsDesk]


@pytest.fixture
def make_desk(tmp_path: Path, clock: VirtualClock, queue: ScriptQueue) -> Iterator[DeskFactory]:
    """Build desks on the channel database, the virtual clock and the queue; loopback allowed."""
    desks: list[NewsDesk] = []

    def make(sources: list[dict], bulletins: list[dict] | None = None, **hooks: object) -> NewsDesk:
        feeds = FeedsConfig.model_validate({"sources": sources, "allow_networks": ["127.0.0.1/32", "::1/128"]})
        hooks.setdefault("queue", queue)
        desk = NewsDesk(
            StoryStore(tmp_path / "channel.db"),
            feeds,
            [BulletinConfig.model_validate(b) for b in bulletins or []],
            now=clock.now,
            sleep=clock.sleep,
            **hooks,  # type: ignore[arg-type]
        )
        desks.append(desk)
        return desk

    yield make
    for d in desks:
        d.stop()
