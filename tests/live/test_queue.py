"""The live channel's script queue: ordering, scheduling, recurrence, playlists, states, crash safety."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from anchor.errors import InputError, NotFoundError
from anchor.live.items import Item, ItemIn
from anchor.live.store import SCHEMA_VERSION, ScriptQueue

from .conftest import VirtualClock


def say(text: str, **kw: Any) -> ItemIn:
    return ItemIn(text=text, **kw)


def texts(items: list[Item]) -> list[str | None]:
    return [i.text for i in items]


def play(q: ScriptQueue, item_id: int) -> Item:
    q.mark_preparing(item_id)
    q.mark_ready(item_id)
    return q.mark_playing(item_id)


# -- ordering --------------------------------------------------------------------------------


def test_higher_priority_plays_first_then_submission_order(queue: ScriptQueue) -> None:
    for text, prio in [("a", 0), ("b", 0), ("c", 5), ("d", 5), ("e", 1), ("f", -1)]:
        queue.add(say(text, priority=prio))
    assert texts(queue.list()) == ["c", "d", "e", "a", "b", "f"]
    assert queue.next_due().text == "c"  # type: ignore[union-attr]
    assert queue.depth() == 6


def test_next_goes_first_in_line_and_later_appends_stay_behind_it(queue: ScriptQueue) -> None:
    on_air = queue.add(say("on air"))
    play(queue, on_air.id)
    queue.add(say("a"))
    queue.add(say("b"))
    queue.add(say("urgent", mode="next"))
    queue.add(say("important", priority=9))
    assert texts(queue.list()) == ["on air", "urgent", "important", "a", "b"]
    assert queue.next_due().text == "urgent"  # type: ignore[union-attr]
    assert queue.pending_interrupt() is None


def test_interrupt_is_first_in_line_and_flagged_until_it_plays(queue: ScriptQueue) -> None:
    on_air = queue.add(say("on air"))
    play(queue, on_air.id)
    queue.add(say("a"))
    cut = queue.add(say("breaking", mode="interrupt", interrupt_at="sentence"))
    queue.add(say("next one", mode="next"))
    flagged = queue.pending_interrupt()
    assert flagged is not None and flagged.id == cut.id and flagged.interrupt_at == "sentence"
    assert queue.next_due().id == cut.id  # type: ignore[union-attr]
    queue.mark_skipped(on_air.id, "interrupted by breaking news")
    play(queue, cut.id)
    assert queue.pending_interrupt() is None
    assert texts(queue.list()) == ["breaking", "next one", "a"]


def test_move_before_an_item_and_to_an_index(queue: ScriptQueue) -> None:
    a, b, c, d = (queue.add(say(t)) for t in "abcd")
    queue.move(d.id, before_id=b.id)
    assert texts(queue.list()) == ["a", "d", "b", "c"]
    queue.move(a.id, to_index=3)
    assert texts(queue.list()) == ["d", "b", "c", "a"]
    queue.move(c.id, to_index=0)
    assert texts(queue.list()) == ["c", "d", "b", "a"]
    with pytest.raises(InputError) as e:
        queue.move(c.id, to_index=9)
    assert e.value.field == "to_index"
    with pytest.raises(InputError) as e:
        queue.move(c.id)
    assert e.value.field == "before_id"


def test_remove_deletes_waiting_items_but_refuses_the_playing_one(queue: ScriptQueue) -> None:
    a, b = queue.add(say("a")), queue.add(say("b"))
    play(queue, a.id)
    with pytest.raises(InputError, match="skip it instead") as e:
        queue.remove(a.id)
    assert e.value.field == "id"
    queue.remove(b.id)
    with pytest.raises(NotFoundError):
        queue.get(b.id)
    assert [i.id for i in queue.list()] == [a.id]


def test_update_edits_a_waiting_item_and_invalidates_its_preparation(queue: ScriptQueue) -> None:
    a = queue.add(say("helo", title="Weather"))
    queue.mark_preparing(a.id)
    edited = queue.update(a.id, {"text": "hello"})
    assert (edited.text, edited.title, edited.state, edited.revision) == ("hello", "Weather", "queued", 1)
    with pytest.raises(InputError) as e:
        queue.mark_ready(a.id)  # the stale preparation cannot finish: the item is queued again
    assert e.value.field == "state"
    queue.mark_preparing(a.id)
    with pytest.raises(InputError) as e:
        queue.mark_ready(a.id, revision=0)
    assert e.value.field == "revision"
    assert queue.mark_ready(a.id, revision=1).state == "ready"
    swapped = queue.update(a.id, {"audio_path": "/clips/weather.wav"})
    assert swapped.text is None and swapped.audio_path == "/clips/weather.wav"
    with pytest.raises(InputError) as e:
        queue.update(a.id, {"text": ""})
    assert e.value.field == "text"
    with pytest.raises(InputError) as e:
        queue.update(a.id, {"mode": "next"})
    assert e.value.field == "mode"


def test_update_priority_replaces_the_item(queue: ScriptQueue) -> None:
    queue.add(say("a"))
    b = queue.add(say("b"))
    queue.update(b.id, {"priority": 3})
    assert texts(queue.list()) == ["b", "a"]


def test_update_refuses_played_items(queue: ScriptQueue) -> None:
    a = queue.add(say("a"))
    play(queue, a.id)
    queue.mark_played(a.id)
    with pytest.raises(InputError) as e:
        queue.update(a.id, {"text": "again"})
    assert e.value.field == "id"


# -- scheduling ------------------------------------------------------------------------------


def test_scheduled_item_waits_until_due_then_goes_first(queue: ScriptQueue, clock: VirtualClock) -> None:
    queue.add(say("a"))
    queue.add(say("b", priority=5))
    queue.add(say("at noon thirty", schedule_at=clock.now + timedelta(minutes=30)))
    assert queue.next_due().text == "b"  # type: ignore[union-attr]
    assert texts(queue.list()) == ["b", "a", "at noon thirty"]  # future items wait at the end
    clock.advance(minutes=29, seconds=59)
    assert queue.next_due().text == "b"  # type: ignore[union-attr]
    clock.advance(seconds=1)
    assert queue.next_due().text == "at noon thirty"  # type: ignore[union-attr]
    assert texts(queue.list()) == ["at noon thirty", "b", "a"]


# The play order as documented (anchor/live/store.py, README "Live channel"), one case a row:
# (what it shows, items added in this order as "text:mode:priority:minutes from now", what plays now
# in order, what plays once the clock has moved 15 minutes). Stated here, not derived from the SQL.
PLAY_ORDER = [
    ("appended items play in the order they came", "a b c", "a b c", ""),
    ("higher priority goes ahead, equal ones keep their order", "a::0 b::5 c::5 d::1", "b c d a", ""),
    ("'next' goes first in line, ahead of a higher priority", "a b::9 n:next", "n b a", ""),
    ("an interrupt goes before everything that is due", "a s:::-5 i:interrupt", "i s a", ""),
    ("each interrupt cuts in at the front: the newest goes first", "i1:interrupt a i2:interrupt", "i2 i1 a", ""),
    ("so does each 'next'", "a n1:next n2:next", "n2 n1 a", ""),
    ("interrupts ignore their schedule time once due", "early:interrupt::-30 late:interrupt::-5", "late early", ""),
    ("a due scheduled item goes before unscheduled ones of any priority", "a::9 s:::-5", "s a", ""),
    ("due scheduled items play by their time, not their arrival", "s10:::-10 s30:::-30", "s30 s10", ""),
    ("at the same time the higher priority plays first", "x::0:-5 y::5:-5", "y x", ""),
    ("a future item waits for its time", "later:::10 a", "a", "later"),
    ("a future interrupt waits too, then goes first", "a i:interrupt::10 b", "a b", "i"),
    ("once due, a scheduled item goes ahead of what was waiting", "a b s:::10", "a b", "s"),
]


def add_spec(queue: ScriptQueue, clock: VirtualClock, spec: str) -> None:
    for token in spec.split():
        text, mode, priority, minutes = (token.split(":") + ["", "", ""])[:4]
        when = clock.now + timedelta(minutes=int(minutes)) if minutes else None
        queue.add(say(text, mode=mode or "append", priority=int(priority or 0), schedule_at=when))


def drain(queue: ScriptQueue) -> list[str]:
    """Play whatever is due, one item at a time, as the channel does; checks pending_interrupt on the way."""
    played = []
    while (item := queue.next_due()) is not None:
        interrupt = queue.pending_interrupt()
        assert (interrupt.id if interrupt else None) == (item.id if item.mode == "interrupt" else None)
        play(queue, item.id)
        queue.mark_played(item.id)
        played.append(item.text)
    return played


@pytest.mark.parametrize(("case", "added", "now", "later"), PLAY_ORDER, ids=[c[0] for c in PLAY_ORDER])
def test_the_play_order_follows_its_spec_table(
    queue: ScriptQueue, clock: VirtualClock, case: str, added: str, now: str, later: str
) -> None:
    add_spec(queue, clock, added)
    assert drain(queue) == now.split(), case
    clock.advance(minutes=15)
    assert drain(queue) == later.split(), case
    assert queue.next_due() is None


@pytest.mark.parametrize("seed", range(3))
def test_a_random_queue_drains_completely_and_only_due_items_play(
    queue: ScriptQueue, clock: VirtualClock, seed: int
) -> None:
    """A random mix (priorities, modes, past and future schedules) drained while the clock moves:
    every item plays exactly once, never before its time, and a due interrupt always wins."""
    import random

    rnd = random.Random(seed)
    for i in range(40):
        when = clock.now + timedelta(minutes=rnd.choice([-30, -5, 3, 10, 45])) if rnd.random() < 0.4 else None
        mode = rnd.choice(["append", "append", "next", "interrupt"])
        queue.add(say(f"s{seed}-{i}", priority=rnd.choice([0, 0, 1, 5]), mode=mode, schedule_at=when))
    played: list[int] = []
    while len(played) < 40:
        waiting = [i for i in queue.list() if i.state in ("queued", "preparing", "ready")]
        due = [i for i in waiting if i.schedule_at is None or i.schedule_at <= clock.now]
        got = queue.next_due()
        if not due:
            assert got is None
            clock.advance(minutes=5)
            continue
        assert got is not None and got.id in {i.id for i in due}, "only a due item plays"
        if any(i.mode == "interrupt" for i in due):
            assert got.mode == "interrupt", "a due interrupt goes first"
        play(queue, got.id)
        queue.mark_played(got.id)
        played.append(got.id)
        clock.advance(minutes=1)
    assert len(set(played)) == 40 and queue.next_due() is None


def test_empty_queue_has_nothing_due(queue: ScriptQueue) -> None:
    assert queue.next_due() is None
    assert queue.depth() == 0


# -- recurring entries -----------------------------------------------------------------------


def run_channel(q: ScriptQueue, clock: VirtualClock, until: datetime, step: timedelta) -> list[Item]:
    """Drive the queue like a channel would: every step, play whatever is due."""
    played = []
    while clock.now < until:
        item = q.next_due()
        if item is not None:
            play(q, item.id)
            played.append(q.mark_played(item.id))
        clock.advance(seconds=step.total_seconds())
    return played


def test_hourly_at_00_fires_once_each_across_midnight_and_a_restart(db_path: Path, clock: VirtualClock) -> None:
    clock.set(datetime(2026, 12, 31, 22, 30, tzinfo=UTC))
    with ScriptQueue(db_path, clock=clock) as q:
        entry = q.add(say("top of the hour", recurrence={"hourly_at_minute": 0}))
        assert entry.next_fire_at == datetime(2026, 12, 31, 23, 0, tzinfo=UTC)
        assert q.list() == []  # the template itself never plays
        run_channel(q, clock, datetime(2027, 1, 1, 0, 0, 30, tzinfo=UTC), timedelta(seconds=10))
    with ScriptQueue(db_path, clock=clock) as q:  # restart right after midnight fired
        run_channel(q, clock, datetime(2027, 1, 1, 1, 30, tzinfo=UTC), timedelta(seconds=10))
        fired = [i.schedule_at for i in q.history() if i.source_id == entry.id]
        assert sorted(fired) == [
            datetime(2026, 12, 31, 23, tzinfo=UTC),
            datetime(2027, 1, 1, 0, tzinfo=UTC),
            datetime(2027, 1, 1, 1, tzinfo=UTC),
        ]
        assert q.get(entry.id).last_fired_at == datetime(2027, 1, 1, 1, tzinfo=UTC)
        assert q.get(entry.id).next_fire_at == datetime(2027, 1, 1, 2, tzinfo=UTC)


def test_due_recurring_item_goes_before_waiting_items(queue: ScriptQueue, clock: VirtualClock) -> None:
    clock.set(datetime(2026, 11, 20, 12, 59, tzinfo=UTC))
    queue.add(say("news", recurrence={"hourly_at_minute": 0}))
    queue.add(say("a", priority=9))
    assert queue.next_due().text == "a"  # type: ignore[union-attr]
    clock.advance(minutes=1)
    assert queue.next_due().text == "news"  # type: ignore[union-attr]


def test_daily_at_0600_follows_local_time_across_dst_change(queue: ScriptQueue, clock: VirtualClock) -> None:
    clock.set(datetime(2026, 10, 30, 12, 0, tzinfo=UTC))
    entry = queue.add(say("morning", recurrence={"daily_at": "06:00", "timezone": "America/New_York"}))
    played = run_channel(queue, clock, datetime(2026, 11, 3, tzinfo=UTC), timedelta(minutes=5))
    fired = [i.schedule_at for i in played]
    ny = ZoneInfo("America/New_York")
    assert [t.astimezone(ny).strftime("%m-%d %H:%M") for t in fired] == [  # type: ignore[union-attr]
        "10-31 06:00",
        "11-01 06:00",
        "11-02 06:00",
    ]
    assert [t.hour for t in fired] == [10, 11, 11]  # type: ignore[union-attr]  # EDT, then EST in UTC
    assert queue.get(entry.id).next_fire_at == datetime(2026, 11, 3, 11, tzinfo=UTC)


def test_hourly_fires_every_real_hour_on_a_fall_back_day(queue: ScriptQueue, clock: VirtualClock) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    clock.set(datetime(2026, 10, 25, 0, 0, tzinfo=berlin) - timedelta(minutes=1))
    queue.add(say("hour", recurrence={"hourly_at_minute": 0, "timezone": "Europe/Berlin"}))
    end = datetime(2026, 10, 26, 0, 0, tzinfo=berlin) - timedelta(minutes=1)
    fired = run_channel(queue, clock, end, timedelta(minutes=1))
    assert len(fired) == 25  # the repeated 02:00 hour fires twice, each real hour once


def test_every_n_minutes_keeps_its_phase(queue: ScriptQueue, clock: VirtualClock) -> None:
    start = clock.now
    queue.add(say("promo", recurrence={"every_minutes": 20}, schedule_at=start + timedelta(minutes=5)))
    fired = run_channel(queue, clock, start + timedelta(minutes=50), timedelta(seconds=30))
    assert [i.schedule_at for i in fired] == [start + timedelta(minutes=m) for m in (5, 25, 45)]


def test_missed_firings_collapse_and_stale_ones_are_dropped(queue: ScriptQueue, clock: VirtualClock) -> None:
    clock.set(datetime(2026, 11, 20, 8, 30, tzinfo=UTC))
    entry = queue.add(say("news", recurrence={"hourly_at_minute": 0}))
    clock.set(datetime(2026, 11, 20, 12, 5, tzinfo=UTC))  # down for hours; 12:00 is within grace
    assert [i.schedule_at for i in queue.fire_due()] == [datetime(2026, 11, 20, 12, tzinfo=UTC)]
    assert queue.fire_due() == []
    clock.set(datetime(2026, 11, 20, 15, 30, tzinfo=UTC))  # 15:00 is 30 min late: dropped
    assert queue.fire_due() == []
    assert queue.get(entry.id).next_fire_at == datetime(2026, 11, 20, 16, tzinfo=UTC)


def test_recurring_entry_can_be_edited_and_removed(queue: ScriptQueue, clock: VirtualClock) -> None:
    entry = queue.add(say("news", recurrence={"hourly_at_minute": 0}))
    moved = queue.update(entry.id, {"recurrence": {"hourly_at_minute": 30}})
    assert moved.next_fire_at == datetime(2026, 11, 20, 12, 30, tzinfo=UTC)
    assert [r.id for r in queue.recurring()] == [entry.id]
    queue.remove(entry.id)
    assert queue.recurring() == []


# -- playlists -------------------------------------------------------------------------------


def test_playlist_loop_continues_from_its_cursor_and_wraps(db_path: Path, clock: VirtualClock) -> None:
    with ScriptQueue(db_path, clock=clock) as q:
        for t in ("p1", "p2", "p3"):
            q.add(say(t, playlist="filler"))
        q.add(say("other", playlist="night"))
        assert texts(q.playlist_items("filler")) == ["p1", "p2", "p3"]
        assert q.next_due() is None and q.depth() == 0  # playlist entries are only played by the idle policy
        first = q.next_playlist_item("filler")
        assert first is not None and first.text == "p1" and first.playlist is None
        assert q.next_due().id == first.id  # type: ignore[union-attr]
        play(q, first.id)
        q.mark_played(first.id)
        assert q.next_playlist_item("filler").text == "p2"  # type: ignore[union-attr]
    with ScriptQueue(db_path, clock=clock) as q:  # restart: continues where it was
        got = [q.next_playlist_item("filler").text for _ in range(4)]  # type: ignore[union-attr]
        assert got == ["p3", "p1", "p2", "p3"]
        assert q.next_playlist_item("empty") is None


def test_playlist_cursor_survives_removal_and_reorder(queue: ScriptQueue) -> None:
    p1, p2, p3, p4 = (queue.add(say(t, playlist="loop")) for t in ("p1", "p2", "p3", "p4"))
    assert queue.next_playlist_item("loop").text == "p1"  # type: ignore[union-attr]
    assert queue.next_playlist_item("loop").text == "p2"  # type: ignore[union-attr]
    queue.remove(p2.id)  # the successor slides into its place
    assert queue.next_playlist_item("loop").text == "p3"  # type: ignore[union-attr]
    queue.move(p1.id, to_index=2)
    assert texts(queue.playlist_items("loop")) == ["p3", "p4", "p1"]
    assert queue.next_playlist_item("loop").text == "p4"  # type: ignore[union-attr]
    assert queue.next_playlist_item("loop").text == "p1"  # type: ignore[union-attr]


# -- states ----------------------------------------------------------------------------------


def test_state_machine_refuses_illegal_transitions(queue: ScriptQueue, clock: VirtualClock) -> None:
    a, b = queue.add(say("a")), queue.add(say("b"))
    with pytest.raises(InputError, match="queued to playing") as e:
        queue.mark_playing(a.id)
    assert e.value.field == "state"
    started = play(queue, a.id)
    assert started.started_at == clock.now
    queue.mark_preparing(b.id)
    queue.mark_ready(b.id)
    with pytest.raises(InputError, match="still playing"):
        queue.mark_playing(b.id)
    clock.advance(seconds=42)
    done = queue.mark_played(a.id)
    assert done.finished_at == clock.now and done.is_final
    for illegal in (queue.mark_playing, queue.mark_preparing, queue.mark_played):
        with pytest.raises(InputError):
            illegal(a.id)
    with pytest.raises(InputError):
        queue.mark_skipped(a.id)
    failed = queue.mark_failed(b.id, "TTS error: voice not found")
    assert (failed.state, failed.reason) == ("failed", "TTS error: voice not found")
    entry = queue.add(say("tpl", recurrence={"every_minutes": 5}))
    with pytest.raises(InputError, match="never plays itself"):
        queue.mark_preparing(entry.id)
    with pytest.raises(NotFoundError):
        queue.mark_preparing(9999)


def test_history_and_depth(queue: ScriptQueue, clock: VirtualClock) -> None:
    a, b, c, _ = (queue.add(say(t)) for t in "abcd")
    play(queue, a.id)
    clock.advance(seconds=1)
    queue.mark_played(a.id)
    clock.advance(seconds=1)
    queue.mark_skipped(b.id)
    clock.advance(seconds=1)
    queue.mark_failed(c.id, "bad audio file")
    assert texts(queue.history()) == ["c", "b", "a"]
    assert texts(queue.history(limit=1)) == ["c"]
    assert queue.depth() == 1
    assert texts(queue.list(states=["played", "skipped", "failed"])) == ["a", "b", "c"]


# -- persistence and crash safety ------------------------------------------------------------


def test_everything_is_there_after_close_and_reopen(db_path: Path, clock: VirtualClock) -> None:
    with ScriptQueue(db_path, clock=clock) as q:
        a = q.add(say("a", title="Headlines", language="en", voice="joe", priority=2))
        q.add(say("b", schedule_at=clock.now + timedelta(hours=1)))
        q.add(ItemIn(audio_path="/clips/jingle.wav", mode="next"))
        play(q, a.id)
        q.mark_played(a.id)
        before = q.list(states=["queued", "played"])
    with ScriptQueue(db_path, clock=clock) as q:
        assert q.list(states=["queued", "played"]) == before
        assert q.get(a.id).title == "Headlines"
        with sqlite3.connect(db_path) as raw:
            assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert raw.execute("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION


def test_a_database_from_a_newer_schema_is_refused(db_path: Path, clock: VirtualClock) -> None:
    ScriptQueue(db_path, clock=clock).close()
    with sqlite3.connect(db_path) as raw:
        raw.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(InputError, match="newer") as e:
        ScriptQueue(db_path, clock=clock)
    assert e.value.field == "path"


CHILD = textwrap.dedent(
    """
    import sys, time
    from anchor.live.items import ItemIn
    from anchor.live.store import ScriptQueue

    q = ScriptQueue(sys.argv[1])
    done = q.add(ItemIn(text="already played"))
    for state in ("preparing", "ready", "playing", "played"):
        getattr(q, "mark_" + state)(done.id)
    speaking = q.add(ItemIn(text="speaking when killed"))
    prepared = q.add(ItemIn(text="prepared"))
    q.mark_preparing(prepared.id); q.mark_ready(prepared.id)
    q.mark_preparing(speaking.id); q.mark_ready(speaking.id); q.mark_playing(speaking.id)
    print("playing", speaking.id, flush=True)
    print("queued", prepared.id, flush=True)
    n = 0
    while True:  # keep writing until the parent kills us
        n += 1
        print("queued", q.add(ItemIn(text=f"item {n}")).id, flush=True)
        time.sleep(0.001)
    """
)


def kill_child_mid_way(db_path: Path) -> tuple[int, list[int]]:
    """Run the child, SIGKILL it after it has committed a few dozen items; return (playing id, queued ids)."""
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(db_path)], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    playing, queued = -1, []
    try:
        for line in child.stdout:
            kind, item_id = line.split()
            if kind == "playing":
                playing = int(item_id)
            else:
                queued.append(int(item_id))
            if len(queued) >= 30:
                break
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    return playing, queued


def test_sigkill_while_playing_then_replay_keeps_everything(db_path: Path, clock: VirtualClock) -> None:
    playing, queued = kill_child_mid_way(db_path)
    with ScriptQueue(db_path, clock=clock) as q:
        assert q.now_playing().id == playing  # type: ignore[union-attr]
        report = q.recover("replay")
        assert report.replayed == [playing] and report.skipped == []
        assert queued[0] in report.requeued  # the prepared item lost its in-memory preparation
        line = q.list()
        assert line[0].id == playing and line[0].attempts == 1 and line[0].state == "queued"
        assert set(queued) <= {i.id for i in line[1:]}
        assert all(i.state == "queued" for i in line)
        assert texts(q.history()) == ["already played"]
        assert q.next_due().id == playing  # type: ignore[union-attr]
        q.add(say("added after restart"))
        assert q.list()[0].id == playing


def test_sigkill_while_playing_then_skip_policy(db_path: Path, clock: VirtualClock) -> None:
    playing, queued = kill_child_mid_way(db_path)
    with ScriptQueue(db_path, clock=clock) as q:
        report = q.recover("skip")
        assert report.skipped == [playing] and report.replayed == []
        skipped = q.get(playing)
        assert (skipped.state, skipped.reason) == ("skipped", "interrupted by restart")
        assert skipped.finished_at == clock.now
        assert set(queued) <= {i.id for i in q.list()}
        assert sorted(texts(q.history())) == ["already played", "speaking when killed"]  # type: ignore[type-var]
        assert q.now_playing() is None


def test_an_item_that_keeps_crashing_the_channel_is_skipped_eventually(queue: ScriptQueue) -> None:
    a = queue.add(say("poison"))
    for _ in range(3):
        play(queue, a.id)
        assert queue.recover("replay", max_attempts=3).replayed == [a.id]
    play(queue, a.id)
    assert queue.recover("replay", max_attempts=3).skipped == [a.id]
    assert queue.get(a.id).reason == "interrupted by restart (after 3 replays)"
    with pytest.raises(InputError) as e:
        queue.recover("retry")  # type: ignore[arg-type]
    assert e.value.field == "policy"


# -- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"text": "x" * 5001}, "text"),
        ({}, "text"),
        ({"text": "a", "audio_path": "/a.wav"}, "text"),
        ({"text": "a", "mode": "later"}, "mode"),
        ({"text": "a", "interrupt_at": "soon"}, "interrupt_at"),
        ({"text": "a", "schedule_at": "2026-11-20T12:00:00"}, "schedule_at"),
        ({"text": "a", "priority": "high"}, "priority"),
        ({"text": "a", "language": "english!"}, "language"),
        ({"text": "a", "recurrence": {}}, "recurrence.every_minutes"),
        ({"text": "a", "recurrence": {"every_minutes": 5, "daily_at": "06:00"}}, "recurrence.every_minutes"),
        ({"text": "a", "recurrence": {"daily_at": "25:00"}}, "recurrence.daily_at"),
        ({"text": "a", "recurrence": {"hourly_at_minute": 60}}, "recurrence.hourly_at_minute"),
        ({"text": "a", "recurrence": {"daily_at": "06:00", "timezone": "Mars/Olympus"}}, "recurrence.timezone"),
        ({"text": "a", "playlist": "x", "mode": "next"}, "mode"),
        ({"text": "a", "playlist": "x", "recurrence": {"every_minutes": 5}}, "playlist"),
        ({"text": "a", "prority": 3}, "prority"),
    ],
)
def test_validation_errors_name_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as raw:
        ItemIn.model_validate(data)
    assert ".".join(map(str, raw.value.errors()[0]["loc"])) == field
    with pytest.raises(InputError) as e:
        ItemIn.parse(data)
    assert e.value.field == field and field in str(e.value)


def test_aware_schedule_is_stored_in_utc() -> None:
    item = ItemIn.parse({"text": "a", "schedule_at": "2026-11-20T13:00:00+01:00"})
    assert item.schedule_at == datetime(2026, 11, 20, 12, tzinfo=UTC) and item.schedule_at.tzinfo == UTC


def test_two_threads_can_share_one_queue(queue: ScriptQueue) -> None:
    def add_many(prefix: str) -> None:
        for n in range(50):
            queue.add(say(f"{prefix}{n}"))

    workers = [threading.Thread(target=add_many, args=(p,)) for p in ("api-", "channel-")]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    line = queue.list()
    assert len(line) == 100 and sorted(i.position for i in line) == list(range(100))
