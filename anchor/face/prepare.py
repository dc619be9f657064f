"""From one photo to an avatar pack: check the photo, find the one face, matte the person, save.

Every refusal is an InputError naming the field to fix ("photo", "name", "source", ...).
Nothing already stored is touched until the new pack is complete; an overwrite swaps the
finished pack into place.
"""

from __future__ import annotations

import io
import os
import uuid
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from anchor.errors import InputError
from anchor.face.avatar import AvatarMeta, AvatarPack, check_slug, load_pack, remove_path, save_pack, store_pack
from anchor.face.detect import N_LANDMARKS, FaceAnalyzer, FaceBox, landmarks_box

MAX_PHOTO_BYTES = 50 * 1024 * 1024
MAX_PHOTO_PIXELS = 100_000_000  # refuse before decoding anything larger (decompression bombs)
MAX_LONG_SIDE = 2048  # larger photos are downscaled to this
MIN_SHORT_SIDE = 256
MIN_FACE_PX = 120
MIN_FACE_FRACTION = 0.12  # of the image height
# How far (as a fraction of face height) the fitted mesh may reach past the image edge before
# we call the face cut off; a hair's breadth is normal at a chin touching the border.
EDGE_TOLERANCE = 0.03
ACCEPTED_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WebP", "BMP": "BMP", "TIFF": "TIFF"}
# Transparent parts of a photo are laid onto white: the person matte is recomputed anyway, and
# white keeps cut-out portraits' edges light instead of black fringes.
ALPHA_BACKGROUND = (255, 255, 255)


def prepare_avatar(
    photo: Path | bytes,
    name: str,
    avatars_dir: Path,
    *,
    source: str,
    licence: str,
    consent: str,
    overwrite: bool = False,
    analyzer: FaceAnalyzer | None = None,
) -> AvatarPack:
    """Turn a portrait photo into the avatar pack avatars_dir/name and return it (as loaded back).

    `photo` is a path or the file's bytes (JPEG, PNG, WebP, BMP or TIFF). The photo must show
    exactly one face, at least MIN_FACE_PX tall and MIN_FACE_FRACTION of the image height.
    EXIF orientation is applied, transparency is laid onto white, photos longer than
    MAX_LONG_SIDE are downscaled. `source`, `licence` and `consent` are stored in meta.json and
    must not be blank. An existing pack of that name is replaced only with overwrite=True.
    Pass a shared (static-image-mode) `analyzer` to avoid building the mediapipe graphs on every call.
    """
    check_slug(name)
    if analyzer is not None and not analyzer.static_image_mode:
        raise ValueError("prepare_avatar needs a FaceAnalyzer in static_image_mode (not for_video())")
    source = _required_text(source, "source")
    licence = _required_text(licence, "licence")
    consent = _required_text(consent, "consent")
    avatars_dir = Path(avatars_dir)
    target = avatars_dir / name
    if not overwrite:
        _refuse_existing(target, name)

    rgb, notes = _decode_photo(_read_photo(photo))

    own_analyzer = analyzer is None
    fa = analyzer if analyzer is not None else FaceAnalyzer()
    try:
        landmarks = _one_face(fa, rgb)
        mask = fa.person_mask(rgb)
    finally:
        if own_analyzer:
            fa.close()

    mask = _with_face(mask, landmarks)
    h, w = rgb.shape[:2]
    meta = AvatarMeta(
        name=name,
        source=source,
        licence=licence,
        consent=consent,
        image_size=(w, h),
        face_box=_clip_box(landmarks_box(landmarks), w, h).as_tuple(),
        notes="; ".join(notes),
    )
    _store(target, rgb, landmarks, mask, meta, overwrite=overwrite)
    return load_pack(target)


# -- reading the photo ------------------------------------------------------------------------


