"""What a channel file says about news feeds and bulletins (`feeds:` and `bulletins:`).

`feeds:` is either a list of sources or a mapping with `sources:` and the settings shared by
all sources (networks they may reach besides public addresses, extra abbreviations, the
optional rewrite endpoint). `bulletins:` is a list of schedules.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from anchor.live.items import Recurrence
from anchor.netguard import parse_networks

Destination = Literal["ticker", "queue", "bulletin"]
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
DEFAULT_DESTINATIONS: tuple[Destination, ...] = ("ticker", "bulletin")


class SourceRules(BaseModel):
    """What happens to a source's entries: which are kept, how they are read, where they go."""

    model_config = ConfigDict(extra="forbid")
    language: Literal["en", "zh"] | None = Field(
        None, description="Read stories in this language; default: the feed's own, else detected from the text."
    )
    include: list[str] = Field(default_factory=list, description="Keep only entries mentioning one of these words.")
    exclude: list[str] = Field(default_factory=list, description="Drop entries mentioning any of these words.")
    max_age_hours: float | None = Field(24.0, gt=0, description="Drop entries older than this (None: keep all).")
    max_per_poll: int = Field(
        5, ge=1, le=100, description="New stories taken per poll (newest first); the rest are skipped."
    )
    priority: int = Field(0, ge=-1000, le=1000, description="Queue priority of this source's stories.")
    to: list[Destination] = Field(
        default_factory=lambda: list(DEFAULT_DESTINATIONS), min_length=1, description="ticker, queue and/or bulletin."
    )


class SourceConfig(SourceRules):
    """One news source."""

    name: str = Field(..., pattern=NAME_PATTERN, description="A slug naming the source.")
    url: str = Field(
        ..., description="The feed's http(s) URL (RSS, Atom or JSON Feed); in the channel file also file:PATH."
    )
    interval_s: float = Field(300.0, ge=1, le=86400, description="Seconds between polls.")
    timeout_s: float = Field(10.0, gt=0, le=120, description="Time budget of one fetch, body included.")
    max_bytes: int = Field(5_000_000, ge=1024, le=100_000_000, description="Largest feed read; larger ones fail.")
    enabled: bool = True

    @field_validator("url")
    @classmethod
    def _http(cls, v: str) -> str:
        if not re.match(r"^(https?://[^/\s]+|file:\S+)", v):
            raise ValueError("must be an http:// or https:// URL (or file:PATH in the channel file)")
        return v

    def rules(self) -> SourceRules:
        """The rules part of this source."""
        return SourceRules.model_validate(self.model_dump(include=set(SourceRules.model_fields)))


class RewriteConfig(BaseModel):
    """An OpenAI-compatible chat endpoint that turns an entry into a 20-40 s script (off by default)."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = False
    url: str | None = Field(None, description="Base URL, e.g. http://127.0.0.1:8000/v1 (…/chat/completions is added).")
    api_key: str | None = None
    model: str = "default"
    timeout_s: float = Field(15.0, gt=0, le=120)
    allow_networks: list[str] = Field(default_factory=list, description="Networks the endpoint may be in (CIDR).")

    @model_validator(mode="after")
    def _url_when_enabled(self) -> RewriteConfig:
        if self.enabled and not self.url:
            raise ValueError("rewrite.url is required when rewrite is enabled")
        parse_networks(self.allow_networks, field="feeds.rewrite.allow_networks")
        return self


class FeedsConfig(BaseModel):
    """The channel's news sources and what they share."""

    model_config = ConfigDict(extra="forbid")
    sources: list[SourceConfig] = Field(default_factory=list)
    allow_networks: list[str] = Field(
        default_factory=list,
        description="Networks (CIDR) feeds may resolve into besides public addresses, e.g. 10.0.0.0/8 or 127.0.0.1.",
    )
    abbreviations: dict[str, dict[str, str]] = Field(
        default_factory=dict, description='Per language, extra abbreviations read in full, e.g. {en: {"FT": "F T"}}.'
    )
    image_hosts: list[str] = Field(default_factory=list, description="Hosts whose entry images bulletins may show.")
    image_dirs: list[Path] = Field(default_factory=list, description="Local folders entry images may come from.")
    ticker_items: int = Field(8, ge=1, le=50, description="Newest headlines kept on the ticker.")
    retention_days: float = Field(30, gt=0, description="Stories older than this are forgotten.")
    backoff_max_s: float = Field(3600, ge=1, description="Longest wait after repeated failures.")
    rewrite: RewriteConfig = Field(default_factory=lambda: RewriteConfig.model_validate({}))

    @model_validator(mode="before")
    @classmethod
    def _list_is_sources(cls, data: Any) -> Any:
        return {"sources": data} if isinstance(data, list) else data

    @field_validator("allow_networks")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        parse_networks(v, field="feeds.allow_networks")
        return v

    @model_validator(mode="after")
    def _unique_names(self) -> FeedsConfig:
        names = [s.name for s in self.sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"source names must be unique: {', '.join(dupes)}")
        return self


