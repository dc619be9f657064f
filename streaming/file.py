"""Mp4Sink: program frames + audio -> an H.264/AAC MP4 file, written atomically.

Encoding and muxing run in a worker thread fed by a bounded queue (PyAV releases the GIL
while encoding, so the caller's rendering overlaps with it). The file is written under a
hidden temporary name beside the target and renamed only when `close()` succeeds.
"""

from __future__ import annotations

import os
import queue
import secrets
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType

import av
import numpy as np

from streaming.encoder import (
    AudioRechunker,
    H264Settings,
    add_aac_stream,
    add_h264_stream,
    check_sink_format,
    check_write,
    rgb_to_yuv420p,
    yuv420p_to_av_frame,
)
from streaming.frames import AudioChunk, VideoFrame
from streaming.outputs import SinkClosedError

# Keys the mp4 muxer keeps in its standard iTunes-style tags (checked with FFmpeg 8 /
# libavformat 62). Any other key switches the file to `use_metadata_tags` (QuickTime
# "mdta" keys), which keeps arbitrary keys but is read by fewer non-FFmpeg tools.
STANDARD_MP4_TAGS = frozenset(
    {
        "title", "artist", "album_artist", "composer", "album", "date", "comment", "genre",
        "copyright", "grouping", "lyrics", "description", "synopsis", "show", "episode_id",
        "network", "keywords", "track", "disc", "encoder", "creation_time",
    }
)  # fmt: skip

_STOP = object()


