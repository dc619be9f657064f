"""One JSON error shape for every HTTP surface of anchor (job API, channel control, WHEP):
{"error": {"status", "code", "message", "field"}}.

InputError -> 422 (NotFoundError -> 404), BackendError -> 502/503, ApiError carries its own
status (400 malformed body, 401 auth, 413 too large, 415 wrong type, 429 rate limit ...),
framework errors (validation, 404/405/401 HTTPException) keep their status; a reused
Idempotency-Key with a different request is 409.

Outages are 503 with Retry-After, never a plain-text 500: a full disk (code `storage_full`,
Retry-After 60; chosen over 507 because clients and proxies know to retry a 503), Redis not
answering (code `unavailable`, Retry-After 5), a locked database. Anything else unexpected is
a JSON 500 (code `internal_error`) whose details go to the log only.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
from typing import Any

import redis
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from anchor.errors import AnchorError, BackendError, InputError, NotFoundError, StorageFullError
from anchor.jobs.store import IdempotencyConflict

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    416: "range_not_satisfiable",
    422: "invalid_input",
    429: "rate_limited",
    500: "internal_error",
    502: "backend_error",
    503: "unavailable",
}

STORAGE_RETRY_S = 60
OUTAGE_RETRY_S = 5
_DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}


class ApiError(Exception):
    """An HTTP error with a message a person understands and the request field at fault."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        self.headers = headers or {}
        self.code = code


def _printable(text: str | None) -> str | None:
    """`text` safe to encode as UTF-8 (an echoed lone surrogate must not break the error response)."""
    if text is None:
        return None
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def error_response(
    status: int,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    code: str | None = None,
) -> JSONResponse:
    """The one error shape; every 503 says when to come back (Retry-After)."""
    headers = dict(headers or {})
    if status == 503:
        headers.setdefault("Retry-After", str(OUTAGE_RETRY_S))
    body = {
        "error": {
            "status": status,
            "code": code or _CODES.get(status, "error"),
            "message": _printable(message),
            "field": _printable(field),
        }
    }
    return JSONResponse(body, status_code=status, headers=headers)


def storage_full_response() -> JSONResponse:
    return error_response(
        503,
        "the server's storage is full: nothing was stored; try again once space has been freed "
        "(deleting finished videos frees space)",
        code="storage_full",
        headers={"Retry-After": str(STORAGE_RETRY_S)},
    )


def is_disk_full(e: BaseException) -> bool:
    """ENOSPC / EDQUOT from the file system, or SQLite's 'database or disk is full'."""
    if isinstance(e, StorageFullError):
        return True
    if isinstance(e, OSError) and e.errno in _DISK_FULL_ERRNOS:
        return True
    return isinstance(e, sqlite3.OperationalError) and "disk is full" in str(e)


class ErrorDetail(BaseModel):
    status: int
    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    """Every error anchor answers with."""

    error: ErrorDetail


_DESCRIPTIONS = {
    400: "Malformed request (not JSON, not an SDP offer, unreadable multipart)",
    401: "No API key, or not a valid one",
    403: "Forbidden for this key",
    404: "No such thing",
    405: "Method not allowed here",
    409: "Conflicts with the current state (or a reused Idempotency-Key)",
    413: "Body or upload too large",
    415: "Unsupported content type (judged from the bytes, not the name)",
    422: "Invalid input; `field` names it",
    429: "Rate limited; see Retry-After",
    503: "Temporarily unavailable (storage full, Redis down, viewer cap reached); see Retry-After",
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "string"}}}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for these error statuses (the one error shape)."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        entry: dict[str, Any] = {"model": ErrorBody, "description": _DESCRIPTIONS[status]}
        if status in (429, 503):
            entry["headers"] = _RETRY_AFTER
        out[status] = entry
    return out


_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app serves at this request's path (the router itself names
    only the first route that matched the path, one method of several)."""
    methods: set[str] = set()
    for method in _METHODS:
        probe = {**request.scope, "method": method}
        if any(route.matches(probe)[0] == Match.FULL for route in request.app.router.routes):
            methods.add(method)
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn anchor and framework errors into the JSON shape above."""

    async def _unexpected(request: Request, e: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=e)
        return error_response(500, "internal error; it has been logged")

    app.add_exception_handler(Exception, _unexpected)

    @app.exception_handler(IdempotencyConflict)
    async def _idem(_: Request, e: IdempotencyConflict) -> JSONResponse:
        return error_response(409, str(e), e.field)

    @app.exception_handler(ApiError)
    async def _api(_: Request, e: ApiError) -> JSONResponse:
        return error_response(e.status, str(e), e.field, e.headers, e.code)

    @app.exception_handler(NotFoundError)
    async def _missing(_: Request, e: NotFoundError) -> JSONResponse:
        return error_response(404, str(e), e.field)

    @app.exception_handler(InputError)
    async def _input(_: Request, e: InputError) -> JSONResponse:
        return error_response(422, str(e), e.field)

    @app.exception_handler(StorageFullError)
    async def _full(_: Request, e: StorageFullError) -> JSONResponse:
        log.error("storage full: %s", e)
        return storage_full_response()

    @app.exception_handler(BackendError)
    async def _backend(_: Request, e: BackendError) -> JSONResponse:
        log.warning("backend error: %s", e)
        return error_response(503 if e.retryable else 502, str(e))

    @app.exception_handler(AnchorError)
    async def _anchor(_: Request, e: AnchorError) -> JSONResponse:
        log.warning("error: %s", e)
        return error_response(500, str(e))

    @app.exception_handler(redis.RedisError)
    async def _redis(_: Request, e: redis.RedisError) -> JSONResponse:
        log.warning("Redis does not answer: %s: %s", type(e).__name__, e)
        return error_response(
            503, f"the job store (Redis) does not answer ({type(e).__name__}); nothing was changed, try again shortly"
        )

    @app.exception_handler(OSError)
    async def _os(request: Request, e: OSError) -> JSONResponse:
        if is_disk_full(e):
            log.error("storage full: %s", e)
            return storage_full_response()
        return await _unexpected(request, e)

    @app.exception_handler(sqlite3.OperationalError)
    async def _sqlite(request: Request, e: sqlite3.OperationalError) -> JSONResponse:
        if is_disk_full(e):
            log.error("storage full: %s", e)
            return storage_full_response()
        if "locked" in str(e) or "busy" in str(e):
            return error_response(503, "the database is busy; try again in a moment", headers={"Retry-After": "1"})
        return await _unexpected(request, e)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, e: RequestValidationError) -> JSONResponse:
        first = e.errors()[0] if e.errors() else {"loc": (), "msg": "invalid request"}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header", "form")]
        field = ".".join(loc) or None
        return error_response(422, f"{field or 'request'}: {first.get('msg', 'invalid')}", field)

    @app.exception_handler(ValidationError)
    async def _model(_: Request, e: ValidationError) -> JSONResponse:  # a body checked inside a route
        first = e.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        return error_response(422, f"{field or 'request'}: {first['msg']}", field)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException) -> JSONResponse:
        message = e.detail if isinstance(e.detail, str) else "request refused"
        headers = dict(e.headers or {})
        if e.status_code == 404 and message == "Not Found":
            message = "no such endpoint; see /docs"
        if e.status_code == 405:
            allowed = allowed_methods(request)
            headers["Allow"] = ", ".join(allowed)
            message = f"{request.method} is not allowed here; use {' or '.join(allowed) or 'nothing'}"
        return error_response(e.status_code, message, None, headers)
