"""Fixtures for the streaming tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.streaming.nginx_rtmp import NginxMissing, NginxRtmp


@pytest.fixture
def rtmp_server(tmp_path: Path) -> Iterator[NginxRtmp]:
    """A running nginx RTMP server on 127.0.0.1 (fails, never skips, when nginx is missing)."""
    try:
        server = NginxRtmp(tmp_path / "nginx")
    except NginxMissing as error:
        pytest.fail(str(error), pytrace=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()
