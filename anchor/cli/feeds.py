"""`anchor feeds add|ls|rm|poll|stories|bulletin`: a channel's news sources, from the command line.

Sources added here live in the channel database beside the queue, so a running channel picks
them up on its next look (at most 30 s); sources in the channel file are listed too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from anchor.cli.common import ConfigOpt, app, console, errors, out, settings_from

if TYPE_CHECKING:
    from anchor.config import Settings
    from anchor.feeds.desk import NewsDesk, RenderFn
    from anchor.live.config import ChannelConfig
    from anchor.live.store import ScriptQueue

feeds_app = typer.Typer(help="A channel's news sources: add, list, remove, poll now.", no_args_is_help=True)
app.add_typer(feeds_app, name="feeds")

ChannelOpt = typer.Option(Path("config/channel.example.yaml"), "--channel", help="The channel file.")


def bulletin_renderer(settings: Settings) -> RenderFn:
    """render(rundown, output) with the program pipeline's rundown renderer."""
    from anchor.program.bulletin import render_rundown
    from anchor.program.pipeline import Pipeline

    pipeline = Pipeline(settings)

    def render(rundown: Any, output: Path) -> object:
        return render_rundown(pipeline, rundown, output)

    return render


def _desk(channel: Path, with_queue: bool = False) -> tuple[NewsDesk, ChannelConfig, ScriptQueue | None]:
    from anchor.feeds.desk import NewsDesk
    from anchor.live.config import load_channel_config
    from anchor.live.store import ScriptQueue

    cfg = load_channel_config(channel)
    queue = ScriptQueue(cfg.queue_db) if with_queue else None
    return NewsDesk.for_channel(cfg.queue_db, cfg.feeds, queue=queue), cfg, queue


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


@feeds_app.command("add")
def feeds_add(
    name: str = typer.Argument(..., help="A slug naming the source, e.g. wire."),
    url: str = typer.Argument(..., help="The feed's http(s) URL (RSS, Atom or JSON Feed)."),
    to: str = typer.Option("ticker,bulletin", help="Where stories go: ticker, queue, bulletin (comma-separated)."),
    interval: float = typer.Option(300, help="Seconds between polls."),
    lang: str | None = typer.Option(None, "--lang", help="en or zh (default: the feed's, else detected)."),
    include: str | None = typer.Option(None, help="Keep only entries with one of these words (comma-separated)."),
    exclude: str | None = typer.Option(None, help="Drop entries with any of these words (comma-separated)."),
    max_age: float | None = typer.Option(24, help="Drop entries older than this many hours."),
    max_per_poll: int = typer.Option(5, help="New stories taken per poll."),
    priority: int = typer.Option(0, help="Queue priority of its stories."),
    channel: Path = ChannelOpt,
) -> None:
    """Add a news source to the channel (a running channel picks it up within 30 s)."""
    from datetime import UTC, datetime

    from pydantic import ValidationError

    from anchor.feeds.config import SourceConfig
    from anchor.live.items import input_error

    with errors():
        desk, _, _ = _desk(channel)
        try:
            source = SourceConfig.model_validate(
                {
                    "name": name,
                    "url": url,
                    "to": _split(to),
                    "interval_s": interval,
                    "language": lang,
                    "include": _split(include),
                    "exclude": _split(exclude),
                    "max_age_hours": max_age,
                    "max_per_poll": max_per_poll,
                    "priority": priority,
                }  # fmt: skip
            )
        except ValidationError as e:
            raise input_error(e) from e
        try:
            desk.store.add_source(source, datetime.now(UTC))
        finally:
            desk.stop()
    out.print(f"added source {name!r}: {url} -> {', '.join(source.to)} every {interval:g} s", highlight=False)


