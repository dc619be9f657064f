"""Where job records live: the JobStore interface and its SQLite implementation (embedded mode).

Every change goes through `mutate(id, fn)`, an atomic read-modify-write, so a worker's
progress update can never undo a cancel that the API wrote a moment earlier.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

from anchor.errors import InputError
from anchor.jobs.records import WEBHOOK_STATES, JobRecord

Mutator = Callable[[JobRecord], "JobRecord | None"]
"""Given the current record, return the new one, or None to leave it as it is."""


class IdempotencyConflict(InputError):
    """The Idempotency-Key was already used with a different request."""


class JobStore(Protocol):
    """Job records, shared by the API and the workers."""

    def create(self, record: JobRecord, idempotency: tuple[str, str] | None = None) -> tuple[JobRecord, bool]:
        """Store a new record, or, when `idempotency` = (key, request hash) was seen for this
        owner, return the job stored then. Returns (record, created)."""
        ...

    def get(self, job_id: str) -> JobRecord | None: ...

    def idempotency_known(self, owner: str, key: str) -> bool:
        """True when `owner` used this Idempotency-Key for a job that still exists (a replay
        or a conflict, never a new job: it is not charged to the rate limit)."""
        ...

    def page(self, owner: str | None, limit: int, offset: int) -> tuple[list[JobRecord], int]:
        """Newest first; (page, total). owner None = all owners."""
        ...

    def mutate(self, job_id: str, fn: Mutator) -> JobRecord | None:
        """Atomically apply `fn`; returns the record after it, or None if there is no such job."""
        ...

    def delete(self, job_id: str) -> bool: ...

    def ids_in_states(self, states: Iterable[str]) -> list[str]:
        """Ids of the jobs in any of `states`, oldest first."""
        ...

    def webhook_backlog(self, limit: int = 500) -> list[JobRecord]:
        """Up to `limit` jobs whose webhook is outstanding (JobRecord.webhook_outstanding), oldest first."""
        ...

    def close(self) -> None: ...


def conflict(key: str) -> IdempotencyConflict:
    return IdempotencyConflict(
        f"Idempotency-Key {key!r} was already used for a different request; use a new key for a new video",
        field="Idempotency-Key",
    )


class SqliteJobStore:
    """Job records in one SQLite file (WAL), safe to use from many threads of one process."""

    def __init__(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS jobs (
                id TEXT PRIMARY KEY, owner TEXT NOT NULL, state TEXT NOT NULL,
                created_at REAL NOT NULL, data TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS jobs_owner_created ON jobs(owner, created_at);
            CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
            CREATE TABLE IF NOT EXISTS idempotency (
                owner TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL,
                job_id TEXT NOT NULL, PRIMARY KEY (owner, key));
            """
        )

    def _row(self, record: JobRecord) -> tuple[str, str, str, float, str]:
        return (record.id, record.owner, record.state, record.created_at, record.to_json())

    def create(self, record: JobRecord, idempotency: tuple[str, str] | None = None) -> tuple[JobRecord, bool]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if idempotency is not None:
                    key, digest = idempotency
                    row = self._db.execute(
                        "SELECT request_hash, job_id FROM idempotency WHERE owner=? AND key=?", (record.owner, key)
                    ).fetchone()
                    if row is not None:
                        if row[0] != digest:
                            raise conflict(key)
                        existing = self._db.execute("SELECT data FROM jobs WHERE id=?", (row[1],)).fetchone()
                        if existing is not None:
                            self._db.execute("COMMIT")
                            return JobRecord.from_json(existing[0]), False
                        # the job was deleted since: the key starts afresh
                        self._db.execute("DELETE FROM idempotency WHERE owner=? AND key=?", (record.owner, key))
                    self._db.execute(
                        "INSERT INTO idempotency(owner, key, request_hash, job_id) VALUES (?,?,?,?)",
                        (record.owner, key, digest, record.id),
                    )
                self._db.execute(
                    "INSERT INTO jobs(id, owner, state, created_at, data) VALUES (?,?,?,?,?)", self._row(record)
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        return record, True

    def get(self, job_id: str) -> JobRecord | None:
        with self._lock:
            row = self._db.execute("SELECT data FROM jobs WHERE id=?", (job_id,)).fetchone()
        return JobRecord.from_json(row[0]) if row else None

    def idempotency_known(self, owner: str, key: str) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM idempotency i JOIN jobs j ON j.id = i.job_id WHERE i.owner=? AND i.key=?", (owner, key)
            ).fetchone()
        return row is not None

    def _rollback(self) -> None:
        # SQLite may already have rolled back by itself (e.g. on SQLITE_FULL): a second ROLLBACK
        # would raise and hide the real error.
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def page(self, owner: str | None, limit: int, offset: int) -> tuple[list[JobRecord], int]:
        where, args = ("WHERE owner=?", (owner,)) if owner is not None else ("", ())
        with self._lock:
            total = self._db.execute(f"SELECT COUNT(*) FROM jobs {where}", args).fetchone()[0]
            rows = self._db.execute(
                f"SELECT data FROM jobs {where} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
                (*args, limit, offset),
            ).fetchall()
        return [JobRecord.from_json(r[0]) for r in rows], total

    def mutate(self, job_id: str, fn: Mutator) -> JobRecord | None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT data FROM jobs WHERE id=?", (job_id,)).fetchone()
                if row is None:
                    self._db.execute("COMMIT")
                    return None
                current = JobRecord.from_json(row[0])
                new = fn(current)
                if new is not None:
                    self._db.execute("UPDATE jobs SET state=?, data=? WHERE id=?", (new.state, new.to_json(), job_id))
                self._db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        return new if new is not None else current

    def delete(self, job_id: str) -> bool:
        with self._lock:
            cur = self._db.execute("DELETE FROM jobs WHERE id=?", (job_id,))
            self._db.execute("DELETE FROM idempotency WHERE job_id=?", (job_id,))
        return cur.rowcount > 0

    def ids_in_states(self, states: Iterable[str]) -> list[str]:
        states = list(states)
        marks = ",".join("?" * len(states))
        with self._lock:
            rows = self._db.execute(
                f"SELECT id FROM jobs WHERE state IN ({marks}) ORDER BY created_at", states
            ).fetchall()
        return [r[0] for r in rows]

    def webhook_backlog(self, limit: int = 500) -> list[JobRecord]:
        states = sorted(WEBHOOK_STATES)
        marks = ",".join("?" * len(states))
        query = f"""
            SELECT data FROM jobs WHERE state IN ({marks})
              AND json_extract(data, '$.callback_url') IS NOT NULL
              AND coalesce(json_extract(data, '$.webhook.delivered'), 0) = 0
              AND coalesce(json_extract(data, '$.webhook.given_up'), 0) = 0
            ORDER BY created_at LIMIT ?"""
        with self._lock:
            rows = self._db.execute(query, (*states, limit)).fetchall()
        records = (JobRecord.from_json(r[0]) for r in rows)
        return [r for r in records if r.webhook_outstanding]

    def close(self) -> None:
        with self._lock:
            self._db.close()
