"""Every program path plans the mouth the same way: say, render and the live channel share one
mouth planner, so speech without timings (an external TTS server, a recorded voice) gets the audio
model everywhere, and the same story gives the same MouthTrack whichever path renders it."""

from __future__ import annotations

import io
import json
import wave
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import av
import numpy as np
import pytest

from anchor.config import HttpSpeechSettings, Settings
from anchor.face.detect import FaceAnalyzer, inner_lip_gap
from anchor.live.channel import Channel
from anchor.live.items import ItemIn
from anchor.live.store import ScriptQueue
from anchor.program.bulletin import render_rundown
from anchor.program.clip import SayRequest, say
from anchor.program.pipeline import Pipeline
from anchor.rundown.load import parse_rundown
from anchor.speech.audio_in import encode_audio
from anchor.speech.base import SpeaksWholeText, Speech
from anchor.speech.espeak import EspeakBackend
from anchor.timebase import PROGRAM_RATE
from streaming.clock import VirtualClock
from streaming.probe import decode_frames
from tests.helpers import StandIn, reply

STORY = "The harbour reopened this morning after the storm, and the first ferries sailed at noon."
RECORDED = "Good evening. This voice was recorded, and the anchor speaks it with its own mouth."


def _wav(pcm: np.ndarray, rate: int = PROGRAM_RATE) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.astype(np.int16).tobytes())
    return buf.getvalue()


@pytest.fixture(scope="module")
def tts_server(settings: Settings) -> Iterator[StandIn]:
    """An OpenAI-compatible speech endpoint that speaks the requested text (espeak) with no timings."""
    voice = EspeakBackend(settings.speech)
    spoken: dict[str, bytes] = {}  # espeak varies by a few samples from call to call; a server answers alike

    def handle(h: BaseHTTPRequestHandler, requests: list[dict]) -> None:
        text = json.loads(requests[-1]["body"])["input"]
        if text not in spoken:
            spoken[text] = _wav(voice.synthesize(text).pcm)
        reply(h, 200, spoken[text])

    with StandIn(handle) as server:
        yield server


@pytest.fixture(scope="module")
def external(settings: Settings, tts_server: StandIn, pipeline: Pipeline) -> Pipeline:
    """A pipeline whose speech comes from the stand-in server (sharing the loaded audio model)."""
    speech = settings.speech.model_copy(
        update={"backend": "openai", "openai": HttpSpeechSettings(url=tts_server.url, voice="alloy", retries=0)}
    )
    return Pipeline(settings.model_copy(update={"speech": speech}), planner=pipeline.planner)


def _rundown(folder: Path, stories: list[dict]) -> object:
    data = {
        "programme": {
            "title": "Mouth test",
            "channel": "Test",
            "video": {"aspect": "16:9", "resolution": 720},
            "graphics": {"intro": False, "outro": False, "ticker": False, "logo": False, "captions": False},
        },
        "stories": stories,
    }
    return parse_rundown(data, folder)


