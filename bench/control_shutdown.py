"""How long `anchor live` takes to stop with control-room pages and WebRTC viewers connected.

    .venv/bin/python -m bench.control_shutdown            # 3 runs each way
    .venv/bin/python -m bench.control_shutdown --runs 5

Runs `anchor live` as its own process (640x360, WebRTC pinned to 127.0.0.1, viewing by token),
queues a few stories, then sends SIGTERM and times until the process has exited:

- baseline: nothing connected;
- with pages: a headless Chromium (Debian's) showing the control room (its event stream with the
  meter and its WebRTC preview) and the player (a second WebRTC viewer), both playing.

It also prints how long the control room took to show that the channel is down (CHANNEL STOPPED or
API UNREACHABLE) after the signal. The goal is under 3 s with pages connected.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from bench.live_process import start_live

KEY = "bench-control-key"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-sync", "--disable-quic", "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns", "--autoplay-policy=no-user-gesture-required",
]  # fmt: skip


def start_channel(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    proc, base = start_live(
        tmp,
        "name: bench\nwidth: 640\nheight: 360\noutputs: []\n"
        "webrtc: {viewing: token, max_viewers: 8, host_addresses: [127.0.0.1]}\n",
        KEY,
    )
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {KEY}"}, timeout=30) as c:
        for k in range(5):
            c.post("/queue", json={"text": f"Story {k}. The council met today and agreed a budget for next year."})
    return proc, base


def stop_and_time(proc: subprocess.Popen[bytes]) -> float:
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(60)
    return time.monotonic() - t0


def run_baseline(tmp: Path) -> float:
    proc, _ = start_channel(tmp)
    time.sleep(2)  # on air for a moment, as in the run with pages
    return stop_and_time(proc)


def run_with_pages(tmp: Path, browser) -> tuple[float, float]:
    """(seconds until the process exited, seconds until the control room showed the channel down)."""
    proc, base = start_channel(tmp)
    token = httpx.post(
        f"{base}/viewer-tokens", headers={"Authorization": f"Bearer {KEY}"}, json={"ttl_s": 600}, timeout=10
    ).json()
    control = browser.new_page(viewport={"width": 1280, "height": 900})
    control.goto(f"{base}/control?key={KEY}")
    player = browser.new_page(viewport={"width": 960, "height": 600})
    player.goto(token["player_url"])
    for page, video in ((control, "preview"), (player, "video")):
        page.wait_for_function(f"() => document.getElementById('{video}').videoWidth > 0", timeout=60_000)
    control.wait_for_function("() => window.anchorControl.refreshes > 2", timeout=30_000)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    control.wait_for_function(
        "() => /CHANNEL STOPPED|API UNREACHABLE/.test(document.getElementById('onair').textContent)", timeout=60_000
    )
    shown = time.monotonic() - t0
    proc.wait(60)
    exited = time.monotonic() - t0
    control.close()
    player.close()
    return exited, shown


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench_shutdown_") as tmp_name, sync_playwright() as p:
        tmp = Path(tmp_name)
        baseline = [run_baseline(tmp) for _ in range(args.runs)]
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        runs = [run_with_pages(tmp, browser) for _ in range(args.runs)]
        browser.close()
    exited = [e for e, _ in runs]
    shown = [s for _, s in runs]
    print(f"anchor live, 640x360 @ 25 fps, SIGTERM -> process exit ({args.runs} runs each)")
    print(f"{'':34} {'median':>7} {'max':>7}")
    print(f"{'baseline: nothing connected':34} {statistics.median(baseline):6.2f}s {max(baseline):6.2f}s")
    print(f"{'control room + player connected':34} {statistics.median(exited):6.2f}s {max(exited):6.2f}s")
    print(f"{'  control room shows it down after':34} {statistics.median(shown):6.2f}s {max(shown):6.2f}s")


if __name__ == "__main__":
    main()
