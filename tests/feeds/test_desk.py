"""The news desk on a real feed server and a virtual clock: stories once, updates marked, rules,
the ticker, a failing source failing alone, the content-policy hook."""

from __future__ import annotations

from datetime import timedelta

from anchor.feeds.desk import ALL_STATES
from anchor.live.store import ScriptQueue
from tests.feeds.conftest import DeskFactory, VirtualClock
from tests.feeds.fixtures import Entry, atom, json_feed, numbered, rss
from tests.feeds.server import FeedServer, Route


def queued_titles(queue: ScriptQueue) -> list[str]:
    return [i.title or "" for i in queue.list(ALL_STATES)]


def test_reordered_and_republished_entries_air_once_and_updates_are_marked(
    server: FeedServer, make_desk: DeskFactory, queue: ScriptQueue, clock: VirtualClock
) -> None:
    entries = numbered(3, at=clock.now())
    server.routes["/f"] = Route(rss(entries))
    desk = make_desk([{"name": "wire", "url": server.url("/f"), "to": ["queue"], "interval_s": 60}])
    (report,) = desk.poll()
    assert len(report.new) == 3
    assert sorted(queued_titles(queue)) == ["Story 0 headline", "Story 1 headline", "Story 2 headline"]

    # the same entries re-ordered, one re-published with a new date, one changed: nothing new is queued
    republished = Entry(entries[0].guid, entries[0].title, entries[0].html, clock.now() + timedelta(minutes=5))
    changed = Entry(entries[1].guid, entries[1].title, "<p>Story 1 happened today. Now with a correction.</p>")
    server.routes["/f"] = Route(rss([entries[2], changed, republished]))
    clock.advance(minutes=2)
    (report,) = desk.poll()
    assert (len(report.new), [s.title for s in report.updated]) == (0, ["Story 1 headline"])
    assert report.updated[0].revision == 1 and "correction" in report.updated[0].spoken
    assert len(queued_titles(queue)) == 3


def test_formats_and_a_mandarin_feed_become_speakable_stories(
    server: FeedServer, make_desk: DeskFactory, queue: ScriptQueue, clock: VirtualClock
) -> None:
    t = clock.now()
    server.routes["/rss"] = Route(rss([Entry("r", "Rates <b>up</b>", "<p>Rates rose 0.25% on 14 March 2025.</p>", t)]))
    server.routes["/atom"] = Route(atom([Entry("a", "Atom story", "<p>It cost $3.20.</p>", t)]))
    server.routes["/json"] = Route(json_feed([Entry("j", "JSON story", "<p>About 1,200 people.</p>", t)]))
    zh = Entry(
        "z", "央行降息", "<p>记者 张三</p><p>中国人民银行宣布下调利率0.25个百分点，自2025年3月14日起执行。</p>", t
    )
    server.routes["/zh"] = Route(rss([zh], language="zh-cn"))
    desk = make_desk(
        [{"name": n, "url": server.url(f"/{n}"), "to": ["queue", "ticker"]} for n in ("rss", "atom", "json", "zh")]
    )
    reports = desk.poll()
    assert [r.status for r in reports] == ["ok"] * 4
    items = {i.title: i for i in queue.list(ALL_STATES)}
    assert items["Rates up"].text == (
        "Rates up. Rates rose zero point two five per cent on the fourteenth of March twenty twenty-five."
    )
    assert items["Atom story"].text == "Atom story. It cost three dollars and twenty cents."
    assert items["JSON story"].text == "JSON story. About one thousand two hundred people."
    z = items["央行降息"]
    assert z.language == "zh"
    assert z.text == "央行降息。中国人民银行宣布下调利率零点二五个百分点，自二零二五年三月十四日起执行。"


def test_rules_keywords_age_and_max_per_poll(
    server: FeedServer, make_desk: DeskFactory, queue: ScriptQueue, clock: VirtualClock
) -> None:
    t = clock.now()
    entries = [
        Entry("1", "Election results", "<p>Votes counted.</p>", t),
        Entry("2", "Election sport crossover", "<p>A match.</p>", t - timedelta(minutes=1)),
        Entry("3", "Weather", "<p>Rain.</p>", t),
        Entry("4", "Old election news", "<p>Last week.</p>", t - timedelta(days=3)),
        Entry("5", "Election recount", "<p>Again.</p>", t - timedelta(minutes=2)),
        Entry("6", "Election day two", "<p>More.</p>", t - timedelta(minutes=3)),
    ]
    server.routes["/f"] = Route(rss(entries))
    desk = make_desk(
        [
            {
                "name": "w",
                "url": server.url("/f"),
                "to": ["queue"],
                "include": ["election"],
                "exclude": ["sport"],
                "max_age_hours": 24,
                "max_per_poll": 2,
                "priority": 7,
            }
        ]  # fmt: skip
    )
    (report,) = desk.poll()
    assert [s.title for s in report.new] == ["Election results", "Election recount"]
    assert report.skipped == 1  # "Election day two": over max_per_poll, stored as seen, never aired
    assert [(i.title, i.priority) for i in queue.list(ALL_STATES)] == [("Election recount", 7), ("Election results", 7)]
    clock.advance(minutes=10)
    (again,) = desk.poll()
    assert again.new == () and again.skipped == 0


