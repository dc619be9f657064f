"""RtmpSink: program frames + audio -> FLV (H.264 yuv420p + AAC) pushed to an rtmp:// URL.

The caller (the live timeline) must never wait on a network. `write()` converts the
picture to YUV and puts it on a small bounded queue; a worker thread owns the connection,
encodes and muxes. When the queue is full the oldest video frame is dropped (its audio is
kept and merged into the next item, so audio is never lost while connected). When the
connection fails the worker closes the container, waits with backoff and reconnects;
while it is not up, incoming frames are discarded and counted. Timestamps always come
from the program: video pts = frame index, audio pts = sample counter, so after a
reconnect a puller sees time continue instead of restarting at zero.

A dead or stalled server must not hang the worker (or the process). Two facts about
PyAV 18 shape how that is done:

- Output files are opened with a bare `avio_open` (no options, no interrupt callback), so
  FFmpeg's `rw_timeout`/`timeout` cannot reach the RTMP/TCP protocol ("Some options were
  not used"), and that open (TCP connect + RTMP handshake + publish, inside
  `start_encoding`) runs while HOLDING THE GIL: a server that accepts the TCP connection
  but never answers would freeze every Python thread, not just the worker. So before
  each connect the worker does its own RTMP handshake probe (C0+C1 -> S0+S1) with a
  Python socket and `io_timeout`; only a server that answers gets the FFmpeg connect.
- `mux` releases the GIL. The sink records when the worker entered each mux call; past
  `io_timeout` (checked from `write()` and `close()`) it shuts down (SHUT_RDWR) the
  sink's own TCP sockets to the server, found through /proc (Linux), which makes the
  blocked call fail so the normal reconnect path takes over. (The final trailer write in
  `close()` holds the GIL too; it is a few bytes, so only a server that stalled with a
  full send buffer at that very moment could delay it.)
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urlsplit

import av
import numpy as np

from streaming.encoder import (
    AudioRechunker,
    H264Settings,
    YuvConverter,
    add_aac_stream,
    add_h264_stream,
    check_sink_format,
    check_write,
    yuv420p_to_av_frame,
)
from streaming.frames import AudioChunk, VideoFrame
from streaming.outputs import OutputStatus, SinkClosedError, StateCallback, masked_url

log = logging.getLogger(__name__)

DEFAULT_BACKOFF = (0.5, 1.0, 2.0, 4.0)
"""Seconds to wait before reconnect attempts 1, 2, 3, ...; the last value repeats."""
MAX_BACKOFF = 5.0

STATES = ("connecting", "up", "reconnecting", "closed")


def parse_bitrate(value: str | int) -> int:
    """'2500k' -> 2_500_000, '2.5M' -> 2_500_000, 800000 -> 800000 (bits/s)."""
    if isinstance(value, int) and not isinstance(value, bool):
        bits = value
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*", str(value))
        if not match:
            raise ValueError(f"bitrate must be an int or like '2500k' / '2.5M', got {value!r}")
        bits = int(float(match.group(1)) * {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2).lower()])
    if bits <= 0:
        raise ValueError(f"bitrate must be positive, got {value!r}")
    return bits


@dataclass
class _Item:
    index: int
    yuv: np.ndarray
    audio_pts: int
    samples: np.ndarray


class RtmpSink:
    """Push one program to one rtmp:// URL from its own thread; reconnects by itself.

    `state` is one of "connecting" (first attempt), "up", "reconnecting", "closed";
    `on_state(callback)` registers `callback(sink, state)`, called from the worker thread.
    Counters: frames_sent, frames_dropped (queue full), frames_discarded (not connected),
    reconnects, bytes_sent. Nothing the network does raises in the caller: errors are
    logged and shown in `state`. Use as a context manager; `close()` flushes what is
    queued (when up) and always joins the worker.
    """

    def __init__(
        self,
        url: str,
        width: int,
        height: int,
        fps: int,
        *,
        video_bitrate: str | int = "2500k",
        audio_bitrate: str | int = "128k",
        gop_seconds: float = 2,
        preset: str = "veryfast",
        sample_rate: int = 48_000,
        reconnect_backoff: Sequence[float] = DEFAULT_BACKOFF,
        queue_frames: int = 12,
        io_timeout: float = 5.0,
        threads: int = 0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme != "rtmp" or not parts.hostname:
            raise ValueError(f"expected an rtmp://host[:port]/app/key URL, got {url!r}")
        check_sink_format(width, height, fps, sample_rate, queue_frames)
        if gop_seconds <= 0:
            raise ValueError(f"gop_seconds must be positive, got {gop_seconds}")
        if not reconnect_backoff or any(not 0 <= b <= MAX_BACKOFF for b in reconnect_backoff):
            raise ValueError(f"reconnect_backoff must be non-empty seconds within 0..{MAX_BACKOFF}")
        if io_timeout <= 0:
            raise ValueError(f"io_timeout must be positive, got {io_timeout}")
        self.url = url
        self.width, self.height, self.fps, self.sample_rate = width, height, fps, sample_rate
        self._host, self._port = parts.hostname, parts.port or 1935
        self._h264 = H264Settings(
            bitrate=parse_bitrate(video_bitrate),
            maxrate=parse_bitrate(video_bitrate),
            bufsize=2 * parse_bitrate(video_bitrate),
            preset=preset,
            gop=max(1, round(gop_seconds * fps)),
            fixed_gop=True,
            threads=threads,
            zerolatency=True,
        )
        self._audio_bitrate = parse_bitrate(audio_bitrate)
        self._backoff = tuple(float(b) for b in reconnect_backoff)
        self._queue_frames = queue_frames
        self.io_timeout = io_timeout

        self._to_yuv = YuvConverter()
        self.frames_sent = 0
        self.frames_dropped = 0
        self.frames_discarded = 0
        self.reconnects = 0
        self.bytes_sent = 0
        self.last_error: str | None = None

        self._state = "connecting"
        self._callbacks: list[StateCallback] = []
        self._items: deque[_Item] = deque()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._closed = False
        self._io_since: float | None = None  # when the worker entered a blocking FFmpeg call
        self._conn_inodes_before: set[int] = set()  # our sockets to the server before connecting
        self._server_addrs: set[tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]] = set()
        self._thread = threading.Thread(target=self._run, name=f"RtmpSink:{parts.path}", daemon=True)
        self._thread.start()

    # -- caller side ------------------------------------------------------------------

    @property
    def state(self) -> str:
        return self._state

    def status(self) -> OutputStatus:
        """This output as an operator sees it (the URL without its stream key)."""
        return OutputStatus(
            masked_url(self.url),
            self._state,
            self.reconnects,
            self.frames_sent,
            self.frames_dropped + self.frames_discarded,
            self.last_error,
        )

    def on_state(self, callback: StateCallback) -> None:
        """Call `callback(sink, state)` on every state change (from the worker thread)."""
        self._callbacks.append(callback)

    def write(self, frame: VideoFrame, audio: AudioChunk) -> None:
        """Hand over one frame and the audio of its period; returns at once.

        Raises only for bad input or a closed sink, never because of the network.
        """
        if self._closed:
            raise SinkClosedError(f"RtmpSink for {self.url} is closed")
        self._validate(frame, audio)
        self._break_if_stalled(self.io_timeout)
        if self._state != "up":
            with self._cond:
                self.frames_discarded += 1
            return
        item = _Item(frame.pts, self._to_yuv(frame.image), audio.pts, audio.samples.copy())
        with self._cond:
            self._items.append(item)
            if len(self._items) > self._queue_frames:
                oldest = self._items.popleft()
                nxt = self._items[0]
                if oldest.audio_pts + len(oldest.samples) == nxt.audio_pts:
                    nxt.samples = np.concatenate((oldest.samples, nxt.samples))
                    nxt.audio_pts = oldest.audio_pts
                self.frames_dropped += 1
            self._cond.notify()

    def close(self) -> None:
        """Send what is queued (if connected), end the stream and join the worker. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        grace = min(self.io_timeout, 1.0)
        while self._thread.is_alive():
            self._thread.join(0.1)
            self._break_if_stalled(grace)

    def __enter__(self) -> RtmpSink:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _validate(self, frame: VideoFrame, audio: AudioChunk) -> None:
        check_write(frame, audio, self.width, self.height, self.fps, self.sample_rate)

    # -- worker side ------------------------------------------------------------------

    def _set_state(self, state: str) -> None:
        if state == self._state:
            return
        self._state = state
        log.info("rtmp %s: %s", self.url, state)
        for callback in list(self._callbacks):
            try:
                callback(self, state)
            except Exception:  # a listener's bug must not take the output down
                log.exception("rtmp %s: state callback %r failed", self.url, callback)

    def _run(self) -> None:
        failures = 0  # consecutive failed attempts (or 1 after a lost connection)
        ever_up = False
        try:
            while not self._stop.is_set():
                if failures:
                    delay = self._backoff[min(failures, len(self._backoff)) - 1]
                    if self._stop.wait(delay):
                        break
                try:
                    conn = self._connect()
                except Exception as error:
                    failures += 1
                    self._set_state("reconnecting")
                    self._note_error("connect failed", error, quiet=failures > 1)
                    continue
                failures = 0
                if ever_up:
                    self.reconnects += 1
                ever_up = True
                self._set_state("up")
                try:
                    self._pump(conn)
                    conn.finish(self._timed)
                    break
                except Exception as error:
                    self._set_state("reconnecting")
                    self._note_error("connection lost", error)
                    conn.abort()
                    self._discard_queue()
                    failures = 1
        finally:
            self._discard_queue()
            self._set_state("closed")

    def _note_error(self, what: str, error: BaseException, quiet: bool = False) -> None:
        self.last_error = f"{what}: {error}"
        if isinstance(error, (av.FFmpegError, OSError)):
            # Only the first of a run of failed attempts is a warning; the retries are noise.
            log.log(logging.DEBUG if quiet else logging.WARNING, "rtmp %s: %s: %s", self.url, what, error)
        else:
            log.error("rtmp %s: %s", self.url, what, exc_info=error)

    def _discard_queue(self) -> None:
        with self._cond:
            self.frames_discarded += len(self._items)
            self._items.clear()

    def _connect(self) -> _Connection:
        _probe_rtmp(self._host, self._port, self.io_timeout)
        self._server_addrs = _resolve(self._host, self._port)
        self._conn_inodes_before = _own_socket_inodes(self._server_addrs)
        return _Connection(self, self._timed)

    def _pump(self, conn: _Connection) -> None:
        """Encode queued items until close() is asked for and the queue is empty."""
        while True:
            with self._cond:
                while not self._items and not self._stop.is_set():
                    self._cond.wait(0.5)
                if not self._items:
                    return
                item = self._items.popleft()
            conn.write(item)
            self.frames_sent += 1

    def _timed(self, call: Callable[..., object], *args: object) -> object:
        """Run one blocking FFmpeg call with the stall watchdog armed."""
        self._io_since = time.monotonic()
        try:
            return call(*args)
        finally:
            self._io_since = None

    def _break_if_stalled(self, limit: float) -> None:
        since = self._io_since
        if since is None or time.monotonic() - since < limit:
            return
        inodes = _own_socket_inodes(self._server_addrs) - self._conn_inodes_before
        if inodes:
            log.warning("rtmp %s: no progress for %.1f s; shutting the connection down", self.url, limit)
            _shutdown_sockets(inodes)
            self._io_since = time.monotonic()  # give the worker time to notice before trying again


