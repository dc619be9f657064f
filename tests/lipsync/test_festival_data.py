"""Festival as training speech: its segment files become phoneme timings that match its audio."""

from __future__ import annotations

import numpy as np
import pytest

from anchor.errors import BackendError
from anchor.lipsync.coarticulation import mouth_track_from_phonemes
from anchor.lipsync.model.evaluate import energy_baseline, pearson
from anchor.lipsync.model.festival import CMU_TO_IPA, FESTIVAL_VOICES, parse_segs, synthesize_many
from anchor.lipsync.visemes import SILENCE, visemes_for
from anchor.timebase import PROGRAM_RATE

SEGS = """separator ;
nfields 1
#
0.1650 100 pau
0.2100 100 dh
0.2500 100 ax
0.3800 100 p
0.5000 100 pau
"""


def test_segs_become_program_rate_events() -> None:
    events = parse_segs(SEGS, 1.0, PROGRAM_RATE)
    assert [e.phoneme for e in events] == ["_", "ð", "ə", "p", "_"]
    assert events[0].start == 0 and events[1].start == events[0].end == round(0.165 * PROGRAM_RATE)
    assert events[-1].end == PROGRAM_RATE // 2
    assert all(a.end == b.start for a, b in zip(events, events[1:]))


def test_segs_are_clipped_to_the_audio_and_unknown_phones_refused() -> None:
    events = parse_segs(SEGS, 1.0, round(0.3 * PROGRAM_RATE))
    assert events[-1].end == round(0.3 * PROGRAM_RATE) and [e.phoneme for e in events] == ["_", "ð", "ə", "p"]
    with pytest.raises(BackendError, match="unknown phone 'qq'"):
        parse_segs("#\n0.1 100 qq\n", 1.0, PROGRAM_RATE)


def test_every_cmu_phone_maps_to_a_viseme_of_its_kind() -> None:
    for phone, ipa in CMU_TO_IPA.items():
        names = visemes_for(ipa)
        if phone in ("pau", "h#", "brth"):
            assert names == [SILENCE]
        else:
            assert SILENCE not in names, phone
    assert visemes_for(CMU_TO_IPA["m"]) == ["PP"] and visemes_for(CMU_TO_IPA["uw"]) == ["U"]


def test_unknown_voice_is_refused() -> None:
    with pytest.raises(BackendError, match="unknown festival voice"):
        synthesize_many([("nobody", "Hello.", 1.0)])


@pytest.mark.parametrize("voice", FESTIVAL_VOICES)
def test_festival_timings_follow_its_audio(voice: str) -> None:
    """The timing-path track from Festival's segments goes with the loudness of its audio
    (positively correlated, best at lag 0 +- 1 frame), and the segments cover the audio."""
    text = "Good evening. The mayor opened a new bridge over the river this morning."
    (utt,) = synthesize_many([(voice, text, 1.0)])
    assert utt.pcm.dtype == np.int16 and utt.pcm.size > PROGRAM_RATE
    assert utt.phonemes[-1].end == utt.pcm.size or utt.pcm.size - utt.phonemes[-1].end < PROGRAM_RATE // 10
    spoken = [p.phoneme for p in utt.phonemes if p.phoneme != "_"]
    assert {"m", "b", "ɹ"} <= set(spoken)
    truth = mouth_track_from_phonemes(utt.phonemes, utt.pcm.size, 25).opening
    loud = energy_baseline(utt.pcm, 25).opening
    scores = {
        k: pearson(loud[max(k, 0) : loud.size + min(k, 0)], truth[max(-k, 0) : truth.size - max(k, 0)])
        for k in range(-3, 4)
    }
    assert scores[0] > 0.3
    assert abs(max(scores, key=scores.get)) <= 1
