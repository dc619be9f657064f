"""`anchor verify FILE_OR_URL` and POST /v1/verify as a newsroom uses them: real processes and servers."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from anchor.config import ProvenanceSettings
from tests.provenance.video import encode, photos, scene

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory, prov: ProvenanceSettings) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "config.yaml"
    path.write_text(
        f"provenance:\n  issuer: {prov.issuer}\n  keys_dir: {prov.keys_dir}\n  index_file: {prov.index_file}\n",
        encoding="utf-8",
    )
    return path


def verify(target: str, config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "anchor", "verify", target, "-c", str(config), *extra]
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)


def test_an_authentic_clip_exits_0_with_one_clear_verdict(signed_clip: Path, config: Path) -> None:
    p = verify(str(signed_clip), config)
    assert p.returncode == 0, p.stdout + p.stderr
    first = p.stdout.splitlines()[0]
    assert first.startswith("AUTHENTIC: signed by Test Newsroom anchor signer") and "watermark found" in first
    assert "ai source:  trainedAlgorithmicMedia" in p.stdout


def test_json_output_and_the_exit_codes_of_the_other_verdicts(signed_clip: Path, config: Path, tmp_path: Path) -> None:
    data = bytearray(signed_clip.read_bytes())
    data[data.find(b"mdat") + 3000] ^= 0x10
    (tmp_path / "tampered.mp4").write_bytes(bytes(data))
    encode(tmp_path / "plain.mp4", scene(photos()[0], 320, 180, 10))
    p = verify(str(tmp_path / "tampered.mp4"), config, "--json")
    assert p.returncode == 3
    doc = json.loads(p.stdout)
    assert doc["verdict"] == "tampered" and doc["manifest"]["state"] == "tampered" and doc["exit_code"] == 3
    p = verify(str(tmp_path / "plain.mp4"), config, "--json")
    assert p.returncode == 6 and json.loads(p.stdout)["watermark"]["found"] is False
    p = verify(str(tmp_path / "missing.mp4"), config)
    assert p.returncode == 2 and "no such file" in p.stderr
    (tmp_path / "text.mp4").write_text("not a video")
    p = verify(str(tmp_path / "text.mp4"), config)
    assert p.returncode == 2 and "error [file]" in p.stderr


@pytest.fixture
def file_server(signed_clip: Path) -> Iterator[str]:
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(signed_clip.parent))
    handler.log_message = lambda *a: None  # type: ignore[method-assign]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_a_url_is_downloaded_and_verified(file_server: str, signed_clip: Path, config: Path) -> None:
    p = verify(f"{file_server}/{signed_clip.name}", config)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.startswith("AUTHENTIC")
    p = verify(f"{file_server}/nothing.mp4", config)
    assert p.returncode == 2 and "HTTP 404" in p.stderr


def test_post_v1_verify(signed_clip: Path, prov: ProvenanceSettings, tmp_path: Path) -> None:
    from anchor.api.app import create_app
    from anchor.api.server import ApiServer
    from anchor.config import Settings

    settings = Settings(
        api={"storage_dir": tmp_path / "storage", "keys": {"desk": "key-desk-1"}, "workers": 1},
        provenance=prov.model_copy(update={"verify_max_mb": 1}),
    )
    server = ApiServer(create_app(settings), "127.0.0.1", 0, lifespan=True).start(timeout=60)  # reports its port
    try:
        url, auth = f"http://127.0.0.1:{server.port}/v1/verify", {"Authorization": "Bearer key-desk-1"}
        with open(signed_clip, "rb") as f:
            r = httpx.post(url, files={"file": ("news.mp4", f, "video/mp4")}, headers=auth, timeout=60)
        assert r.status_code == 200, r.text
        doc = r.json()
        assert (doc["verdict"], doc["exit_code"], doc["file"]) == ("authentic", 0, "news.mp4")
        assert doc["watermark"]["found"] and doc["watermark_issuer"] == prov.issuer
        assert httpx.post(url, files={"file": ("a.mp4", b"x")}, timeout=10).status_code == 401
        big = httpx.post(url, files={"file": ("big.mp4", b"0" * (2 << 20))}, headers=auth, timeout=30)
        assert big.status_code == 413
        junk = httpx.post(url, files={"file": ("junk.mp4", b"not a video at all")}, headers=auth, timeout=30)
        assert junk.status_code == 422 and junk.json()["error"]["field"] == "file"
    finally:
        server.stop()
