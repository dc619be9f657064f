"""The player and control-room pages in a real headless Chromium (Debian's), over real WebRTC."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import aioice.ice
import httpx
import pytest

from anchor.api.channel import channel_app, channel_keys
from anchor.api.server import ApiServer
from anchor.api.viewing import ViewingPolicy
from anchor.config import BUILTIN_AVATARS, Settings
from anchor.face.avatar import AvatarStore
from anchor.live.channel import Channel
from anchor.live.store import ScriptQueue
from anchor.program.pipeline import Pipeline
from streaming.clock import SystemClock
from streaming.webrtc import WebRtcBroadcaster, pin_host_addresses

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-sync", "--disable-quic",
    "--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
]  # fmt: skip
KEY = "room-key"


def shots_dir(tmp_path: Path) -> Path:
    """docs/ when ANCHOR_UPDATE_SCREENSHOTS=1 (the README shows them), else a temp folder."""
    return ROOT / "docs" if os.environ.get("ANCHOR_UPDATE_SCREENSHOTS") == "1" else tmp_path


@pytest.fixture
def site(settings: Settings, tmp_path: Path) -> Iterator[str]:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail("Debian's chromium is not installed: run scripts/setup.sh as root (apt-get install chromium)")
    original = aioice.ice.get_host_addresses
    pin_host_addresses(["127.0.0.1"])
    queue = ScriptQueue(tmp_path / "q.db")
    broadcaster = WebRtcBroadcaster(25, max_viewers=4)
    channel = Channel(
        Pipeline(settings), queue, AvatarStore(BUILTIN_AVATARS).load("default"),
        [broadcaster], SystemClock(), width=640, height=360,
    )  # fmt: skip
    try:
        viewing = ViewingPolicy.build("anchor", "token", channel_keys(KEY))  # viewers need a token (or the key)
        with channel, ApiServer(channel_app(channel, KEY, broadcaster, viewing), "127.0.0.1", 0) as api:
            yield f"http://127.0.0.1:{api.port}"  # port 0: the system picks, the server reports
    finally:
        queue.close()
        aioice.ice.get_host_addresses = original


@pytest.fixture
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


def test_player_plays_video_with_audio(site: str, browser, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{site}/player")  # no token: refused, and the page says why
    page.wait_for_function(
        "() => document.getElementById('state').textContent.includes('viewer token')", timeout=10_000
    )
    minted = httpx.post(f"{site}/viewer-tokens", headers={"Authorization": f"Bearer {KEY}"}, json={"ttl_s": 600})
    assert minted.status_code == 201, minted.text
    page.goto(minted.json()["player_url"])
    page.wait_for_function("() => document.getElementById('video').videoWidth > 0", timeout=20_000)
    frames = "() => document.getElementById('video').getVideoPlaybackQuality().totalVideoFrames"
    first = page.evaluate(frames)
    page.wait_for_timeout(1500)
    second = page.evaluate(frames)
    assert second > first > 0, (first, second)
    size = page.evaluate(
        "() => [document.getElementById('video').videoWidth, document.getElementById('video').videoHeight]"
    )
    assert size == [640, 360]
    audio = page.evaluate("() => document.getElementById('video').srcObject.getAudioTracks().map(t => t.readyState)")
    assert audio == ["live"]
    assert page.text_content("#state") == "live"
    page.screenshot(path=str(shots_dir(tmp_path) / "player.png"))


def test_control_room_adds_an_item_that_goes_on_air(site: str, browser, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{site}/control?key={KEY}")
    page.wait_for_function("() => document.getElementById('onair').textContent === 'IDLE'", timeout=15_000)
    page.fill("textarea[name=text]", "Good evening. This bulletin was queued from the control room.")
    page.fill("input[name=title]", "Control room bulletin")
    page.click("button[type=submit]")
    page.wait_for_selector("#queue li:has-text('Control room bulletin')", timeout=10_000)
    page.wait_for_function(
        "() => document.getElementById('now-title').textContent === 'Control room bulletin'", timeout=20_000
    )
    assert page.text_content("#onair") == "ON AIR"
    page.wait_for_function("() => document.getElementById('preview').videoWidth > 0", timeout=20_000)
    page.wait_for_timeout(800)
    page.screenshot(path=str(shots_dir(tmp_path) / "control.png"))
    page.click("#player-link")  # viewing needs a token: the control room mints a player link
    page.wait_for_function(
        "() => document.getElementById('log').textContent.includes('/player?token=vt1.')", timeout=5_000
    )
    # refusals are shown, not swallowed: a wrong key
    page.fill("#key", "wrong")
    page.dispatch_event("#key", "change")
    page.wait_for_function("() => document.getElementById('form-error').textContent.includes('API key')", timeout=5_000)
    # and a phone-width layout still shows every panel
    page.set_viewport_size({"width": 390, "height": 844})
    for panel in ("#preview", "#queue", "#outputs", "#add"):
        assert page.is_visible(panel)
