"""Synthetic recordings for video-avatar tests: the default photo avatar, animated and filmed.

The photo renderer with idle sway, blinks and a speech-like mouth track (talking stretches
between closed-mouth pauses) stands in for a person talking to the camera, so the tests run
anywhere; real footage is the benchmark's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from anchor.config import BUILTIN_AVATARS
from anchor.face.avatar import AvatarStore
from anchor.face.blink import BlinkSchedule
from anchor.face.motion import IdleMotion
from anchor.face.renderer import FaceRenderer
from anchor.lipsync.track import MouthTrack

BACKDROP = (92, 110, 128)


@dataclass(frozen=True)
class Recording:
    path: Path
    track: MouthTrack  # the mouth the "person" made, frame by frame
    size: tuple[int, int]


def speech_like_track(n: int, fps: int, rng: np.random.Generator, *, always_open: bool = False) -> MouthTrack:
    """Pauses (closed, relaxed) of ~1.2 s between talking stretches of ~1.8 s with closures."""
    params = np.zeros((n, 4), np.float32)
    visemes = ["sil"] * n
    i = int(0.8 * fps)
    while i < n:
        talk = int(rng.uniform(1.4, 2.2) * fps)
        t = np.arange(talk)
        jaw = 0.45 + 0.35 * np.sin(2 * np.pi * t / rng.uniform(5, 8) + rng.uniform(0, 6))
        jaw *= np.clip(np.minimum(t, talk - 1 - t) / 3.0, 0, 1)  # ease in and out
        width = 0.5 * np.sin(2 * np.pi * t / rng.uniform(9, 14))
        seg = np.stack([jaw, width, np.clip(-width, 0, 1), np.zeros(talk)], 1)
        for c in rng.choice(np.arange(3, max(4, talk - 3)), size=2, replace=False):
            seg[c - 1 : c + 1, 3] = 1.0  # a p/b/m: lips pressed
            seg[c - 1 : c + 1, 0] = 0.0
        end = min(n, i + talk)
        params[i:end] = seg[: end - i]
        visemes[i:end] = ["E"] * (end - i)
        i = end + int(rng.uniform(1.0, 1.4) * fps)
    if always_open:
        params[:, 0] = np.maximum(params[:, 0], 0.6)
        params[:, 3] = 0.0
    return MouthTrack(fps, params, tuple(visemes))


def record(
    path: Path,
    *,
    seconds: float = 14.0,
    fps: int = 25,
    scale: float = 0.6,
    seed: int = 3,
    always_open: bool = False,
    faces: int = 1,
    canvas: tuple[int, int] | None = None,
    drift: float = 0.0,
) -> Recording:
    """Film the default avatar for `seconds` into an H.264 MP4 at `path`.

    `faces=2` puts two people side by side; `canvas` sets the frame size (the person centred);
    `drift` slides the person to the left by that share of the frame width over the clip
    (the head leaving the frame).
    """
    pack = AvatarStore(BUILTIN_AVATARS).load("default")
    renderer = FaceRenderer(pack, scale, BlinkSchedule(2.0, 4.0, seed), IdleMotion(seed, 1.2))
    lw, lh = renderer.size
    w, h = canvas or (lw * faces + (lw * faces) % 2 + 12, lh + lh % 2)
    n = int(round(seconds * fps))
    rng = np.random.default_rng(seed)
    track = speech_like_track(n, fps, rng, always_open=always_open)
    yy = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    backdrop = (np.array(BACKDROP, np.float32) * (1.1 - 0.2 * yy)).repeat(w, axis=1).astype(np.float32)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(fps, 1))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": "18", "preset": "ultrafast"}
        for i in range(n):
            layer = renderer.render(track.params[i], i / fps)
            frame = backdrop.copy()
            for k in range(faces):
                x0 = (w - lw * faces) // 2 + k * lw - int(drift * w * i / max(1, n - 1))
                y0 = h - lh
                xa, xb = max(0, x0), min(w, x0 + lw)
                if xb <= xa:
                    continue
                a = layer.alpha[:, xa - x0 : xb - x0, None].astype(np.float32) / 255.0
                dst = frame[y0 : y0 + lh, xa:xb]
                frame[y0 : y0 + lh, xa:xb] = dst * (1 - a) + layer.image[:, xa - x0 : xb - x0] * a
            img = np.clip(frame + 0.5, 0, 255).astype(np.uint8)
            vf = av.VideoFrame.from_ndarray(img, format="rgb24")
            vf.pts = i
            for packet in stream.encode(vf):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return Recording(path, track, (w, h))


def still_video(path: Path, image: np.ndarray, seconds: float, fps: int = 10) -> Path:
    """A video showing one picture (RGB) for `seconds`."""
    h, w = image.shape[:2]
    img = cv2.resize(image, (w - w % 2, h - h % 2))
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(fps, 1))
        stream.width, stream.height, stream.pix_fmt = img.shape[1], img.shape[0], "yuv420p"
        stream.options = {"crf": "23", "preset": "ultrafast"}
        for i in range(int(round(seconds * fps))):
            vf = av.VideoFrame.from_ndarray(img, format="rgb24")
            vf.pts = i
            for packet in stream.encode(vf):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path
