"""Real speech with a real mouth: GRID speaker s1 (../shared/footage, CC BY 4.0; see its README).

grid_s1_180s.mp4 is 60 sentences of 3.000 s each at 25 fps, with word timings (`sil` = silence)
in grid_s1_180s.align.tsv. Sentences 0-50 (the first 85 %) may be used for training and
calibration; sentences 51-59 (the last 15 %, 27 s) are the held-out evaluation and are never
trained on. The truth of articulation is the speaker's inner-lip gap / face height on every
frame, measured on the video with the face mesh; that measurement lives in the face stage
(`anchor.face.measure.mouth_openings`), so callers pass it in as `measure`.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from anchor.errors import InputError
from anchor.timebase import PROGRAM_RATE

FOOTAGE_ENV = "ANCHOR_FOOTAGE"
GRID_VIDEO = "grid_s1_180s.mp4"
GRID_ALIGN = "grid_s1_180s.align.tsv"
FPS = 25
SENTENCE_S = 3.0
HELD_OUT_FROM = 0.85
SPF = PROGRAM_RATE // FPS

Measure = Callable[[Path, int, int], np.ndarray]
"""(video, first frame, end frame) -> the real opening of those frames."""


def footage_dir(explicit: Path | None = None) -> Path:
    """The folder holding the GRID footage: `explicit`, else $ANCHOR_FOOTAGE, else a `shared/footage`
    beside the checkout. InputError saying how to point at it when it is absent."""
    repo = Path(__file__).resolve().parents[3]
    candidates = [explicit] if explicit else [os.environ.get(FOOTAGE_ENV), repo.parent / "shared" / "footage",
                                             repo.parent.parent / "shared" / "footage"]  # fmt: skip
    for d in candidates:
        if d and (Path(d) / GRID_VIDEO).is_file() and (Path(d) / GRID_ALIGN).is_file():
            return Path(d)
    where = str(explicit) if explicit else f"${FOOTAGE_ENV} or ../shared/footage"
    raise InputError(
        f"the GRID footage ({GRID_VIDEO} + {GRID_ALIGN}) was not found in {where}: set {FOOTAGE_ENV} to the folder "
        "that holds it",
        field="footage",
    )


@dataclass(frozen=True)
class RealSpeech:
    """A stretch of the GRID clip: audio (48 kHz int16), the real opening per 25 fps frame (nan
    where no face was found), silent frames (`sil` in the word timings), and its sentences as
    (first frame, end frame, words) relative to the stretch."""

    pcm: np.ndarray
    opening: np.ndarray
    silent: np.ndarray
    sentences: tuple[tuple[int, int, str], ...]

    def __post_init__(self) -> None:
        if not (self.opening.size == self.silent.size and self.pcm.size >= (self.opening.size - 1) * SPF):
            raise ValueError("audio, openings and silence must cover the same frames")


def held_out_from(n_sentences: int) -> int:
    """The first held-out sentence: the last 15 % of the clip (sentence 51 of 60)."""
    return int(np.ceil(n_sentences * HELD_OUT_FROM))


def load_grid(directory: Path, measure: Measure, part: str) -> RealSpeech:
    """The "train" (first 85 %) or "held_out" (last 15 %) part of the GRID clip, measured by `measure`."""
    from anchor.speech.audio_in import decode_audio

    if part not in ("train", "held_out"):
        raise ValueError(f"part must be train or held_out, not {part!r}")
    video = directory / GRID_VIDEO
    pcm = decode_audio(video)
    n_sent = round(pcm.size / PROGRAM_RATE / SENTENCE_S)
    first = held_out_from(n_sent)
    k0, k1 = (0, first) if part == "train" else (first, n_sent)
    f0, f1 = round(k0 * SENTENCE_S * FPS), round(k1 * SENTENCE_S * FPS)
    gaps = np.asarray(measure(video, f0, f1), np.float64)[: f1 - f0]
    if gaps.size < f1 - f0:
        gaps = np.concatenate([gaps, np.full(f1 - f0 - gaps.size, np.nan)])
    silent = np.zeros(f1 - f0, bool)
    words: dict[int, list[str]] = {}
    with (directory / GRID_ALIGN).open(encoding="utf-8") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            a, b = float(r["start_s"]), float(r["end_s"])
            k = int(a // SENTENCE_S)
            if not k0 <= k < k1:
                continue
            if r["word"] == "sil":
                silent[max(0, round(a * FPS) - f0) : max(0, round(b * FPS) - f0)] = True
            else:
                words.setdefault(k, []).append(r["word"])
    sentences = tuple(
        (round(k * SENTENCE_S * FPS) - f0, round((k + 1) * SENTENCE_S * FPS) - f0, " ".join(w))
        for k, w in sorted(words.items())
    )
    return RealSpeech(pcm[f0 * SPF : f1 * SPF], gaps, silent, sentences)
