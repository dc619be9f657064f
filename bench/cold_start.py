"""Cold start: how long a newcomer waits for `anchor --help` and for a one-word clip.

Each command runs in a fresh process (imports included), several times; the median is printed
beside the bare interpreter start (`python -c pass`) and the package import (`import anchor.cli`)
measured in the same run. Goal: the one-word `say` under 2 s on an idle machine.

The one-word clip is timed twice: with anchor's disk cache warm (every run after the first on a
machine: hibari's G2P assets, its optimised graph and the mesh triangulation read back), and
with an empty cache for every run (the very first run, which builds the cache).

    python -m bench.cold_start [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _time(cmd: list[str], runs: int, cache: Path, fresh_cache: bool = False) -> tuple[float, float]:
    times = []
    for i in range(runs):
        where = cache / f"empty{i}" if fresh_cache else cache / "warm"
        env = {**os.environ, "ANCHOR_CACHE_DIR": str(where)}
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), max(times)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="bench_cold_") as tmp:
        cases = [
            ("python -c pass (baseline)", [py, "-c", "pass"]),
            ("import anchor.cli", [py, "-c", "import anchor.cli"]),
            ("anchor --help", [py, "-m", "anchor", "--help"]),
        ]
        say = [py, "-m", "anchor", "say", "Hello.", "-o", str(Path(tmp) / "x.mp4")]
        cache = Path(tmp) / "cache"
        _time(say, 1, cache)  # fills the warm cache
        print(f"cold start, median (max) of {args.runs} fresh processes")
        for name, cmd in cases:
            med, worst = _time(cmd, args.runs, cache)
            print(f"  {name:<40} {med:6.2f} s  ({worst:.2f})")
        for name, fresh in (
            ('anchor say "Hello." (disk cache warm)', False),
            ('anchor say "Hello." (disk cache empty)', True),
        ):
            med, worst = _time(say, args.runs, cache, fresh_cache=fresh)
            print(f"  {name:<40} {med:6.2f} s  ({worst:.2f})")


if __name__ == "__main__":
    main()
