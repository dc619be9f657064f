"""POST /v1/videos with a `background_image` upload: rendered as the backdrop (cover-scaled, centre-cropped,
anchor on top) in embedded and distributed mode; bad uploads refused with nothing stored."""

from __future__ import annotations

import io
import uuid
import wave
from pathlib import Path

import httpx
import numpy as np
from api_harness import ApiServer, Proc, RedisServer, anchor_cmd, wait_job, write_config
from PIL import Image

from anchor.studio.backdrop import background_from_image, decode_background_image
from streaming.probe import decode_frames, probe

RED, BLUE, GREEN = (255, 0, 0), (0, 0, 255), (0, 255, 0)


def split_picture(width: int = 360, height: int = 360, band: int = 60) -> np.ndarray:
    """Left half red, right half blue, with green bands `band` px high at the top and bottom.

    Cover-fitted to 16:9 the bands fall outside the crop; a stretched picture would show them at
    the top of the frame, and a letterboxed ("contain") one would show black bars at the sides."""
    img = np.zeros((height, width, 3), np.uint8)
    img[:, : width // 2] = RED
    img[:, width // 2 :] = BLUE
    img[:band] = GREEN
    img[height - band :] = GREEN
    return img


def encode(img: np.ndarray | Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    (img if isinstance(img, Image.Image) else Image.fromarray(img)).save(buf, fmt)
    return buf.getvalue()


def post(
    client: httpx.Client,
    image: bytes,
    name: str = "backdrop.png",
    files: dict | None = None,
    headers: dict | None = None,
    **fields,
):
    all_files = {"background_image": (name, image, "image/png"), **(files or {})}
    return client.post("/v1/videos", data=fields, files=all_files, headers=headers or {})


def error_of(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    return r.json()["error"]


def middle_frame(client: httpx.Client, job: dict, tmp_path: Path) -> np.ndarray:
    r = client.get(job["links"]["video"])
    assert r.status_code == 200
    mp4 = tmp_path / f"{job['id']}.mp4"
    mp4.write_bytes(r.content)
    info = probe(mp4)
    assert (info.width, info.height) == (320, 180) and info.video_frames == job["frames"]
    return next(decode_frames(mp4, [job["frames"] // 2]))[1]


def assert_backdrop_with_presenter(frame: np.ndarray) -> None:
    """Red at the top-left corner, blue at the top-right (outside the AI label), the anchor in the centre."""
    h, w = frame.shape[:2]
    for x, y, colour in ((4, 4, RED), (w - 5, 4, BLUE), (4, h // 2, RED), (w - 5, h // 2, BLUE)):
        px = frame[y, x].astype(int)
        assert np.abs(px - colour).max() < 70, f"pixel ({x}, {y}) is {px.tolist()}, expected about {colour}"
    backdrop = np.zeros_like(frame)
    backdrop[:, : w // 2], backdrop[:, w // 2 :] = RED, BLUE
    face = (slice(int(0.30 * h), int(0.50 * h)), slice(w // 2 - 15, w // 2 + 15))
    diff = np.abs(frame[face].astype(int) - backdrop[face].astype(int)).mean()
    assert diff > 60, f"the centre looks like the backdrop (mean difference {diff:.0f}): no presenter on top"


def job_files(server: ApiServer) -> set[str]:
    jobs = Path(server.config).parent / "storage" / "jobs"
    return {p.name for p in jobs.iterdir()} if jobs.exists() else set()


# -- the backdrop itself (no server) ----------------------------------------------------------


def test_cover_fit_keeps_the_aspect_and_crops_the_centre(tmp_path: Path) -> None:
    path = tmp_path / "b.png"
    path.write_bytes(encode(split_picture()))
    out = background_from_image(path, 320, 180)
    assert out.shape == (180, 320, 3) and out.dtype == np.uint8
    assert (out[:, :150] == RED).all() and (out[:, 170:] == BLUE).all(), "no green bands, no bars: cover-cropped"
    wide = background_from_image(path, 180, 320)  # portrait frame: the sides are cropped, the bands stay
    assert (wide[:20] == GREEN).all() and (wide[-20:] == GREEN).all()
    assert (wide[100:220, :60] == RED).all() and (wide[100:220, -60:] == BLUE).all()


def test_transparent_pixels_become_black_and_exif_rotation_is_applied() -> None:
    rgba = np.zeros((80, 80, 4), np.uint8)
    rgba[:, :40] = (255, 255, 255, 255)  # opaque white left, fully transparent (white underneath) right
    rgba[:, 40:] = (255, 255, 255, 0)
    flat = decode_background_image(encode(Image.fromarray(rgba, "RGBA")))
    assert (flat[:, :40] == 255).all() and (flat[:, 40:] == 0).all()

    landscape = np.zeros((80, 160, 3), np.uint8)
    im = Image.fromarray(landscape)
    exif = im.getexif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif)
    assert decode_background_image(buf.getvalue()).shape[:2] == (160, 80)


# -- over HTTP ----------------------------------------------------------------------------------


def test_background_image_is_rendered_behind_the_anchor(alice, tmp_path: Path) -> None:
    image = encode(split_picture())
    headers = {"Idempotency-Key": f"backdrop-{uuid.uuid4()}"}  # unique: the session's server keeps keys
    r = post(alice, image, text="Good evening, in front of a picture.", headers=headers)
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["request"]["background_image_file"] == "background.png"

    again = post(alice, image, text="Good evening, in front of a picture.", headers=headers)
    assert again.status_code == 200 and again.json()["id"] == job["id"], "same key, same bytes: the same job"
    other = encode(split_picture(band=50))
    assert error_of(post(alice, other, text="Good evening, in front of a picture.", headers=headers), 409)

    done, _ = wait_job(alice, job["id"])
    assert done["state"] == "completed", done
    assert_backdrop_with_presenter(middle_frame(alice, done, tmp_path))


def test_jpeg_background_works_together_with_an_audio_upload(alice, tmp_path: Path) -> None:
    tone = (0.3 * 32767 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000)).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(tone.tobytes())
    jpeg = encode(split_picture(), "JPEG")
    r = post(alice, jpeg, name="b.jpg", files={"audio": ("speech.wav", buf.getvalue(), "audio/wav")})
    assert r.status_code == 202, r.text
    request = r.json()["request"]
    assert request["background_image_file"] == "background.jpg" and request["audio_file"] == "input.wav"
    done = wait_job(alice, r.json()["id"])[0]
    assert done["state"] == "completed", done  # the audio-to-mouth weights ship in the package
    assert abs(done["duration_s"] - 1.0) < 0.1, "as long as the uploaded speech"
    assert_backdrop_with_presenter(middle_frame(alice, done, tmp_path))


def test_bad_background_images_are_refused_and_store_nothing(alice, server) -> None:
    before = job_files(server)
    err = error_of(post(alice, b"just some text, honestly, not a picture", text="Hi."), 415)
    assert err["field"] == "background_image"
    err = error_of(post(alice, encode(split_picture(), "WEBP"), name="b.webp", text="Hi."), 415)
    assert err["field"] == "background_image" and "PNG or JPEG" in err["message"]
    err = error_of(post(alice, encode(split_picture(32, 32, 4)), text="Hi."), 422)
    assert err["field"] == "background_image" and "64x64" in err["message"]
    noise = np.random.default_rng(0).integers(0, 256, (300, 300, 3), np.uint8)
    truncated = encode(noise)[:20000]  # a valid header, then the data stops
    err = error_of(post(alice, truncated, text="Hi."), 422)
    assert err["field"] == "background_image" and "decoded" in err["message"]
    err = error_of(post(alice, encode(Image.new("RGB", (4100, 100))), text="Hi."), 422)
    assert err["field"] == "background_image" and "4000" in err["message"]
    err = error_of(
        post(alice, b"\x89PNG\r\n\x1a\n" + np.random.default_rng(1).bytes(int(1.5 * 2**20)), text="Hi."), 413
    )
    assert err["field"] == "background_image"
    err = error_of(post(alice, encode(split_picture()), text="Hi.", background="#204060"), 422)
    assert err["field"] == "background" and "not both" in err["message"]
    err = error_of(post(alice, encode(split_picture()), text=""), 422)
    assert err["field"] == "text"
    r = alice.post(
        "/v1/videos", data={"text": "Hi."}, files={"backdrop": ("b.png", encode(split_picture()), "image/png")}
    )
    assert error_of(r, 422)["field"] == "backdrop"
    assert job_files(server) == before


def test_distributed_worker_renders_the_uploaded_background(tmp_path: Path) -> None:
    redis_server = RedisServer(tmp_path)
    api = {
        "mode": "distributed",
        "storage_dir": str(tmp_path / "shared"),
        "redis_url": redis_server.url,
        "redis_namespace": "anchor-bg",
    }
    config = write_config(tmp_path / "c.yaml", api)
    srv = ApiServer(config, tmp_path / "serve.log")  # first: it writes its port into the config
    worker = Proc(anchor_cmd("worker", "-c", str(config)), tmp_path / "worker.log")
    try:
        with srv.client() as c:
            r = post(c, encode(split_picture()), text="Good evening from another process.")
            assert r.status_code == 202, r.text
            done, _ = wait_job(c, r.json()["id"], timeout=120)
            assert done["state"] == "completed", (done, worker.tail(1500))
            assert int(done["worker"].split(":")[1]) == worker.pid, "rendered by the separate worker process"
            assert_backdrop_with_presenter(middle_frame(c, done, tmp_path))
    finally:
        srv.proc.stop()
        worker.stop()
        redis_server.proc.stop()
