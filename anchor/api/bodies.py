"""A guard in front of every JSON request body, on every HTTP surface.

A JSON body is read whole (at most `max_bytes`) and refused before any route sees it when it
is nested deeper than `max_depth` (400: deep nesting only serves to exhaust the parser's
stack), is not UTF-8 or not JSON (400), or holds a lone UTF-16 surrogate such as "\\ud800"
in a key or a string (422: it cannot be stored or spoken, and echoing it back would break the
response). The body is then handed on unchanged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from anchor.api.errors import error_response

MAX_JSON_BYTES = 1 << 20
MAX_DEPTH = 32

_STRING_RE = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET_RE = re.compile(rb"[\[\]{}]")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def nesting_depth(raw: bytes, limit: int) -> int:
    """How deeply `raw` (JSON text) nests arrays/objects, counting no further than limit + 1."""
    depth = deepest = 0
    for m in _BRACKET_RE.finditer(_STRING_RE.sub(b'""', raw)):
        depth += 1 if m.group() in (b"[", b"{") else -1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                break
    return deepest


def _strings(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """(location, string) for every key and string in a parsed JSON value."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for k, v in value.items():
            here = f"{where}.{k}" if where else str(k)
            yield here, k
            yield from _strings(v, here)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, f"{where}[{i}]")


def json_problem(raw: bytes, max_depth: int = MAX_DEPTH) -> tuple[int, str, str | None] | None:
    """(status, message, field) when this JSON body must be refused, else None."""
    if nesting_depth(raw, max_depth) > max_depth:
        return 400, f"the JSON body nests deeper than {max_depth} levels", "body"
    try:
        value = json.loads(raw)
    except UnicodeDecodeError:
        return 400, "the JSON body is not UTF-8 text", "body"
    except ValueError as e:
        return 400, f"the body is not valid JSON: {e}", "body"
    for where, text in _strings(value):
        if _SURROGATE_RE.search(text):
            field = where or "body"
            return 422, f"{field} holds an unpaired UTF-16 surrogate (e.g. \\ud800); send valid Unicode text", field
    return None


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            ctype = value.split(b";")[0].strip().lower()
            return ctype == b"application/json" or ctype.endswith(b"+json")
    return False


class JsonBodyGuard:
    """ASGI middleware applying `json_problem` (and a size cap, 413) to POST/PUT/PATCH JSON bodies."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_DEPTH) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH") or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        too_large = error_response(413, f"the JSON body is larger than {self.max_bytes // 1024} KB", "body")
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await too_large(scope, receive, send)
                return
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max_bytes:
                await too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        raw = b"".join(chunks)
        problem = json_problem(raw, self.max_depth) if raw.strip() else None
        if problem is not None:
            status, text, field = problem
            await error_response(status, text, field)(scope, receive, send)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
