"""`StoryStore`: stories, sources and bulletins in SQLite (the channel database file, own tables).

A story's identity is (source, key), key being the entry's guid, else its link, else a
hash of its content, so a feed that re-orders or re-publishes entries adds nothing, and an
entry that changes (same key, new content) is marked updated rather than duplicated.

Airing once: handing a story to the queue is a claim committed here first, then the queue
add, then `queue_done`. A process killed between the two leaves a claim that
`NewsDesk.recover` settles by looking for the item in the queue, so a story is queued exactly
once across restarts. Bulletins work the same way with a bulletin row per (name, due time),
which also keeps a schedule from firing twice for one time.

WAL journal, synchronous=NORMAL, writes in BEGIN IMMEDIATE transactions: every committed
state survives kill -9, and the queue (another connection to the same file) is not blocked.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from anchor.errors import InputError, NotFoundError
from anchor.feeds.config import SourceConfig

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS feed_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS feed_sources (
    name TEXT PRIMARY KEY, config TEXT NOT NULL, added_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feed_state (
    name TEXT PRIMARY KEY, url TEXT, etag TEXT, last_modified TEXT,
    last_poll_at TEXT, last_ok_at TEXT, last_status TEXT, last_error TEXT, last_error_kind TEXT,
    failures INTEGER NOT NULL DEFAULT 0, next_poll_at TEXT, warning TEXT,
    polls INTEGER NOT NULL DEFAULT 0, stories INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS feed_stories (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL, key TEXT NOT NULL, content_hash TEXT NOT NULL,
    title TEXT NOT NULL, summary TEXT NOT NULL, spoken TEXT NOT NULL, language TEXT NOT NULL,
    link TEXT, image TEXT, published_at TEXT NOT NULL, first_seen_at TEXT NOT NULL, updated_at TEXT,
    revision INTEGER NOT NULL DEFAULT 0, priority INTEGER NOT NULL DEFAULT 0, destinations TEXT NOT NULL,
    policy TEXT NOT NULL DEFAULT 'allow', state TEXT NOT NULL DEFAULT 'new',
    queue_state TEXT, queue_item_id INTEGER, queue_claimed_at TEXT, bulletin_id INTEGER,
    UNIQUE (source, key)
);
CREATE INDEX IF NOT EXISTS feed_stories_new ON feed_stories(state, published_at);
CREATE TABLE IF NOT EXISTS feed_bulletins (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL, due_at TEXT NOT NULL, state TEXT NOT NULL, story_ids TEXT NOT NULL,
    planned TEXT, item_ids TEXT, output TEXT, error TEXT, claimed_at TEXT NOT NULL, finished_at TEXT,
    UNIQUE (name, due_at)
);
"""

Policy = Literal["allow", "hold", "refuse"]


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass(frozen=True)
class StoryDraft:
    """A story about to be stored: written headline and summary, spoken text, where it goes."""

    key: str
    content_hash: str
    title: str
    summary: str
    spoken: str
    language: str
    link: str | None
    image: str | None
    published_at: datetime
    priority: int
    destinations: tuple[str, ...]
    policy: Policy = "allow"
    skipped: bool = False


@dataclass(frozen=True)
class StoryRecord:
    """A stored story."""

    id: int
    source: str
    key: str
    title: str
    summary: str
    spoken: str
    language: str
    link: str | None
    image: str | None
    published_at: datetime
    first_seen_at: datetime
    updated_at: datetime | None
    revision: int
    priority: int
    destinations: tuple[str, ...]
    policy: Policy
    state: Literal["new", "skipped"]
    queue_state: Literal["claimed", "done"] | None
    queue_item_id: int | None
    queue_claimed_at: datetime | None
    bulletin_id: int | None


@dataclass(frozen=True)
class BulletinRecord:
    """A bulletin that fired (or is firing): its stories and what was queued or rendered for it."""

    id: int
    name: str
    due_at: datetime
    state: Literal["claimed", "done", "failed", "skipped"]
    story_ids: tuple[int, ...]
    planned: tuple[dict[str, Any], ...]
    item_ids: tuple[int, ...]
    output: str | None
    error: str | None
    claimed_at: datetime


