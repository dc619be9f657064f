"""The rundown format: validation errors name the field; pauses; JSON Schema; the samples load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from anchor.cli import app
from anchor.config import PROJECT_ROOT
from anchor.errors import InputError
from anchor.rundown import (
    load_rundown,
    parse_rundown,
    rundown_json_schema,
    split_breaks,
)


def _rd(**programme: object) -> dict:
    return {"programme": {"title": "T", **programme}, "stories": [{"text": "Hello."}]}


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        (_rd(colour="red"), "programme.colour", "unknown field"),
        (_rd(video={"fps": 24}), "programme.video.fps", "25 or 30"),
        (_rd(video={"aspect": "4:3"}), "programme.video.aspect", "16:9"),
        (_rd(theme={"primary": "red"}), "programme.theme.primary", "colour"),
        (
            {"programme": {"title": "T"}, "stories": [{"text": "a"}, {"text": "b", "rate": "fast"}]},
            "stories[1].rate",
            "integer",
        ),
        (
            {"programme": {"title": "T"}, "stories": [{"text": "a", "media": {"image": "a.png", "video": "b.mp4"}}]},
            "stories[0].media",
            "exactly one",
        ),
        ({"programme": {"title": "T"}, "stories": [{"headline": "h"}]}, "stories[0]", "text or audio"),
        (
            {"programme": {"title": "T"}, "stories": [{"text": "a", "media": {"image": "a.png", "where": "left"}}]},
            "stories[0].media.where",
            "unknown field",
        ),
        ({"programme": {}, "stories": [{"text": "a"}]}, "programme.title", "required"),
        ({"programme": {"title": "T"}, "stories": []}, "stories", "at least 1"),
        ({"programme": {"title": "T"}, "stories": [{"text": "a <emphasis>b</emphasis>"}]}, "stories[0].text", "break"),
    ],
)
def test_invalid_rundowns_are_refused_with_the_field_path(data: dict, field: str, words: str) -> None:
    with pytest.raises(InputError) as e:
        parse_rundown(data)
    assert e.value.field == field
    assert words in str(e.value)


def test_missing_media_file_is_reported_against_its_field(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text("programme: {title: T}\nstories:\n  - {text: Hi., media: {image: nope.png}}\n")
    with pytest.raises(InputError) as e:
        load_rundown(tmp_path / "r.yaml")
    assert e.value.field == "stories[0].media.image"


def test_break_marks_split_the_text_into_timed_segments() -> None:
    clean, segs = split_breaks("One. <break time=\"500ms\"/>Two.<break time='1.5s' /> Three.")
    assert [s.pause_ms for s in segs] == [500, 1500, 0]
    assert [clean[s.offset : s.offset + len(s.text)] for s in segs] == [s.text for s in segs]
    assert "<" not in clean and "Two." in clean
    with pytest.raises(InputError):
        split_breaks('a <break time="20s"/> b')


def test_json_schema_export_describes_the_format() -> None:
    schema = rundown_json_schema()
    assert schema["title"] == "anchor rundown"
    assert {"programme", "stories"} <= set(schema["properties"])
    assert schema["$defs"]["Story"]["additionalProperties"] is False
    json.dumps(schema)


@pytest.mark.parametrize("name", ["rundown.example.yaml", "rundown.zh.yaml", "rundown.vertical.yaml"])
def test_sample_rundowns_are_valid(name: str) -> None:
    rd = load_rundown(PROJECT_ROOT / "config" / name)
    assert rd.stories


def test_cli_refuses_a_bad_rundown_with_exit_2_and_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("programme: {title: T, video: {resolution: 480}}\nstories: [{text: Hi.}]\n")
    res = CliRunner().invoke(app, ["render", str(bad), "-o", str(tmp_path / "x.mp4")])
    assert res.exit_code == 2
    assert "programme.video.resolution" in res.output


def test_cli_prints_the_schema() -> None:
    res = CliRunner().invoke(app, ["render", "--schema"])
    assert res.exit_code == 0
    assert json.loads(res.output)["title"] == "anchor rundown"
