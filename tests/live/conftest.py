"""Fixtures for the live channel tests: a virtual wall clock and a queue on it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from anchor.live.store import ScriptQueue


class VirtualClock:
    """A wall clock that only moves when told to; keeps UTC time."""

    def __init__(self, start: datetime) -> None:
        self.now = start.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, when: datetime) -> datetime:
        self.now = when.astimezone(UTC)  # in UTC, so advancing moves real time, not local wall time
        return self.now


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "queue.db"


@pytest.fixture
def queue(db_path: Path, clock: VirtualClock) -> Iterator[ScriptQueue]:
    with ScriptQueue(db_path, clock=clock) as q:
        yield q
