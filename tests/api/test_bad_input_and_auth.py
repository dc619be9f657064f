"""Every refusal is a 4xx JSON error naming the field; auth and rate limit; avatars and voices."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np
import pytest
from api_harness import KEYS, wait_job
from PIL import Image


def error_of(r, status: int) -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    err = r.json()["error"]
    assert err["status"] == status and err["message"]
    return err


# -- auth -------------------------------------------------------------------------------------


def test_health_and_docs_need_no_key_everything_else_does(server) -> None:
    with server.client() as anon:
        assert anon.get("/healthz").json()["status"] == "ok"
        assert anon.get("/docs").status_code == 200
        spec = anon.get("/openapi.json").json()
        assert {"/v1/videos", "/v1/videos/{job_id}", "/v1/avatars", "/v1/voices"} <= set(spec["paths"])
        assert "multipart/form-data" in spec["paths"]["/v1/videos"]["post"]["requestBody"]["content"]
        for method, path in [
            ("GET", "/v1/videos"),
            ("POST", "/v1/videos"),
            ("GET", "/v1/voices"),
            ("GET", "/v1/avatars"),
        ]:
            err = error_of(anon.request(method, path), 401)
            assert err["field"] == "Authorization"
        r = anon.get("/v1/videos", headers={"Authorization": "Bearer not-a-key"})
        assert error_of(r, 401)["message"] == "this API key is not valid"
        assert r.headers["www-authenticate"].startswith("Bearer")
        error_of(anon.get("/v1/videos", headers={"Authorization": f"Basic {KEYS['alice']}"}), 401)


def test_job_creation_is_rate_limited_per_key(limited_server) -> None:
    """Burst 5, one token back per 100 s: the first 5 pass the limiter (then 422: empty text), the rest are refused."""
    with limited_server.client(KEYS["limited"]) as c:
        codes = [c.post("/v1/videos", json={"text": ""}).status_code for _ in range(8)]
    assert codes == [422] * 5 + [429] * 3, "the burst is allowed first, then refused"
    with limited_server.client(KEYS["limited"]) as c:
        r = c.post("/v1/videos", json={"text": ""})
    err = error_of(r, 429)
    assert err["field"] == "Authorization" and err["message"].startswith("too many videos requested with this key")
    assert 60 < int(r.headers["retry-after"]) <= 100, "the next token is about 100 s away"
    with limited_server.client(KEYS["alice"]) as alice:
        assert alice.post("/v1/videos", json={"text": ""}).status_code == 422, "other keys are not affected"


# -- video requests ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"text": ""}, "text", "empty"),
        ({"text": "   \n "}, "text", "empty"),
        ({}, "text", "empty"),
        ({"text": "x" * 501}, "text", "limit is 500"),
        ({"text": "Hi.", "avatar": "nobody"}, "avatar", "unknown avatar"),
        ({"text": "Hi.", "avatar": "../../etc"}, "avatar", "not allowed"),
        ({"text": "Hi.", "voice": "klingon"}, "voice", "unknown voice"),
        ({"text": "Hi.", "language": "fr-xx"}, "language", "unknown language"),
        ({"text": "Hi.", "size": "big"}, "size", "1280x720"),
        ({"text": "Hi.", "size": "321x180"}, "size", "even"),
        ({"text": "Hi.", "size": "640x360", "aspect": "1:1"}, "size", "either"),
        ({"text": "Hi.", "aspect": "4:3"}, "aspect", ""),
        ({"text": "Hi.", "rate": 5}, "rate", ""),
        ({"text": "Hi.", "callback_url": "ftp://example/x"}, "callback_url", "http"),
        ({"text": "Hi.", "callback_url": "http://169.254.169.254/latest/meta-data/"}, "callback_url", "non-public"),
        ({"text": "Hi.", "callback_url": "http://10.0.0.7/hook"}, "callback_url", "webhook_private_networks"),
        ({"text": "Hi.", "colour": "red"}, "colour", ""),
        ({"text": "Hi.", "background": "sky"}, "background", "#1a2b3c"),
        ({"rundown": {"items": [{"kind": "nonsense"}]}}, "rundown.programme", "field required"),
    ],
)
def test_bad_video_requests_get_422_naming_the_field(alice, body, field, words) -> None:
    err = error_of(alice.post("/v1/videos", json=body), 422)
    assert err["field"] == field
    assert words.lower() in err["message"].lower()


def test_malformed_bodies_get_400_or_415(alice) -> None:
    err = error_of(alice.post("/v1/videos", content=b"{not json", headers={"Content-Type": "application/json"}), 400)
    assert err["field"] == "body"
    error_of(alice.post("/v1/videos", json=["a list"]), 400)
    err = error_of(alice.post("/v1/videos", content=b"text=hi", headers={"Content-Type": "text/plain"}), 415)
    assert err["field"] == "Content-Type"


def test_unknown_jobs_are_404(alice) -> None:
    for path in ["/v1/videos/vid_00000000000000000000", "/v1/videos/../../etc/passwd", "/v1/videos/nope/video.mp4"]:
        r = alice.get(path)
        assert r.status_code == 404, path
    assert error_of(alice.post("/v1/videos/vid_00000000000000000000/cancel"), 404)["field"] == "id"
    assert error_of(alice.delete("/v1/videos/vid_00000000000000000000"), 404)["field"] == "id"


def _wav(samples: np.ndarray, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
    return buf.getvalue()


def _post_audio(client, data: bytes, name: str = "speech.wav", **fields):
    return client.post("/v1/videos", data=fields, files={"audio": (name, data, "audio/wav")})


def test_audio_uploads_are_checked_by_content(alice) -> None:
    tone = (0.3 * 32767 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000)).astype(np.int16)
    err = error_of(_post_audio(alice, _wav(np.zeros(16000, np.int16))), 422)
    assert err["field"] == "audio" and "silent" in err["message"]
    corrupt = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x07" * 64
    err = error_of(_post_audio(alice, corrupt), 422)
    assert err["field"] == "audio" and "corrupt" in err["message"]
    err = error_of(_post_audio(alice, b"just some text, honestly", name="speech.wav"), 415)
    assert err["field"] == "audio"
    err = error_of(_post_audio(alice, _wav(np.tile(tone, 21))), 422)
    assert err["field"] == "audio" and "20 s" in err["message"]
    err = error_of(_post_audio(alice, _wav(tone), text="Hello."), 422)
    assert err["field"] == "text" and "either" in err["message"]
    r = _post_audio(alice, _wav(tone))
    assert r.status_code == 202, r.text
    done = wait_job(alice, r.json()["id"])[0]
    assert done["state"] == "completed", done
    assert abs(done["duration_s"] - 1.0) < 0.1, "the video is as long as the uploaded speech"


# -- avatars and voices -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def portrait() -> bytes:
    from matplotlib import cbook  # a test dependency (pip install -e ".[test]")

    return Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)).read_bytes()


def _png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


FORM = {
    "source": "matplotlib sample data (US Navy, public domain)",
    "licence": "public domain",
    "consent": "public-domain official portrait",
}


def _upload(client, name: str, photo: bytes, filename: str = "p.jpg", **form):
    return client.post(
        "/v1/avatars", data={"name": name, **FORM, **form}, files={"photo": (filename, photo, "image/jpeg")}
    )


def test_avatar_upload_list_preview_use_and_delete(alice, server, portrait) -> None:
    r = _upload(alice, "grace", portrait)
    assert r.status_code == 201, r.text
    assert r.json()["licence"] == "public domain" and r.json()["builtin"] is False
    names = [a["name"] for a in alice.get("/v1/avatars").json()["data"]]
    assert "grace" in names and "default" in names
    preview = alice.get("/v1/avatars/grace")
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(preview.content)).size == tuple(r.json()["image_size"])
    err = error_of(_upload(alice, "grace", portrait), 409)
    assert err["field"] == "name"
    job = alice.post("/v1/videos", json={"text": "A new face.", "avatar": "grace"}).json()
    assert wait_job(alice, job["id"])[0]["state"] == "completed"
    assert alice.delete("/v1/avatars/grace").status_code == 204
    assert error_of(alice.get("/v1/avatars/grace"), 404)["field"] == "avatar"
    assert error_of(alice.delete("/v1/avatars/default"), 403)["field"] == "name"


def test_bad_photos_get_4xx_and_store_nothing(alice, server, portrait) -> None:
    avatars = Path(server.config).parent / "avatars"
    before = sorted(p.name for p in avatars.iterdir()) if avatars.exists() else []
    err = error_of(_upload(alice, "textfile", b"hello, I am not an image at all", filename="face.jpg"), 415)
    assert err["field"] == "photo"
    err = error_of(_upload(alice, "blank", _png(Image.new("RGB", (400, 400), (128, 128, 128))), filename="b.png"), 422)
    assert err["field"] == "photo" and "no face" in err["message"]
    one = Image.open(io.BytesIO(portrait)).convert("RGB")
    two = Image.new("RGB", (one.width * 2, one.height))
    two.paste(one, (0, 0))
    two.paste(one, (one.width, 0))
    err = error_of(_upload(alice, "twins", _png(two), filename="t.png"), 422)
    assert err["field"] == "photo" and "2 faces" in err["message"]
    err = error_of(_upload(alice, "huge", _png(Image.new("L", (4100, 300))), filename="h.png"), 422)
    assert err["field"] == "photo" and "4000" in err["message"]
    err = error_of(_upload(alice, "heavy", b"\xff\xd8\xff" + np.random.default_rng(0).bytes(3 * 2**20)), 413)
    assert err["field"] == "photo"
    err = error_of(_upload(alice, "../escape", portrait), 422)
    assert err["field"] == "name"
    err = error_of(_upload(alice, "noconsent", portrait, consent="  "), 422)
    assert err["field"] == "consent"
    r = alice.post("/v1/avatars", data={"name": "nophoto", **FORM})
    assert error_of(r, 422)["field"] == "photo"
    after = sorted(p.name for p in avatars.iterdir()) if avatars.exists() else []
    assert after == before


def test_voices_lists_installed_voices_and_languages(alice) -> None:
    body = alice.get("/v1/voices").json()
    assert {"en", "zh"} <= set(body["languages"])
    ids = {v["id"] for v in body["data"]}
    assert body["defaults"]["en"] in ids and body["defaults"]["zh"] in ids
    job = alice.post("/v1/videos", json={"text": "今天的新闻。", "language": "zh", "voice": body["defaults"]["zh"]})
    assert job.status_code == 202
    assert wait_job(alice, job.json()["id"])[0]["state"] == "completed"
