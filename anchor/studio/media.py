"""Pictures and video clips for the studio: loaded once, scaled to where they are shown.

A `VideoLoop` decodes its clip once into frames at the size it is shown at (bounded by
`max_seconds`), then serves the frame for any program time, looping; so the per-frame cost
is a lookup, and program time, not decode speed, decides which picture is on air.
"""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np

from anchor.errors import InputError
from anchor.studio.graphics import fit_cover

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}


def load_image(path: Path, field: str, keep_alpha: bool = False) -> np.ndarray:
    """Read a picture as RGB (or RGBA with keep_alpha); InputError naming `field` if it is not one."""
    data = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if data is None:
        raise InputError(f"{path} is not a picture anchor can read", field=field)
    if data.ndim == 2:
        data = cv2.cvtColor(data, cv2.COLOR_GRAY2BGR)
    if data.shape[2] == 4:
        rgba = cv2.cvtColor(data, cv2.COLOR_BGRA2RGBA)
        return rgba if keep_alpha else rgba[..., :3].copy()
    rgb = cv2.cvtColor(data, cv2.COLOR_BGR2RGB)
    return rgb


class VideoLoop:
    """A clip's frames at w x h, looped on program time, decoded as program time reaches them.

    Times asked for should mostly increase (as program time does); going back re-opens the clip.
    Only frames that are shown are scaled.
    """

    def __init__(self, path: Path, w: int, h: int, field: str) -> None:
        self.path, self.w, self.h, self.field = Path(path), w, h, field
        self._container: av.container.InputContainer | None = None
        self._open()
        if self._next is None:
            raise InputError(f"{path} has no video frames", field=field)

    def _open(self) -> None:
        self.close()
        try:
            self._container = av.open(str(self.path))
            if not self._container.streams.video:
                raise InputError(f"{self.path} has no video stream", field=self.field)
            stream = self._container.streams.video[0]
            stream.thread_type = "AUTO"
            self._frames = self._container.decode(stream)
            self._t0: float | None = None
            self._current: tuple[float, av.VideoFrame] | None = None
            self._scaled: np.ndarray | None = None
            self._next = self._read()
        except av.error.FFmpegError as e:
            self.close()
            raise InputError(f"{self.path} is not a video anchor can read: {e}", field=self.field) from None
        self._offset = 0.0

    def _read(self) -> tuple[float, av.VideoFrame] | None:
        frame = next(self._frames, None)
        if frame is None:
            return None
        t = float(frame.time) if frame.time is not None else 0.0
        if self._t0 is None:
            self._t0 = t
        return t - self._t0, frame

    def frame_at(self, t: float) -> np.ndarray:
        """The picture showing `t` seconds into the (looped) clip."""
        if self._current is not None and t - self._offset < self._current[0]:
            self._open()
        while True:
            if self._next is not None and (self._current is None or self._next[0] <= t - self._offset):
                self._current, self._next, self._scaled = self._next, self._read(), None
                continue
            if self._next is None and self._current is not None:
                end = self._current[0] + 1 / 25
                if t - self._offset >= end:  # past the end: loop
                    offset = self._offset + end
                    self._open()
                    self._offset = offset
                    continue
            break
        if self._scaled is None:
            assert self._current is not None
            self._scaled = fit_cover(self._current[1].to_ndarray(format="rgb24"), self.w, self.h)
        return self._scaled

    def close(self) -> None:
        container = getattr(self, "_container", None)
        if container is not None:
            container.close()
            self._container = None

    def __enter__(self) -> VideoLoop:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
