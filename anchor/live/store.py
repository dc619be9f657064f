"""`ScriptQueue`: the live channel's persistent script queue in SQLite.

Durability: WAL journal with synchronous=NORMAL (the default here). Every committed
transaction is in the WAL file before commit returns, so killing the process (kill -9, OOM,
crash) loses nothing that was committed; only an OS crash or power cut can roll back the
last few commits, and never corrupts the database. Pass synchronous="FULL" to also survive
power loss at the cost of an fsync per commit.

Concurrency: one connection guarded by a re-entrant lock, so the API thread and the
channel thread can share one ScriptQueue. Writes run in BEGIN IMMEDIATE transactions with a
busy timeout, so another process (e.g. the CLI) may open the same file.

Ordering: pending items of the main queue have an integer `position`; priority decides
where `add` inserts (after every pending item of equal or higher priority, never ahead of
the items put first in line by next/interrupt or crash replay), and `move` may override it.
Play order is then: due interrupt items, due scheduled items (by schedule_at), the rest by
position; items scheduled in the future wait at the end.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from anchor.errors import InputError, NotFoundError
from anchor.live.items import FINAL_STATES, PENDING_STATES, Item, ItemIn, ItemState, Recurrence, check_transition

Clock = Callable[[], datetime]
"""Gives the current wall-clock time as an aware datetime."""

RecoverPolicy = Literal["replay", "skip"]

SCHEMA_VERSION = 3
_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE items (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        text TEXT, audio_path TEXT, language TEXT, voice TEXT, title TEXT,
        priority INTEGER NOT NULL, mode TEXT NOT NULL, interrupt_at TEXT NOT NULL,
        schedule_at TEXT, recurrence TEXT, playlist TEXT,
        state TEXT NOT NULL, position INTEGER NOT NULL,
        created_at TEXT NOT NULL, started_at TEXT, finished_at TEXT, reason TEXT,
        attempts INTEGER NOT NULL DEFAULT 0, revision INTEGER NOT NULL DEFAULT 0,
        source_id INTEGER, next_fire_at TEXT, last_fired_at TEXT
    );
    CREATE INDEX items_state ON items(state, position);
    CREATE INDEX items_fire ON items(next_fire_at) WHERE recurrence IS NOT NULL;
    CREATE TABLE playlist_cursor (name TEXT PRIMARY KEY, last_entry_id INTEGER, last_index INTEGER NOT NULL);
    """,
    2: """
    ALTER TABLE items ADD COLUMN policy TEXT;
    """,
    3: """
    ALTER TABLE items ADD COLUMN avatar TEXT;
    ALTER TABLE items ADD COLUMN interrupt_policy TEXT;
    """,
}

_COLUMNS = tuple(Item.model_fields)
_MAIN_LANE = "recurrence IS NULL AND playlist IS NULL"
_PENDING_SQL = "state IN ('queued', 'preparing', 'ready')"
# Among due items: interrupts by position, then scheduled ones by time (higher priority first
# at the same time), then the rest by position.
_DUE_ORDER = (
    "CASE WHEN mode = 'interrupt' THEN 0 WHEN schedule_at IS NOT NULL THEN 1 ELSE 2 END,"
    " CASE WHEN mode = 'interrupt' THEN '' ELSE COALESCE(schedule_at, '') END,"
    " CASE WHEN mode = 'interrupt' OR schedule_at IS NULL THEN 0 ELSE -priority END,"
    " position, id"
)
_NOT_PATCHABLE = {"mode": "use move to reorder", "playlist": "remove it and add it again"}


def utc_now() -> datetime:
    """The real wall clock, in UTC."""
    return datetime.now(UTC)


def _iso(dt: datetime | None) -> str | None:
    # Fixed-width UTC text, so string comparison in SQL is time comparison.
    return None if dt is None else dt.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class RecoveryReport:
    """What `ScriptQueue.recover` did."""

    requeued: list[int] = field(default_factory=list)
    replayed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)


