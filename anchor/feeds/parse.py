"""Feed bytes -> entries: RSS 0.9x/1.0/2.0 and Atom through feedparser, JSON Feed by hand.

XML is checked before any parser sees it: an ENTITY declaration or a DOCTYPE with an
internal subset (where entity-expansion bombs live) refuses the feed; a plain external
DOCTYPE (as RSS 0.91 feeds carry) is removed, so nothing ever resolves it. Feedparser is
only ever given bytes, never a URL, so it fetches nothing itself.
"""

from __future__ import annotations

import calendar
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from anchor.errors import MissingDependencyError
from anchor.feeds.errors import FeedError


@dataclass(frozen=True)
class FeedEntry:
    """One entry as the feed gives it (title, summary and content may hold HTML)."""

    guid: str | None
    link: str | None
    title: str
    summary: str
    content: str
    published: datetime | None
    updated: datetime | None
    image: str | None
    language: str | None


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed. `warning` is set when the feed was read leniently (it was not well-formed)."""

    title: str
    language: str | None
    format: str
    entries: tuple[FeedEntry, ...]
    warning: str | None = None


_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)
_NO_BOM = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<", "utf-16-be"),
    (b"<\x00", "utf-16-le"),
)
_EBCDIC_XML = b"\x4c\x6f\xa7\x94"
_HIDDEN = re.compile(rb"<!\[CDATA\[.*?\]\]>|<!--.*?-->", re.DOTALL)
_ENTITY = re.compile(rb"<!\s*ENTITY", re.IGNORECASE)
_DOCTYPE = re.compile(rb"<!\s*DOCTYPE\b[^>\[]*(\[)?[^>]*>", re.IGNORECASE | re.DOTALL)
_XML_DECL_ENCODING = re.compile(rb"^(\s*<\?xml[^>]*?encoding\s*=\s*[\"'])[^\"']*([\"'])")


def _as_ascii_compatible(body: bytes) -> bytes:
    """UTF-16/32 documents -> UTF-8 (declaration fixed), so the byte-level checks below see them."""
    for mark, codec in _BOMS:
        if body.startswith(mark):
            text = body[len(mark) :].decode(codec, errors="replace")
            return _XML_DECL_ENCODING.sub(rb"\1utf-8\2", text.encode("utf-8"), count=1)
    for start, codec in _NO_BOM:
        if body.startswith(start):
            return _XML_DECL_ENCODING.sub(rb"\1utf-8\2", body.decode(codec, errors="replace").encode("utf-8"), count=1)
    if body.startswith(_EBCDIC_XML):
        raise FeedError("EBCDIC-encoded XML is not read", kind="unsafe", retryable=False)
    return body


def make_xml_safe(body: bytes) -> bytes:
    """`body` ready for an XML parser: FeedError(kind="unsafe") if it declares entities or an
    internal DTD subset; an external DOCTYPE is removed."""
    body = _as_ascii_compatible(body)
    visible = _HIDDEN.sub(b"", body)
    if _ENTITY.search(visible):
        raise FeedError("the feed declares XML entities (refused: entity expansion)", kind="unsafe", retryable=False)
    doctype = _DOCTYPE.search(visible)
    if doctype is None:
        return body
    if doctype.group(1) is not None or b"[" in doctype.group(0):
        raise FeedError(
            "the feed has an internal DTD subset (refused: entity expansion)", kind="unsafe", retryable=False
        )
    return _DOCTYPE.sub(b"", body, count=1)


def _when(parsed: Any) -> datetime | None:
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except (OverflowError, ValueError, TypeError):
        return None


_IMG_RE = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)


def _image(entry: Any, html: str) -> str | None:
    for key in ("media_thumbnail", "media_content"):
        for media in entry.get(key) or []:
            url = media.get("url")
            kind = str(media.get("type") or media.get("medium") or "image")
            if url and ("image" in kind or kind == ""):
                return str(url)
    for enclosure in entry.get("enclosures") or []:
        if str(enclosure.get("type", "")).startswith("image/") and enclosure.get("href"):
            return str(enclosure["href"])
    m = _IMG_RE.search(html)
    return m.group(1) if m else None


def _language(entry: Any, feed_language: str | None) -> str | None:
    for detail in (*(entry.get("content") or []), entry.get("summary_detail"), entry.get("title_detail")):
        if detail and detail.get("language"):
            return str(detail["language"])
    return feed_language


def _feedparser() -> Any:
    try:
        import feedparser
    except ImportError as e:  # pragma: no cover - a pinned dependency
        raise MissingDependencyError("reading RSS/Atom needs feedparser: pip install 'feedparser==6.0.12'") from e
    return feedparser


def _parse_xml(body: bytes, content_type: str | None, url: str) -> ParsedFeed:
    headers = {"content-location": url} if url else {}
    if content_type:
        headers["content-type"] = content_type
    d = _feedparser().parse(make_xml_safe(body), response_headers=headers, resolve_relative_uris=True)
    if not d.get("version") and not d.entries:
        why = d.get("bozo_exception") or "no RSS or Atom elements found"
        raise FeedError(f"not a feed: {why}", kind="malformed", retryable=False)
    feed_language = d.feed.get("language") or (d.feed.get("title_detail") or {}).get("language")
    entries = []
    for e in d.entries:
        contents = [str(c.get("value", "")) for c in e.get("content") or []]
        content = max(contents, key=len) if contents else ""
        summary = str(e.get("summary", ""))
        entries.append(
            FeedEntry(
                guid=str(e["id"]) if e.get("id") else None,
                link=str(e["link"]) if e.get("link") else None,
                title=str(e.get("title", "")),
                summary=summary,
                content=content,
                # dict.get: feedparser's own get() maps the two dates onto each other, with a warning
                published=_when(dict.get(e, "published_parsed")),
                updated=_when(dict.get(e, "updated_parsed")),
                image=_image(e, content or summary),
                language=_language(e, feed_language),
            )
        )
    warning = f"read leniently: {d.bozo_exception}" if d.get("bozo") and d.get("bozo_exception") else None
    return ParsedFeed(
        str(d.feed.get("title", "")), feed_language, d.get("version") or "unknown", tuple(entries), warning
    )


class _JsonItem(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    url: str | None = None
    external_url: str | None = None
    title: str | None = None
    content_html: str | None = None
    content_text: str | None = None
    summary: str | None = None
    image: str | None = None
    banner_image: str | None = None
    date_published: datetime | None = None
    date_modified: datetime | None = None
    language: str | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, v: object) -> object:
        return str(v) if isinstance(v, int | float) else v  # JSON Feed 1.0 feeds in the wild use numbers


class _JsonFeed(BaseModel):
    model_config = ConfigDict(extra="ignore")
    version: str = Field(pattern=r"^https?://jsonfeed\.org/version/1(\.\d+)?/?$")
    title: str = ""
    language: str | None = None
    items: list[_JsonItem] = Field(default_factory=list, max_length=10_000)


def _aware(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _parse_json(body: bytes) -> ParsedFeed:
    try:
        feed = _JsonFeed.model_validate(json.loads(body))
    except (ValueError, ValidationError) as e:
        raise FeedError(f"not a JSON Feed: {str(e).splitlines()[0]}", kind="malformed", retryable=False) from e
    entries = tuple(
        FeedEntry(
            guid=item.id,
            link=item.url or item.external_url,
            title=item.title or "",
            summary=item.summary or "",
            content=item.content_html or item.content_text or "",
            published=_aware(item.date_published),
            updated=_aware(item.date_modified),
            image=item.image or item.banner_image,
            language=item.language or feed.language,
        )
        for item in feed.items
    )
    return ParsedFeed(feed.title, feed.language, "json" + feed.version.rstrip("/").rsplit("/", 1)[-1], entries)


def parse_feed(body: bytes, content_type: str | None = None, url: str = "") -> ParsedFeed:
    """Parse a fetched feed; FeedError (kind "malformed" or "unsafe") when it cannot be read safely."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind.endswith("json") or body.lstrip()[:1] == b"{":
        return _parse_json(body)
    return _parse_xml(body, content_type, url)
