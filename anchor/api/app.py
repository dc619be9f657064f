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

from fastapi import APIRouter, FastAPI

from anchor.api import avatars, verify, videos
from anchor.api.auth import make_rate_limiter
from anchor.api.errors import install_error_handlers
from anchor.config import Settings
from anchor.jobs.service import JobBackend, JobService, open_backend
from anchor.provenance.policy import ContentPolicy
from anchor.speech.registry import make_speech_backend

log = logging.getLogger(__name__)

ExtraRouter = tuple[APIRouter, str]
"""(router, prefix) to mount, e.g. the channel control API under "/v1/channels/{name}"."""

DESCRIPTION = """Text-to-anchor videos over HTTP.

Submit text with `POST /v1/videos`, poll `GET /v1/videos/{id}` (state, stage, percent) or
give a `callback_url`, then download `video.mp4` (range requests supported). Every call except
`/healthz` and these docs needs `Authorization: Bearer <key>` when API keys are configured.
Errors are JSON: `{"error": {"status", "code", "message", "field"}}`.
"""


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
            app.state.mode = jobs_backend.mode
            log.info("anchor API ready (%s mode, storage %s)", jobs_backend.mode, jobs_backend.files.root)
            yield

    app = FastAPI(title="anchor", version="1", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.limiter = make_rate_limiter(settings.api)  # shared through Redis in distributed mode
    app.state.voices = _voices(settings)
    app.state.policy = ContentPolicy.from_settings(settings.provenance.policy)
    install_error_handlers(app)
    app.include_router(videos.router)
    app.include_router(avatars.router)
    app.include_router(verify.router)
    for router, prefix in extra_routers:
        app.include_router(router, prefix=prefix)

    @app.get("/healthz", tags=["health"], summary="Liveness (no key needed)")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "mode": getattr(app.state, "mode", None)}

    return app


def _voices(settings: Settings) -> list[dict[str, str]]:
    return [asdict(v) for v in make_speech_backend(settings.speech).voices()]
