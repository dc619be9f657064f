"""Shared fixtures for face tests: one FaceAnalyzer per session and a public-domain portrait."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from anchor.face.detect import FaceAnalyzer


@pytest.fixture(scope="session")
def analyzer() -> Iterator[FaceAnalyzer]:
    """Building the mediapipe graphs costs ~0.5 s; share them across the session."""
    with FaceAnalyzer() as fa:
        yield fa


@pytest.fixture(scope="session")
def portrait_path() -> Path:
    """Grace Hopper (US Navy photo, public domain) as shipped by matplotlib: 512x600 JPEG, one frontal face."""
    from matplotlib import cbook  # a test dependency (pip install -e ".[test]")

    return Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


@pytest.fixture(scope="session")
def portrait_bytes(portrait_path: Path) -> bytes:
    return portrait_path.read_bytes()


@pytest.fixture(scope="session")
def portrait_rgb(portrait_bytes: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(portrait_bytes)) as im:
        return np.asarray(im.convert("RGB"))
