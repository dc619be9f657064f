"""What a news poll costs on this machine, against a local HTTP server serving a 30-entry RSS feed.

    .venv/bin/python -m bench.feeds_poll            # 200 rounds each
    .venv/bin/python -m bench.feeds_poll --rounds 500

Prints milliseconds per operation, all in one run:
- baseline: a plain httpx GET of the feed (no guard, no parsing) - the HTTP floor;
- guarded fetch (address check + streaming size cap), the same request;
- guarded fetch + parse (feedparser);
- a full desk poll that finds nothing new (304 answered), and one that re-reads the whole
  feed (no ETag: parse, rules, 30 known stories checked);
- speakable: English and Mandarin story text expanded for speech, per story;
- a virtual day: 24 h of polls every 5 min plus hourly bulletins, wall seconds.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx

from anchor.feeds.config import BulletinConfig, FeedsConfig
from anchor.feeds.desk import NewsDesk
from anchor.feeds.fetch import Fetcher
from anchor.feeds.parse import parse_feed
from anchor.feeds.speakable import speakable
from anchor.feeds.stories import StoryStore
from anchor.live.store import ScriptQueue
from anchor.netguard import parse_networks
from tests.feeds.conftest import VirtualClock
from tests.feeds.fixtures import NOW, numbered, rss
from tests.feeds.server import FeedServer, Route


def per_op(fn: Callable[[], object], rounds: int) -> float:
    fn()
    t = time.perf_counter()
    for _ in range(rounds):
        fn()
    return (time.perf_counter() - t) / rounds * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=200)
    n = ap.parse_args().rounds
    allowed = parse_networks(["127.0.0.1"])
    with FeedServer() as server, tempfile.TemporaryDirectory() as tmp:
        server.routes["/plain"] = Route(rss(numbered(30)))
        server.routes["/etag"] = Route(rss(numbered(30)), etag='"v1"')
        url = server.url("/plain")
        with httpx.Client() as plain, Fetcher(allowed) as fetcher:
            rows = [
                ("baseline: plain httpx GET", per_op(lambda: plain.get(url).content, n)),
                ("guarded fetch", per_op(lambda: fetcher.fetch(url), n)),
                ("guarded fetch + parse", per_op(lambda: parse_feed(fetcher.fetch(url).body), n)),
            ]
        clock = VirtualClock()
        db = Path(tmp) / "channel.db"
        feeds = FeedsConfig.model_validate(
            {
                "allow_networks": ["127.0.0.1"],
                "sources": [
                    {"name": "e", "url": server.url("/etag"), "to": ["ticker"], "max_age_hours": None},
                    {"name": "p", "url": server.url("/plain"), "to": ["ticker"], "max_age_hours": None},
                ],
            }  # fmt: skip
        )
        with ScriptQueue(db, clock.now) as queue:
            desk = NewsDesk(StoryStore(db), feeds, queue=queue, now=clock.now, sleep=clock.sleep)
            desk.poll()
            rows.append(("desk poll, 304", per_op(lambda: desk.poll("e"), n)))
            rows.append(("desk poll, full re-read, nothing new", per_op(lambda: desk.poll("p"), n)))
            desk.stop()
        en = "Consumer prices rose 2.4% in the year to November, down from 3.1%, and $240m was spent on 14 March 2025."
        zh = "本市地铁5号线于2026年12月1日上午10:30开通，全长28.5km，日均客流预计达到120,000人次，增长5.2%。"
        rows.append(("speakable, English story", per_op(lambda: speakable(en, "en"), n * 5)))
        rows.append(("speakable, Mandarin story", per_op(lambda: speakable(zh, "zh"), n * 5)))
        for label, ms in rows:
            print(f"{label:<40} {ms:8.2f} ms")

        clock = VirtualClock()
        db = Path(tmp) / "day.db"

        def wire() -> bytes:  # one new story every 20 virtual minutes
            k = int((clock.now() - NOW).total_seconds() // 1200)
            return rss(numbered(30, start=k, at=NOW + timedelta(minutes=20 * k)))

        server.routes["/day"] = Route(dynamic=wire)
        feeds = FeedsConfig.model_validate(
            {"allow_networks": ["127.0.0.1"], "sources": [{"name": "d", "url": server.url("/day"), "interval_s": 300}]}
        )
        with ScriptQueue(db, clock.now) as queue:
            bulletin = BulletinConfig.model_validate({"every": "hourly at :00", "stories": 3})
            desk = NewsDesk(StoryStore(db), feeds, [bulletin], queue=queue, now=clock.now, sleep=clock.sleep)
            t = time.perf_counter()
            desk.run_until(NOW + timedelta(hours=24))
            wall = time.perf_counter() - t
            stats = desk.stats()
            desk.stop()
        print(f"{'virtual day (288 polls, 24 bulletins)':<40} {wall:8.2f} s wall; {stats['polls']} polls, "
              f"{stats['bulletins']} bulletins")  # fmt: skip


if __name__ == "__main__":
    main()
