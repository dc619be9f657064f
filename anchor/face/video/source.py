"""Reading a recording for a video avatar: check it is a usable video, then its frames in order.

Any container/codec the bundled FFmpeg reads (mp4, mov, mkv, webm ...). Refusals are
InputError(field="video") with what to fix; nothing is decoded past the checks that fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from anchor.errors import InputError

MIN_SECONDS = 10.0
MAX_SECONDS = 600.0
MAX_BYTES = 2 * 2**30
MIN_FPS, MAX_FPS = 10.0, 61.0
MIN_SHORT_SIDE = 160
MAX_WORK_LONG_SIDE = 1920  # larger recordings are analysed and stored downscaled to this
FIELD = "video"


@dataclass(frozen=True)
class VideoInfo:
    """What a recording is: frame rate, length and its (working) frame size."""

    path: Path
    fps: float
    duration: float
    width: int  # working size (after rotation and any downscale)
    height: int
    source_size: tuple[int, int]  # as stored in the file (after rotation)
    rotation: int  # degrees counter-clockwise applied to decoded frames

    @property
    def n_frames(self) -> int:
        """Frames expected at `fps` over `duration` (the real count may differ by one or two)."""
        return max(1, round(self.duration * self.fps))


def probe_video(path: Path | str, *, min_seconds: float = MIN_SECONDS, max_seconds: float = MAX_SECONDS) -> VideoInfo:
    """Open `path` and check it: a video stream, a sane frame rate and size, 10 s .. 10 min long."""
    import av

    path = Path(path)
    if not path.is_file():
        raise InputError(f"video file {str(path)!r} does not exist", field=FIELD)
    size = os.path.getsize(path)
    if size == 0:
        raise InputError("the video is empty (0 bytes)", field=FIELD)
    if size > MAX_BYTES:
        raise InputError(f"the video is {size / 2**30:.1f} GB; the limit is {MAX_BYTES / 2**30:.0f} GB", field=FIELD)
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as e:
        raise InputError(
            f"the file is not a video anchor can read ({e.__class__.__name__}); use an MP4, MOV, MKV or WebM recording",
            field=FIELD,
        ) from None
    try:
        if not container.streams.video:
            raise InputError("the file has no video stream; use a recording of the person", field=FIELD)
        stream = container.streams.video[0]
        if stream.codec_context.name in ("png", "mjpeg", "bmp", "gif", "webp") and (stream.frames or 0) <= 1:
            raise InputError("the file is a still image, not a video; use `anchor avatar add NAME PHOTO`", field=FIELD)
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        duration = _duration(container, stream)
        w, h = stream.codec_context.width, stream.codec_context.height
        rotation = _first_frame_rotation(container, stream)
    finally:
        container.close()
    if not MIN_FPS <= fps <= MAX_FPS:
        raise InputError(f"the video runs at {fps:.1f} frames per second; use {MIN_FPS:.0f} to 60 fps", field=FIELD)
    if duration < min_seconds:
        raise InputError(
            f"the video is {duration:.1f} s long; record at least {min_seconds:.0f} s (talking, with pauses "
            "where the mouth is closed)",
            field=FIELD,
        )
    if duration > max_seconds:
        raise InputError(
            f"the video is {duration / 60:.1f} min long; the limit is {max_seconds / 60:.0f} min: trim it",
            field=FIELD,
        )
    if rotation in (90, 270):
        w, h = h, w
    if min(w, h) < MIN_SHORT_SIDE:
        raise InputError(f"the video is {w}x{h} px; its shorter side must be at least {MIN_SHORT_SIDE} px", field=FIELD)
    scale = min(1.0, MAX_WORK_LONG_SIDE / max(w, h))
    ww, wh = (w, h) if scale == 1.0 else (_even(w * scale), _even(h * scale))
    return VideoInfo(path, fps, duration, ww, wh, (w, h), rotation)


def _even(v: float) -> int:
    return max(2, int(round(v / 2)) * 2)


def _duration(container: object, stream: object) -> float:
    import av

    assert isinstance(container, av.container.InputContainer)
    assert isinstance(stream, av.video.stream.VideoStream)
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / 1_000_000
    return 0.0


def _first_frame_rotation(container: object, stream: object) -> int:
    """Decode the first frame (proving the stream decodes) and return its display rotation.

    Phones store portrait video as landscape frames plus a display matrix; FFmpeg reports its
    angle counter-clockwise, which is how the frames are turned upright here.
    """
    import av

    assert isinstance(container, av.container.InputContainer)
    try:
        frame = next(container.decode(stream), None)
    except av.error.FFmpegError as e:
        raise InputError(f"the video cannot be decoded ({e}); export it again", field=FIELD) from None
    if frame is None:
        raise InputError("the video has no frames", field=FIELD)
    angle = float(getattr(frame, "rotation", 0) or 0)
    return int(round(angle / 90.0)) * 90 % 360


def read_frames(info: VideoInfo, *, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """(index, RGB uint8 at the working size) for frames start..stop-1 of the recording, in order.

    Frames are numbered in decode order, as they come; a damaged frame in the middle ends the
    stream with an InputError naming the frame.
    """
    import av

    with av.open(str(info.path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        i = -1
        try:
            for frame in container.decode(stream):
                i += 1
                if i < start:
                    continue
                if stop is not None and i >= stop:
                    return
                yield i, _to_rgb(frame, info)
        except av.error.FFmpegError as e:
            if i < 1:
                raise InputError(f"the video cannot be decoded ({e}); export it again", field=FIELD) from None
            raise InputError(f"the video is damaged at frame {i + 1} ({e}); export it again", field=FIELD) from None


def _to_rgb(frame: object, info: VideoInfo) -> np.ndarray:
    import av

    assert isinstance(frame, av.VideoFrame)
    rgb: np.ndarray = frame.to_ndarray(format="rgb24")
    if info.rotation:
        rgb = np.rot90(rgb, k=info.rotation // 90)
    if (rgb.shape[1], rgb.shape[0]) != (info.width, info.height):
        rgb = cv2.resize(rgb, (info.width, info.height), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(rgb)


def sample_frames(info: VideoInfo, times: list[float]) -> Iterator[tuple[float, np.ndarray]]:
    """(time, RGB at the working size) of the frame showing each of `times` (seconds), seeking between them."""
    import av

    with av.open(str(info.path)) as container:
        stream = container.streams.video[0]
        tb = stream.time_base
        for t in sorted(times):
            try:
                if tb is not None:
                    container.seek(int(t / tb) + (stream.start_time or 0), stream=stream, backward=True)
                for frame in container.decode(stream):
                    ft = float(frame.time) if frame.time is not None else t
                    if ft >= t - 0.5 / info.fps:
                        yield ft, _to_rgb(frame, info)
                        break
            except av.error.FFmpegError as e:
                raise InputError(
                    f"the video cannot be decoded near {t:.1f} s ({e}); export it again", field=FIELD
                ) from None
