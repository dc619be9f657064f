"""From a recording to a video-avatar pack: check, analyse, calibrate, find the loops, store.

Stages reported to `progress(stage, fraction)`: "check" (the file and a dozen sampled
frames), "analyse" (face mesh through every frame), "footage" (second pass: base pieces with
their person masks, mouth crops), "store". Every refusal is an InputError(field="video") that
arrives before anything is stored; a build that fails leaves no files behind.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from anchor.errors import InputError
from anchor.face.avatar import AvatarMeta, check_slug, store_pack
from anchor.face.detect import FaceAnalyzer, landmarks_box
from anchor.face.video import analyse as an
from anchor.face.video import bank as bk
from anchor.face.video import loops
from anchor.face.video.footage import FootageWriter
from anchor.face.video.geometry import CropBox, LowerFace
from anchor.face.video.matte import Plate, refine
from anchor.face.video.measure import MouthCalibration, MouthFeatures, align, face_height, to_canonical
from anchor.face.video.pack import (
    BASE_FILE,
    BASE_MASK_FILE,
    MOUTHS_FILE,
    VideoPackInfo,
    mask_size,
    write_pack_files,
)
from anchor.face.video.source import FIELD, probe_video, read_frames

Progress = Callable[[str, float], None]
MIN_CLOSED_S = 1.0  # the mouth must be closed for at least this long in all
MASK_SMOOTH = 2  # person masks are averaged over +-2 frames


@dataclass(frozen=True)
class IngestOptions:
    """How to build: which part of the recording, and whether to keep its background."""

    keep_background: bool = False
    start_s: float = 0.0
    stop_s: float | None = None  # None = to the end
    max_base_s: float = loops.MAX_BASE_S
    seed: int = 7
    min_seconds: float = 10.0
    max_seconds: float = 600.0


def build_video_avatar(
    video: Path,
    name: str,
    avatars_dir: Path,
    *,
    source: str,
    licence: str,
    consent: str,
    overwrite: bool = False,
    options: IngestOptions | None = None,
    progress: Progress | None = None,
    notes: str = "",
) -> Path:
    """Build the video avatar `name` from the recording `video` into avatars_dir/name; returns its path."""
    opts = options or IngestOptions()
    t_start = time.perf_counter()
    check_slug(name)
    source, licence, consent = (
        _required(v, f) for v, f in ((source, "source"), (licence, "licence"), (consent, "consent"))
    )
    avatars_dir = Path(avatars_dir)
    target = avatars_dir / name
    if not overwrite and (target.exists() or target.is_symlink()):
        raise InputError(
            f"an avatar named {name!r} already exists in {avatars_dir}; choose another name or ask to overwrite it",
            field="name",
        )
    report = progress or (lambda stage, done: None)

    report("check", 0.0)
    info = probe_video(video, min_seconds=opts.min_seconds, max_seconds=opts.max_seconds)
    with FaceAnalyzer() as still:
        info = an.precheck(info, still)
    first = int(round(opts.start_s * info.fps))
    stop = info.n_frames if opts.stop_s is None else min(info.n_frames, int(round(opts.stop_s * info.fps)))
    if (stop - first) / info.fps < opts.min_seconds:
        raise InputError(f"the part of the video used is shorter than {opts.min_seconds:.0f} s", field=FIELD)
    report("check", 1.0)

    analysis = an.analyse(info, lambda f: report("analyse", f), stop=stop)
    if first:
        analysis = an.FrameAnalysis(
            info, analysis.landmarks[first:], analysis.faces[first:], analysis.jump[first:], analysis.thumbs[first:]
        )
    problem = an.refusal(analysis)
    if problem is not None:
        raise problem

    tracked = analysis.tracked
    reference, transforms = align(analysis.landmarks, tracked)
    canon = to_canonical(analysis.landmarks, transforms)
    features = MouthFeatures.of(canon, face_height(reference))
    calibration = MouthCalibration.fit(features, tracked)
    params = calibration.params(features)
    closed = calibration.closed(features) & tracked
    if closed.sum() < MIN_CLOSED_S * info.fps:
        raise InputError(
            f"the mouth is closed in only {closed.sum() / info.fps:.1f} s of the video; record at least "
            f"{MIN_CLOSED_S:.0f} s in all with the lips closed (pauses between sentences), which is what the "
            "presenter shows while silent",
            field=FIELD,
        )
    broken = loops.breaks(analysis.jump)
    pieces = loops.idle_pieces(closed, broken, info.fps)
    eyes = loops.eye_opening(np.nan_to_num(analysis.landmarks))
    pose = loops.head_pose(np.nan_to_num(analysis.landmarks))
    graph = loops.build_graph(pieces, analysis.thumbs, eyes, pose, info.fps, opts.max_base_s)
    if not graph.pieces:
        raise InputError(
            f"no stretch of at least {loops.MIN_PIECE_S:.1f} s with the mouth closed and the head steady; record "
            "a few pauses where the person just looks at the camera with the lips closed",
            field=FIELD,
        )

    lower = LowerFace.of(reference)
    box = CropBox.of(lower, transforms, tracked)
    bank_frames = bk.choose_frames(tracked, params, broken, box)

    staging = avatars_dir / f".{name}.build-{uuid.uuid4().hex[:12]}"
    staging.mkdir(parents=True)
    try:
        base_source, first_image, first_mask, patches = _footage(
            info, first, stop, graph, analysis, transforms, lower, box, bank_frames, staging, opts, report
        )
        feats, _, _ = bk.appearance(patches)
        lips = canon[bank_frames][:, list(bk.LIP_POINTS)]
        bank = bk.MouthBank(
            crops=np.zeros((0, 3, box.height, box.width), np.uint8),  # on disk already (mouths.mp4)
            transforms=np.stack(
                [bk.crop_transform(transforms[i], box.origin(lower, transforms[i])) for i in bank_frames]
            ),
            params=params[bank_frames],
            features=feats,
            lips=lips.astype(np.float32),
            source=bank_frames.astype(np.int32),
            step=bk.natural_step(feats, bank_frames),
        )
        report("store", 0.0)
        rest_lm = analysis.landmarks[graph.pieces[0].start]
        h, w = first_image.shape[:2]
        x0, y0, x1, y1 = landmarks_box(rest_lm).as_tuple()
        meta = AvatarMeta(
            name=name,
            kind="video",
            version=1,
            source=source,
            licence=licence,
            consent=consent,
            image_size=(w, h),
            face_box=(max(0, x0), max(0, y0), min(w, x1), min(h, y1)),
            notes=notes,
        )
        base_idx = np.asarray(base_source)
        info_doc = VideoPackInfo(
            fps=info.fps,
            frame_size=(info.width, info.height),
            background="keep" if opts.keep_background else "replace",
            calibration=calibration.to_dict(),
            graph=graph.to_dict(),
            crop_box=(box.width, box.height),
            bank_size=len(bank_frames),
            bank_step=bank.step,
            source_frames=analysis.n,
            stats={
                "idle_seconds": round(len(base_idx) / info.fps, 2),
                "pieces": float(len(graph.pieces)),
                "analysed_seconds": round(analysis.n / info.fps, 2),
                "build_seconds": round(time.perf_counter() - t_start, 1),
            },
        )
        write_pack_files(
            staging,
            image=first_image,
            landmarks=rest_lm,
            mask=first_mask,
            meta=meta,
            info=info_doc,
            reference=reference,
            base_transforms=transforms[base_idx],
            base_source=base_idx,
            bank=bank,
        )
        store_pack(staging, target, overwrite=overwrite)
        report("store", 1.0)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _required(value: str, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(
            f"{field} must not be empty: say where the recording comes from, its licence and who consented "
            "to animating this person",
            field=field,
        )
    return value.strip()


def _plate(info: object, first: int, stop: int, samples: int = 16) -> Plate:
    """The recording's clean background plate, from `samples` frames spread over the part used."""
    from anchor.face.video.source import VideoInfo, sample_frames

    assert isinstance(info, VideoInfo)
    times = np.linspace(first / info.fps, (stop - 2) / info.fps, samples).tolist()
    frames, masks = [], []
    with FaceAnalyzer(segmentation_model=0) as seg:
        for _, rgb in sample_frames(info, times):
            frames.append(rgb)
            masks.append(seg.person_mask(rgb))
    return Plate.of(frames, masks)


