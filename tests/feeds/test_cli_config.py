"""`anchor feeds add|ls|rm|poll` on a channel file, and the channel file's feeds:/bulletins: checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from anchor.cli import app
from anchor.errors import InputError
from anchor.live.config import load_channel_config
from tests.feeds.fixtures import numbered, rss
from tests.feeds.server import FeedServer, Route

ROOT = Path(__file__).resolve().parents[2]


def channel_file(tmp_path: Path, **extra: object) -> Path:
    path = tmp_path / "channel.yaml"
    path.write_text(yaml.safe_dump({"queue_db": str(tmp_path / "channel.db"), **extra}))
    return path


def test_add_ls_poll_rm_round_trip(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/f"] = Route(rss(numbered(2)))
    ch = channel_file(tmp_path, feeds={"allow_networks": ["127.0.0.1"]})
    run = CliRunner().invoke
    r = run(app, ["feeds", "add", "wire", server.url("/f"), "--to", "ticker,queue", "--max-age", "100000",
                  "--channel", str(ch)])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert run(app, ["feeds", "add", "wire", server.url("/f"), "--channel", str(ch)]).exit_code == 2  # duplicate
    r = run(app, ["feeds", "poll", "--channel", str(ch)])
    assert r.exit_code == 0, r.output
    assert "wire: ok, 2 new" in r.output and "says: Story one headline. Story one happened today." in r.output
    r = run(app, ["feeds", "ls", "--json", "--channel", str(ch)])
    (state,) = json.loads(r.output)
    assert (state["name"], state["origin"], state["status"], state["stories"]) == ("wire", "cli", "ok", 2)
    r = run(app, ["queue", "ls", "--channel", str(ch)])
    assert "Story 0 headline" in r.output and "Story 1 headline" in r.output
    assert run(app, ["feeds", "rm", "wire", "--channel", str(ch)]).exit_code == 0
    assert json.loads(run(app, ["feeds", "ls", "--json", "--channel", str(ch)]).output) == []
    assert run(app, ["feeds", "rm", "wire", "--channel", str(ch)]).exit_code == 2


def test_bad_sources_are_refused_at_the_edge(tmp_path: Path) -> None:
    ch = channel_file(tmp_path)
    run = CliRunner().invoke
    for args in (["ftp://example.org/x"], ["file:/etc/passwd"], ["https://example.org/x", "--to", "radio"]):
        r = run(app, ["feeds", "add", "wire", *args, "--channel", str(ch)])
        assert r.exit_code == 2, (args, r.output)


def test_a_failing_poll_exits_non_zero_with_the_reason(server: FeedServer, tmp_path: Path) -> None:
    ch = channel_file(tmp_path, feeds=[{"name": "w", "url": server.url("/missing")}])  # loopback not allowed
    r = CliRunner().invoke(app, ["feeds", "poll", "--channel", str(ch)])
    assert r.exit_code == 1 and "non-public" in r.output and server.hits == []


def test_the_example_channel_files_load() -> None:
    cfg = load_channel_config(ROOT / "config" / "channel.feeds.yaml")
    assert [s.name for s in cfg.feeds.sources] == ["sample", "sample-zh"]
    assert [b.recurrence().hourly_at_minute for b in cfg.bulletins][:1] == [0]
    assert load_channel_config(ROOT / "config" / "channel.example.yaml").feeds.sources == []


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"bulletins": [{"every": "whenever"}]}, "bulletins.0"),
        ({"bulletins": [{"name": "a"}, {"name": "a"}]}, "bulletins"),
        ({"feeds": [{"name": "a", "url": "http://x/f"}, {"name": "a", "url": "http://x/g"}]}, "feeds"),
        ({"feeds": {"allow_networks": ["intranet"]}}, "feeds.allow_networks"),
        ({"feeds": [{"name": "Bad Name", "url": "http://x/f"}]}, "feeds.sources.0.name"),
        ({"bulletins": [{"webhook": "http://x/h"}]}, "bulletins.0"),
    ],
)
def test_channel_file_errors_name_the_field(tmp_path: Path, extra: dict, field: str) -> None:
    with pytest.raises(InputError) as e:
        load_channel_config(channel_file(tmp_path, **extra))
    assert (e.value.field or "").startswith(field), (e.value.field, str(e.value))
