"""The player and control-room pages in a real headless Chromium (Debian's), over real WebRTC."""

from __future__ import annotations

import io
import math
import os
import re
import shutil
import struct
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aioice.ice
import httpx
import pytest
from playwright.sync_api import Page, expect

from anchor.api.channel import channel_app, channel_keys
from anchor.api.server import ApiServer
from anchor.api.viewing import ViewingPolicy
from anchor.config import BUILTIN_AVATARS, Settings
from anchor.face.avatar import AvatarStore
from anchor.live.channel import Channel
from anchor.live.media import MediaRoots
from anchor.live.store import ScriptQueue
from anchor.program.pipeline import Pipeline
from streaming.clock import SystemClock
from streaming.webrtc import WebRtcBroadcaster, pin_host_addresses
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-sync", "--disable-quic",
    "--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
]  # fmt: skip
KEY = "room-key"
LONG_STORY = " ".join(f"Sentence number {n} of a long story that keeps the anchor talking." for n in range(1, 40))


def shots_dir(tmp_path: Path) -> Path:
    """docs/ when ANCHOR_UPDATE_SCREENSHOTS=1 (the README shows them), else a temp folder."""
    return ROOT / "docs" if os.environ.get("ANCHOR_UPDATE_SCREENSHOTS") == "1" else tmp_path


@dataclass
class Site:
    url: str
    channel: Channel
    server: ApiServer

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=10)


