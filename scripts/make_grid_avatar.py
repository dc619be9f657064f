"""Build the built-in video avatar avatars/grid from the GRID corpus clip (speaker s1, CC BY 4.0).

The clip (../shared/footage/grid_s1_180s.mp4, 360x288, 25 fps, 60 sentences joined) is the
only long, redistributable recording of one person talking to the camera we have; the pack
uses its first 90 s (30 sentences: enough idle pauses for the base track, ~2000 mouths) and
keeps the native 360x288 frames: the renderer scales them once, with bicubic interpolation,
to the size the studio shows them at (about 1.8x at 1280x720), so no detail is invented and
none is lost to a second resampling.

    python scripts/make_grid_avatar.py [--clip PATH] [--seconds 90] [--avatars-dir avatars] [--overwrite]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from anchor.config import BUILTIN_AVATARS
from anchor.face.video.ingest import IngestOptions, build_video_avatar
from anchor.face.video.pack import load_video_pack

CLIP = next(
    (d / "grid_s1_180s.mp4" for d in (Path(__file__).resolve().parents[2] / "shared" / "footage", Path("/work/shared/footage"))
     if (d / "grid_s1_180s.mp4").is_file()),
    Path("../shared/footage/grid_s1_180s.mp4"),
)  # fmt: skip
CREDIT = (
    "GRID audio-visual corpus, speaker s1: M. Cooke, J. Barker, S. Cunningham and X. Shao (2006), "
    '"An audio-visual corpus for speech perception and automatic speech recognition", J. Acoust. Soc. Am. '
    "120(5):2421-2424; corpus record doi:10.5281/zenodo.3625687. Derived work: 60 sentences of s1 joined "
    "(public repository TVR28/LipNet, data/s1), re-encoded; this pack uses the first 90 s."
)
LICENCE = "CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/); credit: Cooke, Barker, Cunningham and Shao (2006)"
CONSENT = (
    "The GRID speakers were recorded for a public audio-visual speech corpus released under CC BY 4.0, "
    "which permits adaptation. anchor shows this person as a synthetic presenter: never present what "
    "it says as their words."
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clip", type=Path, default=CLIP)
    ap.add_argument("--seconds", type=float, default=90.0)
    ap.add_argument("--avatars-dir", type=Path, default=BUILTIN_AVATARS)
    ap.add_argument("--overwrite", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    path = build_video_avatar(
        args.clip, "grid", args.avatars_dir, source=CREDIT, licence=LICENCE, consent=CONSENT,
        overwrite=args.overwrite, options=IngestOptions(stop_s=args.seconds),
        notes="Built by scripts/make_grid_avatar.py from the first "
        f"{args.seconds:.0f} s of grid_s1_180s.mp4 (../shared/footage).",
    )  # fmt: skip
    vp = load_video_pack(path)
    size = sum(f.stat().st_size for f in path.iterdir()) / 2**20
    print(
        f"built {path} in {time.perf_counter() - t0:.0f} s: {vp.info.stats['idle_seconds']:.1f} s of idle footage in "
        f"{len(vp.graph.pieces)} pieces, {vp.info.bank_size} mouths, {size:.1f} MB"
    )


if __name__ == "__main__":
    main()