def _required_text(value: str, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(
            f"{field} must not be empty: say where the photo comes from, its licence "
            "and who consented to animating this likeness",
            field=field,
        )
    return value.strip()


def _refuse_existing(target: Path, name: str) -> None:
    if target.exists() or target.is_symlink():
        raise InputError(
            f"an avatar named {name!r} already exists in {target.parent}; choose another name or ask to overwrite it",
            field="name",
        )


def _read_photo(photo: Path | str | bytes | bytearray | memoryview) -> bytes:
    if isinstance(photo, (bytes, bytearray, memoryview)):
        data = bytes(photo)
    elif isinstance(photo, (str, os.PathLike)):
        path = Path(photo)
        if not path.exists():
            raise InputError(f"photo file {str(path)!r} does not exist", field="photo")
        if not path.is_file():
            raise InputError(f"photo {str(path)!r} is not a file", field="photo")
        size = path.stat().st_size
        if size > MAX_PHOTO_BYTES:
            raise InputError(_too_many_bytes(size), field="photo")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"photo file {str(path)!r} cannot be read: {exc.strerror or exc}", field="photo") from exc
    else:
        raise InputError(f"photo must be a file path or the file's bytes, not {type(photo).__name__}", field="photo")
    if not data:
        raise InputError("the photo is empty (0 bytes)", field="photo")
    if len(data) > MAX_PHOTO_BYTES:
        raise InputError(_too_many_bytes(len(data)), field="photo")
    return data


def _too_many_bytes(size: int) -> str:
    return f"the photo is {size / 2**20:.0f} MB; the limit is {MAX_PHOTO_BYTES // 2**20} MB"


_EXIF_ORIENTATION = 0x0112
_NOT_AN_IMAGE = "the photo is not an image file anchor can read; use a JPEG, PNG or WebP photo"
_DAMAGED = "the photo file is damaged or incomplete ({detail}); export or download it again"


def _decode_photo(data: bytes) -> tuple[np.ndarray, list[str]]:
    """Bytes -> upright RGB uint8, sized within bounds. Returns notes on what was changed."""
    notes: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format or ""
                pixels = probe.size[0] * probe.size[1]
                probe.verify()
        except UnidentifiedImageError as exc:
            raise InputError(_NOT_AN_IMAGE, field="photo") from exc
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise InputError(_too_many_pixels(), field="photo") from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise InputError(_DAMAGED.format(detail=exc), field="photo") from exc
        if fmt not in ACCEPTED_FORMATS:
            raise InputError(f"{fmt or 'this'} images are not accepted; use a JPEG, PNG or WebP photo", field="photo")
        if pixels > MAX_PHOTO_PIXELS:
            raise InputError(_too_many_pixels(), field="photo")
        try:
            # verify() leaves the image unusable, so decode from a fresh open; load() is what
            # notices a truncated JPEG (verify only checks the structure PIL can see up front).
            with Image.open(io.BytesIO(data)) as im:
                im.load()
                if im.getexif().get(_EXIF_ORIENTATION, 1) not in (0, 1):
                    notes.append("EXIF orientation applied")
                upright = ImageOps.exif_transpose(im)
                rgb = _to_rgb(upright, notes)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise InputError(_too_many_pixels(), field="photo") from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise InputError(_DAMAGED.format(detail=exc), field="photo") from exc

    h, w = rgb.shape[:2]
    if min(w, h) < MIN_SHORT_SIDE:
        raise InputError(
            f"the photo is {w}x{h} px; its shorter side must be at least {MIN_SHORT_SIDE} px", field="photo"
        )
    if max(w, h) > MAX_LONG_SIDE:
        scale = MAX_LONG_SIDE / max(w, h)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        if min(nw, nh) < MIN_SHORT_SIDE:
            raise InputError(
                f"the photo is {w}x{h} px, too long and narrow: scaled to {MAX_LONG_SIDE} px on its long "
                f"side, the short side would be under {MIN_SHORT_SIDE} px; crop it closer to the person",
                field="photo",
            )
        rgb = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
        notes.append(f"downscaled from {w}x{h}")
    return np.ascontiguousarray(rgb), notes


def _too_many_pixels() -> str:
    return f"the photo has too many pixels (limit {MAX_PHOTO_PIXELS // 1_000_000} megapixels); scale it down first"


