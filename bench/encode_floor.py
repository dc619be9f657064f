"""Encode-only floor: how fast Mp4Sink turns ready-made program frames into an MP4.

Every other speed benchmark prints this next to its own figure (import
`measure_encode_floor`), so rendering cost can be told apart from encoding cost.

    python -m bench.encode_floor                       # 1280x720 and 1920x1080, 1 and 2 threads
    python -m bench.encode_floor --frames 250 --threads 2 --skip-1080p
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np

from streaming.encoder import rgb_to_yuv420p
from streaming.file import Mp4Sink
from streaming.frames import AudioChunk, VideoFrame

SAMPLE_RATE = 48_000


def make_program(width: int, height: int, fps: int, n_distinct: int) -> tuple[list[np.ndarray], np.ndarray]:
    """`n_distinct` varied frames (gradient, moving shapes, text, a noisy patch) + 1 s of audio."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack(
        [60 + 80 * x / width, 70 + 60 * y / height, 140 + 60 * np.sin(x / 90.0) * np.cos(y / 70.0)], axis=-1
    ).astype(np.uint8)
    noise = rng.integers(0, 255, (height // 4, width // 4, 3), dtype=np.uint8)
    frames = []
    for i in range(n_distinct):
        frame = base.copy()
        cx = int(width * (0.3 + 0.2 * np.sin(2 * np.pi * i / n_distinct)))
        cv2.circle(frame, (cx, height // 2), height // 5, (220, 180, 150), -1)
        frame[height // 10 : height // 10 + noise.shape[0], width // 20 : width // 20 + noise.shape[1]] = np.roll(
            noise, i * 3, axis=1
        )
        band = int(height * 0.85)
        cv2.rectangle(frame, (0, band), (width, height), (20, 40, 120), -1)
        cv2.putText(
            frame, f"BREAKING NEWS  frame {i}  anchor encode floor", (width // 40 - i * 4, band + height // 12),
            cv2.FONT_HERSHEY_SIMPLEX, height / 600, (255, 255, 255), max(1, height // 360), cv2.LINE_AA,
        )  # fmt: skip
        frames.append(frame)
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    voice = 6000 * np.sin(2 * np.pi * 180 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
    audio = (voice + rng.normal(0, 300, SAMPLE_RATE)).astype(np.int16)
    return frames, audio


def measure_encode_floor(
    width: int,
    height: int,
    fps: int,
    n_frames: int,
    threads: int,
    *,
    background: bool = True,
    crf: int = 23,
    preset: str = "ultrafast",
) -> dict[str, float | int | bool | str]:
    """Encode `n_frames` pre-made frames + audio through Mp4Sink; return speed figures.

    rtf = wall seconds / program seconds (below 1 is faster than real time); cpu_s is
    process CPU time, so cpu_s / wall_s is how many cores were busy.
    """
    frames, audio = make_program(width, height, fps, n_distinct=min(n_frames, fps))
    with tempfile.TemporaryDirectory(prefix="encode_floor_") as tmp:
        path = Path(tmp) / "floor.mp4"
        wall0, cpu0 = time.perf_counter(), time.process_time()
        with Mp4Sink(path, width, height, fps, crf=crf, preset=preset, threads=threads, background=background) as sink:
            for n in range(n_frames):
                start = n * SAMPLE_RATE // fps
                count = (n + 1) * SAMPLE_RATE // fps - start
                offset = start % SAMPLE_RATE
                samples = np.take(audio, np.arange(offset, offset + count), mode="wrap")
                sink.write(VideoFrame(n, frames[n % len(frames)], fps), AudioChunk(start, samples, SAMPLE_RATE))
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
        size = path.stat().st_size
    program = n_frames / fps
    return {
        "width": width,
        "height": height,
        "fps": fps,
        "frames": n_frames,
        "threads": threads,
        "background": background,
        "preset": preset,
        "crf": crf,
        "wall_s": wall,
        "cpu_s": cpu,
        "program_s": program,
        "encode_fps": n_frames / wall,
        "rtf": wall / program,
        "mbit_s": size * 8 / program / 1e6,
    }


def measure_yuv_conversion(width: int, height: int, repeats: int = 100) -> dict[str, float]:
    """Milliseconds per RGB ndarray -> yuv420p av.VideoFrame: OpenCV path vs PyAV's reformat."""
    frame = make_program(width, height, 25, 1)[0][0]

    def ours() -> av.VideoFrame:
        return av.VideoFrame.from_ndarray(rgb_to_yuv420p(frame), format="yuv420p")

    def pyav() -> av.VideoFrame:
        return av.VideoFrame.from_ndarray(frame, format="rgb24").reformat(format="yuv420p")

    result = {}
    for name, convert in (("opencv_ms", ours), ("pyav_reformat_ms", pyav)):
        for _ in range(5):
            convert()
        best = float("inf")
        for _ in range(5):  # best of 5 batches: the box is shared, take the least disturbed
            t0 = time.perf_counter()
            for _ in range(repeats // 5):
                convert()
            best = min(best, (time.perf_counter() - t0) / (repeats // 5) * 1000)
        result[name] = best
    return result


def format_floor(r: dict[str, float | int | bool | str]) -> str:
    return (
        f"{r['width']}x{r['height']}@{r['fps']} threads={r['threads']} background={'on ' if r['background'] else 'off'}"
        f"  {r['encode_fps']:7.1f} fps  rtf {r['rtf']:.3f}  (wall {r['wall_s']:.1f} s, cpu {r['cpu_s']:.1f} s,"
        f" {r['frames']} frames, {r['mbit_s']:.2f} Mbit/s, {r['preset']} crf {r['crf']})"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--frames", type=int, default=750, help="frames per run (750 = 30 s at 25 fps)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="x264 thread counts (0 = auto)")
    parser.add_argument("--skip-1080p", action="store_true", help="only the --width x --height size")
    args = parser.parse_args(argv)

    sizes = [(args.width, args.height)]
    if not args.skip_1080p and (args.width, args.height) != (1920, 1080):
        sizes.append((1920, 1080))
    for width, height in sizes:
        yuv = measure_yuv_conversion(width, height)
        print(
            f"{width}x{height} rgb->yuv420p frame: opencv {yuv['opencv_ms']:.2f} ms, "
            f"pyav reformat {yuv['pyav_reformat_ms']:.2f} ms"
        )
        for threads in args.threads:
            for background in (True, False):
                print(
                    format_floor(
                        measure_encode_floor(width, height, args.fps, args.frames, threads, background=background)
                    ),
                    flush=True,
                )


if __name__ == "__main__":
    main()