@pytest.fixture
def site(settings: Settings, tmp_path: Path) -> Iterator[Site]:
    """A channel (640x360, WebRTC, viewing by token) and its control API, until the test ends
    (a test may stop either earlier: stopping twice is harmless)."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail("Debian's chromium is not installed: run scripts/setup.sh as root (apt-get install chromium)")
    original = aioice.ice.get_host_addresses
    pin_host_addresses(["127.0.0.1"])
    queue = ScriptQueue(tmp_path / "q.db")
    broadcaster = WebRtcBroadcaster(25, max_viewers=4)
    channel = Channel(
        Pipeline(settings), queue, AvatarStore(BUILTIN_AVATARS).load("default"),
        [broadcaster], SystemClock(), width=640, height=360, media=MediaRoots(uploads=tmp_path / "uploads"),
    )  # fmt: skip
    viewing = ViewingPolicy.build("anchor", "token", channel_keys(KEY))  # viewers need a token (or the key)
    server = ApiServer(channel_app(channel, KEY, broadcaster, viewing), "127.0.0.1", 0)
    try:
        with channel, server:
            yield Site(f"http://127.0.0.1:{server.port}", channel, server)  # port 0: the server reports it
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


def control_room(browser, site: Site, width: int = 1280, height: int = 900) -> Page:
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(f"{site.url}/control?key={KEY}")
    expect(page.locator("#onair")).to_have_text(re.compile("IDLE|ON AIR|PAUSED"), timeout=15_000)
    return page


def refreshed(page: Page, times: int = 3) -> None:
    """Wait until the page has completed `times` more refreshes of everything it shows."""
    start = page.evaluate("() => window.anchorControl.refreshes")
    page.wait_for_function(f"() => window.anchorControl.refreshes >= {start + times}", timeout=20_000)


def tone_wav(seconds: float = 1.0) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(i * 0.1))) for i in range(int(16000 * seconds))))
    return buf.getvalue()


def test_player_plays_video_with_audio_and_hides_unmute_while_sound_plays(site: Site, browser, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{site.url}/player")  # no token: refused, and the page says why
    page.wait_for_function(
        "() => document.getElementById('state').textContent.includes('viewer token')", timeout=10_000
    )
    expect(page.locator("#needs-token")).to_be_visible()
    minted = site.api().post("/viewer-tokens", json={"ttl_s": 600})
    assert minted.status_code == 201, minted.text
    page.goto(minted.json()["player_url"])
    page.wait_for_function("() => document.getElementById('video').videoWidth > 0", timeout=20_000)
    frames = "() => document.getElementById('video').getVideoPlaybackQuality().totalVideoFrames"
    first = page.evaluate(frames)
    page.wait_for_function(f"() => ({frames})() > {first}", timeout=10_000)
    size = page.evaluate(
        "() => [document.getElementById('video').videoWidth, document.getElementById('video').videoHeight]"
    )
    assert size == [640, 360]
    audio = page.evaluate("() => document.getElementById('video').srcObject.getAudioTracks().map(t => t.readyState)")
    assert audio == ["live"]
    assert page.text_content("#state") == "live"
    # Sound plays (autoplay with sound is allowed here): the unmute button is not shown.
    page.wait_for_function(
        "() => { const v = document.getElementById('video'); return !v.muted && !v.paused && v.currentTime > 0 }",
        timeout=10_000,
    )
    expect(page.locator("#unmute")).to_be_hidden()
    expect(page.locator("#needs-token")).to_be_hidden()
    page.screenshot(path=str(shots_dir(tmp_path) / "player.png"))
    # Muted (as when a browser blocks sound): the button appears, and one click brings the sound back.
    page.evaluate("() => { document.getElementById('video').muted = true }")
    expect(page.locator("#unmute button")).to_be_visible()
    page.click("#unmute button")
    expect(page.locator("#unmute")).to_be_hidden()
    assert page.evaluate("() => document.getElementById('video').muted") is False


def test_control_room_adds_an_item_that_goes_on_air(site: Site, browser, tmp_path: Path) -> None:
    client = site.api()
    client.post("/outputs", json={"url": f"rtmp://127.0.0.1:{free_port()}/live/secret-stream-key"})
    client.post("/queue", json={"text": "Reports of a massacre are being checked.", "title": "Unverified report"})
    page = control_room(browser, site)
    # the pickers come from the server
    page.wait_for_function("() => document.querySelectorAll('#add select[name=voice] option').length > 1")
    assert "en" in page.eval_on_selector_all("#add select[name=language] option", "os => os.map(o => o.value)")
    page.fill("textarea[name=text]", "Good evening. This bulletin was queued from the control room.")
    page.fill("input[name=title]", "Control room bulletin")
    page.fill("input[name=priority]", "5")
    page.click("button[type=submit]")
    page.wait_for_selector("#queue li:has-text('Control room bulletin')", timeout=10_000)
    page.wait_for_function(
        "() => document.getElementById('now-title').textContent === 'Control room bulletin'", timeout=30_000
    )
    assert page.text_content("#onair") == "ON AIR"
    playing = page.locator("#queue li.state-playing")
    expect(playing).to_contain_text("on air")
    expect(playing.locator(".dur")).to_have_text(re.compile(r"\d+:\d\d"))
    expect(page.locator("#queue li.state-held")).to_contain_text("massacre")
    page.wait_for_function("() => document.getElementById('preview').videoWidth > 0", timeout=20_000)
    page.wait_for_function("() => Number(document.getElementById('meter-cover').dataset.level) > 0", timeout=20_000)
    # the output that cannot connect is shown down, its stream key never
    expect(page.locator("#alerts")).to_contain_text("Output down", timeout=20_000)
    assert "secret-stream-key" not in page.content()
    page.screenshot(path=str(shots_dir(tmp_path) / "control.png"), full_page=True)
    page.click("#player-link")  # viewing needs a token: the control room mints a player link
    expect(page.locator("#player-url")).to_have_value(re.compile(r"/player\?token=vt1\."), timeout=5_000)
    # a wrong key is said so, and stays said until a good key is entered
    page.fill("#key", "wrong")
    page.dispatch_event("#key", "change")
    expect(page.locator("#alerts")).to_contain_text("control key was refused", timeout=5_000)
    page.fill("#key", KEY)
    page.dispatch_event("#key", "change")
    expect(page.locator("#alerts")).not_to_contain_text("control key was refused", timeout=5_000)
    # and a phone-width layout still shows every panel
    page.set_viewport_size({"width": 390, "height": 844})
    for panel in ("#preview", "#queue", "#outputs", "#add", "#log", "#skip"):
        expect(page.locator(panel)).to_be_visible()


def test_a_refused_item_shows_its_error_beside_the_field_and_it_stays_and_events_collapse(site: Site, browser) -> None:
    page = control_room(browser, site)
    page.fill("textarea[name=text]", "They are vermin and we should kill them all.")
    page.click("button[type=submit]")
    error = page.locator("[data-field=text] .field-error")
    expect(error).to_contain_text("refused by the content policy", timeout=10_000)
    refreshed(page, 3)  # the page refreshed (every second) since: the error is still there
    expect(error).to_contain_text("refused by the content policy")
    assert page.locator("#queue li:has-text('vermin')").count() == 0
    # a field of its own: a timezone that does not exist, beside the time-zone box
    page.click("details.more summary")
    page.select_option("select[name=repeat]", "daily")
    page.fill("input[name=timezone]", "Mars/Olympus_Mons")
    page.fill("textarea[name=text]", "The morning news.")
    page.click("button[type=submit]")
    expect(page.locator("[data-field='recurrence.timezone'] .field-error")).to_contain_text("unknown timezone")
    expect(error).to_be_empty()  # the text was edited: its error went
    # fixed: the entry is added and listed with its rule
    page.fill("input[name=timezone]", "Europe/Berlin")
    page.fill("input[name=daily_at]", "06:30")
    page.click("button[type=submit]")
    expect(page.locator("#templates")).to_contain_text("daily at 06:30 Europe/Berlin", timeout=10_000)
    expect(page.locator("[data-field='recurrence.timezone'] .field-error")).to_be_empty()
    # the Events panel: newest first, a repeat collapses into the line it repeats
    lines = page.evaluate(
        """async () => {
          const { EventLog } = await import('/web/eventlog.js');
          const ul = document.createElement('ul');
          const log = new EventLog(ul);
          for (let i = 0; i < 12; i++) log.add('output down: rtmp://a/live');
          log.add('on air: #1');
          log.add('output down: rtmp://a/live');
          return [...ul.children].map(li => [li.querySelector('.what').textContent, li.querySelector('.count').textContent]);
        }"""
    )
    assert lines == [["output down: rtmp://a/live", "×13"], ["on air: #1", ""]]


def test_skip_works_from_the_page(site: Site, browser) -> None:
    item = site.api().post("/queue", json={"text": LONG_STORY, "title": "Long story"}).json()
    page = control_room(browser, site)
    expect(page.locator("#now-title")).to_have_text("Long story", timeout=30_000)
    expect(page.locator("#queue li.state-playing .prep")).to_contain_text("sentences", timeout=10_000)
    page.click("#skip")
    expect(page.locator("#now-title")).to_have_text("idle anchor", timeout=15_000)
    expect(page.locator("#history")).to_contain_text("skipped by operator", timeout=10_000)
    assert site.api().get(f"/queue/{item['id']}").json()["state"] == "skipped"
    expect(page.locator("#log")).to_contain_text("cut: #", timeout=10_000)


def test_held_items_are_approved_or_rejected_and_waiting_items_edited(site: Site, browser) -> None:
    client = site.api()
    client.post("/pause")  # nothing starts: the items wait where the page can edit them
    waiting = client.post("/queue", json={"text": "The weather is mild.", "title": "Weather"}).json()
    held = client.post("/queue", json={"text": "A massacre was reported.", "title": "Report A"}).json()
    other = client.post("/queue", json={"text": "A terrorist attack, police say.", "title": "Report B"}).json()
    assert held["state"] == other["state"] == "held"
    page = control_room(browser, site)
    expect(page.locator("#onair")).to_have_text("PAUSED")
    row = page.locator(f"#queue li[data-id='{held['id']}']")
    expect(row.locator(".held-why")).to_contain_text("massacre")
    row.locator("button.approve").click()
    expect(row).not_to_have_class(re.compile("state-held"), timeout=10_000)
    page.locator(f"#queue li[data-id='{other['id']}'] button.reject").click()
    expect(page.locator("#history")).to_contain_text("rejected by operator", timeout=10_000)
    assert client.get(f"/queue/{other['id']}").json()["state"] == "skipped"
    # edit: a refusal shows beside the field and the editor stays open across refreshes
    item = page.locator(f"#queue li[data-id='{waiting['id']}']")
    expect(item.locator(".when")).to_have_text("queue paused")
    item.locator("button.edit").click()
    item.locator("textarea[name=text]").fill("...")
    item.locator("button[type=submit]").click()
    expect(item.locator("[data-field=text] .field-error")).not_to_be_empty(timeout=10_000)
    refreshed(page, 2)
    expect(item.locator("[data-field=text] .field-error")).not_to_be_empty()
    item.locator("textarea[name=text]").fill("The weather is mild and dry.")
    item.locator("input[name=title]").fill("Weather, edited")
    item.locator("input[name=priority]").fill("3")
    item.locator("button[type=submit]").click()
    expect(item).to_contain_text("Weather, edited", timeout=10_000)
    expect(item).to_contain_text("priority 3")
    edited = client.get(f"/queue/{waiting['id']}").json()
    assert (edited["title"], edited["text"], edited["priority"]) == (
        "Weather, edited",
        "The weather is mild and dry.",
        3,
    )


def test_outputs_are_added_stopped_started_and_removed_from_the_page(site: Site, browser) -> None:
    page = control_room(browser, site)
    page.fill("#add-output input[name=url]", "http://example.invalid/live")
    page.click("#add-output button[type=submit]")
    expect(page.locator("#add-output [data-field=url] .field-error")).to_contain_text("rtmp://")
    page.fill("#add-output input[name=url]", f"rtmp://127.0.0.1:{free_port()}/live/very-secret-key")
    page.click("#add-output button[type=submit]")
    row = page.locator("#outputs tr[data-id]")
    expect(row).to_contain_text("/live", timeout=10_000)
    expect(row.locator(".badge")).to_have_text(re.compile("connecting|reconnecting"))
    assert "very-secret-key" not in page.content()
    row.locator("button", has_text="Stop").click()
    expect(row.locator(".badge")).to_have_text("stopped", timeout=10_000)
    expect(page.locator("#alerts")).not_to_contain_text("Output down")
    row.locator("button", has_text="Start").click()
    expect(row.locator(".badge")).to_have_text(re.compile("connecting|reconnecting"), timeout=10_000)
    row.locator("button", has_text="✕").click()
    expect(page.locator("#outputs")).to_contain_text("no RTMP outputs", timeout=10_000)


def test_audio_upload_from_the_page(site: Site, browser, tmp_path: Path) -> None:
    site.api().post("/pause")
    wav = tmp_path / "jingle.wav"
    wav.write_bytes(tone_wav())
    page = control_room(browser, site)
    page.check("input[name=source][value=audio]")
    page.set_input_files("input[name=audio]", str(wav))
    page.fill("input[name=title]", "Jingle")
    page.click("button[type=submit]")
    row = page.locator("#queue li:has-text('Jingle')")
    expect(row).to_be_visible(timeout=10_000)
    expect(row.locator(".dur")).to_have_text(re.compile(r"0:0[1-2]"), timeout=10_000)  # read from the file


def test_the_down_state_is_shown_when_the_channel_stops(site: Site, browser) -> None:
    page = control_room(browser, site)
    expect(page.locator("#alerts .alert")).to_have_count(0)
    site.channel.stop()  # the API still answers: the page says the channel stopped, not "connected"
    expect(page.locator("#onair")).to_have_text("CHANNEL STOPPED", timeout=15_000)
    expect(page.locator("#alerts")).to_contain_text("The channel has stopped")
    expect(page.locator("#log")).to_contain_text("channel stopped")
    expect(page.locator("#skip")).to_be_disabled()
    site.server.stop()  # now the API is gone too
    expect(page.locator("#onair")).to_have_text("API UNREACHABLE", timeout=15_000)
    expect(page.locator("#alerts")).to_contain_text("The control API does not answer")
