"""prepare_avatar: every refusal names the field and says what to fix; success gives a usable pack."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from anchor.errors import InputError
from anchor.face.avatar import AvatarPack, load_pack
from anchor.face.detect import FaceAnalyzer, inner_lip_gap
from anchor.face.prepare import prepare_avatar

IMPORTED = datetime.now(UTC)  # before any pack of this module is made

LICENCE_FIELDS = dict(
    source="test portrait (matplotlib grace_hopper.jpg)", licence="public domain", consent="US-gov work"
)


def encode(rgb: np.ndarray, fmt: str = "PNG", **params: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, fmt, **params)
    return buf.getvalue()


def prep(
    analyzer: FaceAnalyzer, photo: Path | bytes, avatars_dir: Path, name: str = "maria", **kw: object
) -> AvatarPack:
    fields = {**LICENCE_FIELDS, **kw}
    return prepare_avatar(photo, name, avatars_dir, analyzer=analyzer, **fields)  # type: ignore[arg-type]


def refusal(analyzer: FaceAnalyzer, photo: Path | bytes, avatars_dir: Path, field: str, **kw: object) -> str:
    """Run prepare_avatar expecting an InputError on `field`; return its message (lowercased)."""
    with pytest.raises(InputError) as info:
        prep(analyzer, photo, avatars_dir, **kw)
    assert info.value.field == field, f"field {info.value.field!r}: {info.value}"
    assert not (avatars_dir / str(kw.get("name", "maria"))).exists()
    assert no_leftovers(avatars_dir)
    return str(info.value).lower()


def snapshot(pack_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(pack_dir.iterdir())}


def no_leftovers(avatars_dir: Path) -> bool:
    return not avatars_dir.exists() or not any(p.name.startswith(".") for p in avatars_dir.iterdir())


def place_on_canvas(rgb: np.ndarray, canvas_hw: tuple[int, int], scale: float) -> np.ndarray:
    small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    canvas = np.full((*canvas_hw, 3), 128, np.uint8)
    y = (canvas_hw[0] - small.shape[0]) // 2
    x = (canvas_hw[1] - small.shape[1]) // 2
    canvas[y : y + small.shape[0], x : x + small.shape[1]] = small
    return canvas


# -- the photo is not usable as a file --------------------------------------------------------


def test_text_file_named_jpg_is_not_an_image(analyzer: FaceAnalyzer, tmp_path: Path) -> None:
    fake = tmp_path / "photo.jpg"
    fake.write_bytes(b"Dear editor, here is my photo. Regards, Maria\n" * 20)
    msg = refusal(analyzer, fake, tmp_path / "avatars", "photo")
    assert "not an image" in msg and "jpeg" in msg


def test_text_bytes_are_not_an_image(analyzer: FaceAnalyzer, tmp_path: Path) -> None:
    assert "not an image" in refusal(analyzer, b"<html>not a photo</html>", tmp_path, "photo")


def test_truncated_jpeg_is_refused_as_damaged(analyzer: FaceAnalyzer, portrait_bytes: bytes, tmp_path: Path) -> None:
    path = tmp_path / "cut.jpg"
    path.write_bytes(portrait_bytes[: len(portrait_bytes) // 2])
    msg = refusal(analyzer, path, tmp_path / "avatars", "photo")
    assert "damaged or incomplete" in msg


def test_corrupt_png_is_refused_as_damaged(analyzer: FaceAnalyzer, portrait_rgb: np.ndarray, tmp_path: Path) -> None:
    data = bytearray(encode(portrait_rgb))
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)  # zero a stretch of compressed pixels
    assert "damaged or incomplete" in refusal(analyzer, bytes(data), tmp_path, "photo")


def test_missing_file(analyzer: FaceAnalyzer, tmp_path: Path) -> None:
    msg = refusal(analyzer, tmp_path / "nowhere.jpg", tmp_path / "avatars", "photo")
    assert "does not exist" in msg and "nowhere.jpg" in msg


def test_directory_is_not_a_photo(analyzer: FaceAnalyzer, tmp_path: Path) -> None:
    assert "not a file" in refusal(analyzer, tmp_path, tmp_path / "avatars", "photo")


def test_empty_bytes(analyzer: FaceAnalyzer, tmp_path: Path) -> None:
    assert "empty" in refusal(analyzer, b"", tmp_path, "photo")


def test_unaccepted_format(analyzer: FaceAnalyzer, portrait_rgb: np.ndarray, tmp_path: Path) -> None:
    msg = refusal(analyzer, encode(portrait_rgb, "PPM"), tmp_path, "photo")
    assert "not accepted" in msg and "png" in msg


def test_tiny_photo_states_minimum(analyzer: FaceAnalyzer, portrait_rgb: np.ndarray, tmp_path: Path) -> None:
    small = cv2.resize(portrait_rgb, (200, 234), interpolation=cv2.INTER_AREA)
    msg = refusal(analyzer, encode(small), tmp_path, "photo")
    assert "200x234" in msg and "256 px" in msg


# -- the photo is readable but has not exactly one usable face --------------------------------


def test_no_face_in_landscape_gradient(analyzer: FaceAnalyzer, tmp_path: Path) -> None:
    y, x = np.mgrid[0:480, 0:640].astype(np.float32)
    sky = np.stack([x / 640 * 120 + 60, y / 480 * 100 + 120, 255 - y / 480 * 120], axis=-1).astype(np.uint8)
    msg = refusal(analyzer, encode(sky, "JPEG"), tmp_path, "photo")
    assert "no face found" in msg


def test_two_people_side_by_side(analyzer: FaceAnalyzer, portrait_rgb: np.ndarray, tmp_path: Path) -> None:
    pair = np.hstack([portrait_rgb, portrait_rgb[:, ::-1]])
    msg = refusal(analyzer, encode(pair), tmp_path, "photo")
    assert "found 2 faces" in msg and "exactly one person" in msg


def test_face_too_small_in_large_canvas(analyzer: FaceAnalyzer, portrait_rgb: np.ndarray, tmp_path: Path) -> None:
    # The whole portrait shrunk to 60 % inside a 1600 px canvas: the face is ~120 px, ~8 % of the height.
    canvas = place_on_canvas(portrait_rgb, (1600, 1600), 0.6)
    msg = refusal(analyzer, encode(canvas, "JPEG", quality=92), tmp_path, "photo")
    assert "face is too small" in msg and "120 px" in msg and "12%" in msg


def test_face_under_minimum_pixels(analyzer: FaceAnalyzer, portrait_rgb: np.ndarray, tmp_path: Path) -> None:
    # Filling the frame (a third of its height) but only ~110 px tall.
    small = cv2.resize(portrait_rgb, (280, 328), interpolation=cv2.INTER_AREA)
    msg = refusal(analyzer, encode(small), tmp_path, "photo")
    assert "face is too small" in msg and "120 px" in msg


def test_face_cut_by_the_edge(analyzer: FaceAnalyzer, portrait_rgb: np.ndarray, tmp_path: Path) -> None:
    for cropped in (portrait_rgb[:, 200:], portrait_rgb[:300]):  # left cheek gone; chin gone
        msg = refusal(analyzer, encode(np.ascontiguousarray(cropped)), tmp_path, "photo")
        assert "cut off by the edge" in msg


# -- names and licence fields -----------------------------------------------------------------


@pytest.mark.parametrize("bad", ["../x", "Maria", "", "a b", ".hidden", "x/y", "-dash", "a" * 64])
def test_bad_names_are_refused_before_reading_the_photo(analyzer: FaceAnalyzer, tmp_path: Path, bad: str) -> None:
    with pytest.raises(InputError) as info:
        prep(analyzer, tmp_path / "not-even-there.jpg", tmp_path / "avatars", name=bad)
    assert info.value.field == "name"
    assert "lowercase letters, digits" in str(info.value)
    assert not (tmp_path / "x").exists() and not (tmp_path / "avatars").exists()


@pytest.mark.parametrize("field", ["source", "licence", "consent"])
def test_blank_licence_fields_are_refused(
    analyzer: FaceAnalyzer, portrait_bytes: bytes, tmp_path: Path, field: str
) -> None:
    msg = refusal(analyzer, portrait_bytes, tmp_path, field, **{field: "  "})
    assert "must not be empty" in msg


# -- success ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prepared(analyzer: FaceAnalyzer, portrait_path: Path, tmp_path_factory: pytest.TempPathFactory) -> AvatarPack:
    return prep(analyzer, portrait_path, tmp_path_factory.mktemp("avatars"), name="grace")


def test_pack_has_all_landmarks_inside_the_image(prepared: AvatarPack) -> None:
    h, w = prepared.image.shape[:2]
    assert prepared.image.dtype == np.uint8 and prepared.image.shape == (600, 512, 3)
    assert prepared.landmarks.shape == (478, 3) and prepared.landmarks.dtype == np.float32
    xy = prepared.landmarks[:, :2]
    assert (xy[:, 0] >= 0).all() and (xy[:, 0] < w).all() and (xy[:, 1] >= 0).all() and (xy[:, 1] < h).all()
    assert inner_lip_gap(prepared.landmarks) < 0.01  # the portrait's mouth is closed


def test_pack_mask_covers_face_and_not_the_corners(prepared: AvatarPack) -> None:
    x0, y0, x1, y1 = prepared.meta.face_box
    assert 150 <= y1 - y0 <= 260 and 150 <= x1 - x0 <= 240
    face = prepared.mask[y0:y1, x0:x1]
    assert face.mean() > 0.9 * 255  # the box's corners beside the chin are background
    hull = cv2.convexHull(prepared.landmarks[:, :2].astype(np.int32))
    inside = np.zeros_like(prepared.mask)
    cv2.fillConvexPoly(inside, hull, 1)
    inside = cv2.erode(inside, np.ones((3, 3), np.uint8))  # rounding at the hull's rim
    assert prepared.mask[inside == 1].min() == 255
    assert prepared.mask[:40, :40].max() == 0 and prepared.mask[:40, -40:].max() == 0  # flag and sky


def test_pack_meta_records_provenance(prepared: AvatarPack) -> None:
    meta = prepared.meta
    assert meta.name == "grace"
    assert (meta.source, meta.licence, meta.consent) == tuple(LICENCE_FIELDS.values())
    assert meta.image_size == (512, 600)
    created = datetime.fromisoformat(meta.created)  # when the pack was made, in UTC
    assert created.utcoffset() == timedelta(0)
    assert IMPORTED.replace(microsecond=0) <= created <= datetime.now(UTC), (meta.created, IMPORTED)


def test_load_pack_round_trips(prepared: AvatarPack) -> None:
    again = load_pack(prepared.path)
    assert again.meta == prepared.meta
    np.testing.assert_array_equal(again.image, prepared.image)
    np.testing.assert_array_equal(again.mask, prepared.mask)
    np.testing.assert_array_equal(again.landmarks, prepared.landmarks)
    assert no_leftovers(prepared.path.parent)


def test_photo_given_as_bytes(analyzer: FaceAnalyzer, portrait_bytes: bytes, tmp_path: Path) -> None:
    pack = prep(analyzer, portrait_bytes, tmp_path, name="from-bytes")
    assert pack.path == tmp_path / "from-bytes" and pack.meta.image_size == (512, 600)


def test_exif_orientation_is_applied(analyzer: FaceAnalyzer, portrait_rgb: np.ndarray, tmp_path: Path) -> None:
    stored_sideways = np.ascontiguousarray(np.rot90(portrait_rgb))  # as a phone would store it
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    pack = prep(analyzer, encode(stored_sideways, "JPEG", quality=95, exif=exif), tmp_path)
    assert pack.meta.image_size == (512, 600)
    assert np.abs(pack.image.astype(int) - portrait_rgb.astype(int)).mean() < 4
    assert "EXIF orientation" in pack.meta.notes


def test_transparent_png_is_laid_onto_white(analyzer: FaceAnalyzer, portrait_rgb: np.ndarray, tmp_path: Path) -> None:
    alpha = np.full(portrait_rgb.shape[:2], 255, np.uint8)
    alpha[:60, :60] = 0
    pack = prep(analyzer, encode(np.dstack([portrait_rgb, alpha])), tmp_path)
    assert (pack.image[:60, :60] == 255).all()


def test_large_photo_is_downscaled(analyzer: FaceAnalyzer, portrait_rgb: np.ndarray, tmp_path: Path) -> None:
    big = cv2.resize(portrait_rgb, (2560, 3000), interpolation=cv2.INTER_CUBIC)
    pack = prep(analyzer, encode(big, "JPEG", quality=90), tmp_path)
    assert pack.meta.image_size == (round(2560 * 2048 / 3000), 2048)
    assert "downscaled from 2560x3000" in pack.meta.notes


def test_analyzer_is_optional(portrait_bytes: bytes, prepared: AvatarPack, tmp_path: Path) -> None:
    """Without a shared analyzer prepare_avatar makes its own: the same face, the same landmarks."""
    pack = prepare_avatar(portrait_bytes, "own", tmp_path, **LICENCE_FIELDS)
    assert pack.landmarks.shape == (478, 3)
    assert np.abs(pack.landmarks[:, :2] - prepared.landmarks[:, :2]).max() < 1.0  # pixels
    assert pack.meta.face_box == prepared.meta.face_box


# -- existing packs are never harmed ----------------------------------------------------------


def test_existing_name_without_overwrite_is_refused_and_pack_kept(
    analyzer: FaceAnalyzer, portrait_bytes: bytes, portrait_rgb: np.ndarray, tmp_path: Path
) -> None:
    pack = prep(analyzer, portrait_bytes, tmp_path)
    before = snapshot(pack.path)
    with pytest.raises(InputError) as info:
        prep(analyzer, encode(portrait_rgb[:, ::-1].copy()), tmp_path)
    assert info.value.field == "name"
    assert "already exists" in str(info.value) and "overwrite" in str(info.value)
    assert snapshot(pack.path) == before
    assert no_leftovers(tmp_path)


def test_refused_overwrite_keeps_existing_pack(analyzer: FaceAnalyzer, portrait_bytes: bytes, tmp_path: Path) -> None:
    pack = prep(analyzer, portrait_bytes, tmp_path)
    before = snapshot(pack.path)
    with pytest.raises(InputError):
        prep(analyzer, b"not a photo", tmp_path, overwrite=True)
    with pytest.raises(InputError):
        prep(analyzer, encode(np.full((400, 400, 3), 90, np.uint8)), tmp_path, overwrite=True)
    assert snapshot(pack.path) == before
    assert no_leftovers(tmp_path)


def test_overwrite_replaces_the_pack(
    analyzer: FaceAnalyzer, portrait_bytes: bytes, portrait_rgb: np.ndarray, tmp_path: Path
) -> None:
    prep(analyzer, portrait_bytes, tmp_path)
    mirrored = np.ascontiguousarray(portrait_rgb[:, ::-1])
    pack = prep(analyzer, encode(mirrored), tmp_path, overwrite=True, source="mirrored")
    assert pack.meta.source == "mirrored"
    np.testing.assert_array_equal(load_pack(tmp_path / "maria").image, mirrored)
    assert no_leftovers(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maria"]
