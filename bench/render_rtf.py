"""Speed of `anchor render`: real-time factor of the sample bulletin with all graphics on, beside the encode floor.

    .venv/bin/python -m bench.render_rtf                       # 1280x720 and 1920x1080
    .venv/bin/python -m bench.render_rtf --resolution 720

Prints per resolution, from one run on this machine:
- render_rtf: wall seconds of the whole job (speech, lip-sync, face, compositor with lower-third,
  ticker, clock, logo, media panel, burned-in captions, intro/outro cards, encode) per program second;
- encode_floor_rtf: encoding the same number of frames with the same encoder settings, frames
  already in memory (bench.encode_floor) - the floor no renderer can go under.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from anchor.config import PROJECT_ROOT, load_settings
from anchor.program.bulletin import render_rundown
from anchor.program.pipeline import Pipeline
from anchor.rundown import load_rundown
from bench.encode_floor import measure_encode_floor

SAMPLE = PROJECT_ROOT / "config" / "rundown.example.yaml"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rundown", type=Path, default=SAMPLE)
    ap.add_argument("--resolution", type=int, nargs="+", default=[720, 1080])
    ap.add_argument("--aspect", default="16:9")
    args = ap.parse_args(argv)
    settings = load_settings()
    v = settings.video
    rundown = load_rundown(args.rundown)
    print(
        f"anchor render benchmark: {args.rundown.name}, aspect {args.aspect}, preset {v.preset}, crf {v.crf}, "
        f"encoder threads {v.threads or 'auto'}, {os.cpu_count()} cores; all graphics on, captions burned in"
    )
    for res in args.resolution:
        with tempfile.TemporaryDirectory(prefix="bench_render_") as tmp:
            t0, c0 = time.perf_counter(), time.process_time()
            result = render_rundown(
                Pipeline(settings), rundown, Path(tmp) / "b.mp4", aspect=args.aspect, resolution=res, burn_captions=True
            )
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        floor = measure_encode_floor(
            result.width, result.height, result.fps, result.frames, v.threads, crf=v.crf, preset=v.preset
        )
        print(f"{result.width}x{result.height}@{result.fps}: program {result.duration:.1f} s ({result.frames} frames)")
        print(
            f"  render_rtf        {wall / result.duration:.3f}   ({wall:.1f} s wall, {cpu / wall:.2f} cores busy)  "
            f"goal <= {0.3 if res == 720 else 0.7}"
        )
        print(f"  encode_floor_rtf  {floor['rtf']:.3f}   ({floor['encode_fps']:.0f} fps)")
        print(f"  render / floor    {wall / result.duration / floor['rtf']:.2f}x", flush=True)


if __name__ == "__main__":
    main()
