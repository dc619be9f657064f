"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from anchor.config import Settings, load_settings
from anchor.face.detect import FaceAnalyzer
from anchor.program.pipeline import Pipeline
from tests.streaming.nginx_rtmp import NginxMissing, NginxRtmp


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Print the shuffle seed even with -q (pytest-randomly prints it only in the header)."""
    seed = getattr(config.option, "randomly_seed", None)
    if seed is not None and config.pluginmanager.has_plugin("randomly"):
        terminalreporter.write_line(
            f"test order shuffled by pytest-randomly: rerun it with -p randomly --randomly-seed={seed}"
        )


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The default settings, with signing keys, the content index and as-run logs in a temporary
    folder instead of the checkout's var/ (`anchor` processes that tests start use var/, git-ignored)."""
    root = tmp_path_factory.mktemp("provenance")
    base = load_settings()
    prov = base.provenance.model_copy(
        update={"keys_dir": root / "keys", "index_file": root / "index.jsonl", "asrun_dir": root / "asrun"}
    )
    return base.model_copy(update={"provenance": prov})


@pytest.fixture(scope="session")
def pipeline(settings: Settings) -> Pipeline:
    """The program pipeline on the default settings, shared (the audio model loads once)."""
    return Pipeline(settings)


@pytest.fixture(scope="session")
def video_analyzer() -> Iterator[FaceAnalyzer]:
    """A face-mesh tracker for re-detecting the mouth on rendered video frames."""
    with FaceAnalyzer.for_video() as fa:
        yield fa


@pytest.fixture
def rtmp_server(tmp_path: Path) -> Iterator[NginxRtmp]:
    """A running nginx RTMP server on 127.0.0.1 (fails, never skips, when nginx is missing)."""
    try:
        server = NginxRtmp(tmp_path / "nginx")
    except NginxMissing as error:
        pytest.fail(str(error), pytrace=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def pytest_configure(config: pytest.Config) -> None:
    """Rebuildable caches (anchor.disk_cache) go to a folder of this run, not the user's ~/.cache:
    the suite builds them itself, and `anchor` processes that tests start inherit the folder."""
    import os
    import tempfile

    if "ANCHOR_CACHE_DIR" not in os.environ:
        os.environ["ANCHOR_CACHE_DIR"] = _RUN_CACHE[0] = tempfile.mkdtemp(prefix="anchor-test-cache-")


_RUN_CACHE = [""]


def pytest_unconfigure(config: pytest.Config) -> None:
    if _RUN_CACHE[0]:
        import shutil

        shutil.rmtree(_RUN_CACHE[0], ignore_errors=True)
