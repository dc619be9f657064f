"""Schemathesis against both OpenAPI documents (the job API and a channel's control API), over real
HTTP, every check: no server error, no response outside its documented status, content type,
headers and schema, invalid data refused, valid data not refused for reasons outside the schema's
reach (tests/api/schemathesis.toml says which statuses those are), auth not ignored.

Bounded so it fits CI: a fixed number of examples per operation and a fixed seed (set
ANCHOR_SCHEMATHESIS_SEED / ANCHOR_SCHEMATHESIS_EXAMPLES to explore further). Job creation runs
against a job backend whose dispatcher keeps jobs queued (the HTTP surface is what is tested;
rendering has its own tests); the channel is built but not started.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from anchor.api.app import create_app
from anchor.api.auth import KeyRing
from anchor.api.channel import channel_app
from anchor.api.server import ApiServer
from anchor.api.viewing import TurnRest, ViewingPolicy
from anchor.config import BUILTIN_AVATARS, Settings
from anchor.face.avatar import AvatarStore
from anchor.jobs.files import JobFiles
from anchor.jobs.service import JobBackend
from anchor.jobs.store import SqliteJobStore
from anchor.live.channel import Channel
from anchor.live.media import MediaRoots
from anchor.live.store import ScriptQueue
from anchor.program.pipeline import Pipeline
from streaming.clock import SystemClock
from streaming.webrtc import WebRtcBroadcaster

HERE = Path(__file__).resolve().parent
KEY = "schemathesis-key-1"
SEED = os.environ.get("ANCHOR_SCHEMATHESIS_SEED", "15")
EXAMPLES = os.environ.get("ANCHOR_SCHEMATHESIS_EXAMPLES", "40")


class KeepQueued:
    """A dispatcher that runs nothing: created jobs stay queued."""

    def submit(self, job_id: str) -> None:
        pass


@contextlib.contextmanager
def quiet_backend(root: Path) -> Iterator[JobBackend]:
    files = JobFiles(root)
    files.root.mkdir(parents=True, exist_ok=True)
    store = SqliteJobStore(files.db_path)
    try:
        yield JobBackend("embedded", store, files, KeepQueued())
    finally:
        store.close()


@pytest.fixture
def job_api(settings: Settings, tmp_path: Path) -> Iterator[str]:
    api = settings.api.model_copy(
        update={
            "keys": {"fuzzer": KEY},
            "storage_dir": tmp_path / "storage",
            "rate_limit_per_minute": 1e6,
            "rate_limit_burst": 100_000,
            "min_free_mb": 0,
        }
    )
    app = create_app(
        settings.model_copy(update={"api": api, "avatars_dir": tmp_path / "avatars"}),
        backend=quiet_backend(tmp_path / "storage"),
    )
    with ApiServer(app, "127.0.0.1", 0, lifespan=True) as server:
        yield f"http://127.0.0.1:{server.port}"


@pytest.fixture
def channel_api(settings: Settings, tmp_path: Path) -> Iterator[str]:
    queue = ScriptQueue(tmp_path / "q.db")
    broadcaster = WebRtcBroadcaster(25, max_viewers=4)
    channel = Channel(
        Pipeline(settings), queue, AvatarStore(BUILTIN_AVATARS).load("default"), [broadcaster], SystemClock(),
        width=320, height=180, media=MediaRoots([tmp_path / "media"], tmp_path / "uploads"),
    )  # fmt: skip
    viewing = ViewingPolicy.build(
        "fuzzed", "token", KeyRing({"control": KEY}), turn=TurnRest(["turn:127.0.0.1:3478"], "turn-secret", 600)
    )
    with ApiServer(channel_app(channel, KEY, broadcaster, viewing), "127.0.0.1", 0) as server:
        yield f"http://127.0.0.1:{server.port}"
    queue.close()


def run_schemathesis(base: str, tmp_path: Path, *extra: str) -> str:
    exe = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.fail("schemathesis is not installed: pip install -e '.[test]' (bash scripts/setup.sh)", pytrace=False)
    args = [
        exe, "--config-file", str(HERE / "schemathesis.toml"), "run", f"{base}/openapi.json",
        "--checks", "all", "--max-examples", EXAMPLES, "--seed", SEED, "--workers", "1", "--no-shrink",
        "--request-timeout", "30", "--header", f"Authorization: Bearer {KEY}", *extra,
    ]  # fmt: skip
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HERE / "schemathesis_hooks.py"), "NO_COLOR": "1"}
    done = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-12000:]
    assert " passed" in output and "failures" not in output.splitlines()[-1], output[-3000:]
    return output


def documented(base: str) -> dict[str, set[int]]:
    spec = httpx.get(f"{base}/openapi.json").json()
    return {
        f"{method.upper()} {path}": {int(s) for s in op["responses"] if s.isdigit()}
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
    }


def test_job_api_survives_schemathesis_with_every_check(job_api: str, tmp_path: Path) -> None:
    docs = documented(job_api)
    assert {400, 401, 409, 413, 415, 422, 429, 503} <= docs["POST /v1/videos"]
    assert {401, 404, 503} <= docs["GET /v1/videos/{job_id}"]
    assert {404, 409} <= docs["GET /v1/videos/{job_id}/video.mp4"]
    assert {403, 409, 413, 415, 422, 429} <= docs["POST /v1/avatars"]
    assert 503 in docs["GET /readyz"]
    run_schemathesis(job_api, tmp_path)
    assert httpx.get(f"{job_api}/healthz").json()["status"] == "ok"


def test_channel_control_api_survives_schemathesis_with_every_check(channel_api: str, tmp_path: Path) -> None:
    docs = documented(channel_api)
    assert {401, 413, 415, 422, 503} <= docs["POST /queue"]
    assert {401, 404, 422} <= docs["GET /queue/{item_id}"]
    assert {400, 401, 413, 415, 503} <= docs["POST /whep"]
    # the event stream never ends: it has its own tests (tests/live/test_api.py)
    run_schemathesis(channel_api, tmp_path, "--exclude-path", "/events")
    assert httpx.get(f"{channel_api}/healthz").status_code == 200
