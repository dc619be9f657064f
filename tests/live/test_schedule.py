"""The control room's forecast: each item's duration and expected start, walking the play order."""

from __future__ import annotations

import math
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from anchor.live.items import Item
from anchor.live.schedule import audio_seconds, item_duration, plan, text_seconds

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def item(id: int, text: str = "A short story.", **kw) -> Item:
    return Item(id=id, text=text, created_at=NOW, position=kw.pop("position", id), **kw)


def done(seconds: float, sentences: int = 1) -> dict[str, object]:
    return {"sentences_ready": sentences, "sentences": sentences, "complete": True, "seconds_ready": seconds}


def test_prepared_items_add_up_after_the_item_on_air() -> None:
    items = [item(1, state="playing"), item(2, state="ready"), item(3, state="ready")]
    slots = plan(items, {1: done(10.0), 2: done(4.0), 3: done(6.0)}, now=NOW, on_air=1, position_s=3.0)
    assert slots[1].starts_at == NOW - timedelta(seconds=3)
    assert slots[2].starts_at == NOW + timedelta(seconds=7)
    assert slots[3].starts_at == NOW + timedelta(seconds=11)
    assert [slots[i].duration_s for i in (1, 2, 3)] == [10.0, 4.0, 6.0]
    assert not any(s.estimated for s in slots.values())
    assert slots[3].as_dict(NOW)["starts_in_s"] == 11.0


def test_unprepared_items_are_estimated_from_their_text_and_what_follows_is_marked_estimated() -> None:
    items = [item(1, "Hello there. " * 20, state="queued"), item(2, state="ready")]
    slots = plan(items, {2: done(2.0)}, now=NOW)
    assert slots[1].estimated and slots[1].duration_s == pytest.approx(text_seconds("Hello there. " * 20))
    assert slots[2].starts_at == NOW + timedelta(seconds=slots[1].duration_s)
    assert slots[2].estimated  # its start rests on an estimate


def test_a_partly_prepared_item_is_scaled_from_its_sentences() -> None:
    text = "One two three. Four five six. Seven eight nine."
    status = {"sentences_ready": 1, "sentences": 3, "complete": False, "seconds_ready": 3.0}
    seconds, estimated = item_duration(item(1, text), status)
    assert estimated
    assert seconds == pytest.approx(9.0, rel=0.15)  # three sentences of about equal length


def test_text_estimate_counts_chinese_by_character() -> None:
    assert text_seconds("今天天气很好。") > text_seconds("today")  # 7 characters at ~0.27 s, 5 letters at 0.07 s
    assert text_seconds("今天天气很好。") == pytest.approx(7 * 0.27)


def test_due_order_interrupts_then_scheduled_then_position() -> None:
    items = [
        item(1, state="ready", position=0),
        item(2, state="ready", position=1, schedule_at=NOW - timedelta(minutes=1)),
        item(3, state="ready", position=2, mode="interrupt"),
    ]
    slots = plan(items, {i.id: done(5.0) for i in items}, now=NOW)
    order = sorted(slots, key=lambda k: slots[k].starts_at)
    assert order == [3, 2, 1]


def test_a_later_item_waits_for_its_time_and_the_host_idles_meanwhile() -> None:
    later = NOW + timedelta(hours=1)
    items = [item(1, state="ready", schedule_at=later), item(2, state="ready")]
    slots = plan(items, {1: done(5.0), 2: done(5.0)}, now=NOW)
    assert slots[2].starts_at == NOW
    assert slots[1].starts_at == later


def test_a_scheduled_item_that_comes_due_during_another_goes_first_after_it() -> None:
    items = [
        item(1, state="ready"),
        item(2, state="ready"),
        item(3, state="ready", schedule_at=NOW + timedelta(seconds=3)),
    ]
    slots = plan(items, {i.id: done(10.0) for i in items}, now=NOW)
    assert slots[3].starts_at == NOW + timedelta(seconds=10)  # after #1, ahead of #2
    assert slots[2].starts_at == NOW + timedelta(seconds=20)


def test_paused_and_held_items_have_no_start() -> None:
    items = [item(1, state="ready"), item(2, state="held")]
    slots = plan(items, {1: done(5.0)}, now=NOW, paused=True)
    assert slots[1].starts_at is None and slots[1].duration_s == 5.0
    assert 2 not in slots


def test_an_audio_item_takes_its_length_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "clip.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.sin(np.arange(16000 * 2) * 0.05) * 8000).astype(np.int16).tobytes())
    assert math.isclose(audio_seconds(str(path)) or 0, 2.0, abs_tol=0.05)
    audio = Item(id=1, audio_path=str(path), created_at=NOW)
    assert item_duration(audio, None)[0] == pytest.approx(2.0, abs=0.05)
    assert audio_seconds(str(tmp_path / "missing.wav")) is None
