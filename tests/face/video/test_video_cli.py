"""`anchor avatar add --video`, `anchor avatar list` and `anchor say --avatar` with a video avatar, as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from anchor.face.avatar import AvatarPack
from streaming.probe import decode_frames, probe
from tests.face.video.recording import Recording

ROOT = Path(__file__).resolve().parents[3]


def run(*args: str, config: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "anchor", *args, "--config", str(config)],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=600,
    )  # fmt: skip


def _config(tmp_path: Path, avatars: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"avatars_dir": str(avatars)}), encoding="utf-8")
    return path


def test_add_a_video_avatar_list_it_and_say_something(recording: Recording, tmp_path: Path) -> None:
    avatars = tmp_path / "avatars"
    config = _config(tmp_path, avatars)
    p = run("avatar", "add", "lena", "--video", str(recording.path), "--source", "test recording", "--licence",
            "own", "--consent", "synthetic person, test", config=config)  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert "prepared video avatar 'lena'" in p.stdout
    p = run("avatar", "list", config=config)
    assert p.returncode == 0, p.stderr
    lena = next(line for line in p.stdout.splitlines() if "lena" in line)
    default = next(line for line in p.stdout.splitlines() if " default " in line)
    assert "video" in lena and "photo" in default, p.stdout
    out = tmp_path / "lena.mp4"
    p = run("say", "Good evening.", "--avatar", "lena", "-o", str(out), "--size", "640x360", config=config)
    assert p.returncode == 0, p.stderr
    info = probe(out)
    assert (info.width, info.height, info.video_codec, info.audio_codec) == (640, 360, "h264", "aac")
    frames = [img for _, img in decode_frames(out)]
    assert len(frames) == info.video_frames > 10


def test_a_video_avatar_needs_consent_and_one_source(
    recording: Recording, tmp_path: Path, video_avatar: AvatarPack
) -> None:
    avatars = tmp_path / "avatars"
    config = _config(tmp_path, avatars)
    p = run("avatar", "add", "nobody", "--video", str(recording.path), config=config)
    assert p.returncode == 2 and "--consent is required" in p.stderr
    p = run("avatar", "add", "both", str(video_avatar.path / "image.png"), "--video", str(recording.path),
            "--consent", "x", config=config)  # fmt: skip
    assert p.returncode == 2 and "either a PHOTO or --video" in p.stderr
    p = run("avatar", "add", "text", "--video", str(ROOT / "README.md"), "--consent", "x", config=config)
    assert p.returncode == 2 and "not a video" in p.stderr
    assert not avatars.exists() or not any(avatars.iterdir())
