"""The air-check recorder: rotating MP4 segments, each C2PA-signed with the as-run head, old ones deleted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from anchor.provenance.asrun import AsRunLog, verify_log
from anchor.provenance.c2pa_sign import ClipFacts, Presenter
from anchor.provenance.keys import SigningIdentity
from anchor.provenance.payload import Payload
from anchor.provenance.sinks import AirCheckRecorder, WatermarkingSink
from anchor.provenance.verify import check_manifest, detect_watermark
from anchor.provenance.watermark import Watermarker
from streaming.frames import AudioChunk, VideoFrame
from tests.provenance.conftest import ISSUER
from tests.provenance.video import photos, scene


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_segments_rotate_are_signed_and_old_ones_go(tmp_path: Path, identity: SigningIdentity) -> None:
    clock = Clock()
    out = tmp_path / "aircheck"
    out.mkdir()
    old = out / "aircheck-20261001T000000Z-000000000.mp4"
    old.write_bytes(b"an old segment")
    keep_me = out / "notes.txt"
    keep_me.write_text("not a segment")
    facts = ClipFacts(
        content_id="news24-run1", issuer=ISSUER, presenter=Presenter("default", "public domain"), title="news24"
    )
    with AsRunLog(tmp_path / "asrun.jsonl", identity, channel="news24", clock=clock) as asrun:
        rec = AirCheckRecorder(
            out,
            25,
            640,
            360,
            facts=facts,
            identity=identity,
            segment_s=1.0,
            keep=timedelta(days=30),
            asrun_head=asrun.head,
            clock=clock,
        )
        wm = Watermarker(Payload.for_ids(ISSUER, "news24-run1"), identity.watermark_key)
        sink = WatermarkingSink(rec, wm)
        base = next(scene(photos()[0], 640, 360, 1))
        for n in range(60):
            if n % 25 == 0:
                asrun.record({"event": "item.started", "item_id": n, "frame": n})
            sink.write(VideoFrame(n, base.copy(), 25), AudioChunk(n * 1920, np.zeros(1920, np.int16)))
            clock.now += timedelta(seconds=0.04)
        sink.close()
    assert rec.failures == []
    segments = sorted(out.glob("aircheck-*.mp4"))
    assert [p.name for p in segments] == [
        "aircheck-20261201T200000Z-000000000.mp4",
        "aircheck-20261201T200001Z-000000025.mp4",
        "aircheck-20261201T200002Z-000000050.mp4",
    ]
    assert not old.exists() and keep_me.exists()
    heads = []
    for p in segments:
        m = check_manifest(p, identity.trust_anchors)
        assert m.state == "valid" and m.ai_generated, (p.name, m)
        assert m.content["kind"] == "aircheck"
        a = m.assertions
        heads.append(a["org.anchor.asrun"]["seq"])
        assert a["org.anchor.segment"]["first_frame"] == int(p.stem.rsplit("-", 1)[1])
    assert heads == sorted(heads) and heads[-1] >= 3  # each segment stamps the as-run head at its close
    assert verify_log(tmp_path / "asrun.jsonl", identity.trust_anchors).ok
    assert detect_watermark(segments[0], identity.watermark_key).found
