"""Speed of `anchor say`: real-time factor for a 30-second English paragraph, beside the encode floor.

    .venv/bin/python -m bench.say_rtf                  # 1280x720, 25 fps
    .venv/bin/python -m bench.say_rtf --size 1920x1080

Prints, from one run on this machine:
- say_rtf: wall seconds of the whole `say` job (speech, lip-sync, render, encode) per program second;
- the stages alone (speech synthesis, mouth track, render + compose without encoding);
- encode_floor_rtf: encoding exactly the same frames and audio, already in memory, with the same
  encoder settings - the floor no renderer can go under.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from anchor.config import load_settings
from anchor.program.clip import SayRequest, say
from anchor.program.pipeline import Pipeline
from anchor.studio.presenter import PresenterShot, presenter_placement
from anchor.timebase import samples_per_frame
from streaming.file import Mp4Sink
from streaming.frames import AudioChunk, VideoFrame

PARAGRAPH = (
    "Good evening, and welcome to the news at six. The city council voted last night to build a new bridge "
    "across the river, the first in almost fifty years. Work is expected to begin in the spring and to last "
    "three years. Commuters have welcomed the plan, although some shop owners near the old crossing worry "
    "about the noise and the traffic while the work goes on. In sport, the home team won its third match in a "
    "row, with two late goals that brought the crowd to its feet. And finally, the weather: a mild and cloudy "
    "evening, with light rain moving in from the west before midnight, and sunshine returning by the weekend."
)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--text", default=PARAGRAPH)
    args = ap.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    settings = load_settings()
    v = settings.video
    fps = v.fps

    with tempfile.TemporaryDirectory(prefix="bench_say_") as tmp:
        out = Path(tmp) / "say.mp4"
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        pipeline = Pipeline(settings)
        result = say(pipeline, SayRequest(args.text, out, width=width, height=height))
        say_wall = time.perf_counter() - t0
        say_cpu = time.process_time() - cpu0
        program_s = result.frames / fps

        # Stages alone.
        t0 = time.perf_counter()
        speech = pipeline.speak(args.text)
        speech_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        track = pipeline.planner.track(speech, fps)
        track_s = time.perf_counter() - t0
        avatar = pipeline.avatar(None)
        place = presenter_placement(avatar, width, height)
        renderer = pipeline.renderer(avatar, place.scale)
        shot = PresenterShot(width, height, place, renderer.size)
        shot.set_rest(renderer.rest())
        frames = []
        t0 = time.perf_counter()
        for i in range(len(track)):
            frames.append(shot.compose(renderer.render(track.params[i], i / fps)))
        render_s = time.perf_counter() - t0

        # Encode floor: the same frames and audio, from memory, same encoder settings.
        spf = samples_per_frame(fps)
        pcm = np.zeros(len(frames) * spf, np.int16)
        pcm[: min(speech.n_samples, len(pcm))] = speech.pcm[: len(pcm)]
        floor_path = Path(tmp) / "floor.mp4"
        t0 = time.perf_counter()
        with Mp4Sink(floor_path, width, height, fps, crf=v.crf, preset=v.preset, threads=v.threads) as sink:
            for i, img in enumerate(frames):
                sink.write(VideoFrame(i, img, fps), AudioChunk(i * spf, pcm[i * spf : (i + 1) * spf]))
        floor_s = time.perf_counter() - t0
        floor_prog = len(frames) / fps

    print(
        f"anchor say benchmark: {width}x{height} @ {fps} fps, preset {v.preset}, crf {v.crf}, "
        f"encoder threads {v.threads or 'auto'}, {os.cpu_count()} cores"
    )
    print(f"program: {program_s:.1f} s ({result.frames} frames), {len(args.text.split())} words")
    print(
        f"say_rtf              {say_wall / program_s:.3f}   ({say_wall:.2f} s wall, {say_cpu / say_wall:.2f} cores busy)"
    )
    print(f"  speech             {speech_s / program_s:.3f}   ({speech_s * 1000:.0f} ms)")
    print(f"  lipsync track      {track_s / program_s:.4f}  ({track_s * 1000:.1f} ms)")
    print(f"  render+compose     {render_s / program_s:.3f}   ({render_s / len(frames) * 1000:.2f} ms/frame)")
    print(f"encode_floor_rtf     {floor_s / floor_prog:.3f}   ({floor_s:.2f} s wall, {len(frames) / floor_s:.0f} fps)")
    print(
        f"say / floor          {say_wall / program_s / (floor_s / floor_prog):.2f}x   (goal: <= 2x; say_rtf goal <= 0.25)"
    )


if __name__ == "__main__":
    main()
