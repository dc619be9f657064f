"""The real-speech lip-sync set: GRID speaker s1 (../shared/footage), his own mouth as the truth.

The last 15 % of grid_s1_180s.mp4 (sentences 52-60, 27 s, never used for training) is held out.
Truth: the speaker's inner-lip gap / face height, measured on every video frame with mediapipe's
face mesh. Each system turns the clip's audio (sentence by sentence, 3 s each) into a mouth track:
- audio model: the audio-to-mouth model (anchor/lipsync/model) with its silence gate, and
  without it ("no gate");
- forced alignment: the sentence's words (from the .align.tsv) force-aligned by pocketsphinx
  (Listener.align), then the timing path — what `say --audio --text` gets;
- recognised + aligned: Whisper's transcript of the audio, aligned (Listener.speech_from_recording)
  — what `say --audio` gets without a transcript (the audio model when alignment fails);
- energy baseline: opening follows loudness.
The footage is found through $ANCHOR_FOOTAGE or ../shared/footage (anchor/lipsync/model/footage.py);
without it the set is skipped with a message saying so.
Figures: r of the track's opening with the real opening at lag 0, the best lag (frames, + = the
track late) and r there, and the share of silent frames (`sil` in the word timings) where the
track's mouth is still (opening under 15 % of its 90th percentile).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from anchor.lipsync.model.evaluate import best_lag, pearson, still_share
from anchor.lipsync.model.footage import RealSpeech

FPS = 25
SPF = 1920


def load_real_clip() -> RealSpeech:
    """The held-out 15 % of the GRID clip, with the speaker's real opening measured by the face mesh."""
    from anchor.face.measure import mouth_openings
    from anchor.lipsync.model.footage import footage_dir, load_grid

    return load_grid(footage_dir(), mouth_openings, "held_out")


@dataclass(frozen=True)
class RealFigures:
    r0: float
    lag: int
    r_lag: float
    still: float
    frames: int


def real_figures(opening: np.ndarray, clip: RealSpeech) -> RealFigures:
    n = min(opening.size, clip.opening.size)
    ok = ~np.isnan(clip.opening[:n])
    pred, true = opening[:n][ok], clip.opening[:n][ok]
    lag = best_lag(pred, true)
    r_lag = pearson(pred[lag:], true[: true.size - lag]) if lag >= 0 else pearson(pred[:lag], true[-lag:])
    return RealFigures(pearson(pred, true), lag, r_lag, still_share(opening[:n], clip.silent[:n]), int(ok.sum()))


def run_real_set(models: dict[str, object], clip: RealSpeech | None = None) -> list[tuple[str, RealFigures]]:
    """The figures of every system on the held-out GRID clip (see the module doc); `models` maps a
    row name to an AudioMouthModel (the first one stands in when alignment fails)."""
    from anchor.config import load_settings
    from anchor.errors import BackendError
    from anchor.lipsync.coarticulation import mouth_track_from_phonemes
    from anchor.lipsync.model.evaluate import energy_baseline
    from anchor.speech.listen import Listener

    clip = clip or load_real_clip()
    listener = Listener(load_settings().speech.listen)
    n = clip.opening.size
    names = [f"{k}{s}" for k in models for s in ("", ", no gate")]
    systems: dict[str, np.ndarray] = {
        k: np.zeros(n) for k in [*names, "forced alignment", "recognised + aligned", "energy baseline"]
    }
    failures = {"forced alignment": 0, "recognised + aligned": 0}
    first = next(iter(models))
    for a, b, text in clip.sentences:
        pcm = clip.pcm[a * SPF : b * SPF]

        def put(name: str, opening: np.ndarray, a: int = a) -> None:
            systems[name][a : a + opening.size] = opening[: n - a]

        for k, model in models.items():
            put(k, model.mouth_track(pcm, FPS).opening)  # type: ignore[attr-defined]
            put(f"{k}, no gate", model.mouth_track(pcm, FPS, gate=False).opening)  # type: ignore[attr-defined]
        fallback = systems[first][a:b]
        put("energy baseline", energy_baseline(pcm, FPS).opening)
        try:
            ph, _ = listener.align(pcm, text)
            put("forced alignment", mouth_track_from_phonemes(ph, pcm.size, FPS).opening)
        except BackendError:
            failures["forced alignment"] += 1
            put("forced alignment", fallback)
        heard = listener.speech_from_recording(pcm, language="en")
        if heard.aligned:
            put("recognised + aligned", mouth_track_from_phonemes(heard.speech.phonemes, pcm.size, FPS).opening)
        else:
            failures["recognised + aligned"] += 1
            put("recognised + aligned", fallback)
    out = [(k, real_figures(v, clip)) for k, v in systems.items()]
    print(f"real speech: {len(clip.sentences)} held-out GRID s1 sentences, {n} frames; alignment fell back to the "
          f"audio model for {failures['forced alignment']} (given text) / {failures['recognised + aligned']} (recognised)")  # fmt: skip
    truth_still = still_share(np.nan_to_num(clip.opening), clip.silent)
    print(f"the real mouth itself is still (same measure) in {truth_still:.3f} of the silent frames")
    return out
