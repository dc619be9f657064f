"""Silence keeps the mouth shut: the audio model's voice-activity gate, on generated speech with
noisy pauses, and the gate's own rules (floor, hysteresis, ramps) on level sequences."""

from __future__ import annotations

import numpy as np
import pytest

from anchor.lipsync.model.data import speech_settings
from anchor.lipsync.model.evaluate import pearson
from anchor.lipsync.model.gate import (
    ATTACK_S,
    HANG_S,
    PEAK_RANGE_DB,
    RELEASE_S,
    LevelMeter,
    SilenceGate,
    frame_levels,
    hop_levels,
)
from anchor.lipsync.model.infer import AudioMouthModel
from anchor.speech.espeak import EspeakBackend

FPS = 25
SPF = 1920


@pytest.fixture(scope="module")
def model() -> AudioMouthModel:
    import torch

    torch.set_num_threads(1)
    return AudioMouthModel.load()


@pytest.fixture(scope="module")
def noisy_pauses() -> tuple[np.ndarray, np.ndarray]:
    """Two held-out-voice sentences with 1.2 s pauses of breathy noise (30 dB under the speech)
    before, between and after them; returns the audio and a mask of the pause frames."""
    espeak = EspeakBackend(speech_settings())
    parts, silent = [], []
    rng = np.random.default_rng(5)
    texts = ("Heavy rain closed the coastal highway.", "The bank kept its rates unchanged.")
    speech = [espeak.synthesize(t, language="en", voice="en-gb-scotland+f4").pcm.astype(np.float64) for t in texts]
    rms = np.sqrt(np.mean(np.concatenate(speech) ** 2))
    pause = 30 * SPF
    for s in (*speech, None):
        parts.append(np.zeros(pause))
        silent += [True] * 30
        if s is not None:
            n = -(-s.size // SPF) * SPF
            parts.append(np.pad(s, (0, n - s.size)))
            silent += [False] * (n // SPF)
    x = np.concatenate(parts)
    x += rng.standard_normal(x.size) * rms * 10 ** (-30 / 20)
    mask = np.array(silent)
    # the first and last 4 frames of a pause hold the onset/offset ramps; judge the pause's middle
    core = mask.copy()
    for i in np.flatnonzero(np.diff(mask.astype(int))):
        core[max(0, i - 4) : i + 6] = False
    return np.clip(x, -32768, 32767).astype(np.int16), core


def test_noisy_pauses_keep_the_mouth_shut_and_speech_still_moves(model: AudioMouthModel, noisy_pauses) -> None:  # type: ignore[no-untyped-def]
    pcm, pause = noisy_pauses
    gated = model.mouth_track(pcm, FPS)
    open_level = np.percentile(gated.opening[~pause], 90)
    assert open_level > 0.2  # the speech still opens the mouth
    assert gated.opening[pause].max() < 0.05 * open_level
    assert np.abs(gated.params[pause]).max() < 1e-6  # relaxed: every parameter at rest
    assert all(v == "sil" for v, p in zip(gated.visemes, pause) if p)
    ungated = model.mouth_track(pcm, FPS, gate=False)
    assert pearson(gated.opening[~pause], ungated.opening[~pause]) > 0.95  # speech frames barely touched


def test_gate_opens_and_closes_without_popping(model: AudioMouthModel, noisy_pauses) -> None:  # type: ignore[no-untyped-def]
    pcm, _ = noisy_pauses
    pred = model.predict(pcm, FPS)
    own, ahead = frame_levels(hop_levels(pcm), 0, pred.params.shape[0], FPS, model.lookahead)
    g = SilenceGate(FPS).run(own, ahead, pred.probs[:, 0])
    steps = np.diff(g)
    assert steps.max() <= 1 / round(ATTACK_S * FPS) + 1e-6
    assert steps.min() >= -1 / round(RELEASE_S * FPS) - 1e-6
    assert (g == 0).any() and (g == 1).any()


def test_gate_rules_on_levels() -> None:
    """Loud frames over a steady floor open the gate ahead of time; it holds through a short dip,
    closes after a long one; digital silence neither opens it nor drags the floor down."""
    gate = SilenceGate(FPS)
    digital = [gate.step(-100.0, -100.0, 0.0) for _ in range(10)]
    assert max(digital) == 0.0
    noise = [gate.step(-45.0, -45.0, 0.2) for _ in range(20)]  # the model unsure, the level flat: shut
    assert max(noise) == 0.0
    speech = [gate.step(-45.0, -15.0, 0.0)] + [gate.step(-15.0, -15.0, 0.0) for _ in range(10)]
    assert speech[0] == pytest.approx(0.5) and speech[1] == 1.0  # the look-ahead level starts the ramp
    dip = [gate.step(-44.0, -44.0, 0.9) for _ in range(2)]
    assert min(dip) == 1.0  # held through a 80 ms dip
    assert [gate.step(-15.0, -15.0, 0.0)] == [1.0]
    long_dip = round(HANG_S * FPS) + round(RELEASE_S * FPS) + 1  # the hang, then the release ramp
    closing = [gate.step(-45.0, -45.0, 0.95) for _ in range(long_dip)]
    assert closing[round(HANG_S * FPS) - 1] == 1.0, "held for the hang"
    assert closing[-1] == 0.0 and all(a >= b for a, b in zip(closing, closing[1:]))
    assert gate.step(-15.0, -15.0, 0.9) == 0.0  # loud but the model hears silence (a cough, a bang)


def test_level_meter_reads_the_speech_band_the_same_whole_or_in_pieces() -> None:
    """Column 1 is the speech band: a 50 Hz rumble nearly vanishes from it, a 1 kHz tone does not;
    a clip pushed in odd-sized pieces gives exactly the whole clip's levels (streaming = whole)."""
    t = np.arange(48000) / 48000
    rumble = (0.3 * 32767 * np.sin(2 * np.pi * 50 * t)).astype(np.int16)
    tone = (0.3 * 32767 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    r, k = hop_levels(rumble)[5:], hop_levels(tone)[5:]  # past the filter's start-up
    assert r.shape[1] == 2 and abs(np.median(r[:, 0]) - np.median(k[:, 0])) < 0.5
    assert np.median(r[:, 0]) - np.median(r[:, 1]) > 20  # the rumble is not in the speech band
    assert np.median(k[:, 0]) - np.median(k[:, 1]) < 0.5  # the tone is
    pcm = np.random.default_rng(1).integers(-8000, 8000, 10_007).astype(np.int16)
    meter, pieces, at = LevelMeter(), [], 0
    for size in (1, 479, 480, 481, 3000, 5566):
        pieces.append(meter.push(pcm[at : at + size]))
        at += size
    pieces.append(meter.flush())
    assert np.allclose(np.concatenate(pieces), hop_levels(pcm))


def test_after_speech_a_sound_without_speech_band_energy_keeps_the_gate_shut() -> None:
    """Breath rumble or handling noise as loud as the voice over the whole band, but far under it
    in the speech band, with the model (wrongly) hearing speech: shut. Quieter speech within
    PEAK_RANGE_DB of the voice still opens it."""
    gate = SilenceGate(FPS)
    for _ in range(10):
        gate.step(-60.0, -60.0, 0.9, (-70.0, -70.0))  # the room
    speech = [gate.step(-15.0, -15.0, 0.0, (-16.0, -16.0)) for _ in range(10)]
    assert speech[-1] == 1.0
    for _ in range(round(HANG_S * FPS) + round(RELEASE_S * FPS) + 2):
        gate.step(-60.0, -60.0, 0.9, (-70.0, -70.0))  # a pause: the gate closes
    assert gate.step(-60.0, -60.0, 0.9, (-70.0, -70.0)) == 0.0
    rumble = [gate.step(-18.0, -18.0, 0.02, (-16.0 - PEAK_RANGE_DB - 8, -16.0 - PEAK_RANGE_DB - 8)) for _ in range(10)]
    assert max(rumble) == 0.0
    quiet = [gate.step(-30.0, -30.0, 0.0, (-16.0 - PEAK_RANGE_DB + 8, -16.0 - PEAK_RANGE_DB + 8)) for _ in range(3)]
    assert quiet[-1] == 1.0


def test_pauses_full_of_low_rumble_keep_the_mouth_shut(model: AudioMouthModel) -> None:  # type: ignore[no-untyped-def]
    """Speech, then pauses holding loud sub-50 Hz rumble (breath on the microphone, as in the GRID
    recordings): the mouth stays shut in the pauses and still moves with the speech."""
    espeak = EspeakBackend(speech_settings())
    rng = np.random.default_rng(7)
    texts = ("Heavy rain closed the coastal highway.", "The bank kept its rates unchanged.")
    speech = [espeak.synthesize(t, language="en", voice="en-gb-scotland+f4").pcm.astype(np.float64) for t in texts]
    rms = np.sqrt(np.mean(np.concatenate(speech) ** 2))
    from scipy.signal import butter, sosfilt

    low = butter(8, 50, "lowpass", fs=48000, output="sos")  # 30 dB under in the speech band (GRID: 35-40)
    parts, pause = [], []
    for s in speech:
        n = -(-s.size // SPF) * SPF
        parts.append(np.pad(s, (0, n - s.size)))
        pause += [False] * (n // SPF)
        noise = sosfilt(low, rng.standard_normal(40 * SPF))
        parts.append(noise / np.sqrt(np.mean(noise**2)) * rms)  # as loud as the voice, all under 50 Hz
        pause += [True] * 40
    pcm = np.clip(np.concatenate(parts), -32768, 32767).astype(np.int16)
    mask = np.array(pause)
    core = mask.copy()
    for i in np.flatnonzero(np.diff(mask.astype(int))):
        core[max(0, i - 4) : i + 6] = False
    gated = model.mouth_track(pcm, FPS)
    open_level = np.percentile(gated.opening[~mask], 90)
    assert open_level > 0.2
    assert gated.opening[core].max() < 0.05 * open_level
