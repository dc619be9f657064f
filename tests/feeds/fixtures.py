"""Feed documents generated for the tests: RSS 2.0, Atom, JSON Feed, a Mandarin feed, a bomb."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Entry:
    guid: str | None
    title: str
    html: str
    published: datetime | None = None
    link: str | None = None
    image: str | None = None


def rss(entries: list[Entry], *, title: str = "Test Wire", language: str = "en", cdata: bool = True) -> bytes:
    items = []
    for e in entries:
        desc = f"<![CDATA[{e.html}]]>" if cdata else escape(e.html)
        parts = [f"<title>{escape(e.title)}</title>", f"<description>{desc}</description>"]
        if e.guid:
            parts.append(f'<guid isPermaLink="false">{escape(e.guid)}</guid>')
        if e.link:
            parts.append(f"<link>{escape(e.link)}</link>")
        if e.published:
            parts.append(f"<pubDate>{format_datetime(e.published)}</pubDate>")
        if e.image:
            parts.append(f'<enclosure url="{escape(e.image)}" type="image/png" length="1"/>')
        items.append("<item>" + "".join(parts) + "</item>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>http://example.org/</link><language>{language}</language>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def atom(entries: list[Entry], *, title: str = "Atom Wire") -> bytes:
    out = []
    for e in entries:
        when = (e.published or NOW).isoformat().replace("+00:00", "Z")
        out.append(
            f"<entry><id>{escape(e.guid or '')}</id><title type='text'>{escape(e.title)}</title>"
            f"<updated>{when}</updated><published>{when}</published>"
            f"<link href='{escape(e.link or '')}'/><content type='html'>{escape(e.html)}</content></entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">'
        f"<title>{escape(title)}</title><id>urn:test:atom</id><updated>{NOW.isoformat()}</updated>"
        + "".join(out)
        + "</feed>"
    ).encode()


def json_feed(entries: list[Entry], *, title: str = "JSON Wire") -> bytes:
    items = [
        {
            "id": e.guid,
            "url": e.link,
            "title": e.title,
            "content_html": e.html,
            "date_published": (e.published or NOW).isoformat(),
        }
        for e in entries
    ]
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": title, "items": items}).encode()


def numbered(n: int, *, start: int = 0, prefix: str = "Story", at: datetime = NOW) -> list[Entry]:
    """n plain English entries, newest first, one minute apart."""
    return [
        Entry(
            guid=f"{prefix.lower()}-{i}",
            title=f"{prefix} {i} headline",
            html=f"<p>{prefix} {i} happened today. Officials said more details would follow.</p>",
            published=at - timedelta(minutes=n - i),
        )
        for i in range(start + n - 1, start - 1, -1)
    ]


BOMB = (
    b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n <!ENTITY a "aaaaaaaaaa">\n'
    + b"".join(f' <!ENTITY {c} "{("&" + p + ";") * 10}">\n'.encode() for p, c in zip("abcdefgh", "bcdefghi"))
    + b']>\n<rss version="2.0"><channel><title>t</title><item><title>&i;</title><guid>1</guid></item></channel></rss>'
)
"""A billion-laughs document: ten levels of ten-fold entity expansion (10 GB if expanded)."""
