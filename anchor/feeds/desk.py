"""`NewsDesk`: polls the news sources, turns new entries into stories, and hands them on.

The desk owns two threads (a context manager: `start()` / `stop()`): the poller (due
sources fetched concurrently, each on its own interval and back-off; new stories claimed
and added to the queue; the ticker refreshed) and the bulletin scheduler (bulletins fired
at their due times, queued and/or rendered). It talks to the channel only through plain
callables and the queue's `add` / `list`, so the channel knows nothing about feeds:

    desk = NewsDesk.for_channel(cfg.queue_db, cfg.feeds, cfg.bulletins, queue=queue,
                                set_ticker=shot.set_ticker, check=policy.check)
    with desk: ...   # runs until stop()

Time comes from `now()` (aware datetimes) and `sleep(seconds)`, both injectable: with a
virtual clock, `run_until(end)` runs a day of polls and bulletins in seconds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from anchor.errors import InputError
from anchor.feeds import bulletins as bl
from anchor.feeds.announce import announce
from anchor.feeds.cleanup import clean_text, clean_title
from anchor.feeds.config import BulletinConfig, FeedsConfig, SourceConfig
from anchor.feeds.errors import FeedError
from anchor.feeds.fetch import Fetcher
from anchor.feeds.images import local_image
from anchor.feeds.parse import FeedEntry, ParsedFeed, parse_feed
from anchor.feeds.rules import Candidate, keep, newest_first
from anchor.feeds.script import PolicyCheck, Rewrite, allow_all, content_hash, draft_story, story_key
from anchor.feeds.stories import BulletinRecord, SourceState, StoryRecord, StoryStore
from anchor.live.items import Item, ItemIn, ItemState
from anchor.netguard import parse_networks
from anchor.rundown.model import Rundown

log = logging.getLogger(__name__)

ALL_STATES: tuple[ItemState, ...] = ("queued", "preparing", "ready", "playing", "played", "failed", "skipped")
IDLE_RECHECK_S = 30.0
"""The poller looks for sources added from the CLI at least this often."""
TICKER_WINDOW = timedelta(hours=24)


class QueueLike(Protocol):
    """What the desk needs of the channel's ScriptQueue."""

    def add(self, item: ItemIn) -> Item: ...

    def list(self, states: Iterable[ItemState] = ..., limit: int | None = None) -> list[Item]: ...


RenderFn = Callable[[Rundown, Path], object]
"""render(rundown, output_mp4): writes the MP4 (+ captions beside it)."""


@dataclass(frozen=True)
class DeskEvent:
    """Something the desk did: story.new, story.updated, source.ok, source.failed, story.queued,
    bulletin.queued, bulletin.rendered, bulletin.skipped, bulletin.failed."""

    kind: str
    at: datetime
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PollReport:
    """One poll of one source."""

    source: str
    status: Literal["ok", "not_modified", "failing"]
    new: tuple[StoryRecord, ...] = ()
    updated: tuple[StoryRecord, ...] = ()
    skipped: int = 0
    error: str | None = None


def utc_now() -> datetime:
    return datetime.now(UTC)


