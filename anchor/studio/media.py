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
    """A clip's frames at w x h, looped on program time."""

    def __init__(self, path: Path, w: int, h: int, field: str, max_seconds: float = 20.0) -> None:
        self.frames: list[np.ndarray] = []
        self.times: list[float] = []
        try:
            with av.open(str(path)) as container:
                if not container.streams.video:
                    raise InputError(f"{path} has no video stream", field=field)
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"
                for frame in container.decode(stream):
                    t = float(frame.time) if frame.time is not None else len(self.frames) / 25
                    if self.times and t - self.times[0] > max_seconds:
                        break
                    self.times.append(t)
                    self.frames.append(fit_cover(frame.to_ndarray(format="rgb24"), w, h))
        except (av.error.FFmpegError, UnicodeDecodeError) as e:
            raise InputError(f"{path} is not a video anchor can read: {e}", field=field) from None
        if not self.frames:
            raise InputError(f"{path} has no video frames", field=field)
        t0 = self.times[0]
        self.times = [t - t0 for t in self.times]
        step = self.times[1] - self.times[0] if len(self.times) > 1 else 0.04
        self.duration = self.times[-1] + step
        self._times = np.array(self.times)

    def index_at(self, t: float) -> int:
        """Index of the frame showing at `t` seconds into the loop."""
        t = t % self.duration
        return max(0, int(np.searchsorted(self._times, t, side="right")) - 1)

    def frame_at(self, t: float) -> np.ndarray:
        return self.frames[self.index_at(t)]
