"""Bulletins on a virtual clock: a day of hourly bulletins in seconds, each at its time, each story
once; no double firing across a restart; a rendered bulletin announced by a signed webhook."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image

from anchor.feeds.desk import ALL_STATES
from anchor.live.store import ScriptQueue
from anchor.rundown.model import Rundown
from tests.feeds.conftest import DeskFactory, VirtualClock
from tests.feeds.fixtures import NOW, Entry, rss
from tests.feeds.server import FeedServer, Route
from tests.helpers import wait_until


def wire(clock: VirtualClock, every_minutes: int = 20) -> Route:
    """A feed that publishes one story every `every_minutes` of virtual time (the 30 newest listed)."""

    def body() -> bytes:
        n = int((clock.now() - NOW).total_seconds() // (every_minutes * 60))
        entries = [
            Entry(
                f"s{i}",
                f"Story {i}",
                f"<p>Story {i} happened. It is {i}% done.</p>",
                NOW + timedelta(minutes=every_minutes * i),
            )  # fmt: skip
            for i in range(n, max(-1, n - 30), -1)
        ]
        return rss(entries)

    return Route(dynamic=body)


HOURLY = {"name": "news", "every": "hourly at :00", "stories": 3, "title": "News on the hour", "max_age_hours": 2}


def bulletins_in(queue: ScriptQueue) -> dict[datetime, list[str]]:
    """schedule_at -> the titles queued for it, in running order."""
    out: dict[datetime, list[str]] = {}
    for item in sorted(queue.list(ALL_STATES), key=lambda i: i.id):
        if item.schedule_at is not None:
            out.setdefault(item.schedule_at, []).append(item.title or "")
            assert item.created_at == item.schedule_at, "assembled exactly at its due time"
    return out


def test_a_day_of_hourly_bulletins_on_a_virtual_clock(
    server: FeedServer, make_desk: DeskFactory, queue: ScriptQueue, clock: VirtualClock
) -> None:
    server.routes["/wire"] = wire(clock)
    desk = make_desk([{"name": "wire", "url": server.url("/wire"), "to": ["bulletin"], "interval_s": 300}], [HOURLY])
    desk.run_until(NOW + timedelta(hours=24, minutes=1))
    got = bulletins_in(queue)
    assert sorted(got) == [NOW + timedelta(hours=h) for h in range(1, 25)]
    aired: list[str] = []
    for due, titles in got.items():
        assert titles[0] == titles[-1] == "News on the hour"  # intro and outro
        stories = titles[1:-1]
        assert len(stories) == 3, (due, titles)
        aired += stories
        newest = int((due - NOW).total_seconds() // 1200)
        assert stories == [f"Story {newest - k}" for k in range(3)]  # the newest unaired, newest first
    assert len(aired) == len(set(aired)) == 72
    intro = next(i for i in queue.list(ALL_STATES) if i.schedule_at == NOW + timedelta(hours=6))
    assert intro.text == "This is News on the hour. The headlines at six o'clock."
    # the queue plays it at its time: not a second before
    assert queue.next_due(NOW + timedelta(hours=24, seconds=-1)).schedule_at != NOW + timedelta(hours=24)  # type: ignore[union-attr]
    assert desk.stats()["bulletins"] == 24 and clock.slept >= 24 * 3600


def test_bulletins_do_not_fire_twice_across_a_restart_and_skip_long_downtime(
    server: FeedServer, make_desk: DeskFactory, queue: ScriptQueue, clock: VirtualClock
) -> None:
    server.routes["/wire"] = wire(clock)
    source = [{"name": "wire", "url": server.url("/wire"), "to": ["bulletin"], "interval_s": 300}]
    first = make_desk(source, [HOURLY])
    first.run_until(NOW + timedelta(hours=2, minutes=30))
    first.stop()
    second = make_desk(source, [HOURLY])  # restarted at 14:30: 14:00 already fired
    second.run_until(NOW + timedelta(hours=3, minutes=1))
    second.stop()
    clock.advance(hours=2, minutes=4)  # down from 15:01 to 17:05: 16:00 is lost, 17:00 fires late
    third = make_desk(source, [HOURLY])
    third.run_until(NOW + timedelta(hours=5, minutes=30))
    assert sorted(bulletins_in_loose(queue)) == [NOW + timedelta(hours=h) for h in (1, 2, 3, 5)]


def bulletins_in_loose(queue: ScriptQueue) -> set[datetime]:
    return {i.schedule_at for i in queue.list(ALL_STATES) if i.schedule_at is not None}


class _Receiver(http.server.BaseHTTPRequestHandler):
    got: list[tuple[dict, str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.got.append((json.loads(body), self.headers.get("X-Anchor-Signature", ""), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_rendered_bulletin_carries_local_images_and_is_announced(
    server: FeedServer, make_desk: DeskFactory, clock: VirtualClock, tmp_path: Path
) -> None:
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(pictures / "a.png")
    Image.new("RGB", (64, 48), (30, 30, 200)).save(tmp_path / "outside.png")
    server.routes["/pic.png"] = Route((pictures / "a.png").read_bytes(), content_type="image/png")
    t = clock.now()
    server.routes["/f"] = Route(
        rss(
            [
                Entry("1", "Local picture", "<p>One.</p>", t, image=str(pictures / "a.png")),
                Entry("2", "Outside picture", "<p>Two.</p>", t, image=str(tmp_path / "outside.png")),
                Entry("3", "Remote picture", "<p>Three.</p>", t, image=server.url("/pic.png")),
            ]
        )  # fmt: skip
    )
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    rendered: list[tuple[Rundown, Path]] = []

    def render(rundown: Rundown, output: Path) -> None:
        rendered.append((rundown, output))
        output.write_bytes(b"mp4")

    bulletin = {**HOURLY, "play": False, "render": True, "output_dir": str(tmp_path / "out"),
                "webhook": f"http://127.0.0.1:{receiver.server_address[1]}/hook", "webhook_secret": "s3cret"}  # fmt: skip
    desk = make_desk([{"name": "w", "url": server.url("/f")}], [bulletin], render=render, queue=None)
    desk.feeds.image_dirs.append(pictures)
    desk.run_until(NOW + timedelta(hours=1))
    receiver.shutdown()
    ((rundown, output),) = rendered
    assert output == tmp_path / "out" / "news-20261201-1300.mp4"
    media = {s.headline: s.media for s in rundown.stories}
    assert media["Local picture"] is not None and media["Local picture"].image == (pictures / "a.png").resolve()
    assert media["Outside picture"] is None  # not in image_dirs
    assert media["Remote picture"] is None  # host not in image_hosts
    wait_until(lambda: _Receiver.got)
    event, signature, raw = _Receiver.got[0]
    assert event["type"] == "bulletin.rendered" and event["data"]["video"] == str(output)
    assert signature == "sha256=" + hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest()
    assert desk.store.bulletins()[0].output == str(output)
