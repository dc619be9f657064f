"""Audio input: any common audio file (wav, mp3, m4a/aac, ogg/opus, flac …) -> program audio.

Decoded with PyAV (FFmpeg), resampled to 48 kHz mono int16 by FFmpeg's resampler. Files that
cannot be used are refused with an InputError that says why: not audio or corrupt, empty,
silent, or longer than the limit.
"""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np

from anchor.errors import InputError
from anchor.timebase import PROGRAM_RATE

MAX_AUDIO_SECONDS = 600.0
"""Longest audio accepted by default (10 minutes)."""
SILENCE_DBFS = -60.0
"""Audio whose loudest 50 ms window stays below this level (RMS, dB full scale) is silent."""
MIN_AUDIO_SECONDS = 0.05


def decode_audio(
    source: str | Path | bytes,
    *,
    max_seconds: float = MAX_AUDIO_SECONDS,
    field: str = "audio",
) -> np.ndarray:
    """Decode a file (path or bytes) to 48 kHz mono int16 program audio, refusing bad input."""

    name = "the audio" if isinstance(source, bytes) else str(source)
    if isinstance(source, bytes):
        if not source:
            raise InputError("the audio is empty (0 bytes)", field=field)
        handle: object = io.BytesIO(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError(f"audio file {path} does not exist", field=field)
        if path.stat().st_size == 0:
            raise InputError(f"audio file {path} is empty (0 bytes)", field=field)
        handle = str(path)
    max_samples = int(max_seconds * PROGRAM_RATE)
    chunks: list[np.ndarray] = []
    total = 0
    try:
        with av.open(handle, mode="r") as container:
            if not container.streams.audio:
                raise InputError(f"{name} holds no audio stream", field=field)
            stream = container.streams.audio[0]
            if stream.duration is not None and stream.time_base is not None:
                if float(stream.duration * stream.time_base) > max_seconds + 1:
                    raise _too_long(name, float(stream.duration * stream.time_base), max_seconds, field)
            resampler = av.AudioResampler(format="s16", layout="mono", rate=PROGRAM_RATE)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    total += _take(out, chunks)
                if total > max_samples:
                    raise _too_long(name, total / PROGRAM_RATE, max_seconds, field)
            for out in resampler.resample(None):
                total += _take(out, chunks)
    except InputError:
        raise
    except (av.FFmpegError, ValueError, UnicodeDecodeError) as e:
        raise InputError(f"{name} is not a readable audio file (corrupt or unknown format): {e}", field=field) from e
    if total > max_samples:
        raise _too_long(name, total / PROGRAM_RATE, max_seconds, field)
    if total < MIN_AUDIO_SECONDS * PROGRAM_RATE:
        raise InputError(f"{name} holds no audio (decoded {total} samples)", field=field)
    pcm = np.concatenate(chunks)
    if loudest_window_dbfs(pcm) < SILENCE_DBFS:
        raise InputError(f"{name} is silent (nothing louder than {SILENCE_DBFS:.0f} dBFS)", field=field)
    return pcm


def _take(frame: object, chunks: list[np.ndarray]) -> int:
    data = np.asarray(frame.to_ndarray()).reshape(-1).astype(np.int16, copy=False)  # type: ignore[attr-defined]
    chunks.append(data)
    return int(data.size)


def _too_long(name: str, seconds: float, limit: float, field: str) -> InputError:
    return InputError(f"{name} is {seconds:.0f} s long; the limit is {limit:.0f} s, split it up", field=field)


def loudest_window_dbfs(pcm: np.ndarray, window: int = PROGRAM_RATE // 20) -> float:
    """RMS level (dBFS) of the loudest `window`-sample stretch of int16 audio."""
    x = pcm.astype(np.float64) / 32768.0
    n = x.size // window
    if n == 0:
        rms = float(np.sqrt(np.mean(x**2))) if x.size else 0.0
    else:
        rms = float(np.sqrt((x[: n * window].reshape(n, window) ** 2).mean(axis=1)).max())
    return 20 * np.log10(max(rms, 1e-10))


def encode_audio(pcm: np.ndarray, path: str | Path, *, rate: int = PROGRAM_RATE, codec: str | None = None) -> Path:
    """Write mono int16 `pcm` at `rate` to `path` (codec from the suffix unless given).

    Used by the training data augmentation (codec round-trips) and by tests.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    codec = codec or {".wav": "pcm_s16le", ".mp3": "libmp3lame", ".m4a": "aac", ".aac": "aac",
                      ".ogg": "libopus", ".opus": "libopus", ".flac": "flac"}.get(suffix)  # fmt: skip
    if codec is None:
        raise InputError(f"cannot tell the audio codec for {path}", field="output")
    fmt = {".m4a": "mp4", ".aac": "adts", ".opus": "ogg"}.get(suffix)
    enc_rate = 48000 if codec == "libopus" else rate
    with av.open(str(path), mode="w", format=fmt) as out:
        stream = out.add_stream(codec, rate=enc_rate)
        assert isinstance(stream, av.AudioStream)
        stream.layout = "mono"
        src = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(pcm.reshape(1, -1).astype(np.int16)), format="s16", layout="mono"
        )
        src.sample_rate = rate
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=enc_rate)
        frames = [*resampler.resample(src), *resampler.resample(None)] if pcm.size else []
        for frame in frames:
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path