def _to_rgb(im: Image.Image, notes: list[str]) -> np.ndarray:
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit / float greyscale: stretch to 8 bits rather than letting convert() clip.
        arr = np.asarray(im, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        grey = np.zeros(arr.shape, np.uint8) if hi <= lo else ((arr - lo) * (255.0 / (hi - lo))).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (im.mode == "P" and "transparency" in im.info)
    if has_alpha:
        rgba = im.convert("RGBA")
        if rgba.getchannel("A").getextrema()[0] < 255:  # type: ignore[operator]
            notes.append("transparent areas laid onto white")
        background = Image.new("RGBA", rgba.size, ALPHA_BACKGROUND + (255,))
        return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))
    return np.asarray(im.convert("RGB"))


# -- the face ---------------------------------------------------------------------------------


def _one_face(fa: FaceAnalyzer, rgb: np.ndarray) -> np.ndarray:
    """The landmarks of the photo's single, large-enough, uncut face, or an InputError."""
    h, w = rgb.shape[:2]
    meshes = fa.landmarks(rgb)
    faces = fa.faces(rgb, landmarks=meshes)
    if not faces:
        raise InputError(
            "no face found in the photo; use a well-lit photo with one face looking at the camera", field="photo"
        )
    if len(faces) > 1:
        raise InputError(f"found {len(faces)} faces; use a photo with exactly one person", field="photo")
    _check_face_size(faces[0], h)
    if not meshes:
        raise InputError(
            "a face was found but its features could not be located; use a sharper photo with the "
            "face turned toward the camera and nothing covering it",
            field="photo",
        )
    landmarks = meshes[0]
    if landmarks.shape != (N_LANDMARKS, 3):
        raise RuntimeError(f"face mesh returned {landmarks.shape} landmarks, expected ({N_LANDMARKS}, 3)")
    box = landmarks_box(landmarks)
    margin = EDGE_TOLERANCE * box.height
    if box.x0 < -margin or box.y0 < -margin or box.x1 > w + margin or box.y1 > h + margin:
        raise InputError(
            "the face is cut off by the edge of the photo; use a photo with some space around the head",
            field="photo",
        )
    landmarks = landmarks.copy()
    landmarks[:, 0] = np.clip(landmarks[:, 0], 0, w - 1)
    landmarks[:, 1] = np.clip(landmarks[:, 1], 0, h - 1)
    return landmarks


def _check_face_size(face: FaceBox, image_height: int) -> None:
    need = max(MIN_FACE_PX, MIN_FACE_FRACTION * image_height)
    if face.height < need:
        raise InputError(
            f"the face is too small: {face.height} px tall ({face.height / image_height:.0%} of the photo "
            f"height); it must be at least {MIN_FACE_PX} px and {MIN_FACE_FRACTION:.0%} of the photo height. "
            "Crop closer to the face or use a higher-resolution photo",
            field="photo",
        )


def _clip_box(box: FaceBox, w: int, h: int) -> FaceBox:
    return FaceBox(max(0, box.x0), max(0, box.y0), min(w, box.x1), min(h, box.y1), box.score, box.source)


def _with_face(mask: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The matte, guaranteed to include the face: the renderer must never cut into the face."""
    hull = cv2.convexHull(np.rint(landmarks[:, :2]).astype(np.int32))
    face = np.zeros_like(mask)
    cv2.fillConvexPoly(face, hull, (255,))
    return np.maximum(mask, face)


# -- storing ----------------------------------------------------------------------------------


def _store(
    target: Path, rgb: np.ndarray, landmarks: np.ndarray, mask: np.ndarray, meta: AvatarMeta, *, overwrite: bool
) -> None:
    """Write the pack next to `target`, then move it into place (swapping out an old one)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.new-{uuid.uuid4().hex[:12]}")
    try:
        save_pack(staging, rgb, landmarks, mask, meta)
        store_pack(staging, target, overwrite=overwrite)
    finally:
        for leftover in (staging, staging.with_name(f".{staging.name}.tmp")):
            remove_path(leftover)
