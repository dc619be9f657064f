"""Clocks, pacing and RtmpSink against a real nginx-rtmp server on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time

import av
import numpy as np
import pytest

import streaming.rtmp as rtmp_module
from streaming.clock import SystemClock, VirtualClock
from streaming.frames import AudioChunk, VideoFrame
from streaming.pacer import FramePacer
from streaming.rtmp import RtmpSink, parse_bitrate
from tests.helpers import wait_until

W, H, FPS, RATE = 320, 240, 25, 48_000
PERIOD = 1 / FPS
BITS, BLOCK = 12, 20  # the frame index is drawn as 12 black/white blocks along the bottom


def picture(index: int) -> np.ndarray:
    """A moving bar plus the frame index as binary blocks (readable after H.264)."""
    image = np.full((H, W, 3), 60, np.uint8)
    left = (index * 8) % (W - 24)
    image[20 : H - 2 * BLOCK, left : left + 24] = (240, 200, 30)
    for bit in range(BITS):
        value = 255 if index >> bit & 1 else 0
        image[H - BLOCK :, bit * BLOCK + 2 : (bit + 1) * BLOCK - 2] = value
    return image


def read_index(image: np.ndarray) -> int:
    row = image[H - BLOCK // 2]
    return sum(1 << bit for bit in range(BITS) if row[bit * BLOCK + BLOCK // 2].mean() > 128)


def audio_for(index: int) -> AudioChunk:
    """Silence, with a 1 kHz beep during the first frame of every second."""
    start = index * RATE // FPS
    count = (index + 1) * RATE // FPS - start
    if index % FPS == 0:
        t = np.arange(count) / RATE
        return AudioChunk(start, (12000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16))
    return AudioChunk(start, np.zeros(count, np.int16))


class Puller(threading.Thread):
    """Plays the stream back with PyAV and records what it decodes (pts in seconds)."""

    def __init__(self, url: str, analyze_seconds: float = 0.5) -> None:
        super().__init__(name="test-puller", daemon=True)
        self.url = url
        # Joining mid-stream, video starts at the next keyframe (up to one 2 s GOP away).
        self.analyze = str(int(analyze_seconds * 1_000_000))
        self.stop = threading.Event()
        self.codecs: dict[str, str] = {}
        self.video_rate = None
        self.sample_rate = None
        self.frames: list[tuple[float, int]] = []  # (pts, decoded index)
        self.beeps: list[float] = []  # pts of beep onsets
        self.error: BaseException | None = None
        self._in_beep = False

    def run(self) -> None:
        try:
            with av.open(
                self.url, options={"rtmp_live": "live", "analyzeduration": self.analyze}, timeout=(10, 3)
            ) as c:
                for stream in c.streams:
                    self.codecs[stream.type] = stream.codec_context.name
                if not c.streams.video or not c.streams.audio:
                    raise av.InvalidDataError(0, f"expected video and audio, got {self.codecs}")
                self.video_rate = c.streams.video[0].average_rate
                self.sample_rate = c.streams.audio[0].sample_rate
                for packet in c.demux():
                    if self.stop.is_set():
                        return
                    for frame in packet.decode():
                        if isinstance(frame, av.VideoFrame):
                            self.frames.append((float(frame.time), read_index(frame.to_ndarray(format="rgb24"))))
                        else:
                            self._audio(frame)
        except (av.FFmpegError, OSError) as error:  # the server went away or the stream ended
            self.error = error

    def _audio(self, frame: av.AudioFrame) -> None:
        loud = np.flatnonzero(np.abs(frame.to_ndarray()[0]) > 0.1)
        if len(loud) and not self._in_beep:
            self.beeps.append(float(frame.time) + loud[0] / frame.sample_rate)
        self._in_beep = bool(len(loud)) and loud[-1] > frame.samples - 5


def push(sink: RtmpSink, pacer: FramePacer, first: int, count: int) -> int:
    """Send frames first .. first + count - 1 in real time; returns the next index."""
    for i in range(first, first + count):
        pacer.wait_for(i)
        sink.write(VideoFrame(i, picture(i), FPS), audio_for(i))
    return first + count


def push_until(sink: RtmpSink, pacer: FramePacer, first: int, done, what: str, limit_s: float = 60) -> int:
    """Keep sending in real time, a few frames at a time, until `done()`; fail after `limit_s` s of
    program time (a generous bound: a condition, not a speed). Returns the next index."""
    n = first
    while not done():
        assert n - first < limit_s * FPS, f"{what}: not after {limit_s} s of program ({sink.state}, {sink.last_error})"
        n = push(sink, pacer, n, 5)
    return n


# -- clocks and pacing ----------------------------------------------------------------------


def test_virtual_clock_moves_only_when_told_and_never_backwards():
    clock = VirtualClock(10.0)
    assert clock.now() == 10.0
    clock.sleep_until(12.5)
    assert clock.now() == 12.5
    clock.sleep_until(11.0)  # the past: no-op
    assert clock.now() == 12.5
    clock.advance(0.5)
    assert clock.now() == 13.0
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_virtual_clock_is_thread_safe():
    clock = VirtualClock()
    threads = [
        threading.Thread(target=lambda k=k: [clock.sleep_until(k * 1000 + j) for j in range(1000)]) for k in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert clock.now() == 3999


def test_pacer_keeps_an_absolute_schedule_after_a_slow_iteration():
    clock = VirtualClock(100.0)
    pacer = FramePacer(FPS, clock)
    for n in range(10):
        pacer.wait_for(n)
        assert clock.now() == pytest.approx(100.0 + n * PERIOD)
        if n == 3:
            clock.advance(0.7 * PERIOD)  # slow, but less than a frame: no shift, not late
    assert pacer.frames_sent == 10 and pacer.late_frames == 0


def test_pacer_reports_late_frames_and_how_many_to_drop():
    clock = VirtualClock()
    pacer = FramePacer(FPS, clock)
    pacer.wait_for(0)
    clock.advance(3.5 * PERIOD)  # a stall: frame 1 was due 2.5 periods ago
    assert pacer.behind(1) == 2
    lateness = pacer.wait_for(1)
    assert lateness == pytest.approx(2.5 * PERIOD) and pacer.late_frames == 1
    pacer.drop(2)
    pacer.wait_for(4)  # back on schedule: frame 4 is due at 4 periods, now is 3.5
    assert clock.now() == pytest.approx(4 * PERIOD)
    assert pacer.behind(5) == 0 and pacer.dropped_frames == 2 and pacer.late_frames == 1


def test_system_clock_pacing_is_never_early_and_keeps_the_absolute_schedule():
    """On the real clock: no frame is released before its due time, and a slow iteration does not
    move later deadlines (how close to the due time a busy machine wakes is for bench/, not here)."""
    clock = SystemClock()
    pacer = FramePacer(100, clock)
    start = clock.now()
    pacer.start_at(start)
    for n in range(20):
        pacer.wait_for(n)
        assert clock.now() >= start + n / 100, f"frame {n} released early"
        if n == 5:
            time.sleep(0.007)  # a slow iteration inside one period
    assert [pacer.deadline(n) for n in (0, 6, 19)] == [start, start + 6 / 100, start + 19 / 100]
    assert pacer.frames_sent == 20


def test_parse_bitrate():
    assert parse_bitrate("2500k") == 2_500_000
    assert parse_bitrate("2.5M") == 2_500_000
    assert parse_bitrate(800_000) == 800_000
    with pytest.raises(ValueError):
        parse_bitrate("fast")


# -- RtmpSink without a server --------------------------------------------------------------


def close_in_thread(sink: RtmpSink, limit_s: float = 30) -> None:
    """close() must return while the sink is reconnecting (it does not wait out the backoff or a
    connect); the limit only turns a hang into a failure. How fast it closes is for bench/."""
    closer = threading.Thread(target=sink.close, daemon=True)
    closer.start()
    closer.join(limit_s)
    assert not closer.is_alive(), f"close() still blocked after {limit_s} s"


def test_sink_to_a_dead_port_reconnects_without_raising_and_closes():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens once the socket is closed
    states: list[str] = []
    sink = RtmpSink(f"rtmp://127.0.0.1:{port}/live/x", W, H, FPS, reconnect_backoff=(0.1, 0.2))
    sink.on_state(lambda _sink, state: states.append(state))
    for i in range(10):
        sink.write(VideoFrame(i, picture(i), FPS), audio_for(i))
    wait_until(lambda: sink.state == "reconnecting", 30)
    assert sink.frames_sent == 0 and sink.frames_discarded == 10 and sink.last_error
    close_in_thread(sink)
    assert sink.state == "closed" and states[-1] == "closed"
    assert not any(t.name.startswith("RtmpSink") and t.is_alive() for t in threading.enumerate())


def test_sink_breaks_out_of_a_server_that_accepts_but_never_answers():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel completes the TCP handshake; nobody ever reads or replies
    try:
        url = f"rtmp://127.0.0.1:{silent.getsockname()[1]}/live/x"
        sink = RtmpSink(url, W, H, FPS, io_timeout=0.5, reconnect_backoff=(0.2,))
        pacer = FramePacer(FPS, SystemClock())
        # the watchdog runs inside write(): it gives up on the silent server once io_timeout passed
        push_until(sink, pacer, 0, lambda: sink.state == "reconnecting", "the watchdog")
        close_in_thread(sink)
        assert sink.state == "closed"
    finally:
        silent.close()


def test_full_queue_drops_oldest_video_but_keeps_its_audio(monkeypatch):
    release = threading.Event()
    received: list[tuple[int, int, int]] = []

    class StuckConnection:
        def __init__(self, sink, timed) -> None:
            pass

        def write(self, item) -> None:
            release.wait(60)
            received.append((item.index, item.audio_pts, len(item.samples)))

        def finish(self, timed) -> None:
            pass

        def abort(self) -> None:
            pass

    monkeypatch.setattr(rtmp_module, "_Connection", StuckConnection)
    monkeypatch.setattr(rtmp_module, "_probe_rtmp", lambda host, port, timeout: None)
    with RtmpSink("rtmp://127.0.0.1:1/live/x", W, H, FPS, queue_frames=3) as sink:
        wait_until(lambda: sink.state == "up", 30)
        sink.write(VideoFrame(0, picture(0), FPS), audio_for(0))
        wait_until(lambda: not sink._items, 30)  # the worker holds frame 0
        for i in range(1, 11):
            sink.write(VideoFrame(i, picture(i), FPS), audio_for(i))
        # all ten writes returned while the connection is still stuck on frame 0: write() never waits on it
        assert received == [] and not release.is_set()
        assert sink.frames_dropped == 7
        release.set()
    assert [r[0] for r in received] == [0, 8, 9, 10]
    assert received[1][1] == RATE // FPS and received[1][2] == 8 * RATE // FPS  # audio of 1..8
    assert sum(r[2] for r in received) == 11 * RATE // FPS  # no sample lost


# -- RtmpSink with nginx ----------------------------------------------------------------------


def subscribed(server, puller: Puller, count: int) -> None:
    """Wait until nginx has logged `count` play requests of the stream (the puller is subscribed)."""
    wait_until(lambda: server.players("test") >= count or not puller.is_alive(), 30)
    assert puller.is_alive(), f"the player gave up: {puller.error}"


def matched_beeps(puller: Puller) -> int:
    """Beeps whose second's first frame was pulled (the A/V sync check needs at least a few)."""
    by_index = {index for _pts, index in puller.frames}
    return sum(1 for beep in list(puller.beeps) if round(beep) * FPS in by_index)