class SourceState(BaseModel):
    """A source as the API, the control room and metrics show it."""

    name: str
    url: str
    origin: Literal["config", "cli"]
    enabled: bool
    status: Literal["never", "ok", "not_modified", "failing"]
    last_poll_at: datetime | None = None
    last_ok_at: datetime | None = None
    last_error: str | None = None
    last_error_kind: str | None = None
    failures: int = 0
    next_poll_at: datetime | None = None
    warning: str | None = None
    polls: int = 0
    stories: int = 0


def _story(row: sqlite3.Row) -> StoryRecord:
    return StoryRecord(
        id=row["id"],
        source=row["source"],
        key=row["key"],
        title=row["title"],
        summary=row["summary"],
        spoken=row["spoken"],
        language=row["language"],
        link=row["link"],
        image=row["image"],
        published_at=datetime.fromisoformat(row["published_at"]),
        first_seen_at=datetime.fromisoformat(row["first_seen_at"]),
        updated_at=_dt(row["updated_at"]),
        revision=row["revision"],
        priority=row["priority"],
        destinations=tuple(row["destinations"].split(",")),
        policy=row["policy"],
        state=row["state"],
        queue_state=row["queue_state"],
        queue_item_id=row["queue_item_id"],
        queue_claimed_at=_dt(row["queue_claimed_at"]),
        bulletin_id=row["bulletin_id"],
    )


def _bulletin(row: sqlite3.Row) -> BulletinRecord:
    return BulletinRecord(
        id=row["id"],
        name=row["name"],
        due_at=datetime.fromisoformat(row["due_at"]),
        state=row["state"],
        story_ids=tuple(json.loads(row["story_ids"])),
        planned=tuple(json.loads(row["planned"] or "[]")),
        item_ids=tuple(json.loads(row["item_ids"] or "[]")),
        output=row["output"],
        error=row["error"],
        claimed_at=datetime.fromisoformat(row["claimed_at"]),
    )


def _candidates(
    db: sqlite3.Connection, language: str, sources: Sequence[str], since: datetime, limit: int
) -> list[int]:
    """Ids of the newest unaired bulletin stories."""
    where = (
        "state = 'new' AND policy = 'allow' AND bulletin_id IS NULL AND language = ? AND published_at >= ?"
        " AND (',' || destinations || ',') LIKE '%,bulletin,%'"
    )
    args: list[Any] = [language, _iso(since)]
    if sources:
        where += f" AND source IN ({','.join('?' * len(sources))})"
        args += list(sources)
    rows = db.execute(
        f"SELECT id FROM feed_stories WHERE {where} ORDER BY published_at DESC, id DESC LIMIT ?", [*args, limit]
    ).fetchall()
    return [r["id"] for r in rows]


