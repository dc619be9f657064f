"""Sinks that add provenance to program output: the watermark, and the air-check recorder.

`WatermarkingSink(inner, watermarker)` marks every frame before the inner sink (or a fan-out
of sinks) sees it. `AirCheckRecorder` records the channel output into rotating MP4 segments,
each C2PA-signed (with the as-run log's head at its close), and deletes segments older than
the retention period. Both have the channel's sink shape: `write(frame, audio)` and `close()`.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from anchor.provenance.c2pa_sign import ClipFacts, mp4_finalizer
from anchor.provenance.keys import SigningIdentity
from anchor.provenance.watermark import Watermarker
from streaming.file import Mp4Sink
from streaming.frames import AudioChunk, VideoFrame

log = logging.getLogger(__name__)

SEGMENT_RE = re.compile(r"^aircheck-(\d{8}T\d{6}Z)-(\d{9})\.mp4$")


class Sink(Protocol):
    def write(self, frame: VideoFrame, audio: AudioChunk) -> None: ...

    def close(self) -> None: ...


class WatermarkingSink:
    """Embeds the watermark into each frame's picture, then passes it on."""

    def __init__(self, inner: Sink, watermarker: Watermarker) -> None:
        self.inner = inner
        self.watermarker = watermarker

    def write(self, frame: VideoFrame, audio: AudioChunk) -> None:
        image = frame.image
        if not (image.flags.writeable and image.flags.c_contiguous):
            image = np.ascontiguousarray(image).copy()
            frame = replace(frame, image=image)
        self.watermarker.embed(image, frame.pts)
        self.inner.write(frame, audio)

    def close(self) -> None:
        self.inner.close()


class AirCheckRecorder:
    """Records program output into `dir/aircheck-<UTC start>-<first frame>.mp4` segments.

    A segment is `segment_s` long (cut at a frame boundary); finished segments are closed and
    signed on a background thread so the channel's air loop never waits for the encoder flush
    or the signature. `facts` describes the channel (content id, issuer, presenter); each
    segment gets its own content id (`<content_id>/<first frame>`), its time span and, when
    `asrun_head` is given, the as-run log's head in an `org.anchor.asrun` assertion. Segments
    whose start is older than `keep` are deleted when a new one starts.
    """

    def __init__(
        self,
        directory: Path,
        fps: int,
        width: int,
        height: int,
        *,
        facts: ClipFacts,
        identity: SigningIdentity | None,
        segment_s: float = 600.0,
        keep: timedelta = timedelta(days=30),
        asrun_head: Callable[[], Mapping[str, Any]] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        crf: int = 23,
        preset: str = "ultrafast",
        training_mining: str = "notAllowed",
    ) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.fps, self.width, self.height = fps, width, height
        self.segment_frames = max(1, round(segment_s * fps))
        self.keep = keep
        self.facts, self.identity = facts, identity
        self._asrun_head, self._clock = asrun_head, clock
        self._crf, self._preset, self._training = crf, preset, training_mining
        self._sink: Mp4Sink | None = None
        self._frames_in_segment = 0
        self._segment_start: tuple[datetime, int] | None = None
        self.segments: list[Path] = []
        self.failures: list[str] = []
        self._closing: queue.Queue[tuple[Mp4Sink, Path] | None] = queue.Queue()
        self._closer = threading.Thread(target=self._close_loop, name="aircheck-closer", daemon=True)
        self._closer.start()

    def write(self, frame: VideoFrame, audio: AudioChunk) -> None:
        if self._sink is None or self._frames_in_segment >= self.segment_frames:
            self._rotate(frame.pts)
        assert self._sink is not None
        self._sink.write(frame, audio)
        self._frames_in_segment += 1

    def _rotate(self, first_pts: int) -> None:
        self._finish_current()
        now = self._clock().astimezone(UTC)
        path = self.dir / f"aircheck-{now:%Y%m%dT%H%M%SZ}-{first_pts:09d}.mp4"
        self._segment_start = (now, first_pts)
        self._sink = Mp4Sink(
            path,
            self.width,
            self.height,
            self.fps,
            crf=self._crf,
            preset=self._preset,
            metadata={"comment": "AI-generated: air-check of an anchor channel", "title": path.stem},
            finalize=self._signer(path, now, first_pts),
        )
        self._frames_in_segment = 0
        self._prune(now)

    def _signer(self, path: Path, start: datetime, first_pts: int) -> Callable[[Path], None] | None:
        if self.identity is None:
            return None
        identity = self.identity

        def finalize(tmp: Path) -> None:
            # Built at close time, so the segment's end and the as-run head are those of its last frame.
            end = self._clock().astimezone(UTC)
            extra: dict[str, Mapping[str, Any]] = dict(self.facts.extra)
            extra["org.anchor.segment"] = {
                "file": path.name,
                "start": start.isoformat(timespec="seconds"),
                "end": end.isoformat(timespec="seconds"),
                "first_frame": first_pts,
                "fps": self.fps,
            }
            if self._asrun_head is not None:
                extra["org.anchor.asrun"] = dict(self._asrun_head())
            facts = replace(
                self.facts,
                content_id=f"{self.facts.content_id}/{first_pts}",
                kind="aircheck",
                title=f"{self.facts.title or 'channel'} air-check {start:%Y-%m-%d %H:%M:%S}Z",
                created=start.isoformat(timespec="seconds"),
                extra=extra,
            )
            mp4_finalizer(facts, identity, training_mining=self._training)(tmp)

        return finalize

    def _finish_current(self) -> None:
        if self._sink is not None:
            self._closing.put((self._sink, self._sink.path))
            self._sink = None

    def _close_loop(self) -> None:
        while (job := self._closing.get()) is not None:
            sink, path = job
            try:
                sink.close()
                self.segments.append(path)
            except Exception as e:  # a failed segment is reported, and the next one still records
                log.exception("air-check segment %s failed", path.name)
                self.failures.append(f"{path.name}: {e}")

    def _prune(self, now: datetime) -> None:
        for p in self.dir.glob("aircheck-*.mp4"):
            m = SEGMENT_RE.match(p.name)
            if m and datetime.strptime(m.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC) < now - self.keep:
                p.unlink(missing_ok=True)
                log.info("deleted air-check segment %s (older than %s)", p.name, self.keep)

    def close(self) -> None:
        """Finish and sign the last segment; waits for every pending segment."""
        self._finish_current()
        self._closing.put(None)
        self._closer.join()