def _envelope_and_gaps(mp4: Path, analyzer: FaceAnalyzer, fps: int = 25) -> tuple[np.ndarray, np.ndarray]:
    """Per video frame: the audio RMS of its period, and the re-detected inner-lip gap."""
    with av.open(str(mp4)) as c:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=PROGRAM_RATE)
        chunks = [f.to_ndarray().reshape(-1) for fr in c.decode(audio=0) for f in resampler.resample(fr)]
    pcm = np.concatenate(chunks).astype(np.float32)
    spf = PROGRAM_RATE // fps
    gaps = []
    for _, img in decode_frames(mp4):
        lms = analyzer.landmarks(img)
        gaps.append(inner_lip_gap(lms[0]) if lms else np.nan)
    n = min(len(gaps), len(pcm) // spf)
    env = np.sqrt((pcm[: n * spf].reshape(n, spf) ** 2).mean(axis=1))
    return env, np.array(gaps[:n])


def _follows(env: np.ndarray, gaps: np.ndarray) -> float:
    ok = ~np.isnan(gaps)
    assert ok.mean() > 0.95, "the face must be found on nearly every frame"
    smooth = np.convolve(env, np.ones(3) / 3, mode="same")
    return float(np.corrcoef(smooth[ok], gaps[ok])[0, 1])


def test_render_moves_the_mouth_for_external_tts_and_recorded_stories(
    external: Pipeline, settings: Settings, tmp_path: Path, video_analyzer: FaceAnalyzer
) -> None:
    recorded = EspeakBackend(settings.speech).synthesize(RECORDED, voice="en-us+m3")
    encode_audio(recorded.pcm, tmp_path / "recorded.m4a")
    rundown = _rundown(tmp_path, [{"text": STORY, "pause_after": 0.4}, {"audio": "recorded.m4a", "pause_after": 0.4}])
    result = render_rundown(external, rundown, tmp_path / "b.mp4")  # type: ignore[arg-type]
    env, gaps = _envelope_and_gaps(result.output, video_analyzer)
    for plan in result.stories:
        span = slice(plan.start, plan.start + plan.speech_frames)
        assert np.nanstd(gaps[span]) > 0.01, f"story {plan.index}: the mouth does not move"
        r = _follows(env[span], gaps[span])
        assert r > 0.35, f"story {plan.index}: the mouth does not follow the sound (r = {r:.2f})"
    tts, recorded_story = result.stories
    assert not tts.speech.phonemes, "external TTS gives no timings: the audio model planned this mouth"
    assert recorded_story.speech.words and "recorded" in recorded_story.text, "the recording was listened to"


def test_silence_between_stories_keeps_the_mouth_closed(
    external: Pipeline, tmp_path: Path, video_analyzer: FaceAnalyzer
) -> None:
    rundown = _rundown(tmp_path, [{"text": "Good evening.", "pause_after": 1.5}, {"text": "And good night."}])
    result = render_rundown(external, rundown, tmp_path / "b.mp4")  # type: ignore[arg-type]
    env, gaps = _envelope_and_gaps(result.output, video_analyzer)
    first = result.stories[0]
    pause = slice(first.start + first.speech_frames + 3, first.start + first.frames - 1)
    assert env[pause].max() < 1.0 and np.nanmax(gaps[pause]) < 0.01


class RepeatingEspeak(SpeaksWholeText):
    """espeak that answers the same text with the same audio every time (espeak itself varies by
    a few samples between calls), so the paths can be compared frame for frame."""

    def __init__(self, settings: Settings) -> None:
        self.inner = EspeakBackend(settings.speech)
        self.name, self.capabilities = self.inner.name, self.inner.capabilities
        self._said: dict[str, Speech] = {}

    def synthesize(self, text: str, **_: object) -> Speech:
        if text not in self._said:
            self._said[text] = self.inner.synthesize(text)
        return self._said[text]

    def voices(self) -> list:
        return self.inner.voices()


@pytest.mark.parametrize(
    "backend", ["timed (espeak)", "timed, sentence by sentence (hibari)", "untimed (external TTS)"]
)
def test_the_same_story_gives_the_same_mouth_track_in_say_render_and_live(
    backend: str, settings: Settings, pipeline: Pipeline, external: Pipeline, tmp_path: Path
) -> None:
    if backend.startswith("timed (espeak)"):
        p = Pipeline(settings, speech=RepeatingEspeak(settings), planner=pipeline.planner)  # type: ignore[arg-type]
    elif "hibari" in backend:
        p = pipeline
        assert p.speech.capabilities.streams
    else:
        p = external
    clip = say(p, SayRequest(STORY, tmp_path / "say.mp4", width=320, height=180, captions=False))
    bulletin = render_rundown(p, _rundown(tmp_path, [{"text": STORY}]), tmp_path / "render.mp4")  # type: ignore[arg-type]
    with ScriptQueue(tmp_path / "q.db") as queue:
        item = queue.add(ItemIn(text=STORY))
        channel = Channel(p, queue, p.avatar(None), [], VirtualClock(), width=320, height=180)
        live = channel.prepare(item)
    tracks = [clip.track, bulletin.stories[0].segment.track, live.track]
    assert len({len(t) for t in tracks}) == 1
    for t in tracks[1:]:
        assert np.array_equal(t.params, tracks[0].params)
        assert t.visemes == tracks[0].visemes
    assert tracks[0].opening.max() > 0.3, "a real, moving mouth"