@feeds_app.command("ls")
def feeds_ls(
    channel: Path = ChannelOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the states as JSON."),
) -> None:
    """List the sources with their state and last error."""
    with errors():
        desk, _, _ = _desk(channel)
        try:
            states = desk.states()
        finally:
            desk.stop()
    if as_json:
        out.print_json(json.dumps([s.model_dump(mode="json") for s in states]))
        return
    table = Table("name", "from", "url", "status", "last poll", "failures", "stories", "last error")
    for s in states:
        when = s.last_poll_at.strftime("%Y-%m-%d %H:%M:%S") if s.last_poll_at else "-"
        table.add_row(s.name, s.origin, s.url, s.status, when, str(s.failures), str(s.stories), s.last_error or "")
    out.print(table)


@feeds_app.command("rm")
def feeds_rm(name: str = typer.Argument(..., help="The source's name."), channel: Path = ChannelOpt) -> None:
    """Remove a source added with `anchor feeds add` (its stories are kept, so they never air again)."""
    with errors():
        desk, _, _ = _desk(channel)
        try:
            desk.store.remove_source(name)
        finally:
            desk.stop()
    out.print(f"removed source {name!r}", highlight=False)


@feeds_app.command("poll")
def feeds_poll(
    name: str | None = typer.Argument(None, help="Only this source (default: all)."),
    channel: Path = ChannelOpt,
) -> None:
    """Poll now: store new stories, queue those bound for the queue, print what the anchor will say."""
    with errors():
        desk, _, queue = _desk(channel, with_queue=True)
        try:
            reports = desk.poll(name)
        finally:
            desk.stop()
            if queue is not None:
                queue.close()
    for r in reports:
        line = f"{r.source}: {r.status}, {len(r.new)} new, {len(r.updated)} updated, {r.skipped} skipped"
        out.print(line + (f" — {r.error}" if r.error else ""), highlight=False)
        for s in (*r.new, *r.updated):
            out.print(f"  [{s.language}] {s.title}\n    says: {s.spoken}", highlight=False)
    if any(r.status == "failing" for r in reports):
        raise typer.Exit(1)


@feeds_app.command("stories")
def feeds_stories(limit: int = typer.Option(20, help="How many."), channel: Path = ChannelOpt) -> None:
    """The newest stored stories and where they went."""
    with errors():
        desk, _, _ = _desk(channel)
        try:
            stories = desk.store.recent(limit)
        finally:
            desk.stop()
    table = Table("id", "source", "published", "headline", "state", "policy", "queue item", "bulletin")
    for s in stories:
        table.add_row(
            str(s.id), s.source, s.published_at.strftime("%Y-%m-%d %H:%M"), s.title, s.state, s.policy,
            str(s.queue_item_id or ""), str(s.bulletin_id or ""),
        )  # fmt: skip
    out.print(table)


@feeds_app.command("bulletin")
def feeds_bulletin(
    output: Path = typer.Option(..., "-o", "--output", help="The MP4 to write (captions beside it)."),
    name: str | None = typer.Option(None, help="Which of the channel's bulletins (default: the first)."),
    channel: Path = ChannelOpt,
    config: Path | None = ConfigOpt,
) -> None:
    """Poll, then render the next bulletin now as an MP4 (a preview: no story is marked as aired)."""
    from datetime import UTC, datetime, timedelta

    from anchor.errors import InputError
    from anchor.feeds import bulletins as bl

    settings = settings_from(config)
    with errors():
        desk, cfg, _ = _desk(channel)
        try:
            chosen = [b for b in cfg.bulletins if name is None or b.name == name]
            if not chosen:
                raise InputError(f"the channel file has no bulletin {name or ''!r}".replace(" ''", ""), field="name")
            b = chosen[0]
            desk.poll()
            now = datetime.now(UTC)
            stories = desk.store.bulletin_candidates(
                language=b.language, sources=b.sources, since=now - timedelta(hours=b.max_age_hours), limit=b.stories
            )
            if not stories:
                raise InputError("no stories for a bulletin yet: check `anchor feeds ls`", field="feeds")
            rundown = bl.plan_rundown(b, stories, now)
            console.print(f"rendering {len(stories)} stories to {output}")
            bulletin_renderer(settings)(rundown, output)
        finally:
            desk.stop()
    out.print(f"bulletin: {output}", highlight=False)
