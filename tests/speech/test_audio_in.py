"""Audio input: common formats decoded to 48 kHz mono, and the refusals."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from anchor.errors import InputError
from anchor.speech.audio_in import decode_audio, encode_audio
from anchor.timebase import PROGRAM_RATE


def tone(seconds: float, rate: int, freq: float = 440.0, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * freq * t) * level * 32767).astype(np.int16)


def dominant_freq(pcm: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(pcm.size)))
    return float(np.argmax(spec) * PROGRAM_RATE / pcm.size)


@pytest.mark.parametrize(
    ("suffix", "rate"),
    [
        (".wav", 22050),
        (".mp3", 44100),
        (".m4a", 24000),
        (".aac", 16000),
        (".ogg", 48000),
        (".opus", 48000),
        (".flac", 32000),
    ],
)
def test_each_format_decodes_to_program_rate_mono(tmp_path: Path, suffix: str, rate: int) -> None:
    path = encode_audio(tone(1.5, rate), tmp_path / f"voice{suffix}", rate=rate)
    pcm = decode_audio(path)
    assert pcm.dtype == np.int16 and pcm.ndim == 1
    # codecs add a little padding/priming, never much
    assert abs(pcm.size / PROGRAM_RATE - 1.5) < 0.12
    assert abs(dominant_freq(pcm) - 440.0) < 3.0


def test_stereo_input_at_any_rate_is_mixed_to_mono(tmp_path: Path) -> None:
    path = tmp_path / "stereo.wav"
    rate = 44100
    left, right = tone(1.0, rate, 300.0), tone(1.0, rate, 300.0)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=rate)
        stream.layout = "stereo"
        frame = av.AudioFrame.from_ndarray(
            np.stack([left, right]).T.reshape(1, -1).copy(), format="s16", layout="stereo"
        )
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    pcm = decode_audio(path)
    assert abs(pcm.size - PROGRAM_RATE) <= 2
    assert abs(dominant_freq(pcm) - 300.0) < 3.0
    assert np.abs(pcm).max() > 0.2 * 32767


def test_bytes_are_accepted(tmp_path: Path) -> None:
    path = encode_audio(tone(0.5, 16000), tmp_path / "a.flac", rate=16000)
    assert abs(decode_audio(path.read_bytes()).size - PROGRAM_RATE // 2) <= 2


def test_corrupt_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.mp3"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(InputError, match="not a readable audio file|holds no audio") as e:
        decode_audio(path)
    assert e.value.field == "audio"


def test_text_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("this is not audio at all\n" * 20)
    with pytest.raises(InputError):
        decode_audio(path)


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        decode_audio(path)
    with pytest.raises(InputError, match="empty"):
        decode_audio(b"")


def test_file_without_samples_is_refused(tmp_path: Path) -> None:
    import wave

    path = tmp_path / "nothing.wav"
    with wave.open(str(path), "wb") as w:  # a valid header and no samples
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"")
    with pytest.raises(InputError, match="no audio"):
        decode_audio(path)


def test_silent_file_is_refused(tmp_path: Path) -> None:
    path = encode_audio(np.zeros(48000, np.int16), tmp_path / "silence.wav")
    with pytest.raises(InputError, match="silent"):
        decode_audio(path)


def test_over_long_audio_is_refused(tmp_path: Path) -> None:
    path = encode_audio(tone(3.0, 16000), tmp_path / "long.flac", rate=16000)
    with pytest.raises(InputError, match="limit is 2 s"):
        decode_audio(path, max_seconds=2.0)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        decode_audio(tmp_path / "nope.mp3")
