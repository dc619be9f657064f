"""`anchor serve --channel FILE` runs the channel and mounts its control API under /v1/channels/NAME."""

from __future__ import annotations

import time
from pathlib import Path

from api_harness import KEYS, ApiServer, write_config


def test_serve_runs_a_channel_under_v1_channels(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.yaml", {"storage_dir": str(tmp_path / "storage"), "keys": KEYS})
    channel = tmp_path / "ch.yaml"
    channel.write_text(f"name: newsroom\nwidth: 320\nheight: 180\nqueue_db: {tmp_path / 'q.db'}\noutputs: []\n")
    server = ApiServer(config, tmp_path / "serve.log", extra=("--channel", str(channel)))
    try:
        with server.client(KEYS["alice"]) as c, server.client() as anonymous:
            assert anonymous.get("/v1/channels/newsroom/queue").status_code == 401
            r = c.post("/v1/channels/newsroom/say-now", json={"text": "Good evening from the API server."})
            assert r.status_code == 202, r.text
            item_id = r.json()["id"]
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                now = c.get("/v1/channels/newsroom/now-playing").json()
                if (now["item"] or {}).get("id") == item_id:
                    break
                time.sleep(0.1)
            assert (now["item"] or {}).get("id") == item_id
            assert c.get("/v1/channels/nosuch/queue").status_code == 404
            assert c.post("/v1/videos", json={"text": "And a video job beside it."}).status_code == 202
            r = c.post("/v1/channels/newsroom/whep", content=b"nope", headers={"Content-Type": "application/sdp"})
            assert r.status_code == 400
    finally:
        server.proc.stop()
    assert not server.proc.alive()
