"""Rundown jobs through POST /v1/videos: a bulletin with graphics and captions, and clear refusals."""

from __future__ import annotations

from pathlib import Path

from api_harness import wait_job

from anchor.disclosure import read_ai_marks
from streaming.probe import probe

RUNDOWN = {
    "programme": {
        "title": "Test Bulletin",
        "channel": "Anchor Test",
        "locale": "en",
        "video": {"aspect": "1:1", "resolution": 720},
    },
    "stories": [
        {"headline": "First story", "text": "Good evening. Here is the first story."},
        {"headline": "Second story", "text": "And this is the second one.", "pause_after": 0.3},
    ],
}


def test_rundown_job_renders_a_bulletin_with_captions(alice, tmp_path: Path) -> None:
    r = alice.post("/v1/videos", json={"rundown": RUNDOWN})
    assert r.status_code == 202, r.text
    done, seen = wait_job(alice, r.json()["id"], timeout=180)
    assert done["state"] == "completed", done
    assert done["percent"] == 100.0 and [p for _, p in seen] == sorted(p for _, p in seen)
    mp4 = tmp_path / "bulletin.mp4"
    mp4.write_bytes(alice.get(done["links"]["video"]).content)
    info = probe(mp4)
    assert (info.width, info.height, info.video_codec, info.audio_codec) == (720, 720, "h264", "aac")
    assert abs(info.video_duration_s - done["duration_s"]) < 0.1
    assert read_ai_marks(mp4).get("ai_generated") == "true"
    srt_link = next(v for k, v in done["links"].items() if "srt" in k)
    assert "second" in alice.get(srt_link).text.lower()


def test_bad_rundowns_are_refused_with_the_field(alice) -> None:
    bad = {**RUNDOWN, "stories": [{"headline": "x", "text": "hi", "colour": "red"}]}
    r = alice.post("/v1/videos", json={"rundown": bad})
    assert r.status_code == 422 and r.json()["error"]["field"] == "rundown.stories[0].colour"
    files = {**RUNDOWN, "stories": [{"headline": "x", "text": "hi", "media": {"image": "/etc/passwd"}}]}
    r = alice.post("/v1/videos", json={"rundown": files})
    assert r.status_code == 422 and r.json()["error"]["field"] == "rundown.stories[0].media.image"
    r = alice.post("/v1/videos", json={"rundown": RUNDOWN, "text": "and text"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "rundown"
    r = alice.post("/v1/videos", json={"rundown": "not a mapping"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "rundown"
    total = alice.get("/v1/videos", params={"limit": 1}).json()["total"]
    mute = {**RUNDOWN, "stories": [RUNDOWN["stories"][0], {"headline": "y", "text": 'Ok. <break time="300ms"/> 😀🎉'}]}
    r = alice.post("/v1/videos", json={"rundown": mute})  # a piece the voice cannot speak: refused before queueing
    assert r.status_code == 422 and r.json()["error"]["field"] == "rundown.stories[1].text", r.text
    assert "no words to speak" in r.json()["error"]["message"]
    assert alice.get("/v1/videos", params={"limit": 1}).json()["total"] == total
