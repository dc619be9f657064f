"""`anchor live` as its own process, for benchmarks that measure it from outside."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.helpers import free_port

ROOT = Path(__file__).resolve().parent.parent


def start_live(
    folder: Path, channel_yaml: str, api_key: str | None, timeout: float = 120.0
) -> tuple[subprocess.Popen[bytes], str]:
    """Start `anchor live` on a channel file in `folder`: `channel_yaml` plus its own queue and a
    control API on a free loopback port with `api_key` (None: no key, loopback only); wait until
    /healthz answers 200.

    Returns (the process, the control API's base URL); exits with a message if it dies or does not
    come up within `timeout` s."""
    port = free_port()
    channel_file = folder / f"ch{port}.yaml"
    key = "null" if api_key is None else api_key
    channel_file.write_text(
        f"{channel_yaml}queue_db: {folder}/q{port}.db\ncontrol: {{host: 127.0.0.1, port: {port}, api_key: {key}}}\n",
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "anchor", "live", str(channel_file)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit(f"anchor live did not start (channel file {channel_file})")
        time.sleep(0.2)
