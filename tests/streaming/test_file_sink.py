"""Mp4Sink over a real encode + decode (small pictures, a few seconds of program)."""

from __future__ import annotations

import threading
from pathlib import Path

import av
import numpy as np
import pytest

import streaming.file as file_module
from streaming.encoder import AudioRechunker, rgb_to_yuv420p
from streaming.file import Mp4Sink
from streaming.frames import AudioChunk, VideoFrame
from streaming.probe import decode_audio, decode_frames, probe

W, H, RATE = 320, 240, 48_000


def pattern(index: int, width: int = W, height: int = H) -> np.ndarray:
    """A smooth moving gradient with a moving hard-edged box: frames differ, edges matter."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = index / 10.0
    r = 128 + 90 * np.sin(2 * np.pi * x / width + phase)
    g = 128 + 90 * np.cos(2 * np.pi * y / height - phase)
    b = 128 + 60 * np.sin(2 * np.pi * (x + y) / (width + height) + 2 * phase)
    image = np.stack([r, g, b], axis=-1).astype(np.uint8)
    left = (index * 7) % (width - 40)
    image[height // 3 : height // 3 + 40, left : left + 40] = (250, 240, 20)
    return image


def tone(start: int, count: int, hz: float = 1000.0, amplitude: int = 8000) -> np.ndarray:
    t = np.arange(start, start + count) / RATE
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def frame_audio(index: int, fps: int, samples_fn=tone) -> AudioChunk:
    start = index * RATE // fps
    return AudioChunk(start, samples_fn(start, (index + 1) * RATE // fps - start))


def write_clip(path: Path, n_frames: int, fps: int = 25, samples_fn=tone, **kwargs) -> None:
    with Mp4Sink(path, W, H, fps, **kwargs) as sink:
        for i in range(n_frames):
            sink.write(VideoFrame(i, pattern(i), fps), frame_audio(i, fps, samples_fn))


def sink_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("Mp4Sink") and t.is_alive()]


@pytest.mark.parametrize("fps", [25, 30])
@pytest.mark.parametrize("background", [True, False])
def test_clip_has_h264_aac_size_fps_all_frames_and_equal_durations(tmp_path: Path, fps: int, background: bool):
    n = 2 * fps + 7
    path = tmp_path / "clip.mp4"
    write_clip(path, n, fps, background=background)

    info = probe(path)
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert (info.width, info.height, info.pix_fmt) == (W, H, "yuv420p")
    assert info.fps == fps
    assert info.video_frames == n
    assert info.video_duration_s == pytest.approx(n / fps)
    assert (info.audio_sample_rate, info.audio_channels) == (RATE, 1)
    assert abs(info.audio_duration_s - info.video_duration_s) < 1 / fps
    assert info.faststart is True
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]  # no temp file left
    assert sink_threads() == []


def test_standard_metadata_keys_round_trip(tmp_path: Path):
    path = tmp_path / "meta.mp4"
    tags = {
        "title": "Evening bulletin 晚间新闻",
        "comment": "take 2",
        "description": "rundown r-17",
        "encoder": "anchor",
    }
    write_clip(path, 5, metadata=tags)
    assert tags.items() <= probe(path).metadata.items()


def test_custom_metadata_keys_round_trip(tmp_path: Path):
    path = tmp_path / "meta.mp4"
    tags = {"title": "Bulletin", "anchor.job_id": "job-42", "voice": "joe", "comment": "ok"}
    write_clip(path, 5, metadata=tags)
    assert tags.items() <= probe(path).metadata.items()


def test_decoded_frame_is_close_to_the_written_one(tmp_path: Path):
    path = tmp_path / "psnr.mp4"
    write_clip(path, 40)
    for index, decoded in decode_frames(path, [3, 31]):
        error = np.mean((decoded.astype(np.float64) - pattern(index)) ** 2)
        psnr = 10 * np.log10(255**2 / error)
        assert psnr > 30, f"frame {index}: PSNR {psnr:.1f} dB"


def test_tone_frequency_survives(tmp_path: Path):
    path = tmp_path / "tone.mp4"
    write_clip(path, 50, samples_fn=lambda s, n: tone(s, n, hz=1234.0))
    samples, rate = decode_audio(path)
    assert rate == RATE
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    peak_hz = np.argmax(spectrum) * rate / len(samples)
    assert peak_hz == pytest.approx(1234.0, abs=2.0)


def test_aac_priming_does_not_delay_audio(tmp_path: Path):
    """A tone that starts at frame 10 must decode starting at frame 10, not 1024 samples late."""
    path = tmp_path / "onset.mp4"
    onset = 10 * RATE // 25

    def burst(start: int, count: int) -> np.ndarray:
        samples = tone(start, count, hz=500.0, amplitude=16000)
        samples[np.arange(start, start + count) < onset] = 0
        return samples

    write_clip(path, 25, samples_fn=burst)
    samples, _ = decode_audio(path)
    first_loud = int(np.argmax(np.abs(samples) > 0.25))
    assert abs(first_loud - onset) < 48  # within 1 ms


def test_exception_inside_with_leaves_no_file_no_temp_and_no_thread(tmp_path: Path):
    path = tmp_path / "broken.mp4"
    with pytest.raises(RuntimeError, match="renderer crashed"):
        with Mp4Sink(path, W, H, 25) as sink:
            for i in range(20):
                sink.write(VideoFrame(i, pattern(i)), frame_audio(i, 25))
            raise RuntimeError("renderer crashed")
    assert list(tmp_path.iterdir()) == []
    assert sink_threads() == []


def test_worker_error_surfaces_and_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    real_write = file_module._Mp4Writer.write

    def failing_write(self, index, yuv, samples):
        if index == 5:
            raise OSError("disk full")
        real_write(self, index, yuv, samples)

    monkeypatch.setattr(file_module._Mp4Writer, "write", failing_write)
    path = tmp_path / "full.mp4"
    with pytest.raises(OSError, match="disk full"):
        with Mp4Sink(path, W, H, 25) as sink:
            for i in range(40):
                sink.write(VideoFrame(i, pattern(i)), frame_audio(i, 25))
    assert list(tmp_path.iterdir()) == []
    assert sink_threads() == []

    # With no write after the failure, close() is where it surfaces.
    sink = Mp4Sink(path, W, H, 25)
    for i in range(6):
        sink.write(VideoFrame(i, pattern(i)), frame_audio(i, 25))
    with pytest.raises(OSError, match="disk full"):
        sink.close()
    sink.close()  # idempotent, and the error is not raised twice
    assert list(tmp_path.iterdir()) == []
    assert sink_threads() == []


def test_close_is_idempotent_and_write_after_close_fails(tmp_path: Path):
    path = tmp_path / "twice.mp4"
    sink = Mp4Sink(path, W, H, 25)
    sink.write(VideoFrame(0, pattern(0)), frame_audio(0, 25))
    sink.close()
    sink.close()
    assert probe(path).video_frames == 1
    with pytest.raises(RuntimeError, match="closed"):
        sink.write(VideoFrame(1, pattern(1)), frame_audio(1, 25))


def test_closing_without_frames_makes_no_file(tmp_path: Path):
    path = tmp_path / "empty.mp4"
    with pytest.raises(ValueError, match="no frames"):
        with Mp4Sink(path, W, H, 25):
            pass
    assert list(tmp_path.iterdir()) == []


def test_first_frame_may_start_mid_program(tmp_path: Path):
    path = tmp_path / "late.mp4"
    with Mp4Sink(path, W, H, 25) as sink:
        for i in range(1000, 1010):
            sink.write(VideoFrame(i, pattern(i)), frame_audio(i, 25))
    info = probe(path)
    assert info.video_frames == 10
    assert info.video_duration_s == pytest.approx(0.4)


GOOD_AUDIO = frame_audio(0, 25)
BAD_INPUTS = {
    "wrong picture size": (VideoFrame(0, np.zeros((H, W + 2, 3), np.uint8)), GOOD_AUDIO),
    "grey picture": (VideoFrame(0, np.zeros((H, W), np.uint8)), GOOD_AUDIO),
    "float picture": (VideoFrame(0, np.zeros((H, W, 3), np.float32)), GOOD_AUDIO),
    "wrong fps": (VideoFrame(0, pattern(0), fps=30), GOOD_AUDIO),
    "short audio": (VideoFrame(0, pattern(0)), AudioChunk(0, np.zeros(1919, np.int16))),
    "long audio": (VideoFrame(0, pattern(0)), AudioChunk(0, np.zeros(1921, np.int16))),
    "stereo audio": (VideoFrame(0, pattern(0)), AudioChunk(0, np.zeros((1920, 2), np.int16))),
    "float audio": (VideoFrame(0, pattern(0)), AudioChunk(0, np.zeros(1920, np.float32))),
    "audio pts off": (VideoFrame(0, pattern(0)), AudioChunk(7, np.zeros(1920, np.int16))),
    "wrong sample rate": (VideoFrame(0, pattern(0)), AudioChunk(0, np.zeros(1920, np.int16), sample_rate=44_100)),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_a_value_error(tmp_path: Path, case: str):
    frame, audio = BAD_INPUTS[case]
    with pytest.raises(ValueError):
        with Mp4Sink(tmp_path / "bad.mp4", W, H, 25) as sink:
            sink.write(frame, audio)
    assert list(tmp_path.iterdir()) == []


def test_gap_in_video_pts_is_a_value_error(tmp_path: Path):
    with Mp4Sink(tmp_path / "gap.mp4", W, H, 25) as sink:
        sink.write(VideoFrame(0, pattern(0)), frame_audio(0, 25))
        with pytest.raises(ValueError, match="not contiguous"):
            sink.write(VideoFrame(2, pattern(2)), frame_audio(2, 25))
        with pytest.raises(ValueError, match="not contiguous"):
            sink.write(VideoFrame(0, pattern(0)), frame_audio(0, 25))
        sink.write(VideoFrame(1, pattern(1)), frame_audio(1, 25))  # a rejected write changes nothing
    assert probe(tmp_path / "gap.mp4").video_frames == 2


def test_probe_rejects_a_file_that_is_not_media(tmp_path: Path):
    path = tmp_path / "notes.mp4"
    path.write_text("this is a rundown, not a video\n")
    with pytest.raises(ValueError, match="not a media file"):
        probe(path)


def test_rechunker_pts_follow_the_sample_counter():
    chunker = AudioRechunker(RATE, frame_size=1024)
    frames = []
    for i in range(5):
        frames += chunker.push(np.full(1920, i, np.int16))
    frames += chunker.flush()
    assert [f.pts for f in frames] == list(range(0, 5 * 1920, 1024))
    assert [f.samples for f in frames] == [1024] * 9 + [5 * 1920 - 9 * 1024]
    assert chunker.samples_out == chunker.samples_in == 5 * 1920


def bt601_limited_i420(image: np.ndarray) -> np.ndarray:
    """Reference conversion in float: BT.601 limited range, chroma averaged over 2x2 blocks."""
    r, g, b = (image[..., c].astype(np.float64) for c in range(3))
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    cb = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    cr = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255
    h, w = y.shape

    def pool(c: np.ndarray) -> np.ndarray:
        return c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)).reshape(h // 4, w)

    return np.round(np.concatenate([y, pool(cb), pool(cr)])).astype(np.uint8)


def test_yuv_conversion_is_bt601_with_averaged_chroma():
    image = pattern(3)  # the box's left edge (x = 21) splits 2x2 chroma blocks
    ours = rgb_to_yuv420p(image)
    assert ours.shape == (H * 3 // 2, W)
    assert np.abs(ours.astype(int) - bt601_limited_i420(image)).max() <= 1
    theirs = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p").to_ndarray()
    assert np.abs(ours[:H].astype(int) - theirs[:H]).max() <= 1  # same luma as swscale


def test_missing_directory_is_reported_before_any_work(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Mp4Sink(tmp_path / "no" / "such.mp4", W, H, 25)
    assert sink_threads() == []


def test_failed_sink_keeps_an_older_file_at_the_target(tmp_path: Path):
    path = tmp_path / "bulletin.mp4"
    write_clip(path, 3)
    before = path.read_bytes()
    with pytest.raises(KeyError):
        with Mp4Sink(path, W, H, 25) as sink:
            sink.write(VideoFrame(0, pattern(0)), frame_audio(0, 25))
            raise KeyError("story")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["bulletin.mp4"]
