"""The `anchor` command line as a user runs it: real processes, exit codes and messages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from streaming.probe import probe

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "anchor", *args], capture_output=True, text=True, cwd=cwd or ROOT, env=env, timeout=300
    )


def test_say_writes_a_playable_mp4_and_says_where(tmp_path: Path) -> None:
    out = tmp_path / "hello.mp4"
    p = run("say", "Hello there.", "-o", str(out), "--size", "640x360")
    assert p.returncode == 0, p.stderr
    assert str(out) in p.stdout
    info = probe(out)
    assert (info.width, info.height, info.video_codec) == (640, 360, "h264")


def test_say_puts_a_background_image_behind_the_anchor(tmp_path: Path) -> None:
    import av
    import numpy as np
    from PIL import Image

    picture = np.zeros((360, 640, 3), np.uint8)
    picture[:, :320] = (220, 20, 20)
    picture[:, 320:] = (20, 20, 220)
    Image.fromarray(picture).save(tmp_path / "studio.png")
    out = tmp_path / "bg.mp4"
    p = run("say", "Hello.", "-o", str(out), "--size", "640x360", "--background-image", str(tmp_path / "studio.png"))
    assert p.returncode == 0, p.stderr
    with av.open(str(out)) as c:
        frame = next(c.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    left, right = frame[20, 20], frame[20, 620]
    assert left[0] > 150 and left[2] < 80, left
    assert right[2] > 150 and right[0] < 80, right


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["say", ""], "text"),
        (["say", "Hi.", "--avatar", "nobody"], "unknown avatar"),
        (["say", "Hi.", "--size", "big"], "1280x720"),
        (["say", "Hi.", "--lang", "klingon"], "language"),
        (["say", "Hi.", "-o", "/nonexistent-dir/x.mp4"], "does not exist"),
        (["say", "Hi.", "--background-image", "/nonexistent/studio.png"], "background image"),
        (["say", "Hi.", "--background", "#102030", "--background-image", "README.md"], "not both"),
    ],
)
def test_say_refusals_exit_non_zero_with_a_message(args: list[str], message: str, tmp_path: Path) -> None:
    if "-o" not in args:
        args = [*args, "-o", str(tmp_path / "x.mp4")]
    p = run(*args)
    assert p.returncode == 2
    assert message in p.stderr.lower()
    assert "Traceback" not in p.stderr


def test_avatar_add_list_and_use(tmp_path: Path) -> None:
    from matplotlib import cbook  # a test dependency (pip install -e ".[test]"): the portrait ships with it

    photo = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    p = run("avatar", "add", "maria", str(photo), "--source", "test", "--licence", "public domain", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "avatars" / "maria" / "meta.json").is_file()
    listing = run("avatar", "list", cwd=tmp_path)
    assert "maria" in listing.stdout and "default" in listing.stdout
    again = run("avatar", "add", "maria", str(photo), cwd=tmp_path)
    assert again.returncode == 2 and "exists" in again.stderr


def test_avatar_add_refuses_a_non_image(tmp_path: Path) -> None:
    fake = tmp_path / "photo.jpg"
    fake.write_text("this is not a picture")
    p = run("avatar", "add", "fake", str(fake), cwd=tmp_path)
    assert p.returncode == 2 and "image" in p.stderr.lower()
    assert not (tmp_path / "avatars" / "fake").exists()


def test_queue_add_ls_rm_and_refusals(tmp_path: Path) -> None:
    channel = tmp_path / "channel.yaml"
    channel.write_text(f"name: t\nqueue_db: {tmp_path / 'q.db'}\n")
    first = run("queue", "add", "Hello world.", "--title", "Greeting", "--channel", str(channel))
    assert first.returncode == 0, first.stderr
    urgent = run("queue", "add", "Urgent.", "--mode", "interrupt", "--channel", str(channel))
    assert urgent.returncode == 0
    listing = run("queue", "ls", "--channel", str(channel)).stdout
    assert listing.index("Urgent.") < listing.index("Greeting")  # interrupt goes first in line
    assert run("queue", "rm", "1", "--channel", str(channel)).returncode == 0
    assert "Greeting" not in run("queue", "ls", "--channel", str(channel)).stdout
    bad = run("queue", "add", "x", "--mode", "sideways", "--channel", str(channel))
    assert bad.returncode == 2 and "[mode]" in bad.stderr
    missing = run("queue", "rm", "99", "--channel", str(channel))
    assert missing.returncode == 2 and "99" in missing.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("outputs: [{url: http://example}]\n")
    p = run("queue", "ls", "--channel", str(broken))
    assert p.returncode == 2 and "rtmp://" in p.stderr
