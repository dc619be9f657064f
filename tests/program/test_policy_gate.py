"""The content policy guards every path to the air: a refused script never reaches the speech stage,
and a script that needs review is refused for finished videos but held in a channel queue."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from anchor.config import Settings
from anchor.errors import InputError
from anchor.live.channel import Channel
from anchor.live.intake import admit, amend
from anchor.live.items import ItemIn
from anchor.live.store import ScriptQueue
from anchor.program.bulletin import render_rundown
from anchor.program.clip import SayRequest, say
from anchor.program.pipeline import Pipeline
from anchor.provenance.policy import PolicyRefused
from anchor.rundown.load import parse_rundown
from anchor.speech.base import SpeaksWholeText, Speech, SpeechCapabilities, VoiceInfo
from streaming.clock import VirtualClock

REFUSED = "Good evening. They should be exterminated."  # on the shipped block list (hate)


class RecordingSpeech(SpeaksWholeText):
    """A speech stage that records what reaches it (and says it as a short tone)."""

    name = "recording"
    capabilities = SpeechCapabilities(timings=False)

    def __init__(self) -> None:
        self.heard: list[str] = []

    def synthesize(self, text: str, **_: object) -> Speech:
        self.heard.append(text)
        t = np.arange(4800) / 48000
        return Speech((np.sin(2 * np.pi * 200 * t) * 8000).astype(np.int16), "en", "tone")

    def voices(self) -> list[VoiceInfo]:
        return []


@pytest.fixture
def gated(settings: Settings, pipeline: Pipeline) -> tuple[Pipeline, RecordingSpeech]:
    speech = RecordingSpeech()
    return Pipeline(settings, speech=speech, planner=pipeline.planner), speech  # type: ignore[arg-type]


def review_text(p: Pipeline) -> str:
    """A script the shipped lists hold for review."""
    for text in ("Reports of a massacre in the north.", "The word massacre was used."):
        if p.policy.check(text, "en").outcome == "hold":
            return text
    pytest.fail("the shipped policy lists hold nothing for review; update this test with a review term")


def test_a_refused_script_never_reaches_the_speech_stage_on_any_path(gated, tmp_path: Path) -> None:
    p, speech = gated
    with pytest.raises(PolicyRefused):
        p.speak(REFUSED)
    with pytest.raises(PolicyRefused):
        list(p.speak_pieces(REFUSED))
    with pytest.raises(InputError, match="content policy") as err:
        say(p, SayRequest(REFUSED, tmp_path / "x.mp4", width=320, height=180))
    assert err.value.field == "text"
    rundown = parse_rundown(
        {"programme": {"title": "T", "channel": "C"}, "stories": [{"text": "Fine."}, {"text": REFUSED}]}, tmp_path
    )
    with pytest.raises(InputError, match="content policy") as err:
        render_rundown(p, rundown, tmp_path / "b.mp4")
    assert err.value.field == "stories[1].text"
    with ScriptQueue(tmp_path / "q.db") as queue:
        with pytest.raises(PolicyRefused):
            admit(queue, p.policy, ItemIn(text=REFUSED))
        assert queue.list() == [], "a refused item is not stored"
    assert speech.heard == [], "nothing reached the speech stage"
    assert not (tmp_path / "x.mp4").exists() and not (tmp_path / "b.mp4").exists()


def test_a_script_that_needs_review_is_held_in_the_queue_until_approved(gated, tmp_path: Path) -> None:
    p, speech = gated
    text = review_text(p)
    with pytest.raises(InputError, match="review"):
        say(p, SayRequest(text, tmp_path / "x.mp4", width=320, height=180))
    with ScriptQueue(tmp_path / "q.db") as queue:
        held = admit(queue, p.policy, ItemIn(text=text))
        fine = admit(queue, p.policy, ItemIn(text="Good evening."))
        assert held.state == "held" and held.policy and held.policy["outcome"] == "hold"
        assert fine.state == "queued" and fine.policy and fine.policy["outcome"] == "allow"
        channel = Channel(p, queue, p.avatar(None), [], VirtualClock(), width=320, height=180)
        assert queue.next_due() is not None and queue.next_due().id == fine.id  # type: ignore[union-attr]
        queue.approve(held.id, by="editor")
        assert queue.get(held.id).state == "queued"
        edited = amend(queue, p.policy, fine.id, {"text": text})  # an edit is checked again
        assert edited.state == "held"
        assert channel.queue is queue
    assert speech.heard == []
