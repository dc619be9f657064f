"""The content policy's `held` state in the script queue: held items wait for an operator."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from anchor.errors import InputError
from anchor.live.items import ItemIn, Recurrence
from anchor.live.store import ScriptQueue
from anchor.provenance.policy import ContentPolicy

from .conftest import VirtualClock
from .test_channel import channel_parts  # noqa: F401  (the fixture)

POLICY = ContentPolicy(review={"en": {"violence": ["massacre"]}}, block={"en": {"violence": ["kill them all"]}})


def submit(q: ScriptQueue, text: str, **kw: object) -> object:
    """What an edge (API, CLI, feeds) does: check the policy, refuse, hold or queue."""
    decision = POLICY.require(text, "en")
    return q.add(ItemIn(text=text, language="en", **kw), hold=decision.outcome == "hold", policy=decision.as_dict())


def test_a_held_item_does_not_play_until_approved(queue: ScriptQueue) -> None:
    held = submit(queue, "Reports of a massacre in the north.")
    assert held.state == "held" and held.policy["outcome"] == "hold"
    assert queue.next_due() is None
    assert queue.depth() == 0
    other = submit(queue, "Good evening.")
    assert queue.next_due().id == other.id  # the held one is skipped over, not blocking the queue
    queue.mark_preparing(other.id)
    queue.mark_ready(other.id)
    queue.mark_playing(other.id)
    queue.mark_played(other.id)
    assert queue.next_due() is None
    approved = queue.approve(held.id, by="night editor")
    assert approved.state == "queued"
    assert approved.policy["approved_by"] == "night editor" and approved.policy["outcome"] == "hold"
    assert queue.next_due().id == held.id


def test_a_rejected_item_never_plays(queue: ScriptQueue) -> None:
    held = submit(queue, "Another massacre.")
    rejected = queue.reject(held.id, "not verified")
    assert rejected.state == "skipped" and rejected.reason == "not verified"
    assert queue.next_due() is None
    with pytest.raises(InputError, match="not held"):
        queue.approve(held.id)


def test_a_refused_script_is_never_stored(queue: ScriptQueue) -> None:
    with pytest.raises(InputError, match="refused by the content policy"):
        submit(queue, "Kill them all.")
    assert queue.list(states=["held", "queued", "skipped"]) == []


def test_an_edit_does_not_release_a_held_item(queue: ScriptQueue) -> None:
    held = submit(queue, "A massacre.")
    edited = queue.update(held.id, {"text": "A quiet day."})
    assert edited.state == "held" and edited.revision == 1
    assert queue.next_due() is None


def test_hold_takes_a_waiting_item_out_of_the_play_order(queue: ScriptQueue) -> None:
    item = submit(queue, "Good evening.")
    queue.hold(item.id, "edited text needs review")
    assert queue.next_due() is None
    assert [i.id for i in queue.held()] == [item.id]
    assert [i.state for i in queue.list()] == ["held"]
    queue.approve(item.id)
    assert queue.next_due().id == item.id


def test_approval_respects_mode_next(queue: ScriptQueue) -> None:
    first = submit(queue, "First.")
    urgent = submit(queue, "Breaking: a massacre.", mode="next")
    assert queue.next_due().id == first.id
    queue.approve(urgent.id)
    assert queue.next_due().id == urgent.id


def test_a_held_recurring_entry_does_not_fire_until_approved(queue: ScriptQueue, clock: VirtualClock) -> None:
    entry = queue.add(
        ItemIn(text="Massacre anniversary.", recurrence=Recurrence(every_minutes=10)),
        hold=True,
        policy=POLICY.check("Massacre anniversary.", "en").as_dict(),
    )
    clock.advance(minutes=11)
    assert queue.fire_due() == []
    queue.approve(entry.id)
    clock.advance(minutes=10)
    spawned = queue.fire_due()
    assert len(spawned) == 1 and spawned[0].policy["approved_at"]  # spawned items carry the decision


def test_a_held_playlist_entry_is_passed_over(queue: ScriptQueue) -> None:
    queue.add(ItemIn(text="Weather.", playlist="idle"))
    queue.add(ItemIn(text="Massacre.", playlist="idle"), hold=True)
    assert [queue.next_playlist_item("idle").text for _ in range(3)] == ["Weather."] * 3


def test_a_version_1_queue_is_migrated(tmp_path: Path, clock: VirtualClock) -> None:
    path = tmp_path / "old.db"
    with ScriptQueue(path, clock=clock) as q:
        q.add(ItemIn(text="old item"))
    with sqlite3.connect(path) as raw:  # make it look like a queue written before the policy column
        for column in ("policy", "avatar", "interrupt_policy"):  # the columns added since version 1
            raw.execute(f"ALTER TABLE items DROP COLUMN {column}")
        raw.execute("UPDATE schema_version SET version = 1")
    with ScriptQueue(path, clock=clock) as q:
        item = q.list()[0]
        assert item.text == "old item" and item.policy is None
        q.add(ItemIn(text="new"), hold=True, policy={"outcome": "hold"})
        assert q.held()[0].policy == {"outcome": "hold"}


def test_the_channel_plays_a_held_item_only_after_approval(channel_parts) -> None:  # noqa: F811
    from tests.helpers import wait_until as wait_for

    from .test_channel import kinds

    channel, queue, _sink, events, _ = channel_parts
    held = submit(queue, "Reports of a massacre.")
    ok = submit(queue, "Good evening.")
    with channel:
        wait_for(lambda: ("finished", ok.id) in kinds(events))
        assert ("started", held.id) not in kinds(events) and queue.get(held.id).state == "held"
        queue.approve(held.id, by="editor")
        channel.nudge()
        wait_for(lambda: ("finished", held.id) in kinds(events))
    assert kinds(events) == [("started", ok.id), ("finished", ok.id), ("started", held.id), ("finished", held.id)]
