"""The job API's errors: the shared JSON shape (anchor.http_errors) plus 409 for a reused
Idempotency-Key with a different request."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from anchor import http_errors
from anchor.http_errors import ApiError, error_response
from anchor.jobs.store import IdempotencyConflict

__all__ = ["ApiError", "error_response", "install_error_handlers"]


def install_error_handlers(app: FastAPI) -> None:
    """The shared handlers, and IdempotencyConflict -> 409."""
    http_errors.install_error_handlers(app)

    @app.exception_handler(IdempotencyConflict)
    async def _idem(_: Request, e: IdempotencyConflict) -> JSONResponse:
        return error_response(409, str(e), e.field)