def test_push_real_time_and_pull_back_h264_aac_25fps_in_sync(rtmp_server):
    sink = RtmpSink(rtmp_server.url("test"), W, H, FPS, video_bitrate="600k", preset="ultrafast")
    with sink:
        wait_until(lambda: sink.state == "up", 30, lambda: sink.last_error)
        puller = Puller(rtmp_server.url("test"))
        puller.start()
        subscribed(rtmp_server, puller, 1)  # so it gets the stream from frame 0, a keyframe
        pacer = FramePacer(FPS, SystemClock())
        # a player joining mid-stream starts at a keyframe: push until it has 4 s and 4 beep seconds
        sent = push_until(
            sink, pacer, 0, lambda: len(puller.frames) >= 4 * FPS and matched_beeps(puller) >= 4, "pulling back"
        )
        puller.stop.set()
        puller.join(30)
    assert not puller.is_alive()
    assert puller.codecs == {"video": "h264", "audio": "aac"}
    assert puller.video_rate == FPS and puller.sample_rate == RATE
    # every frame is sent or counted as dropped (a busy machine may drop some at the sink)
    assert sink.frames_sent + sink.frames_dropped == sent and sink.frames_sent > 0 and sink.bytes_sent > 0

    frames = puller.frames
    indices = [index for _pts, index in frames]
    assert indices == sorted(indices) and len(set(indices)) == len(indices)  # the picture changes as sent
    for pts, index in frames:  # video pts is the program frame index
        assert pts == pytest.approx(index * PERIOD, abs=0.002)
    pts = [p for p, _ in frames]
    assert np.median(np.diff(pts)) == pytest.approx(PERIOD, abs=0.001)

    # A/V sync: each second's beep starts within one frame of that second's first frame.
    by_index = {index: p for p, index in frames}
    matched = 0
    for beep in puller.beeps:
        second = round(beep)
        if second * FPS in by_index:
            assert abs(beep - by_index[second * FPS]) < PERIOD, (beep, by_index[second * FPS])
            matched += 1
    assert matched >= 4


