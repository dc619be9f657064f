"""Fetching a feed over HTTP(S), guarded: conditional GET, a time budget, a size cap, checked redirects.

Every connection goes through `GuardedBackend`, which resolves the host, refuses it unless
each address is allowed by `anchor.netguard`, and then connects to the address it checked
(so a name cannot resolve to something else between check and connect). Redirects are
followed by hand, at most `max_redirects`, each hop checked the same way. The body is read
as a stream and decompressed here with a bounded output, so neither a 50 MB feed nor a
gzip bomb is ever held in memory beyond the cap; the whole fetch has one time budget, so
a server that trickles bytes cannot hold a poller forever.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import httpcore
import httpx

from anchor import netguard
from anchor.errors import InputError
from anchor.feeds.errors import FeedError
from anchor.netguard import Network

USER_AGENT = "anchor-newsroom/0.1 (+feeds)"
ACCEPT = "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, */*;q=0.5"
_REDIRECTS = (301, 302, 303, 307, 308)


class GuardedBackend(httpcore.SyncBackend):
    """An httpcore network backend that connects only to addresses `anchor.netguard` allows."""

    def __init__(self, allowed: Sequence[Network] = ()) -> None:
        self.allowed = list(allowed)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = netguard.resolve(host, port, field="url")
            for addr in addresses:
                netguard.check_address(host, addr, self.allowed, field="url", allow_hint="feeds.allow_networks")
        except InputError as e:
            raise FeedError(str(e), kind="refused", retryable=False) from e
        error: Exception | None = None
        for addr in addresses:
            try:
                return super().connect_tcp(str(addr), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as e:
                error = e
        assert error is not None
        raise error


def guarded_transport(allowed: Sequence[Network] = ()) -> httpx.HTTPTransport:
    """An httpx transport whose every connection is checked by `GuardedBackend` (no proxies, no retries)."""
    transport = httpx.HTTPTransport(retries=0)
    # httpx has no public hook for the network backend; its pool is rebuilt with ours (httpx is pinned).
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=8,
        max_keepalive_connections=4,
        keepalive_expiry=30.0,
        network_backend=GuardedBackend(allowed),
    )
    return transport


@dataclass(frozen=True)
class FetchResult:
    """What a fetch brought: status 200 with the body, or 304 (not modified) with an empty body."""

    status: int
    body: bytes
    url: str
    content_type: str | None
    etag: str | None
    last_modified: str | None


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value.strip())
    return None


class _Reader:
    """Reads a streamed body into at most `cap` decoded bytes within `deadline`."""

    def __init__(self, encoding: str, cap: int, deadline: float, url: str) -> None:
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self._inflate = None
        elif encoding in ("gzip", "x-gzip", "deflate"):
            self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header
        else:
            raise FeedError(f"{url}: unsupported Content-Encoding {encoding!r}", kind="malformed", retryable=False)
        self.cap, self.deadline, self.url = cap, deadline, url
        self.parts: list[bytes] = []
        self.size = 0

    def _add(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.cap:
            raise FeedError(f"{self.url}: the feed is larger than {self.cap} bytes", kind="too_large", retryable=False)
        self.parts.append(data)

    def feed(self, chunk: bytes) -> None:
        if time.monotonic() > self.deadline:
            raise FeedError(f"{self.url}: the feed took longer than its time budget", kind="timeout")
        if self._inflate is None:
            self._add(chunk)
            return
        data = chunk
        while data:
            out = self._inflate.decompress(data, self.cap - self.size + 1)
            self._add(out)
            data = self._inflate.unconsumed_tail

    def body(self) -> bytes:
        if self._inflate is not None:
            self._add(self._inflate.flush())
        return b"".join(self.parts)


def read_file(url: str, *, etag: str | None = None, max_bytes: int = 5_000_000) -> FetchResult:
    """A `file:` feed (e.g. the bundled sample, file:config/feeds/sample.xml) with an ETag from its size and mtime."""
    path = Path(unquote(urlsplit(url).path))
    try:
        info = path.stat()
        tag = f'"{info.st_mtime_ns:x}-{info.st_size:x}"'
        if etag == tag:
            return FetchResult(304, b"", url, None, tag, None)
        if info.st_size > max_bytes:
            raise FeedError(f"{path}: the feed is {info.st_size} bytes, larger than {max_bytes}", kind="too_large")
        with path.open("rb") as f:
            body = f.read(max_bytes + 1)
    except OSError as e:
        raise FeedError(f"{path}: {e.strerror}", kind="network") from e
    if len(body) > max_bytes:
        raise FeedError(f"{path}: the feed is larger than {max_bytes} bytes", kind="too_large")
    return FetchResult(200, body, url, None, tag, None)


class Fetcher:
    """Fetches feeds through one guarded HTTP client; a context manager. `allowed` are the
    networks reachable besides public addresses (the channel's `feeds.allow_networks`)."""

    def __init__(
        self,
        allowed: Sequence[Network] = (),
        *,
        user_agent: str = USER_AGENT,
        max_redirects: int = 5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.allowed = list(allowed)
        self.max_redirects = max_redirects
        self._client = httpx.Client(
            transport=transport or guarded_transport(self.allowed),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": user_agent, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"},
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check(self, url: str) -> None:
        try:
            netguard.check_url(url, self.allowed, field="url", allow_hint="feeds.allow_networks")
        except InputError as e:
            raise FeedError(str(e), kind="refused", retryable=False) from e

    def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        timeout_s: float = 10.0,
        max_bytes: int = 5_000_000,
        allow_file: bool = False,
    ) -> FetchResult:
        """GET `url` (conditionally when `etag` / `last_modified` are given); FeedError on any failure.

        A `file:` URL is read from disk only with `allow_file` (sources from the channel file)."""
        if urlsplit(url).scheme == "file":
            if not allow_file:
                raise FeedError(
                    f"{url}: file sources are allowed only in the channel file", kind="refused", retryable=False
                )
            return read_file(url, etag=etag, max_bytes=max_bytes)
        deadline = time.monotonic() + timeout_s
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        for _ in range(self.max_redirects + 1):
            self._check(url)
            remaining = max(0.05, deadline - time.monotonic())
            try:
                with self._client.stream("GET", url, headers=headers, timeout=httpx.Timeout(remaining)) as r:
                    if r.status_code in _REDIRECTS and r.headers.get("location"):
                        url = urljoin(url, r.headers["location"])
                        if urlsplit(url).scheme not in ("http", "https"):
                            raise FeedError(f"redirect to a non-HTTP URL {url!r}", kind="refused", retryable=False)
                        continue
                    return self._result(r, url, deadline, max_bytes)
            except httpx.TimeoutException as e:
                raise FeedError(f"{url}: timed out after {timeout_s:g} s ({type(e).__name__})", kind="timeout") from e
            except httpx.HTTPError as e:
                raise FeedError(f"{url}: {type(e).__name__}: {e}", kind="network") from e
        raise FeedError(f"{url}: more than {self.max_redirects} redirects", kind="http", retryable=False)

    def _result(self, r: httpx.Response, url: str, deadline: float, max_bytes: int) -> FetchResult:
        meta = dict(
            url=url,
            content_type=r.headers.get("content-type"),
            etag=r.headers.get("etag"),
            last_modified=r.headers.get("last-modified"),
        )
        if r.status_code == 304:
            return FetchResult(status=304, body=b"", **meta)
        if r.status_code != 200:
            retryable = r.status_code >= 500 or r.status_code in (408, 429)
            raise FeedError(
                f"{url}: HTTP {r.status_code} {r.reason_phrase}",
                kind="http",
                retryable=retryable,
                retry_after=_retry_after(r.headers.get("retry-after")),
            )
        length = r.headers.get("content-length", "")
        if length.isdigit() and int(length) > max_bytes:
            raise FeedError(
                f"{url}: the feed is {int(length)} bytes, larger than {max_bytes}", kind="too_large", retryable=False
            )
        reader = _Reader(r.headers.get("content-encoding", ""), max_bytes, deadline, url)
        for chunk in r.iter_raw():
            reader.feed(chunk)
        return FetchResult(status=200, body=reader.body(), **meta)
