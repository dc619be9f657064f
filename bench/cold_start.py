"""Cold start: how long a newcomer waits for `anchor --help` and for a one-word clip.

Each command runs in a fresh process (imports included), several times; the median is printed
beside the bare interpreter start (`python -c pass`) and the package import (`import anchor.cli`)
measured in the same run. Goal: the one-word `say` under 2 s on an idle machine.

    python -m bench.cold_start [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _time(cmd: list[str], runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
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
            ('anchor say "Hello." -o x.mp4', [py, "-m", "anchor", "say", "Hello.", "-o", str(Path(tmp) / "x.mp4")]),
        ]
        print(f"cold start, median (max) of {args.runs} fresh processes")
        for name, cmd in cases:
            med, worst = _time(cmd, args.runs)
            print(f"  {name:<32} {med:6.2f} s  ({worst:.2f})")


if __name__ == "__main__":
    main()