def test_sink_reconnects_after_the_server_restarts_with_continuing_timestamps(rtmp_server):
    url = rtmp_server.url("test")
    sink = RtmpSink(url, W, H, FPS, video_bitrate="600k", preset="ultrafast")
    states: list[str] = []
    sink.on_state(lambda _sink, state: states.append(state))
    with sink:
        wait_until(lambda: sink.state == "up", 30, lambda: sink.last_error)
        before = Puller(url)
        before.start()
        subscribed(rtmp_server, before, 1)
        pacer = FramePacer(FPS, SystemClock())
        n = push_until(sink, pacer, 0, lambda: len(before.frames) >= 5, "pulling before the outage")

        rtmp_server.stop()
        # the timeline goes on while the server is down: the sink notices and reconnects in the background
        n = push_until(sink, pacer, n, lambda: sink.state == "reconnecting", "noticing the outage")
        n = push(sink, pacer, n, FPS)  # 1 s more of program while the server is down
        before.join(30)
        discarded = sink.frames_discarded

        rtmp_server.start()  # on the same port: the sink's URL does not change
        n = push_until(sink, pacer, n, lambda: sink.state == "up", "reconnecting")

        after = Puller(url, analyze_seconds=3)
        after.start()
        push_until(sink, pacer, n, lambda: len(after.frames) >= FPS, "pulling after the restart")
        after.stop.set()
        after.join(30)

    assert sink.reconnects == 1 and discarded > 0, "frames written during the outage were discarded, not queued"
    assert states == ["up", "reconnecting", "up", "closed"]
    assert before.frames and after.frames, (before.error, after.error)
    last_before = max(p for p, _ in before.frames)
    first_after = min(p for p, _ in after.frames)
    assert first_after > last_before + 1.0  # time kept running through the outage
    for pts, index in after.frames:  # and still comes from the program counter
        assert pts == pytest.approx(index * PERIOD, abs=0.002)
    assert [p for p, _ in after.frames] == sorted(p for p, _ in after.frames)
