"""Each story airs exactly once across SIGKILL + restart, wherever the kill lands: inside the claim
window before the queue add, after it, or while idle."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from anchor.feeds.desk import ALL_STATES
from anchor.live.store import ScriptQueue
from tests.feeds.fixtures import numbered, rss
from tests.feeds.server import FeedServer, Route
from tests.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]


def start(db: Path, url: str, mode: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.feeds.crash_worker", str(db), url, mode],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def why_not(proc: subprocess.Popen[bytes]) -> str:
    if proc.poll() is None or proc.stderr is None:
        return "the worker is still running"
    return proc.stderr.read().decode(errors="replace")[-2000:]


def kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


def titles(db: Path) -> list[str]:
    with ScriptQueue(db) as q:
        return [i.title or "" for i in q.list(ALL_STATES)]


def claims(db: Path) -> int:
    import sqlite3

    with sqlite3.connect(db) as c:
        return int(c.execute("SELECT COUNT(*) FROM feed_stories WHERE queue_state = 'claimed'").fetchone()[0])


def test_each_story_is_queued_exactly_once_across_sigkills(server: FeedServer, tmp_path: Path) -> None:
    db = tmp_path / "channel.db"
    marker = db.with_suffix(".hang")
    server.routes["/wire"] = Route(rss(numbered(12)))
    url = server.url("/wire")
    for mode in ("hang-before-add:3", "hang-after-add:2"):
        proc = start(db, url, mode)
        try:
            wait_until(marker.exists, timeout=60, why=lambda p=proc: why_not(p))
        finally:
            kill(proc)
        marker.unlink()
        assert claims(db) >= 1  # the kill left a story claimed but not settled
    before = len(titles(db))
    proc = start(db, url, "run")
    try:
        wait_until(lambda: len(titles(db)) >= 12, timeout=60)
        polls = len(server.hits)
        wait_until(lambda: len(server.hits) >= polls + 2, timeout=30)  # it keeps polling: nothing new
    finally:
        kill(proc)
    proc = start(db, url, "run")  # killed while idle, started again
    try:
        polls = len(server.hits)
        wait_until(lambda: len(server.hits) >= polls + 2, timeout=30)
    finally:
        kill(proc)
    got = titles(db)
    assert before < 12 and sorted(got) == sorted(f"Story {i} headline" for i in range(12)), got
    assert claims(db) == 0
