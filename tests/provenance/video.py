"""Generated video for the provenance tests and bench/watermark.py: content, encoding, what platforms do.

Content is built from public-domain pictures that scikit-image and matplotlib ship (a slow
pan and zoom over a photo, plus a moving box, like a presenter shot with motion), so the
tests need no files of their own. Transformations are real PyAV encodes: H.264 at a lower
bitrate, scaling, cropping (kept at the cropped size, or scaled back up), and two
generations of re-encoding.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import av
import cv2
import numpy as np

from anchor.provenance.watermark import Watermarker


def photos() -> list[np.ndarray]:
    """RGB photos bundled by pip packages (public domain / BSD sample data)."""
    import matplotlib.cbook
    from skimage import data

    hopper = cv2.cvtColor(
        cv2.imread(str(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))), cv2.COLOR_BGR2RGB
    )
    out = [hopper]
    for name in ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "motorcycle_left", "retina"):
        try:
            img = getattr(data, name)()
        except (AttributeError, OSError, ValueError):  # optional sample images that need a download
            continue
        if img.ndim == 2:
            img = np.repeat(img[:, :, None], 3, axis=2)
        out.append(np.ascontiguousarray(img[:, :, :3].astype(np.uint8)))
    return out


def scene(photo: np.ndarray, width: int, height: int, n: int, seed: int = 0) -> Iterator[np.ndarray]:
    """`n` frames: a slow pan/zoom over `photo` with a small moving box and sensor noise."""
    rng = np.random.default_rng(seed)
    ph, pw = photo.shape[:2]
    zoom0 = rng.uniform(0.6, 0.9)
    cx0, cy0 = rng.uniform(0.4, 0.6) * pw, rng.uniform(0.4, 0.6) * ph
    for i in range(n):
        z = zoom0 * (1 - 0.002 * i)
        cw, ch = min(pw, ph * width / height) * z, min(ph, pw * height / width) * z
        cx = np.clip(cx0 + 0.6 * i, cw / 2, pw - cw / 2)
        cy = np.clip(cy0 + 0.3 * i, ch / 2, ph - ch / 2)
        m = np.array([[width / cw, 0, -(cx - cw / 2) * width / cw], [0, height / ch, -(cy - ch / 2) * height / ch]])
        frame = cv2.warpAffine(photo, m, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        x = int((0.1 + 0.6 * i / max(n, 1)) * width)
        cv2.rectangle(frame, (x, height // 8), (x + width // 10, height // 8 + height // 10), (230, 200, 40), -1)
        noise = rng.normal(0, 1.5, frame.shape[:2])[:, :, None]
        yield np.clip(frame + noise, 0, 255).astype(np.uint8)


def marked(frames: Iterable[np.ndarray], wm: Watermarker) -> Iterator[np.ndarray]:
    for i, f in enumerate(frames):
        yield wm.embed(f.copy(), i)


def encode(
    path: Path,
    frames: Iterable[np.ndarray],
    *,
    size: tuple[int, int] | None = None,
    bitrate: int | None = None,
    crf: int | None = 23,
    fps: int = 25,
) -> Path:
    """H.264 (libx264 veryfast, yuv420p) of RGB frames; `size` rescales, `bitrate` replaces crf."""
    with av.open(str(path), "w") as container:
        stream = None
        for i, img in enumerate(frames):
            if stream is None:
                h, w = img.shape[:2]
                stream = container.add_stream("libx264", rate=fps)
                stream.width, stream.height = size or (w, h)
                stream.pix_fmt = "yuv420p"
                opts = {"preset": "veryfast"}
                if bitrate:
                    stream.bit_rate = bitrate
                elif crf is not None:
                    opts["crf"] = str(crf)
                stream.options = opts
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            if size:
                frame = frame.reformat(width=size[0], height=size[1], format="yuv420p")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        assert stream is not None, "no frames to encode"
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def decode(path: Path, limit: int | None = None) -> Iterator[np.ndarray]:
    """RGB frames of a video file."""
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if limit is not None and i >= limit:
                return
            yield frame.to_ndarray(format="rgb24")


def crop(frames: Iterable[np.ndarray], fraction: float) -> Iterator[np.ndarray]:
    """Cut `fraction` of the width and height (half from each side), to even sizes."""
    for f in frames:
        h, w = f.shape[:2]
        dy, dx = round(h * fraction / 2), round(w * fraction / 2)
        out = f[dy : h - dy, dx : w - dx]
        yield np.ascontiguousarray(out[: out.shape[0] // 2 * 2, : out.shape[1] // 2 * 2])


REENCODE_BPP = 0.065
"""Bits per pixel per frame of the lower-bitrate re-encode: 1.5 Mbps at 720p25, 375 kbps at 360p25."""
SCALED_BPP = 0.08
"""Of the 2/3-size copy: 820 kbps at 480p25, 205 kbps at 240p25."""


def bitrate(width: int, height: int, bpp: float, fps: int = 25) -> int:
    return int(width * height * fps * bpp)


def transform(name: str, src: Path, dst: Path, width: int, height: int, *, bpp_scale: float = 1.0) -> Path:
    """Apply one named platform transformation to the video `src` (width x height); returns `dst`.

    reencode: H.264 at a lower bitrate; scale: to 2/3 size (720p -> 480p); crop: 5 % off the
    width and height, kept at the cropped size; crop_rescaled: the same, scaled back up;
    double: two generations (2/3 size, then back to full size), like a screen recapture.
    `bpp_scale` multiplies every bitrate (the benchmark sweeps it).
    """
    small = (round(width * 2 / 3 / 2) * 2, round(height * 2 / 3 / 2) * 2)
    full = bitrate(width, height, REENCODE_BPP * bpp_scale)
    reduced = bitrate(*small, SCALED_BPP * bpp_scale)
    if name == "reencode":
        return encode(dst, decode(src), bitrate=full)
    if name == "scale":
        return encode(dst, decode(src), size=small, bitrate=reduced)
    if name == "crop":
        return encode(dst, crop(decode(src), 0.05), bitrate=full)
    if name == "crop_rescaled":
        return encode(dst, crop(decode(src), 0.05), size=(width, height), bitrate=full)
    if name == "double":
        mid = dst.with_name(dst.stem + ".gen1.mp4")
        encode(mid, decode(src), size=small, bitrate=reduced)
        return encode(dst, decode(mid), size=(width, height), bitrate=full)
    raise ValueError(f"unknown transformation {name!r}")


TRANSFORMS = ("reencode", "scale", "crop", "crop_rescaled", "double")
