"""One JSON error shape for every HTTP surface of anchor (job API, channel control, WHEP):
{"error": {"status", "code", "message", "field"}}.

InputError -> 422 (NotFoundError -> 404), BackendError -> 502/503, ApiError carries its own
status (400 malformed body, 401 auth, 413 too large, 415 wrong type, 429 rate limit ...),
framework errors (validation, 404/405/401 HTTPException) keep their status; a reused
Idempotency-Key with a different request is 409.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from anchor.errors import AnchorError, BackendError, InputError, NotFoundError
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


class ApiError(Exception):
    """An HTTP error with a message a person understands and the request field at fault."""

    def __init__(
        self, status: int, message: str, *, field: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        self.headers = headers or {}


def error_response(
    status: int, message: str, field: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"status": status, "code": _CODES.get(status, "error"), "message": message, "field": field}}
    return JSONResponse(body, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn anchor and framework errors into the JSON shape above."""

    @app.exception_handler(IdempotencyConflict)
    async def _idem(_: Request, e: IdempotencyConflict) -> JSONResponse:
        return error_response(409, str(e), e.field)

    @app.exception_handler(ApiError)
    async def _api(_: Request, e: ApiError) -> JSONResponse:
        return error_response(e.status, str(e), e.field, e.headers)

    @app.exception_handler(NotFoundError)
    async def _missing(_: Request, e: NotFoundError) -> JSONResponse:
        return error_response(404, str(e), e.field)

    @app.exception_handler(InputError)
    async def _input(_: Request, e: InputError) -> JSONResponse:
        return error_response(422, str(e), e.field)

    @app.exception_handler(BackendError)
    async def _backend(_: Request, e: BackendError) -> JSONResponse:
        log.warning("backend error: %s", e)
        return error_response(503 if e.retryable else 502, str(e))

    @app.exception_handler(AnchorError)
    async def _anchor(_: Request, e: AnchorError) -> JSONResponse:
        log.warning("error: %s", e)
        return error_response(500, str(e))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, e: RequestValidationError) -> JSONResponse:
        first = e.errors()[0] if e.errors() else {"loc": (), "msg": "invalid request"}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header", "form")]
        field = ".".join(loc) or None
        return error_response(422, f"{field or 'request'}: {first.get('msg', 'invalid')}", field)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, e: StarletteHTTPException) -> JSONResponse:
        message = e.detail if isinstance(e.detail, str) else "request refused"
        if e.status_code == 404 and message == "Not Found":
            message = "no such endpoint; see /docs"
        return error_response(e.status_code, message, None, dict(e.headers or {}))
