"""Captions from word events: timing within one frame, line rules, SRT/WebVTT that standard parsers read."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import srt
import webvtt

from anchor.captions import CaptionRules, build_cues, to_srt, to_vtt, write_captions
from anchor.config import Settings
from anchor.program.pipeline import Pipeline
from anchor.speech.registry import make_speech_backend
from anchor.timebase import PROGRAM_RATE

FPS = 25
FRAME = PROGRAM_RATE // FPS
EN = (
    "Good evening. The city council voted last night to build a new bridge across the river, the first in almost "
    "fifty years. Work is expected to begin in the spring and to last three years, although some shop owners near "
    "the old crossing worry about the noise."
)
ZH = (
    "今天的新闻摘要。市政府昨晚投票决定在河上新建一座大桥，这是近五十年来的第一座新桥。工程预计将于春季开工，持续三年。"
)


@pytest.fixture(scope="module", params=["en", "zh"])
def spoken(request: pytest.FixtureRequest, settings: Settings):
    text = EN if request.param == "en" else ZH
    return text, make_speech_backend(settings.speech).synthesize(text)


def test_cue_times_match_the_word_events_within_one_frame(spoken) -> None:
    text, speech = spoken
    cues = build_cues(text, speech.words, FPS)
    starts = {w.start for w in speech.words}
    for c in cues:
        first = min((w for w in speech.words if w.start >= c.start - FRAME and w.start < c.end), key=lambda w: w.start)
        assert abs(c.start - first.start) < FRAME
        assert c.start % FRAME == 0 and c.end % FRAME == 0
    # every word is inside the cue that shows it
    for w in speech.words:
        assert any(c.start <= w.start and w.end <= c.end + FRAME for c in cues), w
    assert cues[0].start in {s // FRAME * FRAME for s in starts}


def test_cues_follow_line_length_line_count_and_duration_rules(spoken) -> None:
    text, speech = spoken
    rules = CaptionRules()
    cues = build_cues(text, speech.words, FPS, rules)
    limit = rules.max_chars_cjk if text is ZH else rules.max_chars_latin
    for a, b in zip(cues, cues[1:]):
        assert a.end <= b.start, "cues never overlap"
    for c in cues:
        assert 1 <= len(c.lines) <= 2
        assert all(len(line) <= limit for line in c.lines), c.lines
        assert c.end - c.start <= rules.max_s * PROGRAM_RATE + FRAME
    for a, b in zip(cues, cues[1:] + [None]):
        assert a.end - a.start >= rules.min_s * PROGRAM_RATE - FRAME or (b is not None and a.end == b.start)
    spoken_text = "".join("".join("".join(c.lines).split()) for c in cues)
    assert spoken_text.replace(" ", "") == "".join(text.split()).replace(" ", "")


def test_srt_and_webvtt_parse_with_standard_parsers(spoken, tmp_path: Path) -> None:
    text, speech = spoken
    cues = build_cues(text, speech.words, FPS, offset=3 * PROGRAM_RATE)
    parsed = list(srt.parse(to_srt(cues)))
    assert len(parsed) == len(cues)
    for p, c in zip(parsed, cues):
        assert abs(p.start.total_seconds() - c.start / PROGRAM_RATE) < 0.001
        assert p.content == c.text
    vtt = webvtt.from_buffer(io.StringIO(to_vtt(cues, "en")))
    assert [cap.text for cap in vtt] == [c.text for c in cues]
    h, m, sec = vtt[0].start.split(":")  # webvtt-py's start_in_seconds drops the fraction
    assert abs(int(h) * 3600 + int(m) * 60 + float(sec) - cues[0].start / PROGRAM_RATE) < 0.002
    s, v = write_captions(tmp_path / "b.mp4", cues)
    assert s.name == "b.srt" and v.name == "b.vtt" and webvtt.read(str(v))


def test_a_long_pause_ends_a_cue(pipeline: Pipeline) -> None:
    from anchor.program.bulletin import story_segment
    from anchor.rundown.model import Story

    story = Story(text='The first part <break time="1500ms"/> and the second part of the same sentence.')
    segment, clean = story_segment(pipeline, story, FPS, "stories[0]", None, None)
    speech = segment.speech
    cues = build_cues(clean, speech.words, FPS)
    assert cues[0].lines == ("The first part",)
    gap = speech.words[3].start - speech.words[2].end
    assert gap >= 1.4 * PROGRAM_RATE
