"""The analysis pass over a recording: face-mesh landmarks per frame, face counts, cuts.

`precheck` looks at a dozen frames spread over the clip (a second or two) so that an upload
with no face, several faces or a tiny face is refused before minutes of work; `analyse` then
tracks the face mesh through every frame (mediapipe tracking mode), counts faces with the
detector on every few frames, and scores each frame's jump from the previous one outside the
face (an edit in the recording moves the background and body at once). `refusal` turns what
the pass saw into the InputError a user gets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import cv2
import numpy as np

from anchor.errors import InputError
from anchor.face import landmarks as L
from anchor.face.detect import FaceAnalyzer, landmarks_box
from anchor.face.video.source import FIELD, VideoInfo, read_frames, sample_frames

MIN_FACE_PX = 90
MIN_FACE_FRACTION = 0.12  # of the frame height
MAX_FACE_PX = 320  # faces larger than this are analysed and stored downscaled (no output needs more)
BAD_FRAME_SHARE = 0.05  # "more than a few percent"
EDGE_TOLERANCE = 0.03  # of the face height the mesh may reach past the frame edge
DETECT_EVERY = 5  # frames between face-detector passes (several-faces check)
THUMB = (48, 36)  # (w, h) of the grey whole-frame thumbnail kept per frame for loop points

Progress = Callable[[float], None]


@dataclass(frozen=True)
class FrameAnalysis:
    """Per-frame results of the analysis pass (N frames)."""

    info: VideoInfo
    landmarks: np.ndarray  # (N, 478, 3) float32 pixels at the working size; NaN where no face
    faces: np.ndarray  # (N,) int8 faces the detector saw; -1 on frames it did not look at
    jump: np.ndarray  # (N,) float32 mean grey change from the previous frame away from the face
    thumbs: np.ndarray  # (N, 36, 48) uint8 grey thumbnails of the whole frame

    @property
    def n(self) -> int:
        return len(self.landmarks)

    @property
    def tracked(self) -> np.ndarray:
        """Frames with a face mesh."""
        return ~np.isnan(self.landmarks[:, 0, 0])


def precheck(info: VideoInfo, analyzer: FaceAnalyzer, samples: int = 12) -> VideoInfo:
    """Refuse clear cases from `samples` frames across the clip; returns `info` at the working size.

    `analyzer` must be a static-image one (FaceAnalyzer()). The working size is scaled down
    when the face is taller than MAX_FACE_PX.
    """
    if not analyzer.static_image_mode:
        raise ValueError("precheck needs a static-image FaceAnalyzer")
    times = np.linspace(0.0, max(0.0, info.duration - 2.0 / info.fps), samples).tolist()
    heights: list[float] = []
    detected: list[float] = []  # face-detector box heights where the mesh found nothing
    no_face = several = 0
    seen = 0
    for _, rgb in sample_frames(info, times):
        seen += 1
        meshes = analyzer.landmarks(rgb)
        faces = analyzer.faces(rgb, landmarks=meshes)
        if len(faces) > 1:
            several += 1
        if not meshes:
            no_face += 1
            # The detector's box runs brows to chin: about 80% of the mesh's forehead-to-chin box.
            detected.extend(f.height / 0.8 for f in faces[:1])
        else:
            heights.append(landmarks_box(meshes[0]).height)
    if seen == 0:
        raise InputError("the video has no frames anchor can decode", field=FIELD)
    if several > seen // 3:
        raise InputError(
            f"found more than one face in {several} of {seen} sampled frames; use a recording of one person",
            field=FIELD,
        )
    if no_face > seen // 3 or not heights:
        if len(detected) > seen // 3:
            _check_size(float(np.median(detected)), info.height)
        raise InputError(
            f"no face found in {no_face} of {seen} sampled frames; use a well-lit recording of one person "
            "facing the camera",
            field=FIELD,
        )
    face_h = float(np.median(heights))
    _check_size(face_h, info.height)
    if face_h > MAX_FACE_PX:
        s = MAX_FACE_PX / face_h
        w, h = max(2, round(info.width * s / 2) * 2), max(2, round(info.height * s / 2) * 2)
        return replace(info, width=w, height=h)
    return info


def _check_size(face_h: float, frame_h: int) -> None:
    need = max(MIN_FACE_PX, MIN_FACE_FRACTION * frame_h)
    if face_h < need:
        raise InputError(
            f"the face is too small: {face_h:.0f} px tall ({face_h / frame_h:.0%} of the frame height); it must "
            f"be at least {MIN_FACE_PX} px and {MIN_FACE_FRACTION:.0%} of the frame height: film closer",
            field=FIELD,
        )


def analyse(info: VideoInfo, progress: Progress | None = None, *, stop: int | None = None) -> FrameAnalysis:
    """Track the face through frames 0..stop-1 (default all); see the module docstring."""
    total = info.n_frames if stop is None else min(stop, info.n_frames)
    lms: list[np.ndarray] = []
    faces: list[int] = []
    jumps: list[float] = []
    thumbs: list[np.ndarray] = []
    prev_small: np.ndarray | None = None
    nan = np.full((L.N_LANDMARKS, 3), np.nan, np.float32)
    with FaceAnalyzer.for_video() as tracker, FaceAnalyzer() as detector:
        for i, rgb in read_frames(info, stop=stop):
            found = tracker.landmarks(rgb)
            lm = found[0] if found else nan
            lms.append(lm)
            faces.append(len(detector.detections(rgb)) if i % DETECT_EVERY == 0 else -1)
            grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
            # Blurred: compression noise pumping at the source's own keyframes is not an edit.
            shrunk = cv2.resize(grey, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA).astype(np.float32)
            small = np.asarray(cv2.GaussianBlur(shrunk, (0, 0), 1.0))
            jumps.append(_jump(prev_small, small, lm, 0.25))
            prev_small = small
            thumbs.append(_thumb(grey))
            if progress and i % 10 == 0:
                progress(min(1.0, (i + 1) / total))
    if not lms:
        raise InputError("the video has no frames anchor can decode", field=FIELD)
    if progress:
        progress(1.0)
    return FrameAnalysis(
        info,
        np.stack(lms).astype(np.float32),
        np.array(faces, np.int8),
        np.array(jumps, np.float32),
        np.stack(thumbs),
    )


def _jump(prev: np.ndarray | None, cur: np.ndarray, lm: np.ndarray, scale: float) -> float:
    """Mean absolute grey change away from the face (where talking and blinking do not reach)."""
    if prev is None:
        return 0.0
    diff = cv2.absdiff(prev, cur)
    if not np.isnan(lm[0, 0]):
        hull = cv2.convexHull(np.rint(lm[:, :2] * scale).astype(np.int32))
        keep = np.full(diff.shape, 255, np.uint8)
        cv2.fillConvexPoly(keep, hull, (0,))
        away = cv2.erode(keep, np.ones((5, 5), np.uint8))
        return float(cv2.mean(diff, mask=away)[0])
    return float(diff.mean())


def _thumb(grey: np.ndarray) -> np.ndarray:
    return cv2.resize(grey, THUMB, interpolation=cv2.INTER_AREA)


def refusal(a: FrameAnalysis) -> InputError | None:
    """What is wrong with the recording as a whole, or None: faces missing, several, too small, cut off."""
    n = a.n
    tracked = a.tracked
    missing = int((~tracked).sum())
    if missing > BAD_FRAME_SHARE * n:
        return InputError(
            f"no face found in {missing} of {n} frames ({missing / n:.0%}); the person must face the camera "
            "throughout (trim the parts where they do not)",
            field=FIELD,
        )
    checked = a.faces >= 0
    several = int((a.faces[checked] > 1).sum())
    if several > BAD_FRAME_SHARE * max(1, int(checked.sum())):
        return InputError(
            f"more than one face in {several} of {int(checked.sum())} checked frames; use a recording of one person",
            field=FIELD,
        )
    lm = a.landmarks[tracked]
    heights = np.linalg.norm(lm[:, L.CHIN_BOTTOM, :2] - lm[:, L.FOREHEAD_TOP, :2], axis=1)
    box_h = lm[:, :, 1].max(1) - lm[:, :, 1].min(1)
    need = max(MIN_FACE_PX * 0.8, MIN_FACE_FRACTION * a.info.height)
    small = int((box_h < need).sum())
    if small > BAD_FRAME_SHARE * n:
        return InputError(
            f"the face is too small in {small} of {n} frames (median {np.median(box_h):.0f} px tall); film closer",
            field=FIELD,
        )
    w, h = a.info.width, a.info.height
    margin = (EDGE_TOLERANCE * heights)[:, None]
    out = (lm[:, :, 0] < -margin) | (lm[:, :, 1] < -margin) | (lm[:, :, 0] > w + margin) | (lm[:, :, 1] > h + margin)
    cut = int(out.any(axis=1).sum())
    if cut > BAD_FRAME_SHARE * n:
        return InputError(
            f"the head leaves the frame in {cut} of {n} frames; keep the whole head in the picture", field=FIELD
        )
    return None
