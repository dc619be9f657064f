"""Read back what a sink wrote, by really decoding it with PyAV (used by tests and benches)."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np


@dataclass(frozen=True)
class MediaInfo:
    """What decoding a media file found. Fields of a missing stream are None / 0."""

    path: str
    format_name: str
    video_codec: str | None
    width: int
    height: int
    fps: float  # average frame rate of the video stream
    pix_fmt: str | None
    video_frames: int  # frames actually decoded
    video_duration_s: float  # from the decoded frames' timestamps (+ one frame period)
    audio_codec: str | None
    audio_sample_rate: int
    audio_channels: int
    audio_duration_s: float  # decoded samples / sample rate
    metadata: dict[str, str] = field(default_factory=dict)  # container-level tags
    faststart: bool | None = None  # MP4/MOV: moov box before mdat; None for other formats


def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Decode every video frame and audio sample of `path` and describe the file.

    Raises FileNotFoundError for a missing file and ValueError for one that is not media.
    """
    path = Path(path)
    with _open(path) as container:
        metadata = dict(container.metadata)
        format_name = container.format.name
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        video_codec = video.codec_context.name if video else None
        width = video.codec_context.width if video else 0
        height = video.codec_context.height if video else 0
        fps = float(video.average_rate) if video and video.average_rate else 0.0
        pix_fmt = video.codec_context.pix_fmt if video else None
        audio_codec = audio.codec_context.name if audio else None
        audio_rate = audio.codec_context.sample_rate if audio else 0
        audio_channels = audio.codec_context.channels if audio else 0

        video_frames, first_t, last_t = 0, None, None
        audio_samples = 0
        streams = [s for s in (video, audio) if s is not None]
        try:
            for frame in container.decode(*streams):
                if isinstance(frame, av.VideoFrame):
                    video_frames += 1
                    if frame.time is not None:
                        first_t = frame.time if first_t is None else min(first_t, frame.time)
                        last_t = frame.time if last_t is None else max(last_t, frame.time)
                elif isinstance(frame, av.AudioFrame):
                    audio_samples += frame.samples
        except av.FFmpegError as error:
            raise ValueError(f"{path}: decoding failed: {error}") from error

    if video_frames and first_t is not None and last_t is not None and fps:
        video_duration = last_t - first_t + 1.0 / fps
    else:
        video_duration = video_frames / fps if fps else 0.0
    return MediaInfo(
        path=str(path),
        format_name=format_name,
        video_codec=video_codec,
        width=width,
        height=height,
        fps=fps,
        pix_fmt=pix_fmt,
        video_frames=video_frames,
        video_duration_s=video_duration,
        audio_codec=audio_codec,
        audio_sample_rate=audio_rate,
        audio_channels=audio_channels,
        audio_duration_s=audio_samples / audio_rate if audio_rate else 0.0,
        metadata=metadata,
        faststart=_moov_before_mdat(path),
    )


def decode_frames(
    path: str | os.PathLike[str], indices: Iterable[int] | None = None, *, step: int | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (frame index, (H, W, 3) uint8 RGB) for the chosen frames of the first video stream.

    Give `indices` (any order; yielded in file order), or `step` (every step-th frame from
    0), or neither for all frames. Indices count decoded frames from 0.
    """
    if indices is not None and step is not None:
        raise ValueError("give indices or step, not both")
    if step is not None and step < 1:
        raise ValueError(f"step must be >= 1, got {step}")
    wanted = set(indices) if indices is not None else None
    if wanted is not None and not wanted:
        return
    last_wanted = max(wanted) if wanted is not None else None
    path = Path(path)
    with _open(path) as container:
        if not container.streams.video:
            raise ValueError(f"{path} has no video stream")
        try:
            for index, frame in enumerate(container.decode(video=0)):
                if (wanted is None and (step is None or index % step == 0)) or (wanted and index in wanted):
                    yield index, frame.to_ndarray(format="rgb24")
                if last_wanted is not None and index >= last_wanted:
                    return
        except av.FFmpegError as error:
            raise ValueError(f"{path}: decoding failed: {error}") from error


def decode_audio(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """Decode the first audio stream to float32 mono in [-1, 1] (channels averaged)."""
    path = Path(path)
    with _open(path) as container:
        if not container.streams.audio:
            raise ValueError(f"{path} has no audio stream")
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        resampler = av.AudioResampler(format="fltp", layout=stream.codec_context.layout.name, rate=rate)
        parts: list[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                for converted in resampler.resample(frame):
                    parts.append(converted.to_ndarray().mean(axis=0, dtype=np.float32))
            for converted in resampler.resample(None):
                parts.append(converted.to_ndarray().mean(axis=0, dtype=np.float32))
        except av.FFmpegError as error:
            raise ValueError(f"{path}: decoding failed: {error}") from error
    samples = np.concatenate(parts) if parts else np.empty(0, dtype=np.float32)
    return samples.astype(np.float32, copy=False), rate


def _open(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        container = av.open(str(path))
    except av.FFmpegError as error:
        raise ValueError(f"{path} is not a media file PyAV can read: {error}") from error
    if not container.streams.video and not container.streams.audio:
        container.close()
        raise ValueError(f"{path} has no audio or video stream")
    return container


def _moov_before_mdat(path: Path) -> bool | None:
    """Walk the top-level MP4 boxes; None when the file is not an ISO-BMFF/QuickTime file."""
    order: list[bytes] = []
    size_of_file = path.stat().st_size
    with path.open("rb") as f:
        offset = 0
        while offset + 8 <= size_of_file and len(order) < 64:
            f.seek(offset)
            size, kind = struct.unpack(">I4s", f.read(8))
            header = 8
            if size == 1:  # 64-bit size follows
                (size,) = struct.unpack(">Q", f.read(8))
                header = 16
            elif size == 0:  # box runs to the end of the file
                size = size_of_file - offset
            if size < header:
                break
            order.append(kind)
            offset += size
    if not order or order[0] != b"ftyp":
        return None
    if b"moov" not in order or b"mdat" not in order:
        return None
    return order.index(b"moov") < order.index(b"mdat")
