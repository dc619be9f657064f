"""A channel built from its channel file proves what it aired: every item event is in the signed,
hash-chained as-run record (with the script and the policy's decision), and held items wait."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from anchor.config import Settings
from anchor.live.config import load_channel_config
from anchor.live.intake import admit
from anchor.live.items import ItemIn
from anchor.live.runtime import build_channel
from anchor.program.pipeline import Pipeline
from anchor.provenance.asrun import verify_log
from anchor.provenance.house import signing_identity
from tests.helpers import wait_until


def test_the_as_run_record_holds_every_item_event_and_verifies(settings: Settings, tmp_path: Path) -> None:
    cfg_file = tmp_path / "channel.yaml"
    cfg_file.write_text(
        yaml.safe_dump(
            {
                "name": "prov",
                "width": 320,
                "height": 180,
                "queue_db": str(tmp_path / "q.db"),
                "webrtc": {"enabled": False},
            }
        )
    )
    pipeline = Pipeline(settings)
    runtime = build_channel(pipeline, load_channel_config(cfg_file))
    assert runtime.provenance is not None and runtime.provenance.watermark is not None
    with runtime:
        queue = runtime.queue
        item = admit(queue, pipeline.policy, ItemIn(text="Good evening, the harbour reopened.", title="Harbour"))
        held = admit(queue, pipeline.policy, ItemIn(text="Reports of a massacre in the north."))
        runtime.channel.nudge()
        wait_until(lambda: queue.get(item.id).state == "played", 30)
        assert queue.get(held.id).state == "held", "a held item does not play before it is approved"
    log = settings.provenance.asrun_dir / "prov.jsonl"
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    events = [(line["event"], line.get("item_id")) for line in lines]
    assert ("item.started", item.id) in events and ("item.finished", item.id) in events
    started = next(line for line in lines if line["event"] == "item.started")
    assert started["text"] == "Good evening, the harbour reopened." and started["policy"]["outcome"] == "allow"
    assert started["avatar"] == "default" and started["consent"]
    anchors = signing_identity(settings.provenance).trust_anchors
    report = verify_log(log, anchors)
    assert report.ok, report.problems
    # a line removed from the middle breaks the chain
    text = log.read_text().splitlines()
    log.write_text("\n".join(text[:1] + text[2:]) + "\n")
    assert not verify_log(log, anchors).ok
