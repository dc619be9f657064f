"""End to end: a rundown -> bulletin MP4 + SRT/WebVTT, with media made here, checked by decoding it."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import srt
import webvtt
from typer.testing import CliRunner

from anchor.cli import app
from anchor.disclosure import read_ai_marks
from anchor.program.bulletin import RenderResult, render_rundown
from anchor.program.pipeline import Pipeline
from anchor.rundown import load_rundown
from anchor.studio.layout import make_layout
from anchor.timebase import PROGRAM_RATE
from streaming.probe import decode_frames, probe


def _make_media(folder: Path) -> None:
    from PIL import Image

    yy, xx = np.mgrid[0:270, 0:480]
    Image.fromarray(np.dstack([xx * 255 // 480, yy * 255 // 270, np.full_like(xx, 90)]).astype(np.uint8)).save(
        folder / "pic.png"
    )
    with av.open(str(folder / "clip.mp4"), "w") as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 320, 180, "yuv420p"
        for i in range(20):
            img = np.zeros((180, 320, 3), np.uint8)
            img[:, (i * 16) % 320 : (i * 16) % 320 + 40] = (255, 255, 0)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


RUNDOWN = """
programme:
  title: Test Bulletin
  channel: Test News
  video: {aspect: "9:16", resolution: 720}
  graphics: {captions: true, intro: false, outro: true, clock_time: "12:00"}
stories:
  - headline: A picture in the panel
    text: Good evening. <break time="600ms"/> Here is the first story.
    media: {image: pic.png, caption: test picture}
    pause_after: 0.2
  - headline: A clip full frame
    text: And a clip.
    media: {video: clip.mp4, placement: full}
    pause_after: 0.2