class _Connection:
    """One FLV-over-RTMP container with its encoders; used by the worker thread only."""

    def __init__(self, sink: RtmpSink, timed: Callable[..., object]) -> None:
        self._sink = sink
        self._container = av.open(
            sink.url,
            "w",
            format="flv",
            container_options={"flvflags": "no_duration_filesize", "avoid_negative_ts": "disabled"},
        )
        try:
            self._video = add_h264_stream(self._container, sink.width, sink.height, sink.fps, sink._h264)
            self._audio = add_aac_stream(self._container, sink.sample_rate, sink._audio_bitrate)
            self._rechunker: AudioRechunker | None = None
            self._next_audio_pts: int | None = None
            self._timed = timed
            self._container.start_encoding()  # TCP connect, RTMP handshake and publish (holds the GIL)
        except BaseException:
            self.abort()
            raise

    def write(self, item: _Item) -> None:
        packets = list(self._video.encode(yuv420p_to_av_frame(item.yuv, item.index)))
        if self._rechunker is None or item.audio_pts != self._next_audio_pts:
            if self._rechunker is not None:  # a gap in the program audio: end the old run
                packets += self._encode_audio(self._rechunker.flush())
            self._rechunker = AudioRechunker(self._sink.sample_rate, start_pts=item.audio_pts)
        self._next_audio_pts = item.audio_pts + len(item.samples)
        packets += self._encode_audio(self._rechunker.push(item.samples))
        self._mux(packets)

    def finish(self, timed: Callable[..., object]) -> None:
        """Flush both encoders and end the stream."""
        packets = list(self._video.encode(None))
        if self._rechunker is not None:
            packets += self._encode_audio(self._rechunker.flush())
        packets += list(self._audio.encode(None))
        self._mux(packets)
        timed(self._container.close)

    def abort(self) -> None:
        try:
            self._container.close()
        except (av.FFmpegError, OSError, ValueError) as error:
            log.debug("rtmp %s: closing a broken container: %s", self._sink.url, error)

    def _encode_audio(self, frames: list[av.AudioFrame]) -> list[av.Packet]:
        return [packet for frame in frames for packet in self._audio.encode(frame)]

    def _mux(self, packets: list[av.Packet]) -> None:
        for packet in packets:
            if packet.dts is not None and packet.dts < 0:
                # AAC's priming packet at program start (pts -1024): FLV cannot carry it, and
                # letting the muxer shift every stream instead would make output time differ
                # from program time by 21 ms on the first connection only.
                continue
            size = packet.size
            self._timed(self._container.mux_one, packet)
            self._sink.bytes_sent += size


