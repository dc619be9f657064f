"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from anchor.config import Settings, load_settings
from anchor.face.detect import FaceAnalyzer


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings()


@pytest.fixture(scope="session")
def video_analyzer() -> Iterator[FaceAnalyzer]:
    """A face-mesh tracker for re-detecting the mouth on rendered video frames."""
    with FaceAnalyzer.for_video() as fa:
        yield fa
