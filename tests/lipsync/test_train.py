"""`anchor train-lipsync` end to end on a tiny recipe: it synthesizes (espeak + Festival),
trains, and writes weights the inference side loads and runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from anchor.lipsync.model.infer import AudioMouthModel

ROOT = Path(__file__).resolve().parents[2]


def test_a_tiny_training_run_writes_usable_weights(tmp_path: Path) -> None:
    out = tmp_path / "tiny.pt"
    args = ["--english", "6", "--mandarin", "2", "--other", "2", "--festival", "4", "--copies", "1",
            "--steps", "12", "--channels", "16", "--lookahead", "6", "-o", str(out)]  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "anchor", "train-lipsync", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Festival utterances" in done.stdout and "saved" in done.stdout
    model = AudioMouthModel.load(out)
    assert model.lookahead == 6 and model.meta["recipe"]["festival"] == 4 and model.meta["clips"] == 14
    track = model.mouth_track(np.zeros(48_000, np.int16), 25)
    assert len(track) == 25 and np.isfinite(track.params).all()


def test_training_refuses_a_bad_recipe(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "anchor", "train-lipsync", "--steps", "0", "-o", str(tmp_path / "x.pt")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0 and "steps" in (done.stdout + done.stderr)
    assert not (tmp_path / "x.pt").exists()
