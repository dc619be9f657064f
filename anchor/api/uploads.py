"""Upload safety: size caps while reading, type from the bytes (never the name or header),
image dimension and pixel caps read from the header before anything is decoded (a small PNG
can claim to be gigapixels), image decodes bounded in number at once, audio decoded to check
it is sound of a sane length."""

from __future__ import annotations

import contextlib
import io
import threading
import warnings
from collections.abc import Iterator

import av
import numpy as np
from PIL import Image, UnidentifiedImageError
from starlette.datastructures import UploadFile

from anchor.api.errors import ApiError
from anchor.errors import InputError
from anchor.studio.backdrop import decode_background_image

CHUNK = 1 << 16


async def read_capped(upload: UploadFile, cap_bytes: int, field: str) -> bytes:
    """The upload's bytes, refusing (413) as soon as more than `cap_bytes` arrive."""
    parts: list[bytes] = []
    total = 0
    while chunk := await upload.read(CHUNK):
        total += len(chunk)
        if total > cap_bytes:
            raise ApiError(413, f"{field} is larger than the {cap_bytes / 2**20:.0f} MB limit", field=field)
        parts.append(chunk)
    if total == 0:
        raise ApiError(422, f"{field} is empty (0 bytes)", field=field)
    return b"".join(parts)


def sniff_image(data: bytes) -> str | None:
    """'jpeg' | 'png' | 'webp' | 'bmp' | 'tiff' from the magic bytes, else None."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:2] == b"BM":
        return "bmp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    return None


class DecodeSlots:
    """At most `n` uploaded images decoded at once in this process (each may take up to
    max_photo_pixels x 4 bytes while it decodes); a caller waits up to `wait_s` for a slot,
    then gets a 503."""

    def __init__(self, n: int, wait_s: float = 30.0) -> None:
        self._sem = threading.BoundedSemaphore(n)
        self.wait_s = wait_s

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        if not self._sem.acquire(timeout=self.wait_s):
            raise ApiError(
                503, "the server is busy decoding other images; try again shortly", headers={"Retry-After": "5"}
            )
        try:
            yield
        finally:
            self._sem.release()


def check_photo(data: bytes, max_side: int, field: str = "photo", max_pixels: int | None = None) -> tuple[int, int]:
    """Refuse non-images (415) and images wider or taller than `max_side` or of more than
    `max_pixels` pixels (422), reading only the header: nothing is decoded here."""
    if sniff_image(data) is None:
        raise ApiError(
            415, f"{field} is not an image (JPEG, PNG, WebP, BMP or TIFF), whatever its name says", field=field
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as im:
                w, h = im.size
        except (
            UnidentifiedImageError,
            OSError,
            SyntaxError,
            ValueError,
            Image.DecompressionBombError,
            Image.DecompressionBombWarning,
        ) as e:
            raise ApiError(422, f"{field} is damaged or not a readable image ({e})", field=field) from e
    if w > max_side or h > max_side:
        raise ApiError(422, f"{field} is {w}x{h} px; the limit is {max_side} px on each side", field=field)
    if max_pixels is not None and w * h > max_pixels:
        raise ApiError(
            422,
            f"{field} is {w}x{h} px ({w * h / 1e6:.1f} megapixels); the limit is {max_pixels / 1e6:.0f} megapixels",
            field=field,
        )
    return w, h


MIN_BACKGROUND_SIDE = 64
BACKGROUND_TYPES = {"png": "png", "jpeg": "jpg"}  # sniffed type -> stored extension


def check_background_image(
    data: bytes,
    max_side: int,
    field: str = "background_image",
    *,
    max_pixels: int | None = None,
    slots: DecodeSlots | None = None,
) -> str:
    """Refuse non-PNG/JPEG (415), then too large or too small (header only) and undecodable images (422);
    return the file extension to store it under. The trial decode runs only after the header
    checks, inside one of `slots`."""
    kind = sniff_image(data)
    if kind not in BACKGROUND_TYPES:
        raise ApiError(415, f"{field} must be a PNG or JPEG image, whatever its name says", field=field)
    w, h = check_photo(data, max_side, field, max_pixels)
    if w < MIN_BACKGROUND_SIDE or h < MIN_BACKGROUND_SIDE:
        raise ApiError(
            422, f"{field} is {w}x{h} px; it must be at least {MIN_BACKGROUND_SIDE}x{MIN_BACKGROUND_SIDE}", field=field
        )
    with slots.hold() if slots is not None else contextlib.nullcontext():
        try:
            decode_background_image(data)
        except InputError as e:
            raise ApiError(422, str(e), field=field) from None
    return BACKGROUND_TYPES[kind]


def sniff_audio(data: bytes) -> str | None:
    """'wav' | 'mp3' | 'ogg' | 'flac' | 'm4a' from the magic bytes, else None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "mp3"
    if data[:4] == b"OggS":
        return "ogg"
    if data[:4] == b"fLaC":
        return "flac"
    if data[4:8] == b"ftyp":
        return "m4a"
    return None


SILENCE_PEAK = 10 ** (-50 / 20)  # -50 dBFS: below this the "speech" is silence


def check_audio(data: bytes, max_seconds: float, field: str = "audio") -> tuple[str, float]:
    """Decode the audio fully; return (type, seconds). Refuses non-audio (415), corrupt, silent or too long (422)."""
    kind = sniff_audio(data)
    if kind is None:
        raise ApiError(
            415, f"{field} is not an audio file (WAV, MP3, OGG, FLAC or M4A), whatever its name says", field=field
        )
    samples = 0
    rate = 0
    peak = 0.0
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise ApiError(422, f"{field} has no audio stream", field=field)
            stream = container.streams.audio[0]
            for frame in container.decode(stream):
                arr = frame.to_ndarray()
                rate = frame.sample_rate
                samples += frame.samples
                if arr.size:
                    if np.issubdtype(arr.dtype, np.integer):
                        level = float(np.abs(arr.astype(np.float32)).max()) / float(np.iinfo(arr.dtype.type).max)  # type: ignore[type-var]
                    else:
                        level = float(np.abs(arr).max())
                    peak = max(peak, level)
                if rate and samples / rate > max_seconds:
                    raise ApiError(422, f"{field} is longer than the {max_seconds:.0f} s limit", field=field)
    except ApiError:
        raise
    except (av.error.FFmpegError, ValueError, OSError) as e:
        raise ApiError(422, f"{field} is corrupt or truncated and cannot be decoded ({e})", field=field) from e
    if samples == 0 or rate == 0:
        raise ApiError(422, f"{field} is corrupt: it decodes to no sound at all", field=field)
    if peak < SILENCE_PEAK:
        raise ApiError(
            422,
            f"{field} is silent (peak {20 * np.log10(max(peak, 1e-9)):.0f} dBFS); send audio with speech in it",
            field=field,
        )
    return kind, samples / rate
