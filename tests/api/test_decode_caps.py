"""Image uploads: the pixel cap is judged from the header, before any decoding, and decodes are
bounded in number (issue 15, item 4)."""

from __future__ import annotations

import io
import threading
import time

import pytest
from PIL import Image, ImageFile

from anchor.api.errors import ApiError
from anchor.api.uploads import DecodeSlots, check_background_image, check_photo


def png(size: tuple[int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size).save(buf, "PNG")
    return buf.getvalue()


def test_too_many_pixels_is_refused_without_decoding(monkeypatch) -> None:
    bomb = png((3000, 3000))

    def never(self: Image.Image, *args: object) -> None:
        raise AssertionError("decoded an image the header already ruled out")

    monkeypatch.setattr(Image.Image, "load", never)
    monkeypatch.setattr(ImageFile.ImageFile, "load", never)
    for check in (
        lambda: check_photo(bomb, 8000, max_pixels=4_000_000),
        lambda: check_background_image(bomb, 8000, max_pixels=4_000_000),
    ):
        with pytest.raises(ApiError) as e:
            check()
        assert e.value.status == 422 and "megapixels" in str(e.value)


def test_decodes_wait_for_a_free_slot_and_a_long_wait_is_a_503() -> None:
    slots = DecodeSlots(2, wait_s=0.2)
    inside, most = [0], [0]
    lock = threading.Lock()
    release = threading.Event()

    def decode() -> None:
        with slots.hold():
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            release.wait(5)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=decode) for _ in range(2)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 5
    while inside[0] < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(ApiError) as e:  # a third decode finds no slot
        with slots.hold():
            pass
    assert e.value.status == 503 and e.value.headers["Retry-After"]
    release.set()
    for t in threads:
        t.join(5)
    assert most[0] == 2
    check_background_image(png((200, 120)), 8000, max_pixels=4_000_000, slots=slots)  # slots are free again
