"""Listening: Whisper captions and language guess, English forced alignment, recordings -> Speech."""

from __future__ import annotations

import pytest

from anchor.config import Settings
from anchor.errors import BackendError
from anchor.lipsync.coarticulation import mouth_track_from_phonemes
from anchor.speech.base import Speech, WordEvent
from anchor.speech.hibari import HibariBackend
from anchor.speech.listen import Listener, Transcript, retime_text

TEXT = "Good evening. The bridge will reopen on Monday morning."


@pytest.fixture(scope="module")
def listener(settings: Settings) -> Listener:
    return Listener(settings.speech.listen)


@pytest.fixture(scope="module")
def clip(settings: Settings) -> Speech:
    """A generated English clip with a second of silence between its sentences."""
    speech = settings.speech.model_copy(update={"sentence_pause_ms": 1000})
    return HibariBackend(speech).synthesize(TEXT)


def test_recognised_words_give_captions_and_the_language(listener: Listener, clip: Speech) -> None:
    heard = listener.transcribe(clip.pcm)
    assert heard.language == "en" and heard.language_probability > 0.5
    said = [w.text.lower() for w in heard.words]
    assert said == ["good", "evening", "the", "bridge", "will", "reopen", "on", "monday", "morning"]
    for w in heard.words:
        assert heard.text[w.char_start : w.char_end] == w.text
    # each word is heard where it was spoken (within 0.5 s of the voice's own timing: Whisper starts
    # the first word at the first sound it hears, the leading silence included)
    truth = {w.text.lower(): w.start for w in clip.words}
    for w in heard.words:
        assert abs(w.start - truth[w.text.lower()]) < 0.5 * 48000, w


def test_alignment_gives_the_phones_in_order_and_a_pause_in_silence(listener: Listener, clip: Speech) -> None:
    phonemes, words = listener.align(clip.pcm, TEXT)
    assert phonemes[0].start == 0 and phonemes[-1].end == clip.n_samples
    assert all(a.end == b.start for a, b in zip(phonemes, phonemes[1:]))
    names = [p.phoneme for p in phonemes if p.phoneme != "_"]
    # "bridge": b ɹ ɪ dʒ in this order
    i = names.index("b")
    assert names[i : i + 4] == ["b", "ɹ", "ɪ", "dʒ"]
    assert [w.text for w in words] == ["Good", "evening", "The", "bridge", "will", "reopen", "on", "Monday", "morning"]
    # the second of silence between the sentences is one pause, and the mouth is shut in it
    gap_mid = (clip.sentences[0].end + clip.sentences[1].start) // 2
    pause = next(p for p in phonemes if p.start <= gap_mid < p.end)
    assert pause.phoneme == "_" and pause.end - pause.start > 0.8 * 48000
    track = mouth_track_from_phonemes(phonemes, clip.n_samples, 25)
    assert track.opening[gap_mid // 1920] < 0.02


def test_a_recording_becomes_speech_with_aligned_phonemes_and_words(listener: Listener, clip: Speech) -> None:
    heard = listener.speech_from_recording(clip.pcm)
    assert heard.aligned and heard.speech.language == "en"
    assert heard.speech.phonemes and len(heard.speech.words) == 9
    assert [s.text for s in heard.speech.sentences][0].startswith("Good evening")
    given = listener.speech_from_recording(clip.pcm, text=TEXT, language="en")
    assert given.transcript is None and given.text == TEXT and given.aligned


def test_when_alignment_fails_the_words_stay_and_the_audio_model_takes_the_mouth(
    listener: Listener, clip: Speech, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise BackendError("no alignment")

    monkeypatch.setattr(listener, "align", fail)
    heard = listener.speech_from_recording(clip.pcm, text=TEXT, language="en")
    assert not heard.aligned and heard.speech.phonemes == ()
    assert [w.text for w in heard.speech.words][:2] == ["Good", "evening"]


def test_given_text_is_timed_by_the_words_it_matches() -> None:
    heard = Transcript("今天新闻", "zh", 1.0, (WordEvent("今天", 0, 100, 0, 2), WordEvent("新闻", 200, 300, 2, 4)))
    words = retime_text("今天的新闻。", heard)
    assert [w.text for w in words] == ["今", "天", "的", "新", "闻"]
    assert [w.start for w in words] == [0, 50, 100, 200, 250]  # 的 was not heard: placed between
