"""Build the built-in avatar pack avatars/default from matplotlib's Grace Hopper portrait.

Why this photo: of the two public-domain portraits pip packages ship, matplotlib's
grace_hopper.jpg shows a frontal face with the mouth closed (inner-lip gap ~0.000 of face
height) and a face 200 px tall. scikit-image's astronaut (Eileen Collins) smiles with her teeth
showing (gap ~0.065) — a renderer would have to close that mouth before it could animate it —
and her face is only ~106 px tall, below the 120 px prepare_avatar accepts.

Needs the test extras (matplotlib): pip install -e '.[test]'

    python scripts/make_default_avatar.py [--avatars-dir avatars] [--overwrite] [--preview /tmp]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from anchor.config import BUILTIN_AVATARS
from anchor.errors import InputError
from anchor.face.avatar import AvatarPack
from anchor.face.detect import INNER_LIP_PAIRS, FaceAnalyzer, inner_lip_gap
from anchor.face.prepare import prepare_avatar

SOURCE = (
    "matplotlib package, file matplotlib/mpl-data/sample_data/grace_hopper.jpg "
    "(matplotlib.cbook.get_sample_data('grace_hopper.jpg')); originally the official US Navy "
    "portrait photograph of Commodore Grace M. Hopper, USN (c. 1984)"
)
LICENCE = "public domain"
CONSENT = (
    "No consent needed or obtainable: this is a public-domain portrait, a photograph made by the "
    "US Navy as part of official duties, and works of the US federal government are not subject "
    "to copyright (17 U.S.C. 105). Grace Hopper died in 1992. Use it respectfully and never to "
    "put words in her mouth as if she said them: anchor shows it as a synthetic presenter."
)


def grace_hopper_path() -> Path:
    from matplotlib import cbook

    return Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


def write_previews(pack: AvatarPack, out_dir: Path) -> None:
    """Landmark overlay and mask pictures for a person to look at."""
    out_dir.mkdir(parents=True, exist_ok=True)
    bgr = cv2.cvtColor(pack.image, cv2.COLOR_RGB2BGR)
    overlay = cv2.resize(bgr, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    for x, y, _ in pack.landmarks:
        cv2.circle(overlay, (int(round(2 * x)), int(round(2 * y))), 1, (0, 255, 0), -1)
    for pair in INNER_LIP_PAIRS:
        for x, y, _ in pack.landmarks[list(pair)]:
            cv2.circle(overlay, (int(round(2 * x)), int(round(2 * y))), 3, (0, 0, 255), -1)
    x0, y0, x1, y1 = pack.meta.face_box
    cv2.rectangle(overlay, (2 * x0, 2 * y0), (2 * x1, 2 * y1), (255, 160, 0), 2)
    cv2.imwrite(str(out_dir / "default_landmarks.png"), overlay)
    alpha = pack.mask.astype(np.float32)[..., None] / 255.0
    magenta = np.array([255, 0, 255], np.float32)
    cutout = (bgr * alpha + magenta * (1 - alpha)).astype(np.uint8)
    cv2.imwrite(str(out_dir / "default_mask.png"), np.hstack([cv2.cvtColor(pack.mask, cv2.COLOR_GRAY2BGR), cutout]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--avatars-dir", type=Path, default=BUILTIN_AVATARS)
    parser.add_argument("--name", default="default")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing pack of that name")
    parser.add_argument("--preview", type=Path, help="also write default_landmarks.png and default_mask.png here")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    try:
        with FaceAnalyzer() as analyzer:
            pack = prepare_avatar(
                grace_hopper_path(),
                args.name,
                args.avatars_dir,
                source=SOURCE,
                licence=LICENCE,
                consent=CONSENT,
                overwrite=args.overwrite,
                analyzer=analyzer,
            )
    except InputError as exc:
        print(f"error ({exc.field}): {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    x0, y0, x1, y1 = pack.meta.face_box
    size_kb = sum(p.stat().st_size for p in pack.path.iterdir()) / 1024
    print(f"wrote {pack.path} ({size_kb:.0f} KiB) in {elapsed:.2f} s")
    w, h = pack.meta.image_size
    print(f"image {w}x{h}, face box {pack.meta.face_box} = {x1 - x0}x{y1 - y0} px")
    print(f"inner-lip gap / face height: {inner_lip_gap(pack.landmarks):.4f}")
    if args.preview:
        write_previews(pack, args.preview)
        print(f"previews in {args.preview}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
