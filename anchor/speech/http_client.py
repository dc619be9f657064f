"""A small HTTP client for external TTS servers: timeouts, retries with back-off, clear errors.

Standard library only (urllib). Connection failures, timeouts and 5xx/429 answers are retried
(`retries` times, back-off 0.5 s, 1 s, 2 s …); other 4xx answers are not. What finally fails
becomes a BackendError whose message names the server and what went wrong.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from anchor.errors import BackendError

MAX_RESPONSE_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class HttpRequest:
    """One request to a TTS server."""

    url: str
    method: str = "GET"
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


def json_request(url: str, payload: dict[str, object], headers: dict[str, str] | None = None) -> HttpRequest:
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    return HttpRequest(url, "POST", json.dumps(payload).encode("utf-8"), hdrs)


def fetch(request: HttpRequest, *, timeout_s: float, retries: int, server: str, sleep=time.sleep) -> bytes:
    """The response body of `request`, retrying what may pass on a second try."""
    last = ""
    for attempt in range(retries + 1):
        if attempt:
            sleep(min(0.5 * 2 ** (attempt - 1), 8.0))
        req = urllib.request.Request(request.url, data=request.body, method=request.method, headers=request.headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout_s) as resp:
                body = resp.read(MAX_RESPONSE_BYTES + 1)
            if len(body) > MAX_RESPONSE_BYTES:
                raise BackendError(f"{server} sent more than {MAX_RESPONSE_BYTES // 2**20} MB of audio")
            return body
        except urllib.error.HTTPError as e:
            detail = _detail(e)
            last = f"{server} answered HTTP {e.code}{': ' + detail if detail else ''}"
            if e.code not in (408, 429) and e.code < 500:
                raise BackendError(last, retryable=False) from e
        except TimeoutError as e:
            last = f"{server} did not answer within {timeout_s:g} s ({e})"
        except urllib.error.URLError as e:
            reason = e.reason
            if isinstance(reason, (socket.timeout, TimeoutError)):
                last = f"{server} did not answer within {timeout_s:g} s"
            else:
                last = f"cannot reach {server} at {request.url}: {reason}"
        except (ConnectionError, OSError) as e:
            last = f"connection to {server} failed: {e}"
    raise BackendError(f"{last} (tried {retries + 1} times)", retryable=True)


def _detail(e: urllib.error.HTTPError) -> str:
    try:
        text = e.read(2000).decode("utf-8", "replace").strip()
    except OSError:
        return ""
    return " ".join(text.split())[:300]


def join_url(base: str, path: str) -> str:
    """`base` + `path` unless `base` already ends with `path`."""
    base = base.rstrip("/")
    return base if base.endswith(path) else base + path


def with_query(url: str, params: dict[str, str]) -> str:
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v})
    return f"{url}?{query}" if query else url
