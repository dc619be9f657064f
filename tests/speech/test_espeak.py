"""The espeak-ng backend: real synthesis through libespeak-ng, checked against the audio itself."""

from __future__ import annotations

import re
import threading

import numpy as np
import pytest

from anchor.config import SpeechSettings
from anchor.errors import InputError
from anchor.speech.base import Speech
from anchor.speech.espeak import PAUSE, EspeakBackend
from anchor.speech.registry import make_speech_backend
from anchor.speech.text import split_sentences
from anchor.timebase import PROGRAM_RATE

ENGLISH = (
    "She sells seashells by the seashore. "
    "Peter Piper picked a peck of pickled peppers. "
    "Good evening, and welcome to the news."
)
MANDARIN = "今天是星期四，我们吃饭。晚上好，欢迎收看新闻。"
VOWELS_EN = {"iː", "ɛ", "ɔːɹ", "aɪ", "ɪ", "æ", "ə", "ʊ", "eɪ", "uː", "ɑː"}


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if x.size else 0.0


def zero_crossing_rate(x: np.ndarray) -> float:
    return float(np.mean(np.abs(np.diff(np.sign(x.astype(np.float64)))) > 0))


def estimate_f0(x: np.ndarray, rate: int = PROGRAM_RATE) -> float:
    """Fundamental frequency (Hz) of a voiced stretch, by the autocorrelation peak in 60-400 Hz."""
    x = x.astype(np.float64) - x.mean()
    ac = np.correlate(x, x, "full")[x.size - 1 :]
    lo, hi = rate // 400, rate // 60
    return rate / (lo + int(np.argmax(ac[lo:hi])))


@pytest.fixture(scope="module")
def backend() -> EspeakBackend:
    return EspeakBackend(SpeechSettings())


@pytest.fixture(scope="module")
def english(backend: EspeakBackend) -> Speech:
    return backend.synthesize(ENGLISH)


@pytest.fixture(scope="module")
def mandarin(backend: EspeakBackend) -> Speech:
    return backend.synthesize(MANDARIN)


@pytest.mark.parametrize("which", ["english", "mandarin"])
def test_speech_is_non_silent_48k_mono_int16(which: str, request: pytest.FixtureRequest) -> None:
    speech: Speech = request.getfixturevalue(which)
    assert speech.sample_rate == PROGRAM_RATE
    assert speech.pcm.dtype == np.int16 and speech.pcm.ndim == 1
    assert 2.0 < speech.duration < 20.0
    assert rms(speech.pcm) > 500
    assert np.abs(speech.pcm.astype(np.int32)).max() < 32767  # not clipped


@pytest.mark.parametrize("which", ["english", "mandarin"])
def test_phonemes_are_sorted_non_overlapping_and_inside_the_audio(which: str, request: pytest.FixtureRequest) -> None:
    speech: Speech = request.getfixturevalue(which)
    ph = speech.phonemes
    assert len(ph) > 20
    for p in ph:
        assert 0 <= p.start < p.end <= speech.n_samples
        assert p.phoneme and "ˈ" not in p.phoneme and "ˌ" not in p.phoneme
    for a, b in zip(ph, ph[1:]):
        assert a.end <= b.start
        assert not (a.phoneme == PAUSE and b.phoneme == PAUSE and a.end == b.start)  # pauses merged
    for s in speech.sentences:  # within a sentence the events leave no gaps
        inside = [p for p in ph if s.start <= p.start < s.end]
        assert inside and all(a.end == b.start for a, b in zip(inside, inside[1:]))
        assert inside[-1].end <= s.end


def test_words_match_the_input_words_in_order(english: Speech) -> None:
    expected = re.findall(r"[A-Za-z]+", ENGLISH)
    assert [w.text for w in english.words] == expected
    for w in english.words:
        assert ENGLISH[w.char_start : w.char_end] == w.text
        assert w.start < w.end
    for a, b in zip(english.words, english.words[1:]):
        assert a.end <= b.start
    # each word lies in the sentence it belongs to
    for s, sent_words in zip(english.sentences, (expected[0:6], expected[6:14], expected[14:])):
        inside = [w.text for w in english.words if s.start <= w.start and w.end <= s.end]
        assert inside == sent_words


def test_sentences_are_separated_by_the_configured_pause(english: Speech) -> None:
    spans = english.sentences
    assert [s.text for s in spans] == split_sentences(ENGLISH)
    assert spans[0].start == 0 and spans[-1].end == english.n_samples
    pause = 250 * PROGRAM_RATE // 1000
    for a, b in zip(spans, spans[1:]):
        assert b.start - a.end == pause
        assert not english.pcm[a.end : b.start].any()
        assert not [p for p in english.phonemes if p.start < b.start and p.end > a.end]


def test_energy_follows_the_phoneme_timing(english: Speech) -> None:
    """Timing is real: speech sounds are loud, pauses silent, fricatives noisy, vowels periodic."""
    pcm = english.pcm
    sounding = np.concatenate([pcm[p.start : p.end] for p in english.phonemes if p.phoneme != PAUSE])
    gaps = np.concatenate([pcm[a.end : b.start] for a, b in zip(english.sentences, english.sentences[1:])])
    pauses = [pcm[p.start : p.end] for p in english.phonemes if p.phoneme == PAUSE]
    assert rms(sounding) > 1000
    assert rms(gaps) < rms(sounding) / 100
    assert pauses and rms(np.concatenate(pauses)) < rms(sounding) / 20
    fricatives = [zero_crossing_rate(pcm[p.start : p.end]) for p in english.phonemes if p.phoneme in ("s", "ʃ")]
    vowels = [zero_crossing_rate(pcm[p.start : p.end]) for p in english.phonemes if p.phoneme in VOWELS_EN]
    assert len(fricatives) >= 6 and len(vowels) >= 10
    assert np.median(fricatives) > 3 * np.median(vowels)