class Mp4Sink:
    """Write one video frame and its audio at a time into an MP4 (H.264 yuv420p + AAC).

    Frames must be contiguous (pts n, n+1, ...; the first one may start anywhere and is
    written as file frame 0) and each must come with exactly the samples of its frame
    period: `audio.pts == frame.pts * sample_rate // fps` and
    `len(audio.samples) == (frame.pts + 1) * sample_rate // fps - audio.pts`.

    Metadata goes into the container tags. With only keys from `STANDARD_MP4_TAGS` the
    standard MP4 tags are used ("encoder" is stored as the encoding tool so it is not
    replaced by FFmpeg's own; "creation_time" is normalised to ISO 8601 with microseconds).
    Any other key makes the whole set QuickTime metadata keys
    (`movflags=+use_metadata_tags`); then every key survives except "encoder", which
    FFmpeg always overwrites with its own name in that mode.

    Use it as a context manager: leaving the block normally closes and publishes the file;
    leaving it with an exception stops the worker and leaves no file behind.

    `finalize`, if given, is called with the finished temporary file (trailer written) just
    before it is renamed to `path`, e.g. to sign it; it may rewrite the file in place. If it
    raises, `close()` raises that error and no file is published.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        width: int,
        height: int,
        fps: int,
        *,
        sample_rate: int = 48_000,
        crf: int = 23,
        preset: str = "ultrafast",
        threads: int = 0,
        metadata: Mapping[str, str] | None = None,
        background: bool = True,
        queue_frames: int = 8,
        finalize: Callable[[Path], None] | None = None,
    ) -> None:
        check_sink_format(width, height, fps, sample_rate, queue_frames)
        settings = H264Settings(crf=crf, preset=preset, threads=threads)
        tags = dict(metadata or {})
        for key, value in tags.items():
            if not isinstance(key, str) or not key or not isinstance(value, str):
                raise ValueError(f"metadata must map non-empty str keys to str values, got {key!r}: {value!r}")

        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise FileNotFoundError(f"cannot write {self.path}: directory {self.path.parent} does not exist")
        self.width, self.height, self.fps, self.sample_rate = width, height, fps, sample_rate
        self.frames_written = 0
        self._finalize = finalize
        self._first_pts: int | None = None
        self._closed = False
        self._failure: BaseException | None = None  # set by whoever hit the error
        self._failure_reported = False
        self._abort = threading.Event()
        self._tmp_path = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.part")
        self._writer = _Mp4Writer(self._tmp_path, width, height, fps, sample_rate, settings, tags)
        self._queue: queue.Queue[object] | None = None
        self._thread: threading.Thread | None = None
        if background:
            self._queue = queue.Queue(maxsize=queue_frames)
            self._thread = threading.Thread(target=self._work, name=f"Mp4Sink:{self.path.name}", daemon=True)
            self._thread.start()

    def __enter__(self) -> Mp4Sink:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
            return
        self._discard()
        if exc is not None and self._failure is not None and not self._failure_reported and exc is not self._failure:
            self._failure_reported = True
            exc.add_note(f"Mp4Sink {self.path}: the encoder had also failed: {self._failure!r}")

    def write(self, frame: VideoFrame, audio: AudioChunk) -> None:
        """Queue (or, without background, encode) one frame and the audio of its period.

        The picture is converted to YUV here, so the caller may reuse its buffers as soon
        as this returns. Raises ValueError for bad input, or the worker's error if encoding
        failed since the last call.
        """
        if self._closed:
            raise SinkClosedError(f"Mp4Sink for {self.path} is closed")
        self._raise_failure()
        index = self._validate(frame, audio)
        item = (index, rgb_to_yuv420p(frame.image), audio.samples.copy())
        if self._queue is None:
            try:
                self._writer.write(*item)
            except BaseException as error:
                self._failure, self._failure_reported = error, True
                raise
        else:
            self._queue.put(item)
        self.frames_written += 1

    def close(self) -> None:
        """Flush the encoders, finish the file and move it to `path`. Idempotent.

        Raises the worker's error (after cleaning up) if encoding failed and that was not
        yet reported by `write`; in every failure case no file is left at `path`.
        """
        if self._closed:
            return
        self._closed = True
        try:
            self._stop_worker()
            self._raise_failure()
            if self._failure is not None:  # already reported by write(): just clean up
                self._writer.discard()
                return
            if self.frames_written == 0:
                raise ValueError(f"no frames were written, so no file was made at {self.path}")
            self._writer.finish()
            if self._finalize is not None:
                self._finalize(self._tmp_path)
            os.replace(self._tmp_path, self.path)
        except BaseException:
            self._writer.discard()
            raise

    def _discard(self) -> None:
        """Abandon the file: stop the worker quickly, close and delete the temporary file."""
        if self._closed:
            return
        self._closed = True
        self._abort.set()
        try:
            self._stop_worker()
        finally:
            self._writer.discard()

    def _stop_worker(self) -> None:
        if self._thread is None or self._queue is None:
            return
        self._queue.put(_STOP)  # the worker always keeps consuming, so this cannot block forever
        self._thread.join()

    def _work(self) -> None:
        assert self._queue is not None
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if self._failure is not None or self._abort.is_set():
                continue  # keep draining so a producer blocked on put() is released
            try:
                self._writer.write(*item)  # type: ignore[misc]
            except BaseException as error:  # handed over to the owner's thread, never dropped
                self._failure = error

    def _raise_failure(self) -> None:
        if self._failure is not None and not self._failure_reported:
            self._failure_reported = True
            raise self._failure
        if self._failure is not None and not self._closed:
            raise RuntimeError(f"Mp4Sink for {self.path} failed earlier") from self._failure

    def _validate(self, frame: VideoFrame, audio: AudioChunk) -> int:
        """Check one write's input; return the frame's index in the file."""
        check_write(frame, audio, self.width, self.height, self.fps, self.sample_rate)
        samples = audio.samples
        first = frame.pts if self._first_pts is None else self._first_pts
        expected_pts = first + self.frames_written
        if frame.pts != expected_pts:
            raise ValueError(
                f"video pts {frame.pts} is not contiguous: expected {expected_pts} "
                f"(frame {self.frames_written} of this file)"
            )
        start = frame.pts * self.sample_rate // self.fps
        length = (frame.pts + 1) * self.sample_rate // self.fps - start
        if audio.pts != start:
            raise ValueError(f"audio pts {audio.pts} does not start frame {frame.pts}: expected sample {start}")
        if len(samples) != length:
            raise ValueError(f"frame {frame.pts} needs exactly {length} audio samples, got {len(samples)}")
        self._first_pts = first
        return frame.pts - first


class _Mp4Writer:
    """The container and its encoders; used by one thread at a time."""

    def __init__(
        self,
        tmp_path: Path,
        width: int,
        height: int,
        fps: int,
        sample_rate: int,
        settings: H264Settings,
        metadata: dict[str, str],
    ) -> None:
        self._tmp_path = tmp_path
        movflags = "+faststart"
        if not set(metadata) <= STANDARD_MP4_TAGS:
            movflags += "+use_metadata_tags"
        elif "encoder" in metadata:
            # libavformat replaces "encoder" with its own name; the mp4 muxer writes
            # "encoding_tool" into the same tag (©too), which readers report as "encoder".
            metadata = {("encoding_tool" if k == "encoder" else k): v for k, v in metadata.items()}
        self._container = av.open(str(tmp_path), "w", format="mp4", options={"movflags": movflags})
        try:
            for key, value in metadata.items():
                self._container.metadata[key] = value
            self._video = add_h264_stream(self._container, width, height, fps, settings)
            self._audio = add_aac_stream(self._container, sample_rate)
            self._rechunker = AudioRechunker(sample_rate)
        except BaseException:
            self.discard()
            raise

    def write(self, index: int, yuv: np.ndarray, samples: np.ndarray) -> None:
        for packet in self._video.encode(yuv420p_to_av_frame(yuv, index)):
            self._container.mux(packet)
        for frame in self._rechunker.push(samples):
            for packet in self._audio.encode(frame):
                self._container.mux(packet)

    def finish(self) -> None:
        """Flush both encoders and write the trailer (faststart moves moov to the front)."""
        for packet in self._video.encode(None):
            self._container.mux(packet)
        for frame in self._rechunker.flush():
            for packet in self._audio.encode(frame):
                self._container.mux(packet)
        for packet in self._audio.encode(None):
            self._container.mux(packet)
        self._container.close()

    def discard(self) -> None:
        """Close without finishing and delete the temporary file (safe to call twice)."""
        try:
            self._container.close()
        except (av.FFmpegError, OSError, ValueError):
            pass  # the file is being thrown away; the error that got us here is what matters
        finally:
            self._tmp_path.unlink(missing_ok=True)
