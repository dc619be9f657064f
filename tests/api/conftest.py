"""Fixtures: one embedded `anchor serve` per session with two API keys, tiny 320x180 renders."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The suite runs with --import-mode=importlib (no package __init__ files): make the helper
# module importable as `api_harness` for the test modules of this folder.
_spec = importlib.util.spec_from_file_location("api_harness", Path(__file__).with_name("harness.py"))
assert _spec is not None and _spec.loader is not None
api_harness = importlib.util.module_from_spec(_spec)
sys.modules["api_harness"] = api_harness
_spec.loader.exec_module(api_harness)

ApiServer, write_config = api_harness.ApiServer, api_harness.write_config

KEYS, WEBHOOK_SECRET = api_harness.KEYS, api_harness.WEBHOOK_SECRET


@pytest.fixture(scope="session")
def api_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("api")


@pytest.fixture(scope="session")
def server(api_dir: Path) -> Iterator[ApiServer]:
    config = write_config(
        api_dir / "config.yaml",
        {
            "storage_dir": str(api_dir / "storage"),
            "keys": KEYS,
            "admin_keys": ["admin"],
            "workers": 1,
            "rate_limit_per_minute": 600,
            "rate_limit_burst": 40,
            "max_text_chars": 500,
            "max_photo_mb": 2,
            "max_photo_side": 4000,
            "max_photo_pixels": 4_000_000,
            "max_audio_seconds": 20,
            "max_background_mb": 1,
            "webhook_secret": WEBHOOK_SECRET,
            "webhook_backoff_s": 0.2,
            "webhook_private_networks": ["127.0.0.0/8"],  # the test receivers listen on loopback
        },
        avatars_dir=str(api_dir / "avatars"),
    )
    srv = ApiServer(config, api_dir / "serve.log")
    yield srv
    srv.proc.stop()


SLOW_REFILL, SMALL_BURST = 0.6, 5  # one token back per 100 s: none comes back during a test


@pytest.fixture(scope="session")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """A second embedded server whose rate limit is small and refills slowly, so a test can spend
    a key's burst and know exactly which request is refused (the main server's refill is fast, so
    that the suite's own requests never hit it, and what a burst of requests gets depends on speed)."""
    folder = tmp_path_factory.mktemp("api-limited")
    config = write_config(
        folder / "config.yaml",
        {
            "storage_dir": str(folder / "storage"),
            "keys": KEYS,
            "workers": 1,
            "rate_limit_per_minute": SLOW_REFILL,
            "rate_limit_burst": SMALL_BURST,
        },
        avatars_dir=str(folder / "avatars"),
    )
    srv = ApiServer(config, folder / "serve.log")
    yield srv
    srv.proc.stop()


@pytest.fixture()
def alice(server: ApiServer):
    with server.client(KEYS["alice"]) as c:
        yield c


@pytest.fixture()
def bob(server: ApiServer):
    with server.client(KEYS["bob"]) as c:
        yield c


@pytest.fixture()
def admin(server: ApiServer):
    with server.client(KEYS["admin"]) as c:
        yield c