class NewsDesk:
    """Sources -> stories -> queue / ticker / bulletins. See the module docstring for the hooks."""

    def __init__(
        self,
        store: StoryStore,
        feeds: FeedsConfig,
        bulletins: Sequence[BulletinConfig] = (),
        *,
        queue: QueueLike | None = None,
        set_ticker: Callable[[list[str]], None] | None = None,
        check: PolicyCheck = allow_all,
        render: RenderFn | None = None,
        rewrite: Rewrite | None = None,
        fetcher: Fetcher | None = None,
        now: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] | None = None,
        max_workers: int = 4,
    ) -> None:
        for b in bulletins:
            if b.play and queue is None:
                raise InputError(
                    f"bulletin {b.name!r} plays on the channel but the desk has no queue", field="bulletins"
                )
            if b.render and render is None:
                raise InputError(f"bulletin {b.name!r} renders but no renderer was given", field="bulletins")
        names = [b.name for b in bulletins]
        if len(set(names)) != len(names):
            raise InputError("bulletin names must be unique", field="bulletins")
        self.store = store
        self.feeds = feeds
        self.bulletins = list(bulletins)
        self.queue = queue
        self.set_ticker = set_ticker
        self.check = check
        self.render = render
        self.rewrite = rewrite
        self._allowed = parse_networks(feeds.allow_networks, field="feeds.allow_networks")
        self._own_fetcher = fetcher is None
        self.fetcher = fetcher or Fetcher(self._allowed)
        self.now = now
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._sleep = sleep or self._interruptible_sleep
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="feeds-fetch")
        self._threads: list[threading.Thread] = []
        self._ticker: list[str] | None = None
        self._due: dict[str, datetime] = {}
        self._bulletin_due: dict[str, datetime] = {}
        self._forced = False
        self._pruned_at: datetime | None = None
        self.listeners: list[Callable[[DeskEvent], None]] = []
        self.counters: dict[str, int] = {
            k: 0 for k in ("polls", "poll_failures", "not_modified", "stories_new", "stories_updated", "queued",
                           "bulletins", "bulletins_skipped", "bulletins_failed")
        }  # fmt: skip
        self.error: BaseException | None = None
        self._closers: list[Callable[[], None]] = []

    @classmethod
    def for_channel(
        cls,
        db_path: Path,
        feeds: FeedsConfig,
        bulletins: Sequence[BulletinConfig] = (),
        **hooks: Any,
    ) -> NewsDesk:
        """A desk storing its state in the channel database `db_path`; `hooks` as for the constructor.
        With `feeds.rewrite.enabled` and no `rewrite` hook, the configured endpoint is used."""
        rewriter = None
        if feeds.rewrite.enabled and "rewrite" not in hooks:
            from anchor.feeds.rewrite import Rewriter

            rewriter = Rewriter(feeds.rewrite)
            hooks["rewrite"] = rewriter.rewrite
        desk = cls(StoryStore(db_path), feeds, bulletins, **hooks)
        if rewriter is not None:
            desk._closers.append(rewriter.close)
        return desk

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> NewsDesk:
        """Settle what a previous process left half done, then start the poller and scheduler threads."""
        self.recover()
        for target, name in ((self._poll_loop, "feeds-poll"), (self._bulletin_loop, "feeds-bulletins")):
            t = threading.Thread(target=self._guard(target), name=name, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        """Stop the threads and close what the desk owns (the store, its fetcher)."""
        self._stop.set()
        self._wake.set()
        for t in self._threads:
            t.join()
        self._threads.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._own_fetcher:
            self.fetcher.close()
        for close in self._closers:
            close()
        self._closers.clear()
        self.store.close()

    def __enter__(self) -> NewsDesk:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wake(self) -> None:
        """Poll every source now, whatever its schedule or back-off (e.g. after `anchor feeds add`)."""
        self._forced = True
        self._wake.set()

    def _interruptible_sleep(self, seconds: float) -> None:
        self._wake.wait(max(0.0, seconds))
        self._wake.clear()

    def _guard(self, loop: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                loop()
            except BaseException as e:  # a dead thread must be visible, not silent
                log.exception("news desk thread failed")
                self.error = e

        return run

    def _emit(self, kind: str, at: datetime, **data: Any) -> None:
        event = DeskEvent(kind, at, data)
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must not stop the desk
                log.exception("desk listener failed on %s", kind)

    # -- what the API, the control room and metrics read ------------------------------------

    def sources(self) -> list[tuple[SourceConfig, Literal["config", "cli"]]]:
        """Every source with its origin; a config source hides a CLI one of the same name."""
        out: list[tuple[SourceConfig, Literal["config", "cli"]]] = [(s, "config") for s in self.feeds.sources]
        names = {s.name for s in self.feeds.sources}
        out += [(s, "cli") for s in self.store.added_sources() if s.name not in names]
        return out

    def states(self) -> list[SourceState]:
        """Each source's state and last error, as plain data."""
        return [self.store.source_state(s, origin) for s, origin in self.sources()]

    def stats(self) -> dict[str, int]:
        """Counters since start (for metrics)."""
        failing = sum(1 for s in self.states() if s.status == "failing")
        return {**self.counters, "sources": len(self.sources()), "sources_failing": failing}

    # -- polling -----------------------------------------------------------------------------

    def _next_poll(self, name: str) -> datetime | None:
        if name in self._due:
            return self._due[name]
        row = self.store.state_row(name)
        return None if row is None or row["next_poll_at"] is None else datetime.fromisoformat(row["next_poll_at"])

    def poll_due(self, now: datetime | None = None) -> tuple[list[PollReport], datetime]:
        """Poll every enabled source that is due (concurrently), store, dispatch; returns the
        reports and when the next source is due."""
        now = now or self.now()
        forced, self._forced = self._forced, False
        due = [s for s, _ in self.sources() if s.enabled and (forced or (self._next_poll(s.name) or now) <= now)]
        fetched = list(self._pool.map(lambda s: (s, self._fetch(s, self._from_config(s))), due))
        reports = [self._ingest(s, got, now) for s, got in fetched]
        if reports:
            self.dispatch(now)
        self._maybe_prune(now)
        upcoming = [t for s, _ in self.sources() if s.enabled and (t := self._next_poll(s.name)) is not None]
        return reports, min([*upcoming, now + timedelta(seconds=IDLE_RECHECK_S)])

    def poll(self, name: str | None = None) -> list[PollReport]:
        """Poll one source (or all) now, whatever their schedule."""
        now = self.now()
        chosen = [s for s, _ in self.sources() if name is None or s.name == name]
        if name is not None and not chosen:
            raise InputError(f"no source named {name!r}", field="name")
        fetched = list(self._pool.map(lambda s: (s, self._fetch(s, self._from_config(s))), chosen))
        reports = [self._ingest(s, got, now) for s, got in fetched]
        self.dispatch(now)
        return reports

    def _from_config(self, source: SourceConfig) -> bool:
        return any(s is source for s in self.feeds.sources)

    def _fetch(self, source: SourceConfig, allow_file: bool = False) -> _Fetched | FeedError | None:
        """Fetch and parse (runs in a pool thread): a feed, None when not modified, or the error."""
        row = self.store.state_row(source.name)
        same_url = row is not None and row["url"] == source.url
        try:
            result = self.fetcher.fetch(
                source.url,
                etag=row["etag"] if same_url and row is not None else None,
                last_modified=row["last_modified"] if same_url and row is not None else None,
                timeout_s=source.timeout_s,
                max_bytes=source.max_bytes,
                allow_file=allow_file,
            )
            if result.status == 304:
                return None
            parsed = parse_feed(result.body, result.content_type, result.url)
            return _Fetched(parsed, result.etag, result.last_modified)
        except FeedError as e:
            return e

    def _backoff(self, source: SourceConfig, failures: int, error: FeedError) -> float:
        delay = min(source.interval_s * 2 ** min(failures, 12), self.feeds.backoff_max_s)
        if error.retry_after is not None:
            delay = max(delay, min(error.retry_after, self.feeds.backoff_max_s))
        return max(delay, source.interval_s)

    def _ingest(self, source: SourceConfig, got: _Fetched | FeedError | None, now: datetime) -> PollReport:
        self.counters["polls"] += 1
        next_at = now + timedelta(seconds=source.interval_s)
        if isinstance(got, FeedError):
            row = self.store.state_row(source.name)
            failures = row["failures"] if row is not None else 0
            next_at = now + timedelta(seconds=self._backoff(source, failures, got))
            self.store.record_poll(
                source.name, source.url, now, next_at, status="failing", error=str(got), error_kind=got.kind
            )
            self._due[source.name] = next_at
            self.counters["poll_failures"] += 1
            self._emit("source.failed", now, source=source.name, error=str(got), error_kind=got.kind)
            log.warning("feed %s failed: %s", source.name, got)
            return PollReport(source.name, "failing", error=str(got))
        if got is None:
            self.store.record_poll(source.name, source.url, now, next_at, status="not_modified")
            self._due[source.name] = next_at
            self.counters["not_modified"] += 1
            return PollReport(source.name, "not_modified")
        new, updated, skipped = self._store_entries(source, got.feed.entries, now)
        self.store.record_poll(
            source.name, source.url, now, next_at, status="ok", etag=got.etag, last_modified=got.last_modified,
            warning=got.feed.warning, new_stories=len(new),
        )  # fmt: skip
        self._due[source.name] = next_at
        self.counters["stories_new"] += len(new)
        self.counters["stories_updated"] += len(updated)
        for s in new:
            self._emit("story.new", now, id=s.id, source=s.source, title=s.title, language=s.language)
        for s in updated:
            self._emit("story.updated", now, id=s.id, source=s.source, title=s.title, revision=s.revision)
        self._emit("source.ok", now, source=source.name, new=len(new), updated=len(updated))
        return PollReport(source.name, "ok", tuple(new), tuple(updated), skipped)

    def _store_entries(
        self, source: SourceConfig, entries: Sequence[FeedEntry], now: datetime
    ) -> tuple[list[StoryRecord], list[StoryRecord], int]:
        by_key: dict[str, FeedEntry] = {}
        for e in entries:
            by_key.setdefault(story_key(e), e)  # a key repeated within one feed counts once
        rules = source.rules()
        candidates = []
        for key, e in by_key.items():
            when = e.published or e.updated or now
            if keep(rules, f"{clean_title(e.title)} {clean_text(e.content or e.summary)}", when, now):
                candidates.append(Candidate(key, "", when))
        known = self.store.known(source.name, [c.key for c in candidates])
        fresh = newest_first([c for c in candidates if c.key not in known])
        changed = [c for c in candidates if c.key in known and known[c.key] != content_hash(by_key[c.key])]
        ab = self.feeds.abbreviations

        def draft(c: Candidate, skipped: bool = False) -> Any:
            return draft_story(
                by_key[c.key], source, now, abbreviations=ab, check=self.check, rewrite=self.rewrite, skipped=skipped
            )

        drafts = [draft(c) for c in fresh[: source.max_per_poll]]
        drafts += [draft(c, skipped=True) for c in fresh[source.max_per_poll :]]
        drafts += [draft(c) for c in changed]
        new, updated = self.store.ingest(source.name, drafts, now)
        return new, updated, len(fresh[source.max_per_poll :])

    def _maybe_prune(self, now: datetime) -> None:
        if self._pruned_at is None or now - self._pruned_at > timedelta(hours=6):
            self._pruned_at = now
            self.store.prune(now, self.feeds.retention_days)

    # -- handing stories on ----------------------------------------------------------------

    def dispatch(self, now: datetime | None = None) -> list[int]:
        """Queue new stories bound for the queue (each exactly once) and refresh the ticker; returns item ids."""
        now = now or self.now()
        ids: list[int] = []
        if self.queue is not None:
            for story in self.store.claim_for_queue(now):
                item_id = self._queue_story(story)
                self.store.queue_done(story.id, item_id)
                if item_id is not None:
                    ids.append(item_id)
                    self.counters["queued"] += 1
                    self._emit("story.queued", now, id=story.id, item_id=item_id, title=story.title)
        self.refresh_ticker(now)
        return ids

    def _story_item(self, story: StoryRecord) -> dict[str, Any]:
        return {"text": story.spoken, "title": story.title, "language": story.language, "priority": story.priority}

    def _queue_story(self, story: StoryRecord) -> int | None:
        assert self.queue is not None
        try:
            return self.queue.add(ItemIn.parse(self._story_item(story))).id
        except InputError as e:
            log.warning("story %s not queued: %s", story.id, e)
            return None

    def refresh_ticker(self, now: datetime | None = None) -> list[str]:
        """Give the ticker the newest headlines when they changed."""
        now = now or self.now()
        headlines = self.store.headlines(self.feeds.ticker_items, now - TICKER_WINDOW)
        if self.set_ticker is not None and headlines and headlines != self._ticker:
            self.set_ticker(list(headlines))
        self._ticker = headlines
        return headlines

    # -- restart -----------------------------------------------------------------------------

    def _find_item(self, spec: dict[str, Any], since: datetime, taken: set[int]) -> Item | None:
        assert self.queue is not None
        for item in self.queue.list(ALL_STATES):
            if (
                item.id not in taken
                and item.text == spec["text"]
                and item.title == spec.get("title")
                and item.created_at >= since - timedelta(seconds=5)
            ):
                return item
        return None

    def recover(self) -> None:
        """Settle claims a killed process left: a story claimed for the queue is matched to the
        item it became, or queued now; a bulletin gets its missing items."""
        if self.queue is None:
            return
        for story in self.store.queue_claims():
            assert story.queue_claimed_at is not None
            found = self._find_item(self._story_item(story), story.queue_claimed_at, set())
            self.store.queue_done(story.id, found.id if found is not None else self._queue_story(story))
        for b in self.store.unfinished_bulletins():
            cfg = next((c for c in self.bulletins if c.name == b.name), None)
            if cfg is None or not cfg.play:
                self.store.finish_bulletin(b.id, self.now(), error="unfinished when the process stopped")
                continue
            ids = self._queue_bulletin(cfg, b, self.now(), recovering=True)
            self.store.finish_bulletin(b.id, self.now(), item_ids=ids)

    # -- bulletins ---------------------------------------------------------------------------

    def fire_bulletins(self, now: datetime | None = None) -> datetime:
        """Fire the bulletins that are due; returns when the next one is due."""
        now = now or self.now()
        upcoming: list[datetime] = []
        for cfg in self.bulletins:
            due = self._bulletin_due.get(cfg.name) or bl.first_due(cfg, now, self.store.last_bulletin_due(cfg.name))
            if due <= now:
                self.fire_bulletin(cfg, due, now)
                due = bl.next_due(cfg, due)
                while due < now - bl.MISFIRE_GRACE:
                    due = bl.next_due(cfg, due)
            self._bulletin_due[cfg.name] = due
            upcoming.append(due)
        return min(upcoming, default=now + timedelta(hours=1))

    def fire_bulletin(self, cfg: BulletinConfig, due: datetime, now: datetime) -> BulletinRecord | None:
        """Assemble the bulletin due at `due` (once per due time, across restarts) and play/render it."""
        record = self.store.claim_bulletin(
            cfg.name, due, now, language=cfg.language, sources=cfg.sources,
            since=now - timedelta(hours=cfg.max_age_hours), limit=cfg.stories, min_stories=cfg.min_stories,
        )  # fmt: skip
        if record is None:
            return None
        if record.state == "skipped":
            self.counters["bulletins_skipped"] += 1
            self._emit("bulletin.skipped", now, name=cfg.name, due_at=due.isoformat(), reason="no new stories")
            return record
        error = None
        item_ids: list[int] = []
        output = None
        try:
            if cfg.play:
                item_ids = self._queue_bulletin(cfg, record, now)
            if cfg.render:
                output = self._render_bulletin(cfg, record, now)
        except (FeedError, InputError) as e:
            error = str(e)
        except Exception as e:  # the renderer is someone else's code: record, go on with the next bulletin
            log.exception("bulletin %s failed", cfg.name)
            error = f"{type(e).__name__}: {e}"
        self.store.finish_bulletin(record.id, now, item_ids=item_ids, output=output, error=error)
        if error:
            self.counters["bulletins_failed"] += 1
            self._emit("bulletin.failed", now, name=cfg.name, due_at=due.isoformat(), error=error)
        else:
            self.counters["bulletins"] += 1
        return self.store.bulletin(record.id)

    def _ordered(self, record: BulletinRecord) -> list[StoryRecord]:
        stories = self.store.stories(list(record.story_ids))
        return sorted(stories, key=lambda s: (-s.priority, -s.published_at.timestamp(), s.id))

    def _queue_bulletin(
        self, cfg: BulletinConfig, record: BulletinRecord, now: datetime, *, recovering: bool = False
    ) -> list[int]:
        """Add the bulletin's items; when recovering, only those a killed process had not added yet."""
        assert self.queue is not None
        planned = list(record.planned) or bl.plan_items(cfg, self._ordered(record), record.due_at)
        if not record.planned:
            self.store.plan_bulletin(record.id, planned)
        look = recovering and bool(record.planned)
        taken: set[int] = set()
        ids: list[int] = []
        for spec in planned:
            found = self._find_item(spec, record.claimed_at, taken) if look else None
            item_id = found.id if found is not None else self.queue.add(ItemIn.parse(spec)).id
            taken.add(item_id)
            ids.append(item_id)
        self._emit("bulletin.queued", now, name=cfg.name, due_at=record.due_at.isoformat(), items=ids)
        return ids

    def _render_bulletin(self, cfg: BulletinConfig, record: BulletinRecord, now: datetime) -> str:
        assert self.render is not None
        stories = self._ordered(record)
        images = {}
        for s in stories:
            picture = local_image(
                s.image, image_dirs=self.feeds.image_dirs, image_hosts=self.feeds.image_hosts, fetcher=self.fetcher
            )
            if picture is not None:
                images[s.id] = picture
        rundown = bl.plan_rundown(cfg, stories, record.due_at, images)
        output = bl.output_path(cfg, record.due_at)
        output.parent.mkdir(parents=True, exist_ok=True)
        self.render(rundown, output)
        data = {
            "name": cfg.name, "title": cfg.title, "due_at": record.due_at.isoformat(), "video": str(output),
            "captions": [str(output.with_suffix(".srt")), str(output.with_suffix(".vtt"))],
            "stories": [{"id": s.id, "title": s.title, "link": s.link} for s in stories],
        }  # fmt: skip
        if cfg.webhook:
            announce(cfg.webhook, data, secret=cfg.webhook_secret, allowed=self._allowed)
        self._emit("bulletin.rendered", now, **data)
        return str(output)

    # -- loops ---------------------------------------------------------------------------------

    def _wait_until(self, t: datetime) -> None:
        while not self._stop.is_set():
            left = (t - self.now()).total_seconds()
            if left <= 0:
                return
            self._sleep(min(left, IDLE_RECHECK_S))
            if self._wake.is_set():
                return

    def _poll_loop(self) -> None:
        while not self._stop.is_set():
            _, next_at = self.poll_due()
            self._wait_until(next_at)

    def _bulletin_loop(self) -> None:
        if not self.bulletins:
            return
        while not self._stop.is_set():
            self._wait_until(self.fire_bulletins())

    def run_until(self, end: datetime) -> None:
        """Run polls and bulletins in this thread until the clock reaches `end` (virtual-clock runs)."""
        self.recover()
        while True:
            now = self.now()
            _, next_poll = self.poll_due(now)
            next_bulletin = self.fire_bulletins(now) if self.bulletins else next_poll
            wake = min(next_poll, next_bulletin, end)
            if now >= end:
                return
            self._sleep(max(0.0, (wake - now).total_seconds()))


@dataclass(frozen=True)
class _Fetched:
    feed: ParsedFeed
    etag: str | None
    last_modified: str | None
