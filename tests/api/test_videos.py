"""Video jobs over real HTTP: create -> poll -> download, ranges, webhooks, idempotency, cancel, delete, paging."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from api_harness import LONG_TEXT, WEBHOOK_SECRET, HookReceiver, wait_for, wait_job

from anchor.jobs.webhooks import SIGNATURE_HEADER, verify_signature
from streaming.probe import probe


def create(client, body: dict, **headers) -> dict:
    r = client.post("/v1/videos", json=body, headers=headers)
    assert r.status_code in (200, 202), r.text
    return r.json()


def test_create_poll_download_plays_with_the_spoken_length(alice, tmp_path: Path) -> None:
    job = create(alice, {"text": "Good evening. Here is the news from the city."})
    assert job["state"] == "queued" and job["id"].startswith("vid_")
    done, seen = wait_job(alice, job["id"])
    assert done["state"] == "completed", done
    assert done["stage"] == "done" and done["percent"] == 100.0
    assert done["attempts"] == 1 and done["error"] is None
    percents = [p for _, p in seen]
    assert percents == sorted(percents), "percent never goes back"
    assert set(done["links"]) >= {"self", "video"}

    r = alice.get(done["links"]["video"])
    assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
    assert r.headers["accept-ranges"] == "bytes"
    mp4 = tmp_path / "out.mp4"
    mp4.write_bytes(r.content)
    info = probe(mp4)
    assert info.video_codec == "h264" and (info.width, info.height) == (320, 180)
    assert info.audio_codec == "aac"
    spoken = done["duration_s"]
    assert 1.5 < spoken < 8
    assert abs(info.audio_duration_s - spoken) < 0.1
    assert abs(info.video_duration_s - spoken) < 0.1
    assert info.video_frames == done["frames"]

    # captions come with the video, timed from the spoken words, and parse as SRT / WebVTT
    import srt
    import webvtt

    caption_links = {k: v for k, v in done["links"].items() if k not in ("self", "video")}
    assert len(caption_links) == 2, done["links"]
    texts = {}
    for link in caption_links.values():
        r = alice.get(link)
        assert r.status_code == 200
        texts[link.rsplit(".", 1)[-1]] = r.text
    cues = list(srt.parse(texts["srt"]))
    assert cues and "Good evening" in cues[0].content
    assert cues[-1].end.total_seconds() <= spoken + 0.05
    vtt = tmp_path / "c.vtt"
    vtt.write_text(texts["vtt"])
    assert [c.text for c in webvtt.read(str(vtt))] and texts["vtt"].startswith("WEBVTT")

    bare = wait_job(alice, create(alice, {"text": "No captions please.", "captions": False})["id"])[0]
    assert set(bare["links"]) == {"self", "video"}


def test_download_supports_range_requests(alice) -> None:
    job, _ = wait_job(alice, create(alice, {"text": "Range test."})["id"])
    url = job["links"]["video"]
    full = alice.get(url).content
    size = len(full)
    r = alice.get(url, headers={"Range": "bytes=0-99"})
    assert r.status_code == 206
    assert r.headers["content-range"] == f"bytes 0-99/{size}"
    assert r.content == full[:100]
    r = alice.get(url, headers={"Range": f"bytes={size - 10}-"})
    assert r.status_code == 206 and r.content == full[-10:]
    r = alice.get(url, headers={"Range": f"bytes={size + 10}-"})
    assert r.status_code == 416


def test_webhook_is_signed_retried_and_visible_by_polling(alice) -> None:
    hooks = HookReceiver(fail_first=1)  # its own record of requests: nothing left from another test or run
    try:
        job = create(alice, {"text": "Webhook test.", "callback_url": hooks.url()})
        wait_job(alice, job["id"])
        polled = wait_for(
            lambda: (j := alice.get(f"/v1/videos/{job['id']}").json())["webhook"]["delivered"] and j, what="delivery"
        )
    finally:
        hooks.close()
    received = hooks.to("/hook")
    assert len(received) == 2, "the first attempt got HTTP 500, the retry got 200"
    for headers, body in received:
        assert verify_signature(WEBHOOK_SECRET, body, headers[SIGNATURE_HEADER])
        assert not verify_signature("wrong-secret", body, headers[SIGNATURE_HEADER])
    event = json.loads(received[-1][1])
    assert event["type"] == "video.completed"
    assert event["data"]["id"] == job["id"] and event["data"]["state"] == "completed"
    assert event["data"]["links"]["video"].endswith(f"/v1/videos/{job['id']}/video.mp4")
    assert polled["webhook"]["attempts"] == 2 and polled["webhook"]["last_status"] == 200


def test_idempotency_key_returns_the_same_job(alice, bob) -> None:
    body = {"text": "Idempotent hello."}
    key = f"hello-{uuid.uuid4()}"  # unique: the session's server remembers keys across tests and reruns
    listed = alice.get("/v1/videos", params={"limit": 1}).json()["total"]
    first = alice.post("/v1/videos", json=body, headers={"Idempotency-Key": key})
    again = alice.post("/v1/videos", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 202 and again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    other = alice.post("/v1/videos", json={"text": "Something else."}, headers={"Idempotency-Key": key})
    assert other.status_code == 409 and other.json()["error"]["field"] == "Idempotency-Key"
    theirs = bob.post("/v1/videos", json=body, headers={"Idempotency-Key": key})
    assert theirs.status_code == 202 and theirs.json()["id"] != first.json()["id"], "keys are per API key"
    assert alice.get("/v1/videos", params={"limit": 1}).json()["total"] == listed + 1, "one job for three posts"
    wait_job(alice, first.json()["id"])
    wait_job(bob, theirs.json()["id"])


def test_cancel_a_running_and_a_queued_job(alice, server) -> None:
    running = create(alice, {"text": LONG_TEXT})
    queued = create(alice, {"text": "I wait my turn."})
    wait_job(alice, running["id"], until={"processing"})
    r = alice.post(f"/v1/videos/{queued['id']}/cancel")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    wait_for(lambda: alice.get(f"/v1/videos/{running['id']}").json()["percent"] > 10, what="rendering under way")
    r = alice.post(f"/v1/videos/{running['id']}/cancel")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    # the worker stops at its next progress update and leaves no video behind
    job_dir = Path(server.config).parent / "storage" / "jobs" / running["id"]
    wait_for(
        lambda: not (job_dir / "video.mp4").exists() and not list(job_dir.glob(".*.part")),
        what="partial output removed",
    )
    assert alice.get(f"/v1/videos/{running['id']}").json()["state"] == "cancelled"
    assert alice.get(f"/v1/videos/{queued['id']}").json()["started_at"] is None, "a cancelled queued job never starts"
    r = alice.get(f"/v1/videos/{running['id']}/video.mp4")
    assert r.status_code == 409 and r.json()["error"]["field"] == "id"
    again = alice.post(f"/v1/videos/{running['id']}/cancel")
    assert again.status_code == 200 and again.json()["state"] == "cancelled", "cancelling twice is harmless"


def test_delete_removes_the_job_and_its_files(alice, server) -> None:
    job, _ = wait_job(alice, create(alice, {"text": "Delete me."})["id"])
    job_dir = Path(server.config).parent / "storage" / "jobs" / job["id"]
    assert (job_dir / "video.mp4").is_file()
    late = alice.post(f"/v1/videos/{job['id']}/cancel")
    assert late.status_code == 409 and "completed" in late.json()["error"]["message"]
    assert alice.delete(f"/v1/videos/{job['id']}").status_code == 204
    assert not job_dir.exists()
    r = alice.get(f"/v1/videos/{job['id']}")
    assert r.status_code == 404 and r.json()["error"]["field"] == "id"
    assert alice.get(f"/v1/videos/{job['id']}/video.mp4").status_code == 404


def test_list_pages_newest_first_and_only_own_jobs(alice, bob) -> None:
    ids = [create(bob, {"text": f"Page item {i}."})["id"] for i in range(3)]
    page1 = bob.get("/v1/videos", params={"limit": 2}).json()
    assert [j["id"] for j in page1["data"]] == ids[::-1][:2]
    assert page1["next_offset"] == 2
    page2 = bob.get("/v1/videos", params={"limit": 2, "offset": page1["next_offset"]}).json()
    assert ids[0] in [j["id"] for j in page2["data"]]
    assert alice.get(f"/v1/videos/{ids[0]}").status_code == 404, "another key's job is invisible"
    assert all(j["id"] not in ids for j in alice.get("/v1/videos", params={"limit": 100}).json()["data"])
    for i in ids:
        wait_job(bob, i)


@pytest.mark.parametrize("limit", [0, 101, "x"])
def test_list_refuses_bad_paging(alice, limit) -> None:
    r = alice.get("/v1/videos", params={"limit": limit})
    assert r.status_code == 422 and r.json()["error"]["field"] == "limit"