_EVERY: list[tuple[re.Pattern[str], Callable[[re.Match[str]], dict[str, Any]]]] = [
    (re.compile(r"^hourly(?: at :?(\d{1,2}))?$"), lambda m: {"hourly_at_minute": int(m[1] or 0)}),
    (re.compile(r"^every (\d+) ?(?:minutes?|mins?|m)$"), lambda m: {"every_minutes": int(m[1])}),
    (re.compile(r"^every (\d+) ?(?:hours?|h)$"), lambda m: {"every_minutes": int(m[1]) * 60}),
    (re.compile(r"^daily at (\d{1,2}):(\d{2})$"), lambda m: {"daily_at": f"{int(m[1]):02d}:{m[2]}"}),
]


def parse_every(text: str, timezone: str = "UTC") -> Recurrence:
    """ "hourly at :00", "hourly at :30", "every 20 minutes", "every 2 hours", "daily at 18:00" -> a Recurrence."""
    spec = " ".join(text.lower().split())
    for pattern, build in _EVERY:
        m = pattern.match(spec)
        if m:
            return Recurrence.model_validate({**build(m), "timezone": timezone})
    raise ValueError(f"{text!r} is not a schedule like 'hourly at :00', 'every 30 minutes' or 'daily at 18:00'")


class BulletinConfig(BaseModel):
    """A bulletin on a schedule: the newest unaired stories, bracketed by an intro and an outro."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field("news", pattern=NAME_PATTERN)
    every: str = Field("hourly at :00", description="'hourly at :MM', 'every N minutes|hours', 'daily at HH:MM'.")
    timezone: str = "UTC"
    stories: int = Field(5, ge=1, le=30)
    title: str = Field("The news", min_length=1, max_length=80)
    language: Literal["en", "zh"] = "en"
    sources: list[str] = Field(default_factory=list, description="Only these sources (empty: all).")
    max_age_hours: float = Field(12, gt=0)
    min_stories: int = Field(1, ge=0, description="Skip the bulletin when fewer new stories are there.")
    intro: str | None = Field(None, description="Spoken intro; {title} and {time} are filled in. Default by language.")
    outro: str | None = Field(None, description="Spoken outro. Default by language.")
    play: bool = Field(True, description="Queue the bulletin on the channel at the scheduled time.")
    render: bool = Field(False, description="Also render it to MP4 + captions in `output_dir`.")
    output_dir: Path = Path("out/bulletins")
    webhook: str | None = Field(None, description="POSTed when a rendered bulletin is ready.")
    webhook_secret: str | None = None
    priority: int = Field(100, ge=-1000, le=1000)

    @model_validator(mode="after")
    def _schedule(self) -> BulletinConfig:
        parse_every(self.every, self.timezone)
        if self.webhook and not self.render:
            raise ValueError("webhook announces rendered bulletins: set render: true")
        return self

    def recurrence(self) -> Recurrence:
        """When this bulletin fires."""
        return parse_every(self.every, self.timezone)