def test_the_ticker_follows_the_newest_headlines(
    server: FeedServer, make_desk: DeskFactory, clock: VirtualClock
) -> None:
    shown: list[list[str]] = []
    server.routes["/f"] = Route(rss(numbered(3, at=clock.now())))
    desk = make_desk(
        [{"name": "w", "url": server.url("/f"), "to": ["ticker"], "interval_s": 60}], set_ticker=shown.append
    )
    desk.poll()
    assert shown == [["Story 2 headline", "Story 1 headline", "Story 0 headline"]]
    desk.poll()  # nothing new: the ticker is not set again
    server.routes["/f"] = Route(rss(numbered(1, start=3, at=clock.advance(minutes=1)) + numbered(3, at=clock.now())))
    desk.poll()
    assert shown[-1][0] == "Story 3 headline" and len(shown) == 2


def test_a_failing_source_fails_alone_backs_off_and_recovers(
    server: FeedServer, make_desk: DeskFactory, queue: ScriptQueue, clock: VirtualClock
) -> None:
    server.routes["/good"] = Route(rss(numbered(1, at=clock.now())), etag='"g"')
    server.routes["/bad"] = Route(b"<html>oops</html>", content_type="text/html")
    desk = make_desk(
        [
            {"name": "good", "url": server.url("/good"), "to": ["queue"], "interval_s": 60},
            {"name": "bad", "url": server.url("/bad"), "interval_s": 60},
        ]
    )
    desk.run_until(clock.now() + timedelta(minutes=30))
    states = {s.name: s for s in desk.states()}
    assert states["good"].status in ("ok", "not_modified") and states["good"].last_error is None
    assert states["bad"].status == "failing" and states["bad"].last_error_kind == "malformed"
    assert "not a feed" in (states["bad"].last_error or "")
    bad_polls = sum(1 for path, _ in server.hits if path == "/bad")
    good_polls = sum(1 for path, _ in server.hits if path == "/good")
    assert good_polls == 31 and 4 <= bad_polls <= 6  # every minute vs 1, 2, 4, 8, 16 minutes apart
    assert sum(1 for _, etag in server.hits if etag == '"g"') == 30  # conditional GETs answered 304
    assert queued_titles(queue) == ["Story 0 headline"]
    server.routes["/bad"] = Route(rss(numbered(1, prefix="Fixed", at=clock.now())))
    desk.wake()
    desk.poll_due(clock.now())
    assert {s.name: s.status for s in desk.states()}["bad"] == "ok"
    assert desk.stats()["sources_failing"] == 0


def test_the_content_policy_holds_and_refuses(
    server: FeedServer, make_desk: DeskFactory, queue: ScriptQueue, clock: VirtualClock
) -> None:
    t = clock.now()
    server.routes["/f"] = Route(
        rss(
            [
                Entry("1", "Fine story", "<p>ok</p>", t),
                Entry("2", "Doubtful story", "<p>hm</p>", t),
                Entry("3", "Banned story", "<p>no</p>", t),
            ]
        )  # fmt: skip
    )
    seen: list[tuple[str, str]] = []

    def check(text: str, language: str) -> str:
        seen.append((text, language))
        return "hold" if "Doubtful" in text else "refuse" if "Banned" in text else "allow"

    desk = make_desk([{"name": "w", "url": server.url("/f"), "to": ["queue", "ticker"]}], check=check)
    desk.poll()
    assert queued_titles(queue) == ["Fine story"] and len(seen) == 3 and seen[0][1] == "en"
    held = next(s for s in desk.store.recent() if s.title == "Doubtful story")
    desk.store.set_policy(held.id, "allow")  # an operator releases it
    desk.dispatch()
    assert sorted(queued_titles(queue)) == ["Doubtful story", "Fine story"]