def test_english_phonemes_are_ipa(english: Speech) -> None:
    names = {p.phoneme for p in english.phonemes}
    assert {"ʃ", "s", "iː", "p", "k", "ð"} <= names


def test_mandarin_is_detected_and_spoken_with_mandarin_sounds(mandarin: Speech) -> None:
    assert mandarin.language == "zh" and mandarin.voice == "cmn"
    names = {p.phoneme for p in mandarin.phonemes}
    assert {"tɕ", "ʂ", "ɕ", "tʂʰ"} <= names  # 今 是 星 吃: Mandarin-only consonants
    assert not names & {"ð", "θ", "ɹ", "æ"}  # not read as English
    assert len(mandarin.sentences) == 2
    spoken = "".join(w.text for w in mandarin.words)
    assert spoken == re.sub(r"[，。]", "", MANDARIN)
    for w in mandarin.words:
        assert MANDARIN[w.char_start : w.char_end] == w.text


def test_language_given_explicitly_picks_that_voice(backend: EspeakBackend) -> None:
    speech = backend.synthesize("Hello.", language="en")
    assert (speech.language, speech.voice) == ("en", "en-us")
    speech = backend.synthesize("Hello.", voice="en-gb")
    assert speech.voice == "en-gb" and speech.n_samples > 0


def test_faster_rate_gives_shorter_audio(backend: EspeakBackend) -> None:
    text = "The quick brown fox jumps over the lazy dog."
    slow = backend.synthesize(text, rate=100)
    fast = backend.synthesize(text, rate=300)
    assert fast.duration < 0.6 * slow.duration
    assert len(fast.phonemes) > 0.8 * len(slow.phonemes)  # same words, said faster


def test_pitch_changes_the_fundamental_frequency(backend: EspeakBackend) -> None:
    text = "Hello, how are you doing today?"

    def median_f0(pitch: int) -> float:
        speech = backend.synthesize(text, pitch=pitch)
        vowels = [p for p in speech.phonemes if p.phoneme in {"oʊ", "aʊ", "ɑːɹ", "uː", "eɪ", "ə"}]
        return float(np.median([estimate_f0(speech.pcm[p.start : p.end]) for p in vowels if p.end - p.start > 2400]))

    low, high = median_f0(10), median_f0(90)
    assert 50 < low < 300 and 50 < high < 400
    assert high > 1.5 * low


def test_sentence_pause_setting_is_used() -> None:
    backend = EspeakBackend(SpeechSettings(sentence_pause_ms=600))
    speech = backend.synthesize("One. Two.")
    a, b = speech.sentences
    assert b.start - a.end == 600 * PROGRAM_RATE // 1000


@pytest.mark.parametrize(
    ("kwargs", "field", "needle"),
    [
        ({"text": ""}, "text", "empty"),
        ({"text": "  \n\t "}, "text", "empty"),
        ({"text": "?! ... --"}, "text", "no words"),
        ({"text": "a " * 10_001}, "text", "20000"),
        ({"text": "Bonjour.", "language": "fr"}, "language", "en, zh"),
        ({"text": "Hello.", "voice": "no-such-voice"}, "voice", "voices()"),
        ({"text": "Hello.", "voice": "en-us+no-such-variant"}, "voice", "variant"),
        ({"text": "Hello.", "rate": 79}, "rate", "80 to 450"),
        ({"text": "Hello.", "rate": 451}, "rate", "80 to 450"),
        ({"text": "Hello.", "pitch": -1}, "pitch", "0 to 99"),
        ({"text": "Hello.", "pitch": 100}, "pitch", "0 to 99"),
    ],
)
def test_refusals_name_the_field(backend: EspeakBackend, kwargs: dict, field: str, needle: str) -> None:
    text = kwargs.pop("text")
    with pytest.raises(InputError) as err:
        backend.synthesize(text, **kwargs)
    assert err.value.field == field
    assert needle in str(err.value)


def test_voices_lists_installed_english_and_mandarin_voices(backend: EspeakBackend) -> None:
    voices = backend.voices()
    by_id = {v.id: v for v in voices}
    assert len(by_id) == len(voices)  # ids are unique
    assert by_id["en-us"].language == "en" and by_id["cmn"].language == "zh"
    assert all(v.backend == "espeak" for v in voices)
    assert any(v.id.startswith("en-us+") for v in voices)  # variants of the default voice
    # every listed voice is accepted (a few, to stay quick)
    for vid in ["en-gb", "en-us+f3", "yue", next(v.id for v in voices if v.id.startswith("cmn+"))]:
        assert vid in by_id
        assert backend.synthesize("Hi." if vid.startswith("en") else "你好。", voice=vid).n_samples > 0


def test_concurrent_calls_do_not_mix_their_audio(backend: EspeakBackend) -> None:
    texts = ["One two three four five.", "今天天气很好。", "Good night and good luck.", "新闻联播。"]
    serial = [backend.synthesize(t) for t in texts]
    results: dict[int, Speech] = {}

    def run(i: int) -> None:
        results[i] = backend.synthesize(texts[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, expected in enumerate(serial):
        got = results[i]
        # espeak varies by a few samples between runs, never by its phoneme sequence
        assert [p.phoneme for p in got.phonemes] == [p.phoneme for p in expected.phonemes]
        assert abs(got.n_samples - expected.n_samples) < 0.02 * expected.n_samples


def test_registry_builds_the_configured_backend() -> None:
    assert isinstance(make_speech_backend(SpeechSettings(backend="espeak")), EspeakBackend)
    with pytest.raises(InputError) as err:
        make_speech_backend(SpeechSettings(backend="festival"))
    assert "espeak" in str(err.value)
