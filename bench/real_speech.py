"""The real-speech lip-sync set: GRID speaker s1 (../shared/footage), his own mouth as the truth.

The last 15 % of grid_s1_180s.mp4 (sentences 52-60, 27 s, never used for training) is held out.
Truth: the speaker's inner-lip gap / face height, measured on every video frame with mediapipe's
face mesh. Each system turns the clip's audio (sentence by sentence, 3 s each) into a mouth track:
- audio model: the audio-to-mouth model (anchor/lipsync/model);
- forced alignment: the sentence's words (from the .align.tsv) force-aligned by pocketsphinx
  (Listener.align), then the timing path — what `say --audio --text` gets;
- recognised + aligned: Whisper's transcript of the audio, aligned (Listener.speech_from_recording)
  — what `say --audio` gets without a transcript (the audio model when alignment fails);
- energy baseline: opening follows loudness.
Figures: r of the track's opening with the real opening at lag 0, the best lag (frames, + = the
track late) and r there, and the share of silent frames (`sil` in the word timings) where the
track's mouth is still (opening under 15 % of its 90th percentile).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from anchor.lipsync.model.evaluate import best_lag, pearson

FPS = 25
SENTENCE_S = 3.0
HELD_OUT_FROM = 0.85


def footage_dir() -> Path:
    for d in (os.environ.get("ANCHOR_FOOTAGE"), Path(__file__).resolve().parents[2] / "shared" / "footage",
              Path(__file__).resolve().parents[3] / "shared" / "footage"):  # fmt: skip
        if d and (Path(d) / "grid_s1_180s.mp4").is_file():
            return Path(d)
    raise FileNotFoundError("GRID footage not found: set ANCHOR_FOOTAGE to the folder holding grid_s1_180s.mp4")


@dataclass(frozen=True)
class RealClip:
    pcm: np.ndarray  # the held-out audio, 48 kHz
    truth: np.ndarray  # real opening per frame (nan where no face)
    silent: np.ndarray  # frames inside `sil`
    sentences: list[tuple[int, int, str]]  # (first frame, end frame, words) relative to the clip


def load_real_clip() -> RealClip:
    from anchor.face.detect import FaceAnalyzer, inner_lip_gap
    from anchor.speech.audio_in import decode_audio
    from streaming.probe import decode_frames

    d = footage_dir()
    video = d / "grid_s1_180s.mp4"
    pcm_all = decode_audio(video)
    total_s = pcm_all.size / 48000
    n_sent = round(total_s / SENTENCE_S)
    first = int(np.ceil(n_sent * HELD_OUT_FROM))
    f0 = round(first * SENTENCE_S * FPS)
    gaps = []
    with FaceAnalyzer.for_video() as fa:
        for i, img in decode_frames(video):
            if i < f0:
                continue
            lms = fa.landmarks(img)
            gaps.append(inner_lip_gap(lms[0]) if lms else np.nan)
    truth = np.array(gaps)
    rows = list(csv.DictReader((d / "grid_s1_180s.align.tsv").open(encoding="utf-8"), delimiter="\t"))
    silent = np.zeros(truth.size, bool)
    words: dict[int, list[str]] = {}
    for r in rows:
        a, b = float(r["start_s"]), float(r["end_s"])
        k = int(a // SENTENCE_S)
        if k < first:
            continue
        fa_, fb = round(a * FPS) - f0, round(b * FPS) - f0
        if r["word"] == "sil":
            silent[max(0, fa_) : max(0, fb)] = True
        else:
            words.setdefault(k, []).append(r["word"])
    sentences = [(round((k * SENTENCE_S) * FPS) - f0, round(((k + 1) * SENTENCE_S) * FPS) - f0, " ".join(w))
                 for k, w in sorted(words.items())]  # fmt: skip
    pcm = pcm_all[f0 * 1920 :]
    return RealClip(pcm, truth, silent, sentences)


@dataclass(frozen=True)
class RealFigures:
    r0: float
    lag: int
    r_lag: float
    still: float
    frames: int


def real_figures(opening: np.ndarray, clip: RealClip) -> RealFigures:
    n = min(opening.size, clip.truth.size)
    ok = ~np.isnan(clip.truth[:n])
    pred, true = opening[:n][ok], clip.truth[:n][ok]
    lag = best_lag(pred, true)
    r_lag = pearson(pred[lag:], true[: true.size - lag]) if lag >= 0 else pearson(pred[:lag], true[-lag:])
    level = float(np.percentile(opening[:n], 90)) or 1e-6
    s = clip.silent[:n]
    return RealFigures(pearson(pred, true), lag, r_lag, float((opening[:n][s] < 0.15 * level).mean()), int(ok.sum()))


def run_real_set(model: object) -> list[tuple[str, RealFigures]]:
    """The figures of every system on the held-out GRID clip (see the module doc)."""
    from anchor.config import load_settings
    from anchor.errors import BackendError
    from anchor.lipsync.coarticulation import mouth_track_from_phonemes
    from anchor.lipsync.model.evaluate import energy_baseline
    from anchor.speech.listen import Listener

    clip = load_real_clip()
    listener = Listener(load_settings().speech.listen)
    n = clip.truth.size
    systems: dict[str, np.ndarray] = {
        k: np.zeros(n) for k in ("audio model", "forced alignment", "recognised + aligned", "energy baseline")
    }
    failures = {"forced alignment": 0, "recognised + aligned": 0}
    for a, b, text in clip.sentences:
        pcm = clip.pcm[a * 1920 : b * 1920]
        m = model.mouth_track(pcm, FPS).opening  # type: ignore[attr-defined]
        systems["audio model"][a : a + m.size] = m[: n - a]
        e = energy_baseline(pcm, FPS).opening
        systems["energy baseline"][a : a + e.size] = e[: n - a]
        try:
            ph, _ = listener.align(pcm, text)
            t = mouth_track_from_phonemes(ph, pcm.size, FPS).opening
        except BackendError:
            failures["forced alignment"] += 1
            t = m
        systems["forced alignment"][a : a + t.size] = t[: n - a]
        heard = listener.speech_from_recording(pcm, language="en")
        if heard.aligned:
            r = mouth_track_from_phonemes(heard.speech.phonemes, pcm.size, FPS).opening
        else:
            failures["recognised + aligned"] += 1
            r = m
        systems["recognised + aligned"][a : a + r.size] = r[: n - a]
    out = [(k, real_figures(v, clip)) for k, v in systems.items()]
    print(f"real speech: {len(clip.sentences)} held-out GRID s1 sentences, {n} frames; alignment fell back to the "
          f"audio model for {failures['forced alignment']} (given text) / {failures['recognised + aligned']} (recognised)")  # fmt: skip
    return out
