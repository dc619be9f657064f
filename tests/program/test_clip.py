"""End to end: text -> MP4 with a talking anchor, checked by decoding what we encoded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from anchor.config import BUILTIN_AVATARS, Settings
from anchor.errors import InputError, NotFoundError
from anchor.face.avatar import AvatarStore
from anchor.face.detect import FaceAnalyzer, inner_lip_gap
from anchor.program.clip import SayRequest, SayResult, say
from anchor.program.pipeline import Pipeline
from anchor.studio.presenter import presenter_placement
from streaming.probe import decode_frames, probe

TEXT = "Good evening. Here is the news. People at the market bought apples, and the mayor spoke about a bridge."


@pytest.fixture(scope="module")
def english(pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> SayResult:
    out = tmp_path_factory.mktemp("say") / "news.mp4"
    stages: list[str] = []
    result = say(pipeline, SayRequest(TEXT, out), lambda stage, done: stages.append(stage))
    assert stages[0] == "speech" and "lipsync" in stages and stages[-1] == "render"
    return result


@pytest.fixture(scope="module")
def lip_gaps(english: SayResult, video_analyzer: FaceAnalyzer) -> np.ndarray:
    gaps = []
    for _, img in decode_frames(english.output):
        lms = video_analyzer.landmarks(img)
        gaps.append(inner_lip_gap(lms[0]) if lms else np.nan)
    return np.array(gaps)


def test_mp4_has_expected_codecs_size_fps_and_duration(english: SayResult) -> None:
    info = probe(english.output)
    assert (info.video_codec, info.audio_codec, info.pix_fmt) == ("h264", "aac", "yuv420p")
    assert (info.width, info.height) == (1280, 720)
    assert info.fps == pytest.approx(25.0)
    assert info.audio_sample_rate == 48_000
    assert info.video_frames == english.frames == len(english.track)
    assert abs(info.video_duration_s - english.speech.duration) <= 1 / 25 + 1e-6
    assert abs(info.audio_duration_s - info.video_duration_s) <= 1 / 25
    assert info.faststart


def test_output_is_marked_ai_generated(english: SayResult) -> None:
    meta = probe(english.output).metadata
    assert meta.get("ai_generated") == "true" and meta.get("generator", "").startswith("anchor")


def test_re_detected_lip_gap_follows_the_planned_opening(english: SayResult, lip_gaps: np.ndarray) -> None:
    ok = ~np.isnan(lip_gaps)
    assert ok.mean() > 0.95, "the face must be found on nearly every frame"
    planned = english.track.opening[: len(lip_gaps)]
    r = np.corrcoef(lip_gaps[ok], planned[ok])[0, 1]
    assert r >= 0.7, f"Pearson r between rendered lip gap and planned opening is {r:.2f}"
    # the mouth really moves: wide-open frames show a clear gap
    assert np.nanmax(lip_gaps) > 0.05


def test_frames_at_bilabials_are_closed(english: SayResult, lip_gaps: np.ndarray) -> None:
    closed = [i for i, v in enumerate(english.track.visemes) if v == "PP" and i < len(lip_gaps)]
    assert len(closed) >= 4  # "People", "market", "bought", "apples", "mayor", "bridge"
    open_level = np.nanpercentile(lip_gaps, 90)
    assert np.nanmax(lip_gaps[closed]) < 0.15 * open_level


def test_identity_is_kept_away_from_the_mouth(english: SayResult, settings: Settings) -> None:
    avatar = AvatarStore(BUILTIN_AVATARS).load("default")
    place = presenter_placement(avatar, 1280, 720)
    lm = avatar.landmarks[:, :2] * place.scale + [place.x, place.y]
    # forehead and cap: above the eyebrows, inside the face width
    x0, x1 = int(lm[:, 0].min()), int(lm[:, 0].max())
    y1 = int(lm[[70, 300], 1].min() * 1.0) - 20
    y0 = max(0, y1 - 120)
    first = None
    for i, img in decode_frames(english.output, range(0, english.frames, 10)):
        region = img[y0:y1, x0:x1].astype(float)
        if first is None:
            first = region
            src = avatar.image[
                int((y0 - place.y) / place.scale) : int((y1 - place.y) / place.scale),
                int((x0 - place.x) / place.scale) : int((x1 - place.x) / place.scale),
            ].astype(float)
            assert abs(region.mean() - src.mean()) < 6  # same person, same exposure
        mse = np.mean((region - first) ** 2)
        psnr = 10 * np.log10(255**2 / max(mse, 1e-9))
        assert psnr > 35, f"frame {i}: region away from the mouth changed (PSNR {psnr:.1f} dB)"


def test_mandarin_is_detected_and_rendered(pipeline: Pipeline, tmp_path: Path) -> None:
    out = tmp_path / "zh.mp4"
    result = say(pipeline, SayRequest("今天的新闻摘要。", out))
    assert result.speech.language == "zh"
    assert result.track.opening.max() > 0.2
    info = probe(out)
    assert info.video_frames == result.frames and abs(info.audio_duration_s - info.video_duration_s) <= 1 / 25


def test_any_size_is_rendered_on_request(pipeline: Pipeline, tmp_path: Path) -> None:
    out = tmp_path / "small.mp4"
    say(pipeline, SayRequest("Hello.", out, width=640, height=360))
    info = probe(out)
    assert (info.width, info.height) == (640, 360)


@pytest.mark.parametrize(
    ("request_kwargs", "field"),
    [
        ({"text": "   "}, "text"),
        ({"text": "Hi.", "avatar": "nobody"}, "avatar"),
        ({"text": "Hi.", "avatar": "../etc"}, "avatar"),
        ({"text": "Hi.", "width": 641, "height": 360}, "size"),
        ({"text": "Hi.", "language": "xx"}, "language"),
        ({"text": "Hi.", "rate": 5}, "rate"),
    ],
)
def test_bad_requests_are_refused_clearly(pipeline: Pipeline, tmp_path: Path, request_kwargs: dict, field: str) -> None:
    out = tmp_path / "x.mp4"
    with pytest.raises(InputError) as e:
        say(pipeline, SayRequest(output=out, **request_kwargs))
    assert e.value.field == field
    assert not out.exists()


def test_output_must_be_mp4_in_an_existing_folder(pipeline: Pipeline, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="mp4"):
        say(pipeline, SayRequest("Hi.", tmp_path / "x.avi"))
    with pytest.raises(InputError, match="does not exist"):
        say(pipeline, SayRequest("Hi.", tmp_path / "missing" / "x.mp4"))
    with pytest.raises(NotFoundError):
        say(pipeline, SayRequest("Hi.", tmp_path / "x.mp4", avatar="ghost"))


def test_background_colour_and_captions_beside_the_video(pipeline: Pipeline, tmp_path: Path) -> None:
    out = tmp_path / "bg.mp4"
    result = say(pipeline, SayRequest("Hello and good evening.", out, width=640, height=360, background="#204060"))
    ((_, first),) = decode_frames(out, [0])
    corner = first[150:200, 20:60].reshape(-1, 3).mean(axis=0)  # backdrop, away from the label and the anchor
    assert np.abs(corner - [0x20, 0x40, 0x60]).max() < 8
    assert [p.suffix for p in result.captions] == [".srt", ".vtt"]
    assert "Hello" in out.with_suffix(".srt").read_text()
    with pytest.raises(InputError) as e:
        say(pipeline, SayRequest("Hi.", tmp_path / "x.mp4", background="blue"))
    assert e.value.field == "background"
