"""README stills: the same sentence by the photo renderer and by the video renderer, same person.

The photo avatar is made from the first frame of the GRID recording the built-in video avatar
`grid` comes from, so the only difference is the renderer: a mesh-warped photo with painted
teeth against the person's own footage and mouths. Writes docs/video_vs_photo.jpg (the two
1280x720 program frames on an open vowel, each cropped to 800x450 around the presenter) and
docs/video_vs_photo_mouth.jpg (mouth
close-ups of both at the same frames: an open vowel, a rounded one, a p/b/m closure, rest).

    python scripts/make_video_stills.py [--clip ../shared/footage/grid_s1_180s.mp4] [--out docs]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2
import numpy as np

from anchor.config import load_settings
from anchor.face.avatar import AvatarPack
from anchor.face.prepare import prepare_avatar
from anchor.face.video.source import probe_video, read_frames
from anchor.program.pipeline import Pipeline
from anchor.program.segment import Segment
from anchor.program.timeline import ProgramTimeline
from anchor.studio.presenter import PresenterShot, presenter_placement

SENTENCE = "Good evening. Prices rose by more than five percent, and the mayor spoke about a new bridge."
CLIP = next(
    (d / "grid_s1_180s.mp4" for d in (Path(__file__).resolve().parents[2] / "shared" / "footage", Path("/work/shared/footage"))
     if (d / "grid_s1_180s.mp4").is_file()),
    Path("../shared/footage/grid_s1_180s.mp4"),
)  # fmt: skip


def render(
    pipeline: Pipeline, pack: AvatarPack, segment: Segment, frames: list[int]
) -> tuple[dict[int, np.ndarray], tuple[int, int, int]]:
    """Program frames (1280x720) at `frames` of `segment` played from frame 0 on the program
    timeline (as `anchor say` plays a clip), and the mouth box (cx, cy, half size) in them."""
    place = presenter_placement(pack, 1280, 720)
    renderer = pipeline.renderer(pack, place.scale)
    timeline = ProgramTimeline(renderer, PresenterShot(1280, 720, place, renderer.size), segment.fps)
    timeline.play(segment)
    out = {}
    for i in range(max(frames) + 1):
        frame, _audio = timeline.next_frame()
        if i in frames:
            out[i] = frame.image
    lm = pack.landmarks[:, :2] * place.scale + [place.x, place.y]
    cx, cy = (lm[13] + lm[14]) / 2
    half = int(0.55 * np.linalg.norm(lm[152] - lm[10]) * 0.55)
    return out, (int(cx), int(cy + 0.15 * half), half)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clip", type=Path, default=CLIP)
    ap.add_argument("--out", type=Path, default=Path("docs"))
    args = ap.parse_args()
    pipeline = Pipeline(load_settings())
    video = pipeline.avatar("grid")
    info = probe_video(args.clip, min_seconds=0)
    _, first = next(iter(read_frames(info, stop=1)))
    with tempfile.TemporaryDirectory() as tmp:
        ok, png = cv2.imencode(".png", cv2.cvtColor(first, cv2.COLOR_RGB2BGR))
        photo = prepare_avatar(png.tobytes(), "grid-photo", Path(tmp), source="first frame", licence="CC BY 4.0",
                               consent="GRID")  # fmt: skip
        segment = pipeline.segment(pipeline.speak(SENTENCE), 25)
        track = segment.track
        opening = track.opening
        vis = track.visemes

        def pick(cond: list[bool], prefer_high: bool = True) -> int:
            idx = [i for i, c in enumerate(cond) if c and i > 10]
            return max(idx, key=lambda i: opening[i] if prefer_high else -opening[i])

        chosen = [
            pick([v == "aa" for v in vis]),
            pick([v in ("O", "U", "WW") for v in vis]),
            pick([v == "PP" for v in vis], prefer_high=False),
            pick([v == "E" for v in vis]),
        ]
        labels = ["open vowel", "rounded", "p/b/m", "mid vowel"]
        shots = {}
        boxes = {}
        for name, pack in (("photo", photo), ("video", video)):
            shots[name], boxes[name] = render(pipeline, pack, segment, chosen)
    args.out.mkdir(parents=True, exist_ok=True)

    def around_face(name: str) -> np.ndarray:
        """The 1280x720 program frame cropped to 800x450 around the presenter (the README's width)."""
        img = shots[name][chosen[0]]
        cx, cy, _ = boxes[name]
        x0 = int(np.clip(cx - 400, 0, 1280 - 800))
        y0 = int(np.clip(cy - 230, 0, 720 - 450))
        return cv2.resize(img[y0 : y0 + 450, x0 : x0 + 800], (640, 360), interpolation=cv2.INTER_AREA)

    side = np.hstack([around_face("photo"), around_face("video")])
    for x, text in ((10, "photo renderer (one still, mesh warp)"), (650, "video renderer (real footage, real mouths)")):
        cv2.putText(side, text, (x, 350), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1, cv2.LINE_AA)
    cv2.imwrite(
        str(args.out / "video_vs_photo.jpg"), cv2.cvtColor(side, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90]
    )
    rows = []
    for name in ("photo", "video"):
        cx, cy, h = boxes[name]
        tiles = []
        for i, label in zip(chosen, labels, strict=True):
            tile = cv2.resize(shots[name][i][cy - h : cy + h, cx - int(1.3 * h) : cx + int(1.3 * h)], (312, 240),
                              interpolation=cv2.INTER_CUBIC)  # fmt: skip
            cv2.putText(
                tile, f"{name}: {label}", (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA
            )
            tiles.append(tile)
        rows.append(np.hstack(tiles))
    cv2.imwrite(str(args.out / "video_vs_photo_mouth.jpg"), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, 90])  # fmt: skip
    print(f"wrote {args.out / 'video_vs_photo.jpg'} and {args.out / 'video_vs_photo_mouth.jpg'} (frames {chosen})")


if __name__ == "__main__":
    main()
