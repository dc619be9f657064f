"""Attacks on the job API (issue 15), each refused at the edge with the JSON error shape:
nothing is stored, nothing is decoded or read that should not be, and the server still answers."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from api_harness import KEYS, wait_job
from PIL import Image

FORM = {"source": "matplotlib sample data (US Navy)", "licence": "public domain", "consent": "public-domain portrait"}


def error_of(r, status: int) -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    err = r.json()["error"]
    assert err["status"] == status and err["message"]
    return err


def still_answers(client) -> None:
    assert client.get("/healthz").status_code == 200


def job_total(client) -> int:
    return client.get("/v1/videos", params={"limit": 1}).json()["total"]


def avatar_folders(server) -> list[str]:
    avatars = Path(server.config).parent / "avatars"
    return sorted(p.name for p in avatars.iterdir()) if avatars.exists() else []


@pytest.fixture(scope="module")
def portrait() -> bytes:
    from matplotlib import cbook

    return Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)).read_bytes()


def _upload(client, name: str, photo: bytes, filename: str = "p.jpg", **form):
    return client.post(
        "/v1/avatars", data={"name": name, **FORM, **form}, files={"photo": (filename, photo, "image/jpeg")}
    )


def _png(size: tuple[int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("L", size).save(buf, "PNG", optimize=True)
    return buf.getvalue()


# -- item 3: built-in avatars are reserved; avatars belong to the key that made them -------------------


def test_no_key_can_shadow_a_built_in_avatar(alice, server, portrait) -> None:
    before = avatar_folders(server)
    for overwrite in ("false", "true"):
        err = error_of(_upload(alice, "default", portrait, overwrite=overwrite), 403)
        assert err["field"] == "name" and "reserved" in err["message"]
    assert avatar_folders(server) == before  # nothing prepared, nothing stored
    assert alice.get("/v1/avatars/default/info").json()["builtin"] is True
    still_answers(alice)


def test_an_avatar_belongs_to_its_key_unless_an_admin_says_otherwise(alice, bob, admin, server, portrait) -> None:
    r = _upload(alice, "alices-anchor", portrait)
    assert r.status_code == 201, r.text
    assert r.json()["mine"] is True
    assert bob.get("/v1/avatars/alices-anchor/info").json()["mine"] is False
    err = error_of(bob.delete("/v1/avatars/alices-anchor"), 403)
    assert err["field"] == "name" and "belongs to another API key" in err["message"]
    err = error_of(_upload(bob, "alices-anchor", portrait, overwrite="true"), 403)
    assert "belongs to another API key" in err["message"]
    info = alice.get("/v1/avatars/alices-anchor/info").json()
    assert info["created"] == r.json()["created"]  # untouched by bob's attempts
    assert admin.delete("/v1/avatars/alices-anchor").status_code == 204
    assert alice.get("/v1/avatars/alices-anchor/info").status_code == 404
    still_answers(bob)


# -- item 4: decoded pixels are capped before anything is decoded ---------------------------------------


def test_a_tiny_png_claiming_many_pixels_is_refused_before_decoding(alice, server) -> None:
    bomb = _png((2500, 2500))  # 6.25 megapixels in a few kilobytes; the server allows 4
    assert len(bomb) < 64 * 1024
    before = avatar_folders(server)
    err = error_of(_upload(alice, "bomb", bomb, filename="b.png"), 422)
    assert err["field"] == "photo" and "megapixels" in err["message"]
    assert avatar_folders(server) == before
    jobs = job_total(alice)
    r = alice.post("/v1/videos", data={"text": "Hello."}, files={"background_image": ("b.png", bomb, "image/png")})
    err = error_of(r, 422)
    assert err["field"] == "background_image" and "megapixels" in err["message"]
    assert job_total(alice) == jobs
    still_answers(alice)


# -- item 5: inputs that used to answer a plain-text 500 ---------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "status", "field"),
    [
        (b'{"text": "\\ud800 hi"}', 422, "text"),  # a lone surrogate
        (b'{"\\udfff": "hi"}', 422, "\udfff".encode("utf-8", "backslashreplace").decode()),
        (b'{"text": "hi", "rundown": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 400, "body"),  # 100 000 deep
        (b'{"text": "caf\xe9"}', 400, "body"),  # not UTF-8
    ],
)
def test_hostile_json_bodies_get_a_4xx_and_create_nothing(alice, raw: bytes, status: int, field: str) -> None:
    jobs = job_total(alice)
    err = error_of(alice.post("/v1/videos", content=raw, headers={"Content-Type": "application/json"}), status)
    assert err["field"] == field
    assert job_total(alice) == jobs
    still_answers(alice)


@pytest.mark.parametrize("offset", ["9223372036854775808", "-1", "1e999", "2147483648"])
def test_out_of_range_offsets_are_422(alice, offset: str) -> None:
    err = error_of(alice.get("/v1/videos", params={"offset": offset}), 422)
    assert err["field"] == "offset"
    still_answers(alice)


# -- item 6: names and ids are matched whole: a trailing newline does not slip through ---------------------


def test_a_trailing_newline_is_not_part_of_a_valid_name_or_id(alice, server, portrait) -> None:
    before = avatar_folders(server)
    err = error_of(_upload(alice, "evil\n", portrait), 422)
    assert err["field"] == "name"
    assert avatar_folders(server) == before
    assert error_of(alice.get("/v1/videos/vid_00000000000000000000%0A"), 404)["field"] == "id"
    assert error_of(alice.get("/v1/avatars/default%0A"), 422)["field"] == "avatar"
    still_answers(alice)


# -- item 7: what the worker cannot do is refused at the edge ------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"text": "Hi.", "size": "1280x722"}, "size", "multiple of 4"),  # half-height odd: chroma rows split
        ({"text": "Hi.", "size": "642x362"}, "size", "multiple of 4"),
        ({"text": "😀🎉👍"}, "text", "no words to speak"),
        ({"text": "\u200b\u200c\u200d\ufeff"}, "text", "no words to speak"),
        ({"text": "\u0000\u0000"}, "text", "no words to speak"),
        ({"text": "?! …"}, "text", "no words to speak"),
    ],
)
def test_what_the_renderer_cannot_do_is_refused_before_queueing(alice, body, field: str, words: str) -> None:
    jobs = job_total(alice)
    err = error_of(alice.post("/v1/videos", json=body), 422)
    assert err["field"] == field and words in err["message"]
    assert job_total(alice) == jobs
    still_answers(alice)


def test_a_size_whose_width_is_2_mod_4_renders(alice) -> None:
    """The real constraint is height % 4 (the I420 chroma planes), not width % 4."""
    r = alice.post("/v1/videos", json={"text": "Hi.", "size": "322x180", "captions": False})
    assert r.status_code == 202, r.text
    done = wait_job(alice, r.json()["id"])[0]
    assert done["state"] == "completed", done


# -- item 8: job creations are rate limited, avatar uploads too --------------------------------------------


def test_avatar_uploads_are_rate_limited_per_key(limited_server) -> None:
    """Burst 5, slow refill (tests/api/conftest.py): 5 uploads reach the handler (403: a reserved name), then 429."""
    with limited_server.client(KEYS["limited"]) as c:
        codes = [_upload(c, "default", b"x").status_code for _ in range(8)]
    assert codes == [403] * 5 + [429] * 3, codes
    with limited_server.client(KEYS["limited"]) as c:
        still_answers(c)
