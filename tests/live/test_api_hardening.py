"""Attacks on the channel control API (issue 15) over real HTTP: paths outside the media roots,
hostile JSON, huge ids, unspeakable text. Each is refused with the JSON error shape, nothing is
queued or stored, and the server still answers. Uploaded audio is kept and played."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from anchor.api.channel import channel_app
from anchor.api.server import ApiServer
from anchor.config import BUILTIN_AVATARS, Settings
from anchor.face.avatar import AvatarStore
from anchor.live.channel import Channel
from anchor.live.media import MediaRoots
from anchor.live.store import ScriptQueue
from anchor.program.pipeline import Pipeline
from anchor.speech.audio_in import encode_audio
from anchor.speech.registry import make_speech_backend
from streaming.clock import SystemClock
from tests.helpers import wait_until

KEY = "hardening-key-1"


class Null:
    def write(self, frame: object, audio: object) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def speech_wav(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    voice = make_speech_backend(settings.speech).synthesize("Good evening.")
    path = tmp_path_factory.mktemp("voice") / "voice.wav"
    encode_audio(voice.pcm, path)
    return path.read_bytes()


@pytest.fixture
def site(settings: Settings, tmp_path: Path, speech_wav: bytes) -> Iterator[tuple[httpx.Client, Channel, Path]]:
    roots, private, uploads = tmp_path / "media", tmp_path / "private", tmp_path / "uploads"
    roots.mkdir()
    private.mkdir()
    (roots / "voice.wav").write_bytes(speech_wav)
    (private / "secret.wav").write_bytes(speech_wav)  # readable by the server, but not for broadcast
    (roots / "link.wav").symlink_to(private / "secret.wav")
    queue = ScriptQueue(tmp_path / "q.db")
    channel = Channel(
        Pipeline(settings), queue, AvatarStore(BUILTIN_AVATARS).load("default"), [Null()], SystemClock(),
        width=320, height=180, media=MediaRoots([roots], uploads),
    )  # fmt: skip
    with channel, ApiServer(channel_app(channel, KEY), "127.0.0.1", 0) as api:
        channel.pause()  # items stay in the queue unless a test resumes
        headers = {"Authorization": f"Bearer {KEY}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{api.port}", headers=headers, timeout=30) as c:
            yield c, channel, tmp_path
    queue.close()


def error_of(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    err = r.json()["error"]
    assert err["status"] == status and err["message"]
    return err


def waiting(client: httpx.Client) -> list[dict]:
    return client.get("/queue").json()["items"]


def test_paths_outside_the_media_roots_are_refused_alike_and_never_opened(site) -> None:
    client, channel, tmp = site
    outside = [
        "/etc/passwd",
        str(tmp / "private" / "secret.wav"),  # exists and is audio
        str(tmp / "private" / "nothing-here.wav"),  # does not exist
        str(tmp / "media" / ".." / "private" / "secret.wav"),
        "../private/secret.wav",
        str(tmp / "media" / "link.wav"),  # a symlink out of the root
        str(tmp / "media" / "missing.wav"),  # inside, but missing
        str(tmp / "media"),  # a folder
        "voice.wav\x00.txt",
    ]
    messages = set()
    for path in outside:
        err = error_of(client.post("/queue", json={"audio_path": path}), 422)
        assert err["field"] == "audio_path"
        messages.add(err["message"])
    assert len(messages) == 1, messages  # nothing tells a missing file from a readable one
    assert "secret" not in messages.pop()
    assert waiting(client) == []
    text_item = client.post("/queue", json={"text": "A story."}).json()
    err = error_of(
        client.patch(f"/queue/{text_item['id']}", json={"audio_path": str(tmp / "private" / "secret.wav")}), 422
    )
    assert err["field"] == "audio_path"
    assert client.get(f"/queue/{text_item['id']}").json()["audio_path"] is None
    ok = client.post("/queue", json={"audio_path": "voice.wav"})  # relative to a root
    assert ok.status_code == 201, ok.text
    assert ok.json()["audio_path"] == str((tmp / "media" / "voice.wav").resolve())
    assert client.get("/healthz").status_code == 200


def test_uploaded_audio_is_kept_in_the_channel_folder_and_plays(site, speech_wav: bytes) -> None:
    client, channel, tmp = site
    err = error_of(client.post("/queue", files={"audio": ("a.wav", b"not audio at all", "audio/wav")}), 415)
    assert err["field"] == "audio"
    err = error_of(
        client.post("/queue", data={"title": "x", "mode": "sideways"}, files={"audio": ("a.wav", speech_wav)}), 422
    )
    assert err["field"] == "mode"
    assert not (tmp / "uploads").exists() or not any((tmp / "uploads").iterdir())  # nothing stored
    assert waiting(client) == []
    r = client.post("/queue", data={"title": "Uploaded"}, files={"audio": ("evening.wav", speech_wav, "audio/wav")})
    assert r.status_code == 201, r.text
    item = r.json()
    stored = Path(item["audio_path"])
    assert stored.parent == (tmp / "uploads").resolve() and stored.read_bytes() == speech_wav
    assert not any(p.name.endswith(".part") for p in stored.parent.iterdir())
    client.post("/resume")
    wait_until(lambda: client.get(f"/queue/{item['id']}").json()["state"] in ("played", "failed"), timeout=60)
    assert client.get(f"/queue/{item['id']}").json()["state"] == "played"


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("POST", "/queue", b'{"text": "\\ud800 hi"}', 422, "text"),
        ("POST", "/queue", b'{"text": "hi", "title": "\\udc00"}', 422, "title"),
        ("POST", "/say-now", b'{"text": "\\ud800"}', 422, "text"),
        ("POST", "/queue", b'{"text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 400, "body"),
        ("POST", "/queue", b'{"text": "\xf0\x9f\x98\x80\xf0\x9f\x8e\x89"}', 422, "text"),  # emoji only
        ("POST", "/queue", b'{"text": "\\u200b\\u200d"}', 422, "text"),  # zero-width only
        ("POST", "/queue", b'{"text": "\\u0000"}', 422, "text"),
        ("POST", "/say-now", b'{"text": "\xf0\x9f\x98\x80"}', 422, "text"),
        ("POST", "/queue", b"[1, 2]", 400, "body"),
        ("GET", "/queue/9223372036854775808", None, 422, "item_id"),
        ("DELETE", "/queue/99999999999999999999", None, 422, "item_id"),
        ("PATCH", "/queue/9223372036854775808", b'{"title": "x"}', 422, "item_id"),
        ("GET", "/queue?history=9223372036854775808", None, 422, "history"),
        ("GET", "/queue/0", None, 422, "item_id"),
    ],
)
def test_hostile_requests_get_a_4xx_and_change_nothing(
    site, method: str, path: str, body, status: int, field: str
) -> None:
    client, _, _ = site
    before = waiting(client)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    err = error_of(client.request(method, path, content=body, headers=headers), status)
    assert err["field"] == field
    assert waiting(client) == before
    assert client.get("/healthz").status_code == 200


def test_moves_out_of_range_are_422_and_leave_the_order(site) -> None:
    client, _, _ = site
    a = client.post("/queue", json={"text": "First."}).json()
    b = client.post("/queue", json={"text": "Second."}).json()
    for body, field in (
        ({"to_index": -1}, "to_index"),
        ({"to_index": 10**30}, "to_index"),
        ({"before_id": 2**63}, "before_id"),
    ):
        err = error_of(client.patch(f"/queue/{b['id']}", json=body), 422)
        assert err["field"] == field
    assert [i["id"] for i in waiting(client)] == [a["id"], b["id"]]


def test_a_deep_body_without_a_content_type_is_a_400_too(site) -> None:
    client, _, _ = site
    deep = b'{"text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    for method, path in (("POST", "/queue"), ("PATCH", "/queue/1")):
        r = client.request(method, path, content=deep, headers={"Content-Type": ""})
        assert error_of(r, 400)["field"] == "body"
    assert client.get("/readyz").json() == {"status": "ready"}
