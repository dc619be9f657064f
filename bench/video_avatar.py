"""Video avatars on real footage: build time, mouth quality on held-out frames, lip-sync, speed.

    .venv/bin/python -m bench.video_avatar                      # the longest clip in /work/shared/footage
    .venv/bin/python -m bench.video_avatar CLIP.mp4 --no-2min   # any clip; skip the 2-minute build

What it does, all in one run on this machine:
1. builds a video avatar from the first 85 % of the clip (and, if the clip is long enough,
   one from its first 2 minutes, for the build-time goal), and a photo avatar from the clip's
   first frame (the baseline);
2. held-out 15 %: measures the person's mouth parameters on every held-out frame, drives the
   mouth fitting with them onto that frame's own head, and compares the mouth region with the
   real frame (PSNR, SSIM, sharpness ratio) — selection online (frame by frame, as a live
   renderer gets it) and planned (Viterbi over the whole track) — beside the photo renderer
   driven with the same parameters;
3. lip-sync driven from text (espeak timings) and from audio (the held-out part of the clip's
   own sound through the audio-to-mouth model): frames composed at --size, the face mesh
   re-detected, r with the planned opening, best lag, p/b/m closure, stillness in silence;
4. speed: the `anchor say` pipeline (speech, lip-sync, render, compose, encode) with each avatar
   at --size and 25 fps, and the encode-only floor of the same frames, measured in this run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from anchor.config import load_settings
from anchor.face.avatar import AvatarPack, load_pack
from anchor.face.detect import FaceAnalyzer
from anchor.face.prepare import prepare_avatar
from anchor.face.renderers import RenderOptions, make_renderer
from anchor.face.video.ingest import IngestOptions, build_video_avatar
from anchor.face.video.measure import MouthFeatures, to_canonical
from anchor.face.video.pack import load_video_pack
from anchor.face.video.renderer import VideoRenderer
from anchor.face.video.source import probe_video, read_frames
from anchor.lipsync.track import MouthTrack
from anchor.studio.presenter import PresenterShot, presenter_placement
from bench.video_eval import (
    MouthRoi,
    QualityTally,
    SyncFigures,
    align_to,
    quiet_frames,
    silent_from_speech,
    speaking_from_alignment,
    sync_figures,
)

FOOTAGE_DIRS = (Path(__file__).resolve().parents[1].parent / "shared" / "footage", Path("/work/shared/footage"))
"""Where the shared real footage lies: ../shared/footage beside the checkout (or the project's shared folder)."""
TEXT = (
    "Good evening. People at the market bought apples, and the mayor spoke about a bridge. "
    "Prices rose by more than five percent in the past month. "
    "Tomorrow will be bright and warm, with a breeze from the sea."
)


def footage_dir() -> Path:
    found = next((d for d in FOOTAGE_DIRS if d.is_dir()), None)
    if found is None:
        raise SystemExit(f"no footage folder ({', '.join(map(str, FOOTAGE_DIRS))}); pass a clip path")
    return found


def longest_clip() -> Path:
    folder = footage_dir()
    clips = sorted(folder.glob("*.mp4"), key=lambda p: probe_video(p, min_seconds=0).duration)
    if not clips:
        raise SystemExit(f"no clips in {folder}; pass a clip path")
    return clips[-1]


def timed_build(clip: Path, name: str, avatars: Path, stop_s: float) -> float:
    t0 = time.perf_counter()
    build_video_avatar(
        clip, name, avatars, source=str(clip), licence="see footage README", consent="benchmark", overwrite=True,
        options=IngestOptions(stop_s=stop_s),
    )  # fmt: skip
    return time.perf_counter() - t0


def photo_baseline(clip: Path, avatars: Path) -> AvatarPack:
    info = probe_video(clip, min_seconds=0)
    _, first = next(iter(read_frames(info, stop=1)))
    ok, png = cv2.imencode(".png", cv2.cvtColor(first, cv2.COLOR_RGB2BGR))
    return prepare_avatar(
        png.tobytes(), "photo-baseline", avatars, source=str(clip), licence="-", consent="benchmark", overwrite=True
    )


# -- held-out mouth quality ------------------------------------------------------------------


def held_out(clip: Path, start: int, stop: int) -> tuple[list[np.ndarray], np.ndarray]:
    """(RGB frames, landmarks (n, 478, 3)) of frames start..stop-1 (face mesh in tracking mode)."""
    info = probe_video(clip, min_seconds=0)
    frames, lms = [], []
    with FaceAnalyzer.for_video() as fa:
        for _, rgb in read_frames(info, start=start, stop=stop):
            found = fa.landmarks(rgb)
            frames.append(rgb)
            lms.append(found[0] if found else np.full((478, 3), np.nan, np.float32))
    return frames, np.stack(lms)


def quality(
    video_pack: AvatarPack, photo_pack: AvatarPack, frames: list[np.ndarray], lms: np.ndarray
) -> tuple[dict[str, tuple[float, float, float]], np.ndarray, np.ndarray]:
    """Mouth-region figures per system; also the held-out targets and the real gaps."""
    vp = load_video_pack(video_pack.path)
    ok = ~np.isnan(lms[:, 0, 0])
    transforms = np.stack([align_to(vp.reference, lm) if g else np.eye(2, 3) for lm, g in zip(lms, ok, strict=True)])
    canon = to_canonical(np.nan_to_num(lms), transforms.astype(np.float32))
    from anchor.face.video.measure import face_height

    feats = MouthFeatures.of(canon, face_height(vp.reference))
    targets = vp.calibration.params(feats)
    roi = MouthRoi.of(vp.reference, vp.calibration.gap_open)
    settings = load_settings()
    online = VideoRenderer(video_pack, 1.0, video=vp)
    planned = VideoRenderer(video_pack, 1.0, video=vp)
    path = planned.selector.plan(targets)
    photo = make_renderer(photo_pack, RenderOptions(scale=1.0, face=settings.face))
    photo_t = align_to(vp.reference, photo_pack.landmarks)
    tallies = {k: QualityTally.empty() for k in ("video (online selection)", "video (planned selection)", "photo")}
    for i, (real, good) in enumerate(zip(frames, ok, strict=True)):
        if not good:
            continue
        t = transforms[i]
        truth = roi.cut(real, t)
        for name, r, k in (
            ("video (online selection)", online, online.selector.step(targets[i])),
            ("video (planned selection)", planned, int(path[i])),
        ):
            out = real.copy()
            r.fitter.fit(out, t, k, r._delta(k, targets[i]), 1.0)
            tallies[name].add(roi.cut(out, t), truth)
        ph = photo.render(targets[i], i / vp.info.fps).image
        tallies["photo"].add(roi.cut(ph, photo_t), truth)
    return {k: v.figures() for k, v in tallies.items()}, targets, feats.gap


# -- lip-sync ----------------------------------------------------------------------------------


def render_and_redetect(
    pack: AvatarPack, track: MouthTrack, width: int, height: int, plan: bool
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Compose every frame of `track` at width x height; return the re-detected gaps and a few stills."""
    from anchor.face.detect import inner_lip_gap

    settings = load_settings()
    place = presenter_placement(pack, width, height)
    renderer = make_renderer(pack, RenderOptions(scale=place.scale, face=settings.face))
    if plan and isinstance(renderer, VideoRenderer):
        renderer.plan(track.params, 0.0, track.fps)
    shot = PresenterShot(width, height, place, renderer.size)
    shot.set_rest(renderer.rest())
    gaps, stills = [], []
    with FaceAnalyzer.for_video() as fa:
        for i in range(len(track)):
            img = shot.compose(renderer.render(track.params[i], i / track.fps))
            lms = fa.landmarks(img)
            gaps.append(inner_lip_gap(lms[0]) if lms else np.nan)
            if i % 25 == 0:
                stills.append(img)
    return np.array(gaps), stills


def audio_track(clip: Path, start_s: float, stop_s: float, fps: int) -> tuple[np.ndarray, MouthTrack, MouthTrack]:
    """(program audio of the clip's part, the audio model's raw mouth track, its silence-gated track)."""
    from anchor.lipsync.model.infer import AudioMouthModel
    from anchor.speech.audio_in import decode_audio

    pcm = decode_audio(clip, field="audio")
    part = pcm[int(start_s * 48000) : int(stop_s * 48000)]
    model = AudioMouthModel.load()
    return part, model.mouth_track(part, fps, gate=False), model.mouth_track(part, fps)


# -- speed ---------------------------------------------------------------------------------------


def say_rtf(pack: AvatarPack, text: str, width: int, height: int, keep: int) -> tuple[float, float, list[np.ndarray]]:
    """(wall RTF of the say pipeline with `pack`, CPU cores busy, the first `keep` program frames).

    The real `anchor say` (anchor.program.clip.say) with the pack's folder as the avatar store; the
    frames are kept as they are handed to the encoder."""
    from unittest import mock

    from anchor.program import clip
    from anchor.program.pipeline import Pipeline
    from streaming.file import Mp4Sink
    from streaming.frames import AudioChunk, VideoFrame

    settings = load_settings()
    settings = settings.model_copy(update={"avatars_dir": pack.path.parent})
    fps = settings.video.fps
    kept: list[np.ndarray] = []

    class KeepingSink(Mp4Sink):
        def write(self, frame: VideoFrame, audio: AudioChunk) -> None:
            if len(kept) < keep:
                kept.append(frame.image)  # a new picture every frame (the encoder copies it to YUV)
            super().write(frame, audio)

    with tempfile.TemporaryDirectory(prefix="bench_va_say_") as tmp, mock.patch.object(clip, "Mp4Sink", KeepingSink):
        request = clip.SayRequest(text, Path(tmp) / "say.mp4", avatar=pack.name, width=width, height=height)
        t0, c0 = time.perf_counter(), time.process_time()
        result = clip.say(Pipeline(settings), request)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return wall / (result.frames / fps), cpu / wall, kept


def encode_floor(frames: list[np.ndarray], width: int, height: int) -> float:
    from streaming.file import Mp4Sink
    from streaming.frames import AudioChunk, VideoFrame

    v = load_settings().video
    spf = 48000 // v.fps
    silence = np.zeros(spf, np.int16)
    with tempfile.TemporaryDirectory(prefix="bench_va_floor_") as tmp:
        t0 = time.perf_counter()
        with Mp4Sink(Path(tmp) / "f.mp4", width, height, v.fps, crf=v.crf, preset=v.preset, threads=v.threads) as sink:
            for i, img in enumerate(frames):
                sink.write(VideoFrame(i, img, v.fps), AudioChunk(i * spf, silence))
        return (time.perf_counter() - t0) / (len(frames) / v.fps)


# -- report --------------------------------------------------------------------------------------


def _sync_row(name: str, f: SyncFigures) -> str:
    return (
        f"| {name} | {f.r:.3f} | {f.best_lag:+d} (r {f.r_best:.3f}) | {f.closure:.2f} ({f.pbm_frames}) | "
        f"{f.still_in_silence:.3f} / {f.closed_in_silence:.3f} ({f.silent_frames}) | {f.found:.2f} |"
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clip", nargs="?", type=Path, default=None)
    ap.add_argument("--train-share", type=float, default=0.85)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--no-2min", action="store_true", help="skip building the 2-minute avatar (build-time goal)")
    ap.add_argument("--stills", type=Path, default=None, help="write a few composed frames here (PNG)")
    args = ap.parse_args(argv)
    clip = args.clip or longest_clip()
    width, height = (int(v) for v in args.size.split("x"))
    info = probe_video(clip, min_seconds=0)
    split_s = args.train_share * info.duration
    split = int(round(split_s * info.fps))
    fps = load_settings().video.fps
    print(f"video avatar benchmark: {clip.name} ({info.duration:.1f} s, {info.width}x{info.height}, "
          f"{info.fps:.2f} fps); build on 0..{split_s:.1f} s, evaluate on {split_s:.1f}..{info.duration:.1f} s; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")  # fmt: skip

    work = Path(tempfile.mkdtemp(prefix="bench_va_"))
    try:
        build_s = timed_build(clip, "video-train", work, split_s)
        video = load_pack(work / "video-train")
        vp = load_video_pack(video.path)
        print(f"build (first {split_s:.0f} s): {build_s:.1f} s wall; {vp.info.stats.get('idle_seconds', 0):.1f} s of idle "
              f"footage in {len(vp.graph.pieces)} pieces, {vp.info.bank_size} mouth crops; pack "
              f"{sum(f.stat().st_size for f in video.path.iterdir()) / 2**20:.1f} MB")  # fmt: skip
        if not args.no_2min and info.duration >= 120:
            s2 = timed_build(clip, "video-2min", work, 120.0)
            print(f"build time for a 2-minute clip: {s2:.1f} s ({s2 / 60:.1f} min; goal < 10 min)")
            shutil.rmtree(work / "video-2min", ignore_errors=True)
        photo = photo_baseline(clip, work)

        # 2. Held-out mouth quality.
        frames, lms = held_out(clip, split, info.n_frames)
        q, targets, real_gap = quality(video, photo, frames, lms)
        del frames
        print()
        print(f"held-out mouth region ({len(lms)} frames, driven by the mouth measured on each frame):")
        print("| system | PSNR dB | SSIM | sharpness (out/real) |")
        print("|---|---|---|---|")
        for name, (p, s, sh) in q.items():
            print(f"| {name} | {p:.2f} | {s:.3f} | {sh:.2f} |")

        # 3. Lip-sync from text and from audio.
        from anchor.program.pipeline import Pipeline

        settings = load_settings()
        slow = settings.speech.model_copy(update={"sentence_pause_ms": 1000})
        pipeline = Pipeline(settings.model_copy(update={"speech": slow}))
        speech = pipeline.speak(TEXT)
        tt = pipeline.planner.track(speech, fps)
        pad = np.zeros((fps, 4), np.float32)  # a second of silence before and after, as between items
        text_track = MouthTrack(
            fps, np.concatenate([pad, tt.params, pad]), ("sil",) * fps + tt.visemes + ("sil",) * fps
        )
        text_silent = silent_from_speech(np.array([v != "sil" for v in text_track.visemes]))
        pcm, audio_raw, audio_gated = audio_track(clip, split_s, info.duration, fps)
        align = clip.with_suffix(".align.tsv")
        if align.is_file():
            audio_silent = silent_from_speech(speaking_from_alignment(align, split_s, len(audio_raw), fps))
            silence_source = f"word alignment {align.name}"
        else:
            audio_silent = quiet_frames(pcm, len(audio_raw), fps)
            silence_source = "audio level (no alignment file)"
        rows = []
        stills = []
        real_row = ""
        drives = (
            ("text", text_track, text_silent),
            ("audio, model as is", audio_raw, audio_silent),
            ("audio + silence gate", audio_gated, audio_silent),
        )
        for label, track, silent in drives:
            for name, pack, plan in (("video", video, False), ("video planned", video, True), ("photo", photo, False)):
                gaps, st = render_and_redetect(pack, track, width, height, plan)
                rows.append(_sync_row(f"{label}: {name}", sync_figures(gaps, track, silent)))
                if label == "text" and not plan:  # stills: video then photo
                    stills.append(st)
                if label.startswith("audio +") and name == "video" and fps == round(info.fps):
                    n = min(len(gaps), len(real_gap))
                    ok = ~np.isnan(gaps[:n])
                    r_real = np.corrcoef(gaps[:n][ok], real_gap[:n][ok])[0, 1]
                    real_row = f"| audio + gate: video vs the real recording's own lip gap (r) | {r_real:.3f} | | | | |"
        print()
        print(f"lip-sync, re-detected on composed {width}x{height} frames (text: {len(text_track)} frames, espeak "
              f"timings, 1 s pauses; audio: the held-out sound, {len(audio_raw)} frames, audio-to-mouth model; "
              f"silence from the {silence_source} and the speech timings, 2 frames' margin):")  # fmt: skip
        print("| drive: system | r (gap vs planned opening) | best lag frames | p/b/m closed (frames) | "
              "silent frames: still / closed (frames) | face found |")  # fmt: skip
        print("|---|---|---|---|---|---|")
        for row in rows:
            print(row)
        if real_row:
            print(real_row)
        if args.stills:
            args.stills.mkdir(parents=True, exist_ok=True)
            for name, st in zip(("video", "photo"), stills, strict=False):
                for k, img in enumerate(st[:6]):
                    cv2.imwrite(str(args.stills / f"{name}_{k}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))

        # 4. Speed.
        from bench.say_rtf import PARAGRAPH

        rtf_v, cores_v, kept = say_rtf(video, PARAGRAPH, width, height, keep=250)
        rtf_p, cores_p, _ = say_rtf(photo, PARAGRAPH, width, height, keep=0)
        floor = encode_floor(kept, width, height)
        print()
        print(f"speed: `anchor say` pipeline, {width}x{height} @ {fps} fps, 115-word paragraph:")
        print("| avatar | real-time factor | cores busy |")
        print("|---|---|---|")
        print(f"| video | {rtf_v:.3f} (goal <= 0.3) | {cores_v:.2f} |")
        print(f"| photo (first frame) | {rtf_p:.3f} | {cores_p:.2f} |")
        print(f"| encode-only floor (video avatar's frames) | {floor:.3f} | |")
        print(f"load average at the end: {os.getloadavg()[0]:.1f} (the machine is shared; figures scale with it)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
