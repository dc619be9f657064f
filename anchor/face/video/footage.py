"""Frame stores of a video pack: numbered frames in an H.264 file, written once, read by index.

`FootageWriter` encodes RGB or grey frames with a keyframe wherever the caller asks (every
piece of the base track starts on one) and at least every `gop` frames, so any frame is a
short decode away. `FootageReader` serves frame i: from a small cache, by decoding forward
when i is a little ahead, else by seeking to the keyframe before i.
"""

from __future__ import annotations

from collections import OrderedDict
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import cv2
import numpy as np


class FootageWriter:
    """Writes frames 0, 1, 2 ... to `path` (RGB with pix_fmt yuv420p/yuv444p, or grey with 'gray')."""

    def __init__(
        self, path: Path, width: int, height: int, *, pix_fmt: str = "yuv420p", crf: int = 17, gop: int = 25
    ) -> None:
        import av

        self.path = Path(path)
        self.grey = pix_fmt == "gray"
        self._container = av.open(str(self.path), "w")
        stream = self._container.add_stream("libx264", rate=Fraction(25, 1))
        stream.width, stream.height = width, height
        stream.pix_fmt = pix_fmt
        stream.codec_context.gop_size = gop
        stream.options = {"crf": str(crf), "preset": "slow", "forced-idr": "1", "bf": "0", "threads": "2"}
        self._stream = stream
        self._n = 0

    def write(self, image: np.ndarray, keyframe: bool = False) -> int:
        """Append one frame; returns its index. `keyframe` forces an IDR frame here."""
        import av

        fmt = "gray" if self.grey else "rgb24"
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format=fmt)
        frame.pts = self._n
        if keyframe:
            frame.pict_type = av.video.frame.PictureType.I
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self._n += 1
        return self._n - 1

    def close(self) -> None:
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()

    def __enter__(self) -> FootageWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class FootageReader:
    """Frame i of a file written by FootageWriter, as RGB (or grey) uint8, with a small cache."""

    def __init__(self, path: Path, *, grey: bool = False, cache: int = 24, ahead: int = 3) -> None:
        self.path = Path(path)
        self.grey = grey
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_size = cache
        self._ahead = ahead
        self._container: Any = None
        self._frames: Any = None
        self._next = -1  # index the decoder will produce next (-1: not positioned)
        self.decoded = 0  # frames decoded so far (for tests and benchmarks)
        self.seeks = 0

    def _open(self) -> None:
        import av

        self.close()
        self._container = av.open(str(self.path))
        stream = self._container.streams.video[0]
        stream.thread_type = "SLICE"
        self._stream = stream
        # One decode generator for the reader's life: a new one per seek leaks ~0.5 KB in PyAV
        # (12 000 seeks an hour on a live channel), and the same one decodes correctly after a seek.
        self._frames = self._container.decode(stream)
        self._exhausted = False
        self._next = -1

    def _index(self, frame: Any) -> int:
        return int(round(float(frame.pts * frame.time_base) * 25))

    def _seek(self, i: int) -> None:
        if self._container is None or self._exhausted:  # a generator that reached the end cannot resume
            self._open()
        s = self._stream
        self._container.seek(int(Fraction(i, 25) / s.time_base), stream=s, backward=True, any_frame=False)
        self._next = -1
        self.seeks += 1

    def _decode_one(self) -> tuple[int, np.ndarray] | None:
        frame = next(self._frames, None)
        if frame is None:
            self._next = -1
            self._exhausted = True
            return None
        k = self._index(frame)
        img = _to_array(frame, self.grey)
        self.decoded += 1
        self._next = k + 1
        self._remember(k, img)
        return k, img

    def _remember(self, k: int, img: np.ndarray) -> None:
        self._cache[k] = img
        self._cache.move_to_end(k)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def get(self, i: int) -> np.ndarray:
        """Frame `i` (the array is shared with the cache: do not modify it)."""
        hit = self._cache.get(i)
        if hit is not None:
            self._cache.move_to_end(i)
            return hit
        if self._container is None or not (0 <= self._next <= i <= self._next + self._ahead):
            self._seek(i)
        for _ in range(10_000):
            got = self._decode_one()
            if got is None:
                raise IndexError(f"frame {i} is past the end of {self.path.name}")
            if got[0] >= i:
                if got[0] != i:
                    raise IndexError(f"frame {i} is missing from {self.path.name}")
                return got[1]
        raise IndexError(f"frame {i} not reached in {self.path.name}")

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None
            self._frames = None

    def __enter__(self) -> FootageReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _to_array(frame: Any, grey: bool) -> np.ndarray:
    """A decoded frame as RGB or grey; yuv420p goes through OpenCV (3x cheaper than swscale here)."""
    if frame.format.name == "yuv420p":
        yuv = frame.to_ndarray()
        h = frame.height
        return np.ascontiguousarray(yuv[:h]) if grey else cv2.cvtColor(yuv, cv2.COLOR_YUV2RGB_I420)
    return frame.to_ndarray(format="gray" if grey else "rgb24")


def yuv444_to_rgb(planes: np.ndarray) -> np.ndarray:
    """(n, 3, h, w) limited-range BT.601 Y, U, V planes -> (n, h, w, 3) RGB uint8 (what swscale gives, 8x faster)."""
    y = (planes[:, 0].astype(np.float32) - 16.0) * 1.164
    u = planes[:, 1].astype(np.float32) - 128.0
    v = planes[:, 2].astype(np.float32) - 128.0
    rgb = np.stack([y + 1.596 * v, y - 0.392 * u - 0.813 * v, y + 2.017 * u], axis=-1)
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)


def read_all(path: Path, *, grey: bool = False) -> np.ndarray:
    """Every frame of a footage file as RGB (or grey), stacked."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        return np.stack([_to_array(f, grey) for f in container.decode(stream)])


def read_planes(path: Path) -> np.ndarray:
    """Every frame of a yuv444p footage file as (n, 3, h, w) Y, U, V planes (no colour conversion)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        planes = []
        for f in container.decode(stream):
            if f.format.name != "yuv444p":
                raise ValueError(f"{path.name} holds {f.format.name} frames, expected yuv444p")
            planes.append(f.to_ndarray())
    if not planes:
        raise ValueError(f"{path.name} has no frames")
    return np.stack(planes)
