"""Phoneme -> viseme mapping and coarticulated MouthTrack construction."""

from __future__ import annotations

import numpy as np
import pytest

from anchor.lipsync.coarticulation import mouth_track_from_phonemes
from anchor.lipsync.track import CLOSE, JAW, ROUND, WIDTH, MouthTrack
from anchor.lipsync.visemes import VISEME_NAMES, visemes_for
from anchor.speech.base import PhonemeEvent

FRAME = 1920  # samples per frame at 25 fps


def events(spec: list[tuple[str, float]]) -> list[PhonemeEvent]:
    """Phoneme events from (phoneme, duration in frames) pairs laid end to end."""
    out, t = [], 0
    for ph, frames in spec:
        n = int(frames * FRAME)
        out.append(PhonemeEvent(ph, t, t + n))
        t += n
    return out


@pytest.mark.parametrize(
    ("phoneme", "expected"),
    [
        ("p", ["PP"]),
        ("b", ["PP"]),
        ("m", ["PP"]),
        ("f", ["FF"]),
        ("ð", ["TH"]),
        ("iː", ["I"]),
        ("ɑː", ["aa"]),
        ("uː", ["U"]),
        ("aɪ", ["aa", "I"]),
        ("oʊ", ["O", "U"]),
        ("ɔːɹ", ["O", "RR"]),
        ("tʃ", ["CH"]),
        ("dʒ", ["CH"]),
        # Mandarin: aspirated stops, retroflex and alveolo-palatal sibilants, finals
        ("pʰ", ["PP"]),
        ("tʂʰ", ["CH"]),
        ("tɕ", ["CH"]),
        ("ʂ", ["CH"]),
        ("y", ["U"]),
        ("iou", ["I", "O", "U"]),
        ("uai", ["U", "aa", "I"]),
        ("ʊŋ", ["U", "KK"]),
        ("ʅ", ["I"]),
        ("_", ["sil"]),
        ("", ["sil"]),
        ("(en)", ["sil"]),
    ],
)
def test_espeak_phonemes_map_to_expected_visemes(phoneme: str, expected: list[str]) -> None:
    assert visemes_for(phoneme) == expected


def test_unknown_symbols_fall_back_by_kind() -> None:
    assert visemes_for("ʉ") == ["E"]  # vowel-like -> mid vowel
    assert visemes_for("ǂ") == ["DD"]  # anything else -> a light consonant
    assert all(v in VISEME_NAMES for v in visemes_for("ǂʉʘ"))


def test_track_has_one_row_per_frame_covering_the_audio() -> None:
    ev = events([("h", 2), ("ɛ", 3), ("l", 2), ("oʊ", 5)])
    n_samples = ev[-1].end + 100
    track = mouth_track_from_phonemes(ev, n_samples, 25)
    assert len(track) == -(-n_samples // FRAME)
    assert track.params.shape == (len(track), 4)
    assert np.all(np.isfinite(track.params))


def test_open_vowel_opens_and_silence_is_relaxed_and_closed() -> None:
    ev = events([("_", 10), ("ɑː", 6), ("_", 10)])
    track = mouth_track_from_phonemes(ev, ev[-1].end, 25)
    vowel = track.opening[10:16]
    assert vowel.max() > 0.75  # "ah" opens wide
    assert track.opening[:3].max() < 0.02 and track.opening[-3:].max() < 0.02
    assert np.allclose(track.params[0], 0.0, atol=0.02)


def test_short_open_vowel_between_consonants_still_opens() -> None:
    ev = events([("t", 1.5), ("æ", 1.6), ("k", 1.5)])
    track = mouth_track_from_phonemes(ev, ev[-1].end, 25)
    assert track.params[:, JAW].max() >= 0.65


def test_bilabials_reach_full_closure_even_between_open_vowels() -> None:
    ev = events([("ɑː", 4), ("m", 1.3), ("ɑː", 4), ("p", 1.2), ("ɑː", 4), ("b", 1.5), ("ɑː", 4)])
    track = mouth_track_from_phonemes(ev, ev[-1].end, 25)
    closed = [i for i, v in enumerate(track.visemes) if v == "PP"]
    assert len(closed) >= 3
    for ph in ev[1::2]:
        mid_frame = (ph.start + ph.end) // 2 // FRAME
        assert track.params[mid_frame, CLOSE] == pytest.approx(1.0)
        assert track.opening[mid_frame] < 0.02
    # ...and the vowels around them open again
    assert track.opening[:4].max() > 0.6 and track.opening[-4:].max() > 0.6


def test_coarticulation_anticipates_rounding_before_a_rounded_vowel() -> None:
    ev = events([("_", 8), ("s", 3), ("uː", 6), ("_", 8)])
    track = mouth_track_from_phonemes(ev, ev[-1].end, 25)
    s_frames = track.params[8:11]
    # lips start rounding during "s" already (anticipation), ahead of the "u" itself
    assert s_frames[-1, ROUND] > 0.3
    assert s_frames[-1, ROUND] > s_frames[0, ROUND]
    # and "ee" spreads where "oo" rounds
    spread = mouth_track_from_phonemes(events([("iː", 6)]), 6 * FRAME, 25)
    assert spread.params[3, WIDTH] > 0.5 and track.params[13, WIDTH] < -0.3


def test_mouth_track_validates_shapes() -> None:
    with pytest.raises(ValueError):
        MouthTrack(25, np.zeros((3, 3), np.float32), ("sil",) * 3)
    with pytest.raises(ValueError):
        MouthTrack(25, np.zeros((3, 4), np.float32), ("sil",) * 2)
    assert len(MouthTrack.silent(5, 25)) == 5
