"""The committed audio-to-mouth model: loads, runs, is causal with a fixed look-ahead,
and beats the plain audio-energy baseline on held-out speech; `say --audio` uses it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from anchor.lipsync.coarticulation import mouth_track_from_phonemes
from anchor.lipsync.model.data import speech_settings
from anchor.lipsync.model.evaluate import best_lag, energy_baseline, figures
from anchor.lipsync.model.features import PROGRAM_HOP, log_mel
from anchor.lipsync.model.infer import DEFAULT_WEIGHTS, AudioMouthModel, pool_to_frames
from anchor.lipsync.visemes import VISEME_NAMES
from anchor.speech.base import Speech
from anchor.speech.espeak import EspeakBackend
from anchor.timebase import frames_for_samples

ROOT = Path(__file__).resolve().parents[2]
HELD_OUT = (
    "Heavy rain closed the coastal highway for most of the afternoon. Peter Piper picked a peck of pickled peppers."
)


@pytest.fixture(scope="module")
def model() -> AudioMouthModel:
    import torch

    torch.set_num_threads(1)
    return AudioMouthModel.load()


@pytest.fixture(scope="module")
def clip() -> Speech:
    # a voice the model never heard (accent and variant held out) speaking a held-out sentence
    return EspeakBackend(speech_settings()).synthesize(HELD_OUT, language="en", voice="en-gb-scotland+f4")


def test_committed_weights_are_small(model: AudioMouthModel) -> None:
    assert DEFAULT_WEIGHTS.stat().st_size < 5 * 2**20
    assert model.lookahead * 10 <= 100  # a short fixed look-ahead, in ms


def test_features_are_four_per_25fps_frame() -> None:
    pcm = np.zeros(1920 * 10 + 5, np.int16)
    assert log_mel(pcm).shape == (-(-pcm.size // PROGRAM_HOP), 40)
    assert pool_to_frames(np.ones((41, 3)), pcm.size, 25).shape == (11, 3)
    assert pool_to_frames(np.ones((41, 3)), pcm.size, 30).shape == (frames_for_samples(pcm.size, 30), 3)


@pytest.mark.parametrize("fps", [25, 30])
def test_model_runs_on_a_clip(model: AudioMouthModel, clip: Speech, fps: int) -> None:
    track = model.mouth_track(clip.pcm, fps)
    assert track.fps == fps and len(track) == frames_for_samples(clip.n_samples, fps)
    assert track.params.dtype == np.float32 and np.isfinite(track.params).all()
    assert track.params[:, 0].min() >= 0 and track.params[:, 0].max() <= 1
    assert set(track.visemes) <= set(VISEME_NAMES)
    assert track.opening.max() > 0.3  # it opens while speaking


def test_model_beats_the_energy_baseline_on_held_out_speech(model: AudioMouthModel, clip: Speech) -> None:
    truth = mouth_track_from_phonemes(clip.phonemes, clip.n_samples, 25)
    m = figures([model.mouth_track(clip.pcm, 25)], [truth])
    b = figures([energy_baseline(clip.pcm, 25)], [truth])
    assert m.r > 0.75 and m.r > b.r + 0.2
    assert m.viseme_accuracy > b.viseme_accuracy
    assert m.closure_recall > b.closure_recall and m.closure_recall >= 0.8
    assert m.best_lag == 0


def test_output_is_causal_up_to_the_fixed_look_ahead(model: AudioMouthModel, clip: Speech) -> None:
    pcm = clip.pcm[: 48000 * 3].copy()
    cut = 48000 * 2
    changed = pcm.copy()
    changed[cut:] = np.random.default_rng(0).integers(-20000, 20000, pcm.size - cut)
    a, _ = model.raw(pcm)
    b, _ = model.raw(changed)
    first_seen = cut // PROGRAM_HOP - model.lookahead - 3  # feature windows span 2.5 hops
    assert np.allclose(a[:first_seen], b[:first_seen], atol=1e-5)
    assert not np.allclose(a[first_seen + 10 :], b[first_seen + 10 :], atol=1e-3)


def test_best_lag_finds_a_shift() -> None:
    x = np.sin(np.linspace(0, 20, 300)) + np.random.default_rng(0).normal(0, 0.1, 300)
    assert best_lag(np.roll(x, 2), x) == 2 and best_lag(x, x) == 0


def test_say_audio_renders_the_voice_with_the_model(tmp_path: Path, clip: Speech) -> None:
    from anchor.speech.audio_in import encode_audio
    from streaming.probe import probe

    voice = encode_audio(clip.pcm[: 48000 * 2], tmp_path / "voice.mp3")
    out = tmp_path / "anchor.mp4"
    env = {**os.environ, "COLUMNS": "200"}
    p = subprocess.run(
        [sys.executable, "-m", "anchor", "say", "--audio", str(voice), "-o", str(out), "--size", "320x240"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=300,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    info = probe(out)
    assert (info.width, info.height) == (320, 240) and abs(info.audio_duration_s - 2.0) < 0.1
    assert info.video_frames == 50 or abs(info.video_frames - 50) <= 2


def test_say_audio_refuses_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "voice.m4a"
    bad.write_bytes(b"\x00\x01garbage" * 100)
    env = {**os.environ, "COLUMNS": "200"}
    p = subprocess.run(
        [sys.executable, "-m", "anchor", "say", "--audio", str(bad), "-o", str(tmp_path / "x.mp4")],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )  # fmt: skip
    assert p.returncode == 2 and "[audio]" in p.stderr and "not a readable audio file" in p.stderr


@pytest.mark.parametrize("fps", [25, 30])
def test_streaming_inference_matches_the_whole_clip(model: AudioMouthModel, clip: Speech, fps: int) -> None:
    """Audio pushed in uneven chunks gives the same frames as whole-clip inference (silence gate
    included), and each frame comes out as soon as its audio plus the stream's fixed latency has arrived."""
    from anchor.lipsync.model.stream import MouthStream
    from anchor.timebase import samples_per_frame

    noise = np.random.default_rng(8).normal(0, 60, clip.pcm.size - 555)  # so the silence gate tracks a floor
    pcm = np.clip(clip.pcm[:-555] + noise, -32768, 32767).astype(np.int16)
    whole = model.mouth_track(pcm, fps)
    assert "sil" in whole.visemes and set(whole.visemes) != {"sil"}
    stream = MouthStream(model, fps)
    spf = samples_per_frame(fps)
    rng = np.random.default_rng(3)
    params, visemes, pushed = [], [], 0
    while pushed < pcm.size:
        n = int(rng.integers(1, 6000))
        out = stream.push(pcm[pushed : pushed + n])
        pushed = min(pcm.size, pushed + n)
        params.append(out.params)
        visemes.extend(out.visemes)
        # every frame whose end is at least one latency behind the audio received is out
        assert len(visemes) >= min(len(whole), max(0, (pushed - stream.latency_samples) // spf))
    tail = stream.flush()
    params.append(tail.params)
    visemes.extend(tail.visemes)
    assert np.allclose(np.concatenate(params), whole.params, atol=1e-4)
    assert tuple(visemes) == whole.visemes
    assert stream.latency_samples < 0.25 * 48_000


def test_streaming_refuses_bad_audio_and_pushes_after_flush(model: AudioMouthModel) -> None:
    from anchor.errors import InputError
    from anchor.lipsync.model.stream import MouthStream

    stream = MouthStream(model, 25)
    with pytest.raises(InputError, match="int16"):
        stream.push(np.zeros(100, np.float32))
    stream.flush()
    with pytest.raises(InputError, match="flushed"):
        stream.push(np.zeros(100, np.int16))