class ScriptQueue:
    """The channel's script queue, persisted at `path`; a context manager.

    `clock` gives wall-clock time (inject a virtual one in tests). `misfire_grace` is how
    late a recurring entry may still fire (e.g. after downtime); older fire times are
    dropped, and at most one instance is spawned per entry however many were missed.
    """

    def __init__(
        self,
        path: str | Path,
        clock: Clock = utc_now,
        *,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        misfire_grace: timedelta = timedelta(minutes=10),
        busy_timeout_s: float = 5.0,
    ) -> None:
        if synchronous not in ("NORMAL", "FULL"):
            raise InputError("synchronous must be NORMAL or FULL", field="synchronous")
        self.path = Path(path)
        self._clock = clock
        self._grace = misfire_grace
        self._lock = threading.RLock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_s)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._migrate()

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> ScriptQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        with self._write() as db:
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = db.execute("SELECT version FROM schema_version").fetchone()
            version = row[0] if row else 0
            if version > SCHEMA_VERSION:
                raise InputError(
                    f"{self.path} has queue schema {version}, newer than this anchor's "
                    f"({SCHEMA_VERSION}); upgrade anchor",
                    field="path",
                )
            for v in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[v].split(";"):
                    if statement.strip():
                        db.execute(statement)
            if row is None:
                db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
            else:
                db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the queue clock must return aware datetimes")
        return now.astimezone(UTC)

    # -- reading ---------------------------------------------------------------------------

    def _rows(self, sql: str, args: Iterable[Any] = ()) -> list[Item]:
        with self._lock:
            rows = self._db.execute(sql, tuple(args)).fetchall()
        return [_to_item(r) for r in rows]

    def get(self, item_id: int) -> Item:
        """The item with this id; NotFoundError if there is none."""
        found = self._rows("SELECT * FROM items WHERE id = ?", (item_id,))
        if not found:
            raise NotFoundError(f"no queue item {item_id}", field="id")
        return found[0]

    def now_playing(self) -> Item | None:
        """The item on air, if any."""
        found = self._rows("SELECT * FROM items WHERE state = 'playing' ORDER BY started_at")
        return found[0] if found else None

    def history(self, limit: int = 50) -> list[Item]:
        """Played, failed and skipped items, most recently finished first."""
        finals = ",".join(f"'{s}'" for s in FINAL_STATES)
        return self._rows(
            f"SELECT * FROM items WHERE state IN ({finals}) ORDER BY finished_at DESC, id DESC LIMIT ?", (limit,)
        )

    def depth(self) -> int:
        """How many main-queue items are waiting (queued, preparing or ready, scheduled or not)."""
        with self._lock:
            row = self._db.execute(f"SELECT COUNT(*) FROM items WHERE {_MAIN_LANE} AND {_PENDING_SQL}").fetchone()
        return int(row[0])

    def recurring(self) -> list[Item]:
        """Recurring entries (templates), soonest next firing first."""
        return self._rows("SELECT * FROM items WHERE recurrence IS NOT NULL ORDER BY next_fire_at, id")

    def playlist_items(self, name: str) -> list[Item]:
        """Entries of the named playlist, in play order."""
        return self._rows("SELECT * FROM items WHERE playlist = ? ORDER BY position, id", (name,))

    def pending_interrupt(self) -> Item | None:
        """The interrupt item the channel should cut in with, if one is waiting and due.

        Asked every frame, so SQLite picks the one row: the cost does not grow with the queue."""
        found = self._rows(
            f"SELECT * FROM items WHERE {_MAIN_LANE} AND {_PENDING_SQL} AND mode = 'interrupt'"
            " AND (schedule_at IS NULL OR schedule_at <= ?) ORDER BY position, id LIMIT 1",
            (_iso(self._now()),),
        )
        return found[0] if found else None

    def next_due(self, now: datetime | None = None) -> Item | None:
        """The item to play next at `now` (default: the clock), or None when nothing is due.

        Fires due recurring entries first. The returned item may still be queued or
        preparing; the channel plays it once it is ready.
        """
        now = self._now() if now is None else now.astimezone(UTC)
        self.fire_due(now)
        found = self._rows(
            f"SELECT * FROM items WHERE {_MAIN_LANE} AND {_PENDING_SQL}"
            f" AND (schedule_at IS NULL OR schedule_at <= ?) ORDER BY {_DUE_ORDER} LIMIT 1",
            (_iso(now),),
        )
        return found[0] if found else None

    # -- adding, editing, ordering ---------------------------------------------------------

    def add(self, item: ItemIn, *, hold: bool = False, policy: Mapping[str, Any] | None = None) -> Item:
        """Store a new item (or recurring / playlist entry) and return it.

        `policy` is the content policy's decision to keep with the item; `hold` stores it
        `held`: it waits for `approve` and never plays (nor fires, for a template) before.
        """
        now = self._now()
        extra = {"policy": json.dumps(dict(policy))} if policy is not None else {}
        if hold:
            with self._write() as db:
                first = None
                if item.recurrence is not None:
                    rule = item.recurrence
                    first = rule.first_at_or_after(item.schedule_at) if item.schedule_at else rule.next_after(now)
                position = len(self._lane(db, item.playlist)) if item.playlist is not None else 0
                return self._insert(db, item, now, state="held", position=position, next_fire_at=first, **extra)
        with self._write() as db:
            if extra:
                return self._add_policy(db, item, now, extra)
            if item.recurrence is not None:
                rule = item.recurrence
                first = rule.first_at_or_after(item.schedule_at) if item.schedule_at else rule.next_after(now)
                return self._insert(db, item, now, next_fire_at=first)
            if item.playlist is not None:
                lane = self._lane(db, item.playlist)
                return self._insert(db, item, now, position=len(lane))
            return self._insert_main(db, item, now)

    def _add_policy(self, db: sqlite3.Connection, item: ItemIn, now: datetime, extra: dict[str, Any]) -> Item:
        if item.recurrence is not None:
            rule = item.recurrence
            first = rule.first_at_or_after(item.schedule_at) if item.schedule_at else rule.next_after(now)
            return self._insert(db, item, now, next_fire_at=first, **extra)
        if item.playlist is not None:
            return self._insert(db, item, now, position=len(self._lane(db, item.playlist)), **extra)
        return self._insert_main(db, item, now, **extra)

    # -- the content policy's hold ---------------------------------------------------------

    def held(self) -> list[Item]:
        """Items and entries waiting for an operator's approval, oldest first."""
        return self._rows("SELECT * FROM items WHERE state = 'held' ORDER BY created_at, id")

    def hold(self, item_id: int, reason: str, policy: Mapping[str, Any] | None = None) -> Item:
        """Put a waiting item (e.g. one whose edit needs review) on hold; it leaves the play order."""
        with self._write() as db:
            item = self._get(db, item_id)
            if not item.is_template and item.state not in PENDING_STATES:
                raise InputError(f"item {item_id} is {item.state}; only waiting items can be held", field="id")
            values: dict[str, Any] = {"state": "held", "reason": reason}
            if policy is not None:
                values["policy"] = json.dumps(dict(policy))
            _set(db, item_id, values)
            return self._get(db, item_id)

    def approve(self, item_id: int, by: str = "operator") -> Item:
        """An operator releases a held item: it joins the queue as if just added (mode and priority apply)."""
        now = self._now()
        with self._write() as db:
            item = self._get(db, item_id)
            if item.state != "held":
                raise InputError(f"item {item_id} is {item.state}, not held", field="id")
            policy = dict(item.policy or {}) | {"approved_by": by, "approved_at": _iso(now)}
            _set(db, item_id, {"state": "queued", "reason": None, "policy": json.dumps(policy)})
            if item.is_template:
                return self._get(db, item_id)
            lane = [i for i in self._pending_main(db) if i.id != item_id]
            index = 0 if item.mode in ("next", "interrupt") else _append_index(lane, item.priority)
            lane.insert(index, self._get(db, item_id))
            self._renumber(db, lane)
            return self._get(db, item_id)

    def reject(self, item_id: int, reason: str = "rejected by operator", by: str = "operator") -> Item:
        """An operator refuses a held item: it is skipped with `reason` and never plays."""
        now = self._now()
        with self._write() as db:
            item = self._get(db, item_id)
            if item.state != "held":
                raise InputError(f"item {item_id} is {item.state}, not held", field="id")
            policy = dict(item.policy or {}) | {"rejected_by": by, "rejected_at": _iso(now)}
            _set(
                db,
                item_id,
                {"state": "skipped", "finished_at": _iso(now), "reason": reason, "policy": json.dumps(policy)},
            )
            return self._get(db, item_id)

    def remove(self, item_id: int) -> Item:
        """Delete an item that is not on air (skip a playing item instead); returns it."""
        with self._write() as db:
            item = self._get(db, item_id)
            if item.state == "playing":
                raise InputError(f"item {item_id} is playing; skip it instead of removing it", field="id")
            db.execute("DELETE FROM items WHERE id = ?", (item_id,))
            if item.playlist is not None:
                db.execute(
                    "DELETE FROM playlist_cursor WHERE name = ? AND NOT EXISTS "
                    "(SELECT 1 FROM items WHERE playlist = ?)",
                    (item.playlist, item.playlist),
                )
            return item

    def move(self, item_id: int, *, before_id: int | None = None, to_index: int | None = None) -> Item:
        """Reorder a waiting item (or playlist entry): put it before `before_id`, or at `to_index` (0 = first)."""
        if (before_id is None) == (to_index is None):
            raise InputError("give exactly one of before_id or to_index", field="before_id")
        with self._write() as db:
            item = self._get(db, item_id)
            if item.recurrence is not None or (item.playlist is None and item.state not in PENDING_STATES):
                raise InputError(f"item {item_id} is {item.state}; only waiting items can be moved", field="id")
            lane = [i for i in self._lane(db, item.playlist) if i.id != item_id]
            if before_id is not None:
                index = next((k for k, i in enumerate(lane) if i.id == before_id), None)
                if index is None:
                    raise InputError(f"item {before_id} is not waiting in the same queue", field="before_id")
            else:
                assert to_index is not None
                if not 0 <= to_index <= len(lane):
                    raise InputError(f"to_index must be between 0 and {len(lane)}", field="to_index")
                index = to_index
            lane.insert(index, item)
            self._renumber(db, lane)
            return self._get(db, item_id)

    def update(self, item_id: int, patch: Mapping[str, Any]) -> Item:
        """Edit a waiting item or an entry; a prepared item goes back to queued with a new revision.

        Setting `text` clears `audio_path` and vice versa. A new priority re-places the item
        as if it were appended with it.
        """
        for key, why in _NOT_PATCHABLE.items():
            if key in patch:
                raise InputError(f"{key} cannot be changed; {why}", field=key)
        with self._write() as db:
            old = self._get(db, item_id)
            if not old.is_template and old.state not in (*PENDING_STATES, "held"):
                raise InputError(f"item {item_id} is {old.state}; only waiting items can be edited", field="id")
            data = old.spec().model_dump(exclude_none=True)
            data.update(patch)
            if patch.get("text") is not None and "audio_path" not in patch:
                data.pop("audio_path", None)
            if patch.get("audio_path") is not None and "text" not in patch:
                data.pop("text", None)
            new = ItemIn.parse({k: v for k, v in data.items() if v is not None})
            if (new.recurrence is None) != (old.recurrence is None):
                raise InputError(
                    "an item cannot become or stop being recurring; add or remove the entry", field="recurrence"
                )
            state = "held" if old.state == "held" else "queued"  # an edit never releases a held item
            values = _spec_values(new) | {"state": state, "revision": old.revision + 1}
            rule = new.recurrence
            if rule is not None and (rule != old.recurrence or new.schedule_at != old.schedule_at):
                now = self._now()
                later = new.schedule_at is not None and new.schedule_at > now
                first = (
                    rule.first_at_or_after(new.schedule_at)  # type: ignore[arg-type]
                    if later
                    else rule.next_after(now, phase=old.last_fired_at)
                )
                values["next_fire_at"] = _iso(first)
            _set(db, item_id, values)
            if not old.is_template and state != "held" and new.priority != old.priority:
                lane = [i for i in self._pending_main(db) if i.id != item_id]
                lane.insert(_append_index(lane, new.priority), self._get(db, item_id))
                self._renumber(db, lane)
            return self._get(db, item_id)

    # -- state transitions -----------------------------------------------------------------

    def mark_preparing(self, item_id: int) -> Item:
        """The channel started preparing (speech + mouth track) this item."""
        return self._transition(item_id, "preparing")

    def mark_ready(self, item_id: int, revision: int | None = None) -> Item:
        """Preparation finished; with `revision`, refuse if the item was edited meanwhile."""
        return self._transition(item_id, "ready", revision=revision)

    def mark_playing(self, item_id: int) -> Item:
        """The item went on air; only one item plays at a time."""
        return self._transition(item_id, "playing")

    def mark_played(self, item_id: int) -> Item:
        """The item finished on air."""
        return self._transition(item_id, "played")

    def mark_failed(self, item_id: int, reason: str) -> Item:
        """The item could not be prepared or played; `reason` says why."""
        return self._transition(item_id, "failed", reason=reason)

    def resume_later(self, item_id: int) -> Item:
        """A playing item was interrupted and will go on from where it was cut: it waits, ready, first in
        line (after the interrupt that cut it). A restart replays it from its start."""
        with self._write() as db:
            item = self._get(db, item_id)
            check_transition(item_id, item.state, "ready")
            lane = [i for i in self._pending_main(db) if i.id != item_id]
            _set(db, item_id, {"state": "ready", "reason": "interrupted; resumes after the interruption"})
            self._renumber(db, [self._get(db, item_id), *lane])
            return self._get(db, item_id)

    def mark_skipped(self, item_id: int, reason: str = "skipped by operator") -> Item:
        """The item will not (or no longer) play; `reason` says why."""
        return self._transition(item_id, "skipped", reason=reason)

    def _transition(
        self, item_id: int, new: ItemState, *, reason: str | None = None, revision: int | None = None
    ) -> Item:
        now = self._now()
        with self._write() as db:
            item = self._get(db, item_id)
            if item.is_template:
                raise InputError(f"item {item_id} is a recurring or playlist entry; it never plays itself", field="id")
            check_transition(item_id, item.state, new)
            if revision is not None and revision != item.revision:
                raise InputError(
                    f"item {item_id} was edited (revision {item.revision}, not {revision})", field="revision"
                )
            values: dict[str, Any] = {"state": new}
            if new == "playing":
                on_air = db.execute("SELECT id FROM items WHERE state = 'playing'").fetchone()
                if on_air is not None:
                    raise InputError(f"item {on_air[0]} is still playing; finish or skip it first", field="state")
                values["started_at"] = _iso(now)
            if new in FINAL_STATES:
                values |= {"finished_at": _iso(now), "reason": reason}
            _set(db, item_id, values)
            return self._get(db, item_id)

    # -- recurring entries and playlists ---------------------------------------------------

    def fire_due(self, now: datetime | None = None) -> list[Item]:
        """Spawn an item from every recurring entry whose fire time has come; returns the new items.

        The fire time is stored with the spawned item in one transaction, so an entry never
        fires twice for the same time, across threads, processes and restarts.
        """
        now = self._now() if now is None else now.astimezone(UTC)
        due_sql = (
            "SELECT * FROM items WHERE recurrence IS NOT NULL AND state != 'held' AND next_fire_at <= ?"
            " ORDER BY next_fire_at, id"
        )
        with self._lock:  # cheap check first: most calls find nothing due and need no write lock
            if self._db.execute(due_sql, (_iso(now),)).fetchone() is None:
                return []
        spawned = []
        with self._write():
            due = self._rows(due_sql, (_iso(now),))
            for entry in due:
                assert entry.recurrence is not None and entry.next_fire_at is not None
                fire = entry.next_fire_at
                while (later := entry.recurrence.next_after(fire, phase=fire)) <= now:
                    fire = later  # missed firings collapse into the latest one
                if now - fire <= self._grace:
                    spec = entry.spec().model_copy(update={"recurrence": None, "schedule_at": fire})
                    inherited = {"policy": json.dumps(entry.policy)} if entry.policy is not None else {}
                    spawned.append(self._insert_main(self._db, spec, now, source_id=entry.id, **inherited))
                next_fire = entry.recurrence.next_after(fire, phase=fire)
                _set(self._db, entry.id, {"last_fired_at": _iso(fire), "next_fire_at": _iso(next_fire)})
        return spawned

    def next_playlist_item(self, name: str) -> Item | None:
        """Spawn the next entry of the named playlist as a queue item (for the idle policy).

        A persistent cursor makes the loop continue where it was, also after a restart, and
        wrap at the end; None if the playlist is empty.
        """
        now = self._now()
        with self._write() as db:
            entries = [e for e in self._lane(db, name) if e.state != "held"]
            if not entries:
                return None
            cursor = db.execute(
                "SELECT last_entry_id, last_index FROM playlist_cursor WHERE name = ?", (name,)
            ).fetchone()
            ids = [e.id for e in entries]
            if cursor is None:
                index = 0
            elif cursor["last_entry_id"] in ids:
                index = (ids.index(cursor["last_entry_id"]) + 1) % len(ids)
            else:  # the last played entry was removed: its successor slid into its place
                index = cursor["last_index"] % len(ids)
            entry = entries[index]
            db.execute("INSERT OR REPLACE INTO playlist_cursor VALUES (?, ?, ?)", (name, entry.id, index))
            spec = entry.spec().model_copy(update={"playlist": None})
            inherited = {"policy": json.dumps(entry.policy)} if entry.policy is not None else {}
            return self._insert_main(db, spec, now, source_id=entry.id, **inherited)

    # -- crash recovery --------------------------------------------------------------------

    def recover(self, policy: RecoverPolicy = "replay", *, max_attempts: int = 3) -> RecoveryReport:
        """Call once at channel start, before playing anything.

        Items left preparing/ready go back to queued (preparations lived in memory). An item
        left playing is replayed from its start, first in line, with attempts + 1 — or,
        with policy "skip" or after `max_attempts` interrupted playbacks, skipped with reason
        "interrupted by restart". Finished items are untouched.
        """
        if policy not in ("replay", "skip"):
            raise InputError("policy must be replay or skip", field="policy")
        now = self._now()
        report = RecoveryReport()
        with self._write() as db:
            prepared = f"state IN ('preparing', 'ready') AND {_MAIN_LANE}"
            report.requeued.extend(row[0] for row in db.execute(f"SELECT id FROM items WHERE {prepared}"))
            db.execute(f"UPDATE items SET state = 'queued' WHERE {prepared}")
            interrupted = self._rows("SELECT * FROM items WHERE state = 'playing' ORDER BY started_at, id")
            replay = []
            for item in interrupted:
                if policy == "replay" and item.attempts < max_attempts:
                    _set(db, item.id, {"state": "queued", "started_at": None, "attempts": item.attempts + 1})
                    replay.append(item.id)
                else:
                    gave_up = f" (after {item.attempts} replays)" if policy == "replay" else ""
                    _set(
                        db,
                        item.id,
                        {"state": "skipped", "finished_at": _iso(now), "reason": f"interrupted by restart{gave_up}"},
                    )
                    report.skipped.append(item.id)
            if replay:
                lane = self._pending_main(db)
                self._renumber(db, sorted(lane, key=lambda i: i.id not in replay))
                report.replayed.extend(replay)
        return report

    # -- internals -------------------------------------------------------------------------

    def _get(self, db: sqlite3.Connection, item_id: int) -> Item:
        row = db.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no queue item {item_id}", field="id")
        return _to_item(row)

    def _pending_main(self, db: sqlite3.Connection) -> list[Item]:
        with self._lock:
            sql = f"SELECT * FROM items WHERE {_MAIN_LANE} AND {_PENDING_SQL} ORDER BY position, id"
            rows = db.execute(sql).fetchall()
        return [_to_item(r) for r in rows]

    def _lane(self, db: sqlite3.Connection, playlist: str | None) -> list[Item]:
        if playlist is None:
            return self._pending_main(db)
        rows = db.execute("SELECT * FROM items WHERE playlist = ? ORDER BY position, id", (playlist,)).fetchall()
        return [_to_item(r) for r in rows]

    def _insert_main(self, db: sqlite3.Connection, spec: ItemIn, now: datetime, **extra: Any) -> Item:
        lane = self._pending_main(db)
        index = 0 if spec.mode in ("next", "interrupt") else _append_index(lane, spec.priority)
        item = self._insert(db, spec, now, **extra)
        lane.insert(index, item)
        self._renumber(db, lane)
        return self._get(db, item.id)

    def _insert(self, db: sqlite3.Connection, spec: ItemIn, now: datetime, **extra: Any) -> Item:
        values = _spec_values(spec) | {"state": "queued", "position": 0, "created_at": _iso(now)}
        values |= {k: _iso(v) if isinstance(v, datetime) else v for k, v in extra.items()}
        sql = f"INSERT INTO items ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})"
        cur = db.execute(sql, tuple(values.values()))
        assert cur.lastrowid is not None
        return self._get(db, cur.lastrowid)

    @staticmethod
    def _renumber(db: sqlite3.Connection, ordered: list[Item]) -> None:
        for position, item in enumerate(ordered):
            if item.position != position:
                db.execute("UPDATE items SET position = ? WHERE id = ?", (position, item.id))

    # -- listing (last: its name shadows the builtin inside the class body) ----------------

    def list(
        self, states: Iterable[ItemState] = ("playing", *PENDING_STATES, "held"), limit: int | None = None
    ) -> list[Item]:
        """Main-queue items in these states: playing, pending in play order, held (oldest first), finished ones."""
        wanted = list(states)
        marks = ",".join("?" * len(wanted)) or "NULL"
        items = self._rows(f"SELECT * FROM items WHERE {_MAIN_LANE} AND state IN ({marks})", wanted)
        now = self._now()
        playing = [i for i in items if i.state == "playing"]
        pending = sorted((i for i in items if i.state in PENDING_STATES), key=lambda i: _play_key(i, now))
        held = sorted((i for i in items if i.state == "held"), key=lambda i: (i.created_at, i.id))
        done = sorted((i for i in items if i.is_final), key=lambda i: (_iso(i.finished_at) or "", i.id))
        ordered = playing + pending + held + done
        return ordered if limit is None else ordered[:limit]


