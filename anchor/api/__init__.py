"""The HTTP API (FastAPI): video jobs, avatars, voices. Build it with `create_app(settings)`."""

from anchor.api.app import ExtraRouter, create_app

__all__ = ["ExtraRouter", "create_app"]
