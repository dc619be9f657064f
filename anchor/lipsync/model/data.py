"""Training and evaluation data for the audio-to-mouth model, synthesized here with known timing.

Every utterance is spoken by espeak-ng (or the Piper voice) whose phoneme timings are exact;
the timing path (`mouth_track_from_phonemes`) turns them into the 25 fps target track. Audio
is then augmented — tempo (espeak rate, and resampling with the timings scaled along), pitch
(espeak pitch; resampling shifts it too), noise, reverberation, codec round-trips (mp3, aac,
opus, re-aligned by cross-correlation) and level — and the targets follow every change of time.

Voices: `TRAIN_*` lists are used for training; `HELD_OUT_*` are never used in training (whole
accents and whole variants), and evaluation speaks held-out sentences with them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import fftconvolve, resample_poly

from anchor.config import SpeechSettings
from anchor.lipsync.coarticulation import mouth_track_from_phonemes
from anchor.lipsync.model.corpus import sentences
from anchor.lipsync.model.features import log_mel
from anchor.lipsync.visemes import VISEME_NAMES
from anchor.speech.audio_in import decode_audio, encode_audio
from anchor.speech.base import PhonemeEvent, Speech
from anchor.timebase import PROGRAM_RATE, samples_per_frame

FPS = 25
LANGUAGE_VOICES = {"en": "en-us", "zh": "cmn", "de": "de", "es": "es", "fr": "fr-fr", "it": "it", "pt": "pt-br"}
TRAIN_EN_BASES = ("en-us", "en-gb", "en-gb-x-rp", "en-029", "en-gb-x-gbclan", "en-us-nyc")
TRAIN_OTHER_BASES = (("de", "de"), ("es", "es"), ("fr", "fr-fr"), ("it", "it"), ("pt", "pt-br"))
TRAIN_VARIANTS = (
    "", "f1", "f2", "f3", "f5", "m1", "m2", "m4", "m5", "m6", "klatt", "klatt2", "klatt4", "adam",
    "Alex", "Alicia", "Annie", "aunty", "belinda", "benjamin", "caleb", "david", "ed", "edward",
    "Gene", "john", "linda", "max", "Michael", "Mike", "paul", "quincy", "rob", "robert", "steph",
    "travis", "victor", "norbert", "shelby", "croak",
)  # fmt: skip
HELD_OUT_EN_BASES = ("en-gb-scotland", "en-gb-x-gbcwmd")
HELD_OUT_ZH_BASES = ("yue",)
HELD_OUT_VARIANTS = ("f4", "m3", "m7", "klatt3", "Andy", "steph2", "iven", "anika", "grandma")
HELD_OUT_EVAL_VOICES = (
    ("en", "en-gb-scotland"), ("en", "en-gb-scotland+f4"), ("en", "en-gb-x-gbcwmd+m3"),
    ("en", "en-us+Andy"), ("en", "en-gb+klatt3"), ("en", "en-us+m7"), ("en", "en-029+grandma"),
    ("zh", "cmn+f4"), ("zh", "yue"), ("zh", "yue+m3"),
)  # fmt: skip
"""(language, voice) pairs for evaluation; none of them (nor their accent or variant) is trained on."""


@dataclass(frozen=True)
class Example:
    """One utterance ready for training: features (4n, N_MELS), targets (n, 4), labels (n,)."""

    features: np.ndarray
    params: np.ndarray
    labels: np.ndarray
    voice: str


def speech_settings() -> SpeechSettings:
    return SpeechSettings(voices=dict(LANGUAGE_VOICES), sentence_pause_ms=200)


def example_from(pcm: np.ndarray, phonemes: tuple[PhonemeEvent, ...], voice: str) -> Example:
    """Targets from the timings (25 fps) and features of the audio padded to whole frames."""
    spf = samples_per_frame(FPS)
    track = mouth_track_from_phonemes(phonemes, pcm.size, FPS)
    n = len(track)
    padded = np.zeros(n * spf, np.int16)
    padded[: pcm.size] = pcm
    feats = log_mel(padded)
    index = {name: i for i, name in enumerate(VISEME_NAMES)}
    labels = np.array([index[v] for v in track.visemes], np.int64)
    return Example(feats.astype(np.float32), track.params.astype(np.float32), labels, voice)


def shift(phonemes: tuple[PhonemeEvent, ...], offset: int, scale: float = 1.0) -> tuple[PhonemeEvent, ...]:
    return tuple(
        PhonemeEvent(p.phoneme, round(p.start * scale) + offset, round(p.end * scale) + offset) for p in phonemes
    )


def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    spec /= np.sqrt(np.maximum(np.arange(spec.size), 1))
    y = np.fft.irfft(spec, n)
    return y / (np.std(y) + 1e-9)


def _reverb(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    rt60 = rng.uniform(0.15, 0.7)
    n = int(rt60 * PROGRAM_RATE)
    t = np.arange(n) / PROGRAM_RATE
    ir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60) * rng.uniform(0.1, 0.5)
    ir[0] = 1.0  # the direct sound keeps its time: no shift of the timings
    y = fftconvolve(x, ir)[: x.size]
    return y * (np.abs(x).max() / (np.abs(y).max() + 1e-9))


def _codec(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Round-trip through a lossy codec, then re-align by cross-correlation (codecs add delay)."""
    suffix = str(rng.choice([".mp3", ".m4a", ".ogg"]))
    pcm = np.clip(x, -32768, 32767).astype(np.int16)
    with tempfile.TemporaryDirectory() as tmp:
        rate = 48000 if suffix == ".ogg" else int(rng.choice([22050, 44100]))
        src = resample_poly(pcm.astype(np.float64), rate // 50, PROGRAM_RATE // 50) if rate != PROGRAM_RATE else pcm
        path = encode_audio(np.clip(src, -32768, 32767).astype(np.int16), Path(tmp) / f"a{suffix}", rate=rate)
        y = decode_audio(path, field="augment").astype(np.float64)
    lag = _best_lag(x, y, max_lag=PROGRAM_RATE // 10)
    y = y[lag:] if lag >= 0 else np.concatenate([np.zeros(-lag), y])
    out = np.zeros_like(x)
    out[: min(x.size, y.size)] = y[: x.size]
    return out


def _best_lag(x: np.ndarray, y: np.ndarray, max_lag: int) -> int:
    """Samples by which y lags x (decimated cross-correlation, refined at full rate)."""
    n = min(x.size, y.size, PROGRAM_RATE * 3)
    a, b = x[:n], y[: n + max_lag]
    c = fftconvolve(b, a[::-1], mode="full")[n - 1 : n - 1 + max_lag + 1]
    return int(np.argmax(c))


def augment(
    pcm: np.ndarray, phonemes: tuple[PhonemeEvent, ...], rng: np.random.Generator, *, codecs: bool = True
) -> tuple[np.ndarray, tuple[PhonemeEvent, ...]]:
    """A randomly augmented copy of the audio with its timings moved along."""
    x = pcm.astype(np.float64)
    if rng.random() < 0.3:  # tempo (and pitch) by resampling; timings scale with it
        down = int(rng.integers(85, 116))
        x = resample_poly(x, 100, down)
        phonemes = shift(phonemes, 0, 100 / down)
    lead, tail = (int(rng.uniform(0, 0.4) * PROGRAM_RATE) for _ in range(2))
    x = np.concatenate([np.zeros(lead), x, np.zeros(tail)])
    phonemes = shift(phonemes, lead)
    if rng.random() < 0.3:
        x = _reverb(x, rng)
    if codecs and rng.random() < 0.2:
        x = _codec(x, rng)
    if rng.random() < 0.6:
        speech_rms = np.sqrt(np.mean(x**2)) + 1e-9
        snr = rng.uniform(5, 40)
        noise = _pink(x.size, rng) if rng.random() < 0.5 else rng.standard_normal(x.size)
        x = x + noise * speech_rms / 10 ** (snr / 20)
    peak_db = rng.uniform(-35, 0) if rng.random() > 0.05 else rng.uniform(0, 8)  # a few clip
    x = x * (32767 * 10 ** (peak_db / 20) / (np.abs(x).max() + 1e-9))
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16), phonemes


def espeak_utterances(
    rng: np.random.Generator, counts: dict[str, int], *, held_out: bool = False
) -> Iterator[tuple[str, str, str, int, int]]:
    """(language, voice, text, rate, pitch) for training: counts per "en", "zh", "other"."""
    for kind, n in counts.items():
        texts = sentences({"en": "en", "zh": "zh", "other": "pseudo"}[kind], n, rng, held_out=held_out)
        for text in texts:
            variant = str(rng.choice(TRAIN_VARIANTS))
            if kind == "en":
                lang, base = "en", str(rng.choice(TRAIN_EN_BASES))
            elif kind == "zh":
                lang, base = "zh", "cmn"
            else:
                lang, base = TRAIN_OTHER_BASES[int(rng.integers(len(TRAIN_OTHER_BASES)))]
            voice = base + (f"+{variant}" if variant else "")
            yield lang, voice, text, int(rng.integers(120, 261)), int(rng.integers(15, 86))


def synthesize(backend: object, lang: str, voice: str, text: str, rate: int | None, pitch: int | None) -> Speech:
    return backend.synthesize(text, language=lang, voice=voice, rate=rate, pitch=pitch)  # type: ignore[attr-defined]