def _footage(
    info: object,
    first: int,
    stop: int,
    graph: loops.LoopGraph,
    analysis: an.FrameAnalysis,
    transforms: np.ndarray,
    lower: LowerFace,
    box: CropBox,
    bank_frames: np.ndarray,
    staging: Path,
    opts: IngestOptions,
    report: Progress,
) -> tuple[list[int], np.ndarray, np.ndarray, np.ndarray]:
    """Second pass: write the base pieces (frames + smoothed person masks) and the mouth crops.

    Returns (source index of each base frame, first base frame, its mask, bank mouth patches).
    """
    from anchor.face.video.source import VideoInfo

    assert isinstance(info, VideoInfo)
    piece_of = np.full(analysis.n, -1, np.int64)
    for k, p in enumerate(graph.pieces):
        piece_of[p.start : p.stop] = k
    need_mask = np.zeros(analysis.n, bool)
    if not opts.keep_background:
        for p in graph.pieces:
            need_mask[max(0, p.start - MASK_SMOOTH) : min(analysis.n, p.stop + MASK_SMOOTH)] = True
    in_bank = np.zeros(analysis.n, bool)
    in_bank[bank_frames] = True
    # Keyframes wherever the walk enters a piece: a seek there decodes one frame, not a GOP.
    entries = {p.start for p in graph.pieces}
    entries |= {graph.pieces[j.to].start + j.entry for js in graph.joins for j in js}
    last = int(max(graph.pieces[-1].stop, bank_frames.max() + 1 if len(bank_frames) else 0))
    w, h = info.width, info.height
    mw, mh = mask_size(w, h)
    base_source: list[int] = []
    patches: list[np.ndarray] = []
    first_image = first_mask = None
    pending: deque[tuple[int, np.ndarray]] = deque()  # base frames waiting for their later masks
    masks: dict[int, np.ndarray] = {}
    plate = None if opts.keep_background else _plate(info, first, stop)
    with (
        FootageWriter(staging / BASE_FILE, w, h, crf=20, gop=50) as base_out,
        FootageWriter(staging / BASE_MASK_FILE, mw, mh, pix_fmt="gray", crf=22, gop=50) as mask_out,
        FootageWriter(staging / MOUTHS_FILE, box.width, box.height, pix_fmt="yuv444p", crf=14, gop=50) as mouth_out,
        FaceAnalyzer(segmentation_model=0) as seg,
    ):

        def flush(upto: int) -> None:
            nonlocal first_image, first_mask
            while pending and pending[0][0] <= upto:
                i, rgb = pending.popleft()
                if opts.keep_background:
                    m = np.full((h, w), 255, np.uint8)
                else:
                    near = [masks[j] for j in range(i - MASK_SMOOTH, i + MASK_SMOOTH + 1) if j in masks]
                    m = np.mean(near, axis=0).round().astype(np.uint8)
                key = i in entries
                if plate is not None:
                    rgb, m = refine(rgb, m, plate)
                base_out.write(rgb, keyframe=key)
                mask_out.write(cv2.resize(m, (mw, mh), interpolation=cv2.INTER_AREA), keyframe=key)
                base_source.append(i)
                if first_image is None:
                    first_image, first_mask = rgb, m
            for j in [j for j in masks if j < upto - 2 * MASK_SMOOTH]:
                del masks[j]

        for src_i, rgb in read_frames(info, start=first, stop=min(stop, first + last)):
            i = src_i - first
            lm = analysis.landmarks[i]
            if need_mask[i]:
                mask = seg.person_mask(rgb)
                if not np.isnan(lm[0, 0]):
                    hull = cv2.convexHull(np.rint(lm[:, :2]).astype(np.int32))
                    face = np.zeros_like(mask)
                    cv2.fillConvexPoly(face, hull, (255,))
                    mask = np.maximum(mask, face)
                masks[i] = mask
            if piece_of[i] >= 0:
                pending.append((i, rgb))
            flush(i - MASK_SMOOTH)
            if in_bank[i]:
                origin = box.origin(lower, transforms[i])
                crop = box.cut(rgb, origin)
                mouth_out.write(crop)
                patches.append(bk.mouth_patch(crop, bk.crop_transform(transforms[i], origin), lower))
            if i % 10 == 0:
                report("footage", min(1.0, (i + 1) / last))
        flush(analysis.n + MASK_SMOOTH)
    if first_image is None or first_mask is None:
        raise RuntimeError("no base frame was written")
    report("footage", 1.0)
    return base_source, first_image, first_mask, np.stack(patches)
