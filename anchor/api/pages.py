"""The channel's pages: the player and the control room (plain HTML/JS/CSS in anchor/web, no build step)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

WEB_DIR = Path(__file__).resolve().parent.parent / "web"


def pages_router() -> APIRouter:
    """The player and control-room pages (plain HTML/JS/CSS, no build step)."""
    router = APIRouter()

    @router.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/control")

    @router.get("/player", include_in_schema=False)
    def player() -> FileResponse:
        return FileResponse(WEB_DIR / "player.html")

    @router.get("/control", include_in_schema=False)
    def control() -> FileResponse:
        return FileResponse(WEB_DIR / "control.html")

    return router


def mount_static(app: Any) -> None:
    app.mount("/web", StaticFiles(directory=WEB_DIR), name="web")