class StoryStore:
    """Stories, CLI-added sources, poll state and bulletins, persisted at `path`; a context manager."""

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 5.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_s)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        with self._write() as db:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            row = db.execute("SELECT version FROM feed_schema").fetchone()
            if row is None:
                db.execute("INSERT INTO feed_schema VALUES (?)", (SCHEMA_VERSION,))
            elif row[0] > SCHEMA_VERSION:
                raise InputError(
                    f"{self.path} has feed schema {row[0]}, newer than this anchor's; upgrade", field="path"
                )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> StoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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

    def _rows(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, tuple(args)).fetchall()

    # -- sources added from the CLI ------------------------------------------------------------

    def add_source(self, source: SourceConfig, now: datetime) -> None:
        """Store a source (InputError if one of that name exists, or if it is a file: source)."""
        if source.url.startswith("file:"):
            raise InputError("file: sources belong in the channel file; add http(s) URLs here", field="url")
        with self._write() as db:
            if db.execute("SELECT 1 FROM feed_sources WHERE name = ?", (source.name,)).fetchone():
                raise InputError(f"a source named {source.name!r} exists already", field="name")
            db.execute("INSERT INTO feed_sources VALUES (?, ?, ?)", (source.name, source.model_dump_json(), _iso(now)))

    def remove_source(self, name: str) -> None:
        """Forget a CLI-added source and its poll state (its stories stay, so they never re-air)."""
        with self._write() as db:
            if db.execute("DELETE FROM feed_sources WHERE name = ?", (name,)).rowcount == 0:
                raise NotFoundError(f"no source named {name!r} was added with `anchor feeds add`", field="name")
            db.execute("DELETE FROM feed_state WHERE name = ?", (name,))

    def added_sources(self) -> list[SourceConfig]:
        """Sources added with `anchor feeds add`, oldest first."""
        rows = self._rows("SELECT config FROM feed_sources ORDER BY added_at, name")
        return [SourceConfig.model_validate_json(r["config"]) for r in rows]

    # -- poll state ------------------------------------------------------------------------------

    def state_row(self, name: str) -> sqlite3.Row | None:
        found = self._rows("SELECT * FROM feed_state WHERE name = ?", (name,))
        return found[0] if found else None

    def record_poll(
        self,
        name: str,
        url: str,
        now: datetime,
        next_poll_at: datetime,
        *,
        status: Literal["ok", "not_modified", "failing"],
        etag: str | None = None,
        last_modified: str | None = None,
        error: str | None = None,
        error_kind: str | None = None,
        warning: str | None = None,
        new_stories: int = 0,
    ) -> None:
        """Record one poll's outcome (a failure counts up `failures`; a success resets it)."""
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO feed_state (name, url) VALUES (?, ?)", (name, url))
            if status == "failing":
                db.execute(
                    "UPDATE feed_state SET url = ?, last_poll_at = ?, last_status = ?, last_error = ?,"
                    " last_error_kind = ?, failures = failures + 1, next_poll_at = ?, polls = polls + 1 WHERE name = ?",
                    (url, _iso(now), status, error, error_kind, _iso(next_poll_at), name),
                )
            else:
                db.execute(
                    "UPDATE feed_state SET url = ?, last_poll_at = ?, last_ok_at = ?, last_status = ?,"
                    " etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified), failures = 0,"
                    " next_poll_at = ?, warning = ?, polls = polls + 1, stories = stories + ? WHERE name = ?",
                    (
                        url,
                        _iso(now),
                        _iso(now),
                        status,
                        etag,
                        last_modified,
                        _iso(next_poll_at),
                        warning,
                        new_stories,
                        name,
                    ),
                )

    def source_state(self, source: SourceConfig, origin: Literal["config", "cli"]) -> SourceState:
        """`source` with its poll state."""
        row = self.state_row(source.name)
        base = {"name": source.name, "url": source.url, "origin": origin, "enabled": source.enabled}
        if row is None:
            return SourceState.model_validate({**base, "status": "never"})
        failing = row["last_status"] == "failing"
        return SourceState.model_validate(
            {
                **base,
                "status": row["last_status"] or "never",
                "last_poll_at": row["last_poll_at"],
                "last_ok_at": row["last_ok_at"],
                "last_error": row["last_error"] if failing else None,
                "last_error_kind": row["last_error_kind"] if failing else None,
                "failures": row["failures"],
                "next_poll_at": row["next_poll_at"],
                "warning": row["warning"],
                "polls": row["polls"],
                "stories": row["stories"],
            }
        )

    # -- stories -------------------------------------------------------------------------------

    def known(self, source: str, keys: Sequence[str]) -> dict[str, str]:
        """key -> content hash for the keys of `source` already stored."""
        out: dict[str, str] = {}
        for i in range(0, len(keys), 500):
            chunk = list(keys[i : i + 500])
            marks = ",".join("?" * len(chunk))
            for r in self._rows(
                f"SELECT key, content_hash FROM feed_stories WHERE source = ? AND key IN ({marks})", [source, *chunk]
            ):
                out[r["key"]] = r["content_hash"]
        return out

    def ingest(
        self, source: str, drafts: Sequence[StoryDraft], now: datetime
    ) -> tuple[list[StoryRecord], list[StoryRecord]]:
        """Store new drafts and update changed ones (same key, new content hash) in one
        transaction; returns (new, updated) — skipped drafts are stored but not returned."""
        new_ids: list[int] = []
        updated_ids: list[int] = []
        with self._write() as db:
            for d in drafts:
                row = db.execute(
                    "SELECT id, content_hash FROM feed_stories WHERE source = ? AND key = ?", (source, d.key)
                ).fetchone()
                values = (d.title, d.summary, d.spoken, d.language, d.link, d.image, d.policy)
                if row is None:
                    cur = db.execute(
                        "INSERT INTO feed_stories (source, key, content_hash, title, summary, spoken, language, link,"
                        " image, policy, published_at, first_seen_at, priority, destinations, state)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (source, d.key, d.content_hash, *values, _iso(d.published_at), _iso(now), d.priority,
                         ",".join(d.destinations), "skipped" if d.skipped else "new"),
                    )  # fmt: skip
                    if not d.skipped:
                        new_ids.append(int(cur.lastrowid or 0))
                elif row["content_hash"] != d.content_hash:
                    db.execute(
                        "UPDATE feed_stories SET content_hash = ?, title = ?, summary = ?, spoken = ?, language = ?,"
                        " link = ?, image = ?, policy = ?, updated_at = ?, revision = revision + 1 WHERE id = ?",
                        (d.content_hash, *values, _iso(now), row["id"]),
                    )
                    updated_ids.append(int(row["id"]))
        return self.stories(new_ids), self.stories(updated_ids)

    def stories(self, ids: Sequence[int]) -> list[StoryRecord]:
        """The stories with these ids, in that order."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        by_id = {r["id"]: _story(r) for r in self._rows(f"SELECT * FROM feed_stories WHERE id IN ({marks})", ids)}
        return [by_id[i] for i in ids if i in by_id]

    def story(self, story_id: int) -> StoryRecord:
        found = self.stories([story_id])
        if not found:
            raise NotFoundError(f"no story {story_id}", field="id")
        return found[0]

    def recent(self, limit: int = 50, source: str | None = None) -> list[StoryRecord]:
        """The newest stored stories (skipped ones included), newest first."""
        where, args = ("WHERE source = ?", [source]) if source else ("", [])
        rows = self._rows(
            f"SELECT * FROM feed_stories {where} ORDER BY published_at DESC, id DESC LIMIT ?", [*args, limit]
        )
        return [_story(r) for r in rows]

    def headlines(self, limit: int, since: datetime) -> list[str]:
        """The newest ticker headlines (allowed, not skipped, published since `since`), newest first."""
        rows = self._rows(
            "SELECT title FROM feed_stories WHERE state = 'new' AND policy = 'allow' AND published_at >= ?"
            " AND (',' || destinations || ',') LIKE '%,ticker,%' ORDER BY published_at DESC, id DESC LIMIT ?",
            (_iso(since), limit),
        )
        return [r["title"] for r in rows]

    def set_policy(self, story_id: int, policy: Policy) -> StoryRecord:
        """Release a held story (`allow`) or refuse it for good."""
        with self._write() as db:
            if db.execute("UPDATE feed_stories SET policy = ? WHERE id = ?", (policy, story_id)).rowcount == 0:
                raise NotFoundError(f"no story {story_id}", field="id")
        return self.story(story_id)

    def prune(self, now: datetime, retention_days: float) -> int:
        """Forget settled stories first seen more than `retention_days` ago; returns how many."""
        cutoff = _iso(now - timedelta(days=retention_days))
        with self._write() as db:
            cur = db.execute(
                "DELETE FROM feed_stories WHERE first_seen_at < ? AND (queue_state IS NULL OR queue_state = 'done')",
                (cutoff,),
            )
            return cur.rowcount

    # -- to the queue ----------------------------------------------------------------------------

    def claim_for_queue(self, now: datetime, limit: int = 20) -> list[StoryRecord]:
        """Claim new, allowed stories bound for the queue (oldest first); commit before queueing them."""
        with self._write() as db:
            rows = db.execute(
                "SELECT id FROM feed_stories WHERE state = 'new' AND policy = 'allow' AND queue_state IS NULL"
                " AND (',' || destinations || ',') LIKE '%,queue,%' ORDER BY published_at, id LIMIT ?",
                (limit,),
            ).fetchall()
            ids = [r["id"] for r in rows]
            for i in ids:
                db.execute(
                    "UPDATE feed_stories SET queue_state = 'claimed', queue_claimed_at = ? WHERE id = ?", (_iso(now), i)
                )
        return self.stories(ids)

    def queue_done(self, story_id: int, item_id: int | None) -> None:
        """Settle a claim: the story is in the queue as `item_id` (None: it was dropped)."""
        with self._write() as db:
            db.execute(
                "UPDATE feed_stories SET queue_state = 'done', queue_item_id = ? WHERE id = ?", (item_id, story_id)
            )

    def queue_claims(self) -> list[StoryRecord]:
        """Claims not yet settled (a process died between claiming and settling)."""
        rows = self._rows("SELECT * FROM feed_stories WHERE queue_state = 'claimed' ORDER BY id")
        return [_story(r) for r in rows]

    # -- bulletins -------------------------------------------------------------------------------

    def last_bulletin_due(self, name: str) -> datetime | None:
        """The latest due time a bulletin of this name fired for."""
        row = self._rows("SELECT MAX(due_at) AS due FROM feed_bulletins WHERE name = ?", (name,))[0]
        return _dt(row["due"])

    def claim_bulletin(
        self,
        name: str,
        due_at: datetime,
        now: datetime,
        *,
        language: str,
        sources: Sequence[str],
        since: datetime,
        limit: int,
        min_stories: int,
    ) -> BulletinRecord | None:
        """Claim the newest unaired stories for the bulletin due at `due_at`; None when it fired already.

        With fewer than `min_stories` the bulletin is recorded as skipped (and claims nothing)."""
        with self._write() as db:
            if db.execute(
                "SELECT 1 FROM feed_bulletins WHERE name = ? AND due_at = ?", (name, _iso(due_at))
            ).fetchone():
                return None
            ids = _candidates(db, language, sources, since, limit)
            state = "claimed" if ids and len(ids) >= min_stories else "skipped"
            if state == "skipped":
                ids = []
            cur = db.execute(
                "INSERT INTO feed_bulletins (name, due_at, state, story_ids, claimed_at) VALUES (?, ?, ?, ?, ?)",
                (name, _iso(due_at), state, json.dumps(ids), _iso(now)),
            )
            bulletin_id = int(cur.lastrowid or 0)
            for i in ids:
                db.execute("UPDATE feed_stories SET bulletin_id = ? WHERE id = ?", (bulletin_id, i))
        return self.bulletin(bulletin_id)

    def bulletin_candidates(
        self, *, language: str, sources: Sequence[str], since: datetime, limit: int
    ) -> list[StoryRecord]:
        """The stories the next bulletin would take (nothing is claimed; for previews)."""
        with self._lock:
            return self.stories(_candidates(self._db, language, sources, since, limit))

    def bulletin(self, bulletin_id: int) -> BulletinRecord:
        found = self._rows("SELECT * FROM feed_bulletins WHERE id = ?", (bulletin_id,))
        if not found:
            raise NotFoundError(f"no bulletin {bulletin_id}", field="id")
        return _bulletin(found[0])

    def bulletins(self, limit: int = 50) -> list[BulletinRecord]:
        """The latest bulletins, newest first."""
        return [
            _bulletin(r)
            for r in self._rows("SELECT * FROM feed_bulletins ORDER BY due_at DESC, id DESC LIMIT ?", (limit,))
        ]

    def plan_bulletin(self, bulletin_id: int, planned: Sequence[dict[str, Any]]) -> None:
        """Record the queue items a bulletin will add (before adding them)."""
        with self._write() as db:
            db.execute("UPDATE feed_bulletins SET planned = ? WHERE id = ?", (json.dumps(list(planned)), bulletin_id))

    def finish_bulletin(
        self,
        bulletin_id: int,
        now: datetime,
        *,
        item_ids: Sequence[int] = (),
        output: str | None = None,
        error: str | None = None,
    ) -> None:
        """Settle a bulletin: done (items queued / file rendered) or failed with `error`."""
        with self._write() as db:
            db.execute(
                "UPDATE feed_bulletins SET state = ?, item_ids = ?, output = ?, error = ?, finished_at = ? WHERE id = ?",
                ("failed" if error else "done", json.dumps(list(item_ids)), output, error, _iso(now), bulletin_id),
            )

    def unfinished_bulletins(self) -> list[BulletinRecord]:
        """Bulletins claimed but not settled (a process died in between)."""
        return [_bulletin(r) for r in self._rows("SELECT * FROM feed_bulletins WHERE state = 'claimed' ORDER BY id")]
