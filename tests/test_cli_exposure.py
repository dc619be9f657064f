"""Servers refuse to listen on a public address without a real key; the channel makes its own key
by default; the CLI checks audio against the media roots and text for words, as the API does."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import yaml

from anchor.live.config import ChannelConfig
from anchor.live.keys import control_key

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "anchor", *args], capture_output=True, text=True, cwd=cwd or ROOT, env=env, timeout=120
    )


def channel_file(tmp_path: Path, **fields: object) -> Path:
    path = tmp_path / "channel.yaml"
    path.write_text(yaml.safe_dump({"name": "t", "queue_db": str(tmp_path / "q.db"), **fields}), encoding="utf-8")
    return path


def test_live_refuses_a_public_address_without_a_key_or_with_the_placeholder(tmp_path: Path) -> None:
    for key, words in ((None, "without an API key"), ("change-me-control-key", "placeholder")):
        p = run("live", str(channel_file(tmp_path, control={"host": "0.0.0.0", "api_key": key})), "--seconds", "1")
        assert p.returncode == 2, p.stderr
        assert words in p.stderr and "control.api_key" in p.stderr
        assert "Traceback" not in p.stderr
    assert not (tmp_path / "q.db").exists()  # refused before anything was built


def test_serve_refuses_a_public_address_without_keys(tmp_path: Path) -> None:
    config = tmp_path / "api.yaml"
    config.write_text(yaml.safe_dump({"api": {"storage_dir": str(tmp_path / "s")}}), encoding="utf-8")
    p = run("serve", "-c", str(config), "--host", "0.0.0.0", "--port", "9")
    assert p.returncode == 2 and "without an API key" in p.stderr and "api.keys" in p.stderr, p.stderr
    assert not (tmp_path / "s").exists()


def test_the_channel_makes_a_private_random_key_on_first_start_and_keeps_it(tmp_path: Path) -> None:
    cfg = ChannelConfig(name="t", queue_db=tmp_path / "q.db")  # control.api_key defaults to "generate"
    first = control_key(cfg)
    assert first is not None and len(first) >= 32
    assert stat.S_IMODE(cfg.control_key_file.stat().st_mode) == 0o600
    assert control_key(cfg) == first
    assert control_key(ChannelConfig(name="u", queue_db=tmp_path / "q.db")) != first
    assert control_key(ChannelConfig(queue_db=tmp_path / "q.db", control={"api_key": None})) is None


def test_queue_add_checks_audio_against_the_media_roots_and_text_for_words(tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    (media / "intro.wav").write_bytes(b"RIFF")
    channel = channel_file(tmp_path, media_roots=[str(media)])
    outside = run("queue", "add", "--audio", "/etc/passwd", "--channel", str(channel))
    missing = run("queue", "add", "--audio", str(media / "nothing.wav"), "--channel", str(channel))
    assert outside.returncode == missing.returncode == 2
    assert outside.stderr == missing.stderr and "media roots" in outside.stderr
    ok = run("queue", "add", "--audio", "intro.wav", "--channel", str(channel))
    assert ok.returncode == 0, ok.stderr
    emoji = run("queue", "add", "😀🎉", "--channel", str(channel))
    assert emoji.returncode == 2 and "no words to speak" in emoji.stderr
    listing = run("queue", "ls", "--channel", str(channel)).stdout
    assert str((media / "intro.wav").resolve())[:40] in listing and "passwd" not in listing