"""


@pytest.fixture(scope="module")
def bulletin(pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> RenderResult:
    folder = tmp_path_factory.mktemp("rundown")
    _make_media(folder)
    (folder / "r.yaml").write_text(RUNDOWN)
    calls: list[tuple[str, int, float]] = []
    result = render_rundown(pipeline, load_rundown(folder / "r.yaml"), folder / "b.mp4", lambda *a: calls.append(a))
    assert {(p, i) for p, i, d in calls if d >= 1.0} >= {("speech", 0), ("render", 0), ("render", 1), ("render", 2)}
    return result


def test_bulletin_has_the_format_frames_and_audio_of_the_rundown(bulletin: RenderResult) -> None:
    info = probe(bulletin.output)
    assert (info.width, info.height, info.fps) == (720, 1280, 25.0)
    assert info.video_frames == bulletin.frames
    assert abs(info.audio_duration_s - info.video_duration_s) <= 1 / 25
    first = bulletin.stories[0]
    assert first.start == 0 and bulletin.stories[1].start == first.frames
    # the <break> put 600 ms of silence between "evening" and "Here"
    w = first.speech.words
    assert w[2].start - w[1].end >= 0.55 * PROGRAM_RATE


def test_ai_label_on_the_first_frame_and_marks_in_the_metadata(bulletin: RenderResult) -> None:
    meta = read_ai_marks(bulletin.output)
    assert meta["ai_generated"] == "true" and meta["generator"].startswith("anchor") and meta["content_id"]
    assert meta["title"] == "Test Bulletin"
    ((_, frame0),) = decode_frames(bulletin.output, [0])
    lb = make_layout(720, 1280).label
    plate = frame0[lb.y : lb.y1, lb.x : lb.x + 60]
    assert (plate.max(axis=2) > 200).sum() > 30 and plate.mean() < 140


def test_panel_picture_then_full_frame_clip_are_on_screen(bulletin: RenderResult) -> None:
    L = make_layout(720, 1280)
    s0, s1 = bulletin.stories[0], bulletin.stories[1]
    frames = dict(decode_frames(bulletin.output, [s0.start + 20, s1.start + 5, s1.start + 6]))
    panel = frames[s0.start + 20][L.panel.y + 20 : L.panel.y + 60, L.panel.x + 20 : L.panel.x1 - 20]
    assert panel[..., 2].mean() > 60 and panel.std() > 20, "the gradient picture is in the panel"
    a, b = frames[s1.start + 5], frames[s1.start + 6]

    def yellow(f):
        return ((f[..., 0] > 200) & (f[..., 1] > 200) & (f[..., 2] < 80)).mean()

    assert yellow(a) > 0.05 and np.abs(a.astype(int) - b).mean() > 1, "the clip fills the frame and moves"


def test_captions_beside_the_video_parse_and_match_the_words(bulletin: RenderResult) -> None:
    subs = list(srt.parse(bulletin.srt.read_text(encoding="utf-8")))
    vtt = webvtt.read(str(bulletin.vtt))
    assert len(subs) == len(vtt) == len(bulletin.cues) >= 3
    spf = PROGRAM_RATE // 25
    for p in bulletin.stories:
        for w in p.speech.words:
            t = (w.start + p.start * spf) / PROGRAM_RATE
            assert any(s.start.total_seconds() - 1 / 25 <= t <= s.end.total_seconds() for s in subs), w
    first_word = bulletin.stories[0].speech.words[0]
    assert abs(subs[0].start.total_seconds() - first_word.start / PROGRAM_RATE) <= 1 / 25


def test_mandarin_story_renders_chinese_glyphs(pipeline: Pipeline, tmp_path: Path) -> None:
    (tmp_path / "zh.yaml").write_text(
        "programme: {title: 晚间新闻, locale: zh, video: {aspect: '1:1'}, graphics: {intro: false, outro: false, captions: true, ticker: false, clock: false}}\n"
        "stories: [{headline: 市政府批准新建大桥, text: 市政府批准新建大桥。}]\n"
    )
    result = render_rundown(pipeline, load_rundown(tmp_path / "zh.yaml"), tmp_path / "zh.mp4")
    assert read_ai_marks(result.output)["language"] == "zh"
    assert "市政府" in result.srt.read_text(encoding="utf-8")
    ((_, f),) = decode_frames(result.output, [20])
    lt = make_layout(720, 720).lower_third
    strap = f[lt.y + 30 : lt.y + 80, lt.x + 20 : lt.x1]
    plate = np.nonzero(strap[0].min(axis=1) > 180)[0]  # the white plate (the frame behind it is dark)
    ink = strap[:, : plate.max() + 1].max(axis=2) < 100
    assert ink.sum() > 400, "dark headline strokes on the white plate"
    # the strokes read as the headline: they match the font's own drawing of it, and not of
    # nine other characters (boxes for missing glyphs, or blanks, match neither)
    right, other = glyph_match(ink, "市政府批准新建大桥"), glyph_match(ink, "今日天气晴朗转多云")
    assert right > 0.8 and right > other + 0.3, (right, other)


def glyph_match(ink: np.ndarray, text: str) -> float:
    """Correlation of the ink with `text` drawn in the broadcast font, both cropped to their ink and
    scaled to one size, lightly blurred (so a pixel of offset or H.264 softness does not count)."""
    import cv2
    from PIL import Image, ImageDraw

    from anchor.studio.text import broadcast_font

    def crop(m: np.ndarray) -> np.ndarray:
        ys, xs = np.nonzero(m)
        return m[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.float32)

    seen = crop(ink)
    img = Image.new("L", (1400, 160), 0)
    ImageDraw.Draw(img).text((10, 10), text, font=broadcast_font(96), fill=255)
    drawn = cv2.resize(crop(np.asarray(img) > 128), (seen.shape[1], seen.shape[0]), interpolation=cv2.INTER_AREA)
    a, b = (cv2.GaussianBlur(m, (5, 5), 0).ravel() for m in (seen, drawn))
    return float(np.corrcoef(a, b)[0, 1])


def test_cli_inspect_prints_marks_and_refuses_non_media(bulletin: RenderResult, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["inspect", str(bulletin.output)])
    assert res.exit_code == 0 and "ai_generated" in res.output and "content_id" in res.output
    junk = tmp_path / "notes.txt"
    junk.write_text("not a video")
    res = runner.invoke(app, ["inspect", str(junk)])
    assert res.exit_code == 2 and "not a media file" in " ".join(res.output.split())
