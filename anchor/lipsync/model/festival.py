"""Festival voices as a second family of training speech with known timing.

espeak-ng is a formant synthesizer; Festival (Debian: festival, festvox-us-slt-hts,
festvox-kallpc16k) adds a statistical-parametric voice (HTS, cmu_us_slt_arctic, female) and a
diphone voice made of recorded speech (kal_diphone, male). Both report the exact end time of
every segment they synthesize (`utt.save.segs`), so the timing path gives the same kind of
target track as for espeak. Festival speaks the CMU/radio phone set, mapped here to the
espeak IPA the viseme table reads. Used for training only; the product never calls it.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from anchor.errors import BackendError
from anchor.speech.base import PhonemeEvent
from anchor.speech.cmu import CMU_TO_IPA
from anchor.timebase import PROGRAM_RATE

FESTIVAL_VOICES = ("cmu_us_slt_arctic_hts", "kal_diphone")
INSTALL_HINT = "apt-get install festival festvox-us-slt-hts festvox-kallpc16k"
__all__ = ["CMU_TO_IPA", "FESTIVAL_VOICES", "festival_available", "parse_segs", "synthesize_many"]


@dataclass(frozen=True)
class FestivalUtterance:
    """One synthesized utterance: program-rate audio and its phoneme timings."""

    pcm: np.ndarray
    phonemes: tuple[PhonemeEvent, ...]
    voice: str


def festival_available() -> bool:
    """Whether the festival binary and both voices are installed."""
    voices = Path("/usr/share/festival/voices")
    return shutil.which("festival") is not None and all(any(voices.glob(f"*/{v}")) for v in FESTIVAL_VOICES)


def _scheme_string(text: str) -> str:
    return '"' + text.replace("\\", " ").replace('"', "'") + '"'


def parse_segs(text: str, rate_scale: float, n_samples: int) -> tuple[PhonemeEvent, ...]:
    """Festival's ESPS label file (one "end_time 100 phone" line per segment after "#") ->
    phoneme events at the program rate. Unknown phones raise BackendError."""
    events: list[PhonemeEvent] = []
    body = text.split("#", 1)[1] if "#" in text else text
    start = 0
    for line in body.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        end = min(n_samples, round(float(parts[0]) * PROGRAM_RATE * rate_scale))
        phone = parts[2]
        if phone not in CMU_TO_IPA:
            raise BackendError(f"festival returned an unknown phone {phone!r}")
        if end > start:
            events.append(PhonemeEvent(CMU_TO_IPA[phone], start, end))
        start = max(start, end)
    return tuple(events)


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as w:
        if w.getsampwidth() != 2:
            raise BackendError(f"festival wrote {w.getsampwidth() * 8}-bit audio; expected 16-bit")
        pcm = np.frombuffer(w.readframes(w.getnframes()), np.int16)
        if w.getnchannels() > 1:
            pcm = pcm.reshape(-1, w.getnchannels())[:, 0]
        return pcm, w.getframerate()


def synthesize_many(requests: list[tuple[str, str, float]], timeout_s: float = 1800) -> list[FestivalUtterance]:
    """Speak (voice, text, duration stretch) requests in one festival process, in order.

    The diphone voice honours the stretch (Duration_Stretch); the HTS voice keeps its own
    durations, so its tempo varies only through the waveform augmentation."""
    if not festival_available():
        raise BackendError(f"festival with voices {', '.join(FESTIVAL_VOICES)} is not installed: {INSTALL_HINT}")
    for voice, _, _ in requests:
        if voice not in FESTIVAL_VOICES:
            raise BackendError(f"unknown festival voice {voice!r}; known: {', '.join(FESTIVAL_VOICES)}")
    out: list[FestivalUtterance] = []
    with tempfile.TemporaryDirectory() as tmp:
        lines = []
        for i, (voice, text, stretch) in enumerate(requests):
            lines += [
                f"(voice_{voice})",
                f"(Parameter.set 'Duration_Stretch {stretch:.3f})",
                f"(set! utt (SynthText {_scheme_string(text)}))",
                f'(utt.save.wave utt "{tmp}/{i}.wav" \'riff)',
                f'(utt.save.segs utt "{tmp}/{i}.segs")',
            ]
        script = Path(tmp) / "batch.scm"
        script.write_text("\n".join(lines) + "\n", encoding="utf-8")
        try:
            done = subprocess.run(["festival", "-b", str(script)], capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired as e:
            raise BackendError(f"festival did not finish {len(requests)} utterances in {timeout_s:.0f} s") from e
        for i, (voice, _, _) in enumerate(requests):
            wav, segs = Path(tmp) / f"{i}.wav", Path(tmp) / f"{i}.segs"
            if not wav.is_file() or not segs.is_file():
                raise BackendError(f"festival failed on utterance {i}: {done.stderr.strip()[-300:]}")
            pcm, rate = _read_wav(wav)
            g = gcd(PROGRAM_RATE, rate)
            y = resample_poly(pcm.astype(np.float64), PROGRAM_RATE // g, rate // g)
            program = np.clip(np.rint(y), -32768, 32767).astype(np.int16)
            phonemes = parse_segs(segs.read_text(encoding="utf-8"), 1.0, program.size)
            out.append(FestivalUtterance(program, phonemes, voice))
    return out
