"""The content policy at the job API's edge: a refused or held script gets a 422 before anything is queued;
a finished job's video is C2PA-signed and verifies with `anchor verify`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from api_harness import wait_job

ROOT = Path(__file__).resolve().parents[2]


def test_a_refused_script_is_a_422_and_no_job_is_made(alice) -> None:
    before = alice.get("/v1/videos", params={"limit": 100}).json()["total"]
    r = alice.post("/v1/videos", json={"text": "Good evening. They should be exterminated."})
    assert r.status_code == 422 and r.json()["error"]["field"] == "text"
    assert "content policy" in r.json()["error"]["message"]
    r = alice.post("/v1/videos", json={"text": "Reports of a massacre in the north."})
    assert r.status_code == 422 and "review" in r.json()["error"]["message"]
    rundown = {
        "programme": {"title": "T", "channel": "C"},
        "stories": [{"text": "Fine."}, {"text": "They are vermin."}],
    }
    r = alice.post("/v1/videos", json={"rundown": rundown})
    assert r.status_code == 422 and r.json()["error"]["field"] == "rundown.stories[1].text"
    assert alice.get("/v1/videos", params={"limit": 100}).json()["total"] == before


def test_a_finished_job_is_signed_and_verifies(alice, tmp_path: Path) -> None:
    job = alice.post("/v1/videos", json={"text": "Good evening from the API."}).json()
    done, _ = wait_job(alice, job["id"])
    assert done["state"] == "completed", done
    mp4 = tmp_path / "job.mp4"
    mp4.write_bytes(alice.get(done["links"]["video"]).content)
    r = subprocess.run(
        [sys.executable, "-m", "anchor", "verify", str(mp4), "--json"], capture_output=True, text=True, cwd=ROOT
    )
    report = json.loads(r.stdout)
    # the server and this check share the keys (both run from the checkout): signed, unaltered, watermarked
    assert r.returncode == 0 and report["verdict"] == "authentic", r.stdout + r.stderr
    assert report["watermark"]["found"] is True
