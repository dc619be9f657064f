"""The FastAPI application: `create_app(settings)` builds it; the lifespan owns the job backend.

Other parts of anchor mount their routers through `extra_routers`, e.g. the live channel
control API: `create_app(settings, extra_routers=[(channel_router, "/v1/channels/{name}")])`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from anchor.api import avatars, verify, videos
from anchor.api.auth import make_rate_limiter
from anchor.api.bodies import JsonBodyGuard
from anchor.api.errors import error_response, error_responses, install_error_handlers
from anchor.api.uploads import DecodeSlots
from anchor.config import Settings
from anchor.jobs.service import JobBackend, JobService, open_backend
from anchor.provenance.policy import ContentPolicy
from anchor.speech.registry import make_speech_backend
from anchor.storage import free_bytes

log = logging.getLogger(__name__)

ExtraRouter = tuple[APIRouter, str]
"""(router, prefix) to mount, e.g. the channel control API under "/v1/channels/{name}"."""

DESCRIPTION = """Text-to-anchor videos over HTTP.

Submit text with `POST /v1/videos`, poll `GET /v1/videos/{id}` (state, stage, percent) or
give a `callback_url`, then download `video.mp4` (range requests supported). Every call except
`/healthz`, `/readyz` and these docs needs `Authorization: Bearer <key>` when API keys are configured.
Errors are JSON: `{"error": {"status", "code", "message", "field"}}`. Outages are 503 with
Retry-After: code `storage_full` when the disk is full (free space, e.g. by deleting videos),
`unavailable` when Redis (distributed mode) does not answer.
"""


def dependency_checks(app: FastAPI) -> dict[str, str]:
    """ "ok" or what is wrong, per dependency: storage (free space) and, in distributed mode, Redis."""
    backend: JobBackend | None = getattr(app.state, "backend", None)
    if backend is None:
        return {"backend": "starting"}
    checks: dict[str, str] = {}
    try:
        free = free_bytes(backend.files.root)
        checks["storage"] = "ok" if free >= backend.reserve_bytes else f"full ({free / 2**20:.0f} MB free)"
    except OSError as e:
        checks["storage"] = f"unreadable ({e.strerror})"
    for name, check in backend.dependencies.items():
        try:
            check()
            checks[name] = "ok"
        except Exception as e:  # any failure of the probe means the dependency is down
            checks[name] = f"down ({type(e).__name__}: {e})"
    return checks


def create_app(
    settings: Settings,
    *,
    extra_routers: Sequence[ExtraRouter] = (),
    backend: contextlib.AbstractContextManager[JobBackend] | None = None,
) -> FastAPI:
    """The API app. `backend` defaults to `open_backend(settings)` (embedded or distributed by config)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with backend if backend is not None else open_backend(settings) as jobs_backend:
            app.state.jobs = JobService(jobs_backend)
            app.state.backend = jobs_backend
            app.state.mode = jobs_backend.mode
            log.info("anchor API ready (%s mode, storage %s)", jobs_backend.mode, jobs_backend.files.root)
            yield

    app = FastAPI(title="anchor", version="1", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.limiter = make_rate_limiter(settings.api)  # shared through Redis in distributed mode
    app.state.voices = _voices(settings)
    app.state.policy = ContentPolicy.from_settings(settings.provenance.policy)
    app.state.decode_slots = DecodeSlots(settings.api.max_concurrent_decodes)
    app.add_middleware(JsonBodyGuard)
    install_error_handlers(app)
    app.include_router(videos.router)
    app.include_router(avatars.router)
    app.include_router(verify.router)
    for router, prefix in extra_routers:
        app.include_router(router, prefix=prefix)

    @app.get("/healthz", tags=["health"], summary="Liveness, and the state of each dependency (no key needed)")
    def healthz() -> dict[str, Any]:
        """Always 200 while the process serves; `status` is "degraded" and `checks` says which
        dependency is down (storage full, Redis not answering) when one is."""
        checks = dependency_checks(app)
        healthy = all(v == "ok" for v in checks.values())
        return {"status": "ok" if healthy else "degraded", "mode": getattr(app.state, "mode", None), "checks": checks}

    @app.get(
        "/readyz",
        tags=["health"],
        summary="Readiness for load balancers (no key needed)",
        responses=error_responses(503),
    )
    def readyz(request: Request) -> Any:
        """200 when every dependency answers; 503 (with Retry-After) naming the first that does not."""
        checks = dependency_checks(app)
        down = {k: v for k, v in checks.items() if v != "ok"}
        if down:
            name, why = next(iter(down.items()))
            return error_response(503, f"not ready: {name} is {why}", name)
        return JSONResponse({"status": "ready", "checks": checks})

    return app


def _voices(settings: Settings) -> list[dict[str, str]]:
    return [asdict(v) for v in make_speech_backend(settings.speech).voices()]
