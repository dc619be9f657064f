"""Fixtures: a test CA and keys made in a temporary folder, settings pointing at them, a signed clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from anchor.config import ProvenanceSettings
from anchor.provenance.c2pa_sign import Presenter
from anchor.provenance.house import output_provenance, signing_identity
from anchor.provenance.keys import SigningIdentity, init_keys
from anchor.provenance.sinks import WatermarkingSink
from streaming.file import Mp4Sink
from streaming.frames import AudioChunk, VideoFrame
from tests.provenance.video import photos, scene

ISSUER = "Test Newsroom"
SIZE = (640, 360)


@pytest.fixture(scope="session")
def prov(tmp_path_factory: pytest.TempPathFactory) -> ProvenanceSettings:
    keys = tmp_path_factory.mktemp("keys")
    init_keys(keys, ISSUER)
    return ProvenanceSettings(
        issuer=ISSUER, keys_dir=keys, index_file=keys / "index.jsonl", policy={"lists_file": None}
    )


@pytest.fixture(scope="session")
def identity(prov: ProvenanceSettings) -> SigningIdentity:
    return signing_identity(prov)


def render_clip(path: Path, prov: ProvenanceSettings, *, frames: int = 50, content_id: str = "clip-1") -> Path:
    """A clip through the real hooks: frames watermarked on the way into an Mp4Sink that signs on close."""
    out = output_provenance(
        prov,
        content_id=content_id,
        presenter=Presenter("default", "public-domain portrait; no consent needed", "matplotlib", "public domain"),
        scripts=["Good evening.", "Here is the news."],
        language="en",
        voice="en-us",
        speech_backend="espeak",
        title="Evening news",
    )
    w, h = SIZE
    with Mp4Sink(path, w, h, 25, finalize=out.finalize) as sink:
        target = WatermarkingSink(sink, out.watermarker) if out.watermarker else sink
        for i, img in enumerate(scene(photos()[0], w, h, frames, seed=3)):
            target.write(VideoFrame(i, img, 25), AudioChunk(i * 1920, np.zeros(1920, np.int16)))
    return path


@pytest.fixture(scope="session")
def signed_clip(tmp_path_factory: pytest.TempPathFactory, prov: ProvenanceSettings) -> Path:
    return render_clip(tmp_path_factory.mktemp("clips") / "signed.mp4", prov)
