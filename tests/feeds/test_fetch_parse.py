"""Fetching and parsing against a real local HTTP server: every format, and every way a feed can be bad."""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator

import pytest

from anchor.feeds.errors import FeedError
from anchor.feeds.fetch import Fetcher
from anchor.feeds.parse import parse_feed
from anchor.netguard import parse_networks
from tests.feeds.fixtures import BOMB, Entry, atom, json_feed, rss
from tests.feeds.server import FeedServer, Route
from tests.helpers import wait_until

LOOPBACK = parse_networks(["127.0.0.1/32", "::1/128"])


def fetch_parse(server: FeedServer, path: str, **kw: object):
    with Fetcher(LOOPBACK) as f:
        r = f.fetch(server.url(path), **kw)  # type: ignore[arg-type]
        return parse_feed(r.body, r.content_type, r.url)


def test_rss_with_cdata_and_html(server: FeedServer) -> None:
    html = '<p>Prices rose <b>3.5%</b> &amp; more.</p><img src="/pic.png"><p><a href="x">Read more</a></p>'
    server.routes["/rss"] = Route(rss([Entry("g1", "Prices &amp; wages", html, link="http://example.org/a")]))
    feed = fetch_parse(server, "/rss")
    assert feed.format == "rss20" and feed.language == "en"
    (e,) = feed.entries
    assert e.guid == "g1" and e.link == "http://example.org/a"
    assert "<b>3.5%</b>" in e.summary
    assert e.image is not None and e.image.endswith("/pic.png")


def test_atom_and_json_feed(server: FeedServer) -> None:
    entries = [Entry("urn:1", "Atom one", "<p>Body &lt;one&gt;</p>", link="http://example.org/1")]
    server.routes["/atom"] = Route(atom(entries), content_type="application/atom+xml")
    server.routes["/json"] = Route(json_feed(entries), content_type="application/feed+json")
    a = fetch_parse(server, "/atom")
    j = fetch_parse(server, "/json")
    assert a.format == "atom10" and j.format == "json1.1"
    for feed in (a, j):
        assert [(e.guid, e.title, e.link) for e in feed.entries] == [("urn:1", "Atom one", "http://example.org/1")]
        assert feed.entries[0].published is not None


def test_mandarin_feed_in_gb18030_keeps_its_language(server: FeedServer) -> None:
    body = rss([Entry("zh1", "国家统计局发布数据", "<p>CPI同比上涨2.1%。</p>")], language="zh-cn").decode()
    body = body.replace('encoding="UTF-8"', 'encoding="GB18030"')
    server.routes["/zh"] = Route(body.encode("gb18030"), content_type="application/rss+xml")
    (e,) = fetch_parse(server, "/zh").entries
    assert e.title == "国家统计局发布数据" and e.language == "zh-cn"
    assert "上涨2.1%" in e.summary


def test_malformed_feeds_fail_with_a_reason(server: FeedServer) -> None:
    server.routes["/html"] = Route(b"<html><body>not a feed</body></html>", content_type="text/html")
    server.routes["/json"] = Route(b'{"version": "nope", "items": []}', content_type="application/json")
    for path in ("/html", "/json"):
        with pytest.raises(FeedError) as e:
            fetch_parse(server, path)
        assert e.value.kind == "malformed"


def test_an_entity_expansion_bomb_is_refused_before_parsing(server: FeedServer) -> None:
    server.routes["/bomb"] = Route(BOMB)
    started = time.process_time()
    with pytest.raises(FeedError) as e:
        fetch_parse(server, "/bomb")
    assert e.value.kind == "unsafe" and "entit" in str(e.value)
    assert time.process_time() - started < 5  # nothing was expanded (a guard against a hang, not a benchmark)
    utf16 = BOMB.decode().replace('version="1.0"', 'version="1.0" encoding="UTF-16"').encode("utf-16")
    with pytest.raises(FeedError, match="entit"):
        parse_feed(utf16)


def test_an_external_doctype_rss_091_is_read_without_resolving_it() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        b'"http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"><channel><title>Old</title>'
        b"<language>en</language><item><title>Ninety-one</title><link>http://example.org/91</link></item>"
        b"</channel></rss>"
    )
    feed = parse_feed(body)
    assert feed.format.startswith("rss091") and [e.title for e in feed.entries] == ["Ninety-one"]