def _probe_rtmp(host: str, port: int, timeout: float) -> None:
    """Check that an RTMP server answers a handshake within `timeout`; raise OSError if not.

    Sends C0 (version 3) + C1 (time 0, zero, 1528 random bytes) and waits for S0 + S1,
    then hangs up.
    """
    deadline = time.monotonic() + timeout
    with socket.create_connection((host, port), timeout=timeout) as probe:
        probe.sendall(b"\x03" + bytes(8) + os.urandom(1528))
        received = 0
        while received < 1 + 1536:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no RTMP handshake from {host}:{port} within {timeout} s")
            probe.settimeout(remaining)
            try:
                chunk = probe.recv(4096)
            except TimeoutError as error:
                raise TimeoutError(f"no RTMP handshake from {host}:{port} within {timeout} s") from error
            if not chunk:
                raise ConnectionError(f"{host}:{port} closed the connection during the RTMP handshake")
            received += len(chunk)


# -- finding our own sockets to the server (Linux /proc) -----------------------------------


def _resolve(host: str, port: int) -> set[tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return set()
    return {(ipaddress.ip_address(str(info[4][0]).split("%")[0]), port) for info in infos}


def _proc_net_peers() -> dict[int, tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]]:
    """inode -> remote (address, port) of every TCP socket in this network namespace."""
    peers: dict[int, tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]] = {}
    for name, width in (("tcp", 4), ("tcp6", 16)):
        try:
            with open(f"/proc/net/{name}") as table:
                rows = table.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) < 10:
                continue
            addr_hex, port_hex = fields[2].split(":")
            raw = bytes.fromhex(addr_hex)
            # /proc prints the address as 32-bit words in host (little-endian) order.
            raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            if len(raw) != width:
                continue
            peers[int(fields[9])] = (ipaddress.ip_address(raw), int(port_hex, 16))
    return peers


def _own_socket_fds() -> dict[int, int]:
    """inode -> fd of this process's sockets."""
    fds: dict[int, int] = {}
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return fds
    for name in names:
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
        if target.startswith("socket:["):
            fds[int(target[8:-1])] = int(name)
    return fds


def _own_socket_inodes(addrs: set[tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]]) -> set[int]:
    if not addrs:
        return set()
    peers = _proc_net_peers()
    return {inode for inode in _own_socket_fds() if peers.get(inode) in addrs}


def _shutdown_sockets(inodes: set[int]) -> None:
    for inode, fd in _own_socket_fds().items():
        if inode not in inodes:
            continue
        try:
            dup = socket.socket(fileno=os.dup(fd))
        except OSError:
            continue  # closed meanwhile
        try:
            dup.shutdown(socket.SHUT_RDWR)
        except OSError as error:
            log.debug("shutdown of socket inode %d: %s", inode, error)
        finally:
            dup.close()