def _append_index(lane: list[Item], priority: int) -> int:
    """Where an appended item goes: after every item of equal or higher priority and after
    the leading items put first in line (next/interrupt, crash replays)."""
    front = 0
    while front < len(lane) and (lane[front].mode != "append" or lane[front].attempts > 0):
        front += 1
    after = max((k + 1 for k, i in enumerate(lane) if i.priority >= priority), default=0)
    return max(front, after)


def _play_key(item: Item, now: datetime) -> tuple[int, float, int, int]:
    if item.schedule_at is not None and item.schedule_at > now:
        return (3, item.schedule_at.timestamp(), -item.priority, item.position)
    if item.mode == "interrupt":
        return (0, 0.0, 0, item.position)
    if item.schedule_at is not None:
        return (1, item.schedule_at.timestamp(), -item.priority, item.position)
    return (2, 0.0, 0, item.position)


def _spec_values(spec: ItemIn) -> dict[str, Any]:
    values = spec.model_dump(exclude={"recurrence", "schedule_at"})
    values["schedule_at"] = _iso(spec.schedule_at)
    values["recurrence"] = spec.recurrence.model_dump_json() if spec.recurrence else None
    return values


def _set(db: sqlite3.Connection, item_id: int, values: Mapping[str, Any]) -> None:
    assignments = ", ".join(f"{k} = ?" for k in values)
    db.execute(f"UPDATE items SET {assignments} WHERE id = ?", (*values.values(), item_id))


def _to_item(row: sqlite3.Row) -> Item:
    data = {k: row[k] for k in _COLUMNS}
    if data["recurrence"] is not None:
        data["recurrence"] = Recurrence.model_validate(json.loads(data["recurrence"]))
    if data["policy"] is not None:
        data["policy"] = json.loads(data["policy"])
    return Item.model_validate(data)