def _megabytes(n: int) -> Iterator[bytes]:
    yield b'<?xml version="1.0"?><rss version="2.0"><channel><title>big</title><item><title>x</title><description>'
    for _ in range(n * 16):
        yield b"a" * 65536
    yield b"</description></item></channel></rss>"


@pytest.mark.parametrize("announced", [True, False], ids=["content-length", "no-length"])
def test_a_50_mb_feed_is_refused_without_being_read(server: FeedServer, announced: bool) -> None:
    size = 50 * 1024 * 1024
    server.routes["/big"] = Route(stream=lambda: _megabytes(50), length=size + 200 if announced else None)
    with pytest.raises(FeedError) as e:
        fetch_parse(server, "/big", max_bytes=1_000_000)
    assert e.value.kind == "too_large"
    wait_until(server.done.is_set, why=lambda: "the server never stopped sending")
    assert server.sent["/big"] < 20 * 1024 * 1024, server.sent  # socket buffers aside, the client hung up early


def test_a_gzip_bomb_is_cut_at_the_cap(server: FeedServer) -> None:
    body = gzip.compress(b"<rss>" + b" " * 40_000_000)
    server.routes["/gz"] = Route(body, headers={"Content-Encoding": "gzip"})
    with pytest.raises(FeedError) as e:
        fetch_parse(server, "/gz", max_bytes=1_000_000)
    assert e.value.kind == "too_large"


def test_a_slow_server_times_out_within_the_budget(server: FeedServer) -> None:
    def trickle() -> Iterator[bytes]:
        yield b'<?xml version="1.0"?><rss version="2.0"><channel>'
        for _ in range(100):
            time.sleep(0.1)
            yield b" "

    server.routes["/slow"] = Route(stream=trickle)
    server.routes["/silent"] = Route(rss([]), delay_s=3)
    for path in ("/slow", "/silent"):
        with pytest.raises(FeedError) as e:
            fetch_parse(server, path, timeout_s=0.5)
        assert e.value.kind == "timeout", path


def test_conditional_get_gets_304_and_sends_the_etag(server: FeedServer) -> None:
    server.routes["/c"] = Route(rss([Entry("1", "One", "<p>x</p>")]), etag='"v1"')
    with Fetcher(LOOPBACK) as f:
        first = f.fetch(server.url("/c"))
        again = f.fetch(server.url("/c"), etag=first.etag)
    assert (first.status, first.etag, again.status, again.body) == (200, '"v1"', 304, b"")
    assert server.hits == [("/c", None), ("/c", '"v1"')]


def test_http_errors_carry_retry_after(server: FeedServer) -> None:
    server.routes["/busy"] = Route(b"", status=503, headers={"Retry-After": "120"})
    with pytest.raises(FeedError) as e, Fetcher(LOOPBACK) as f:
        f.fetch(server.url("/busy"))
    assert (e.value.kind, e.value.retryable, e.value.retry_after) == ("http", True, 120.0)


def test_a_redirect_to_loopback_is_refused_when_loopback_is_not_allowed(server: FeedServer) -> None:
    """The first server is on ::1 (allowed); it redirects to 127.0.0.1 (not allowed): no request reaches it."""
    server.routes["/target"] = Route(rss([Entry("1", "secret", "<p>internal</p>")]))
    with FeedServer("::1") as front:
        front.routes["/feed"] = Route(status=302, headers={"Location": server.url("/target")})
        with Fetcher(parse_networks(["::1/128"])) as f, pytest.raises(FeedError) as e:
            f.fetch(front.url("/feed"))
        assert e.value.kind == "refused" and "127.0.0.1" in str(e.value)
        assert front.hits == [("/feed", None)]
    assert server.hits == []
    # a followed redirect to an allowed address works
    server.routes["/hop"] = Route(status=301, headers={"Location": "/target"})
    assert fetch_parse(server, "/hop").entries[0].title == "secret"


def test_the_default_guard_refuses_loopback(server: FeedServer) -> None:
    server.routes["/feed"] = Route(rss([]))
    with Fetcher() as f, pytest.raises(FeedError) as e:
        f.fetch(server.url("/feed"))
    assert e.value.kind == "refused"
    assert server.hits == []
