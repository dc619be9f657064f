"""Evaluate the audio-to-mouth model against the plain audio-energy baseline on held-out speech.

    .venv/bin/python -m bench.lipsync_eval [--weights PATH] [--compare PATH] [--sentences N] [--real-only]

Sets (none of it used in training):
- held-out espeak voices (whole accents en-gb-scotland, en-gb-x-gbcwmd, yue, and variants never
  trained on) speaking held-out sentences, clean and augmented (noise, reverb, codecs, level);
- seen espeak voices (en-us, en-gb, cmn) speaking held-out sentences;
- the Festival voices (HTS slt, kal diphone; trained on) speaking held-out sentences;
- the Piper voice (en_US-joe-medium), held out of the committed model's training, on held-out
  sentences (`--piper-sentences` generated ones plus the fixed ones; onnxruntime's random
  ops are seeded, so the Piper figures repeat from run to run).
Truth is the timing path's track from the exact phoneme timings. First, the real-speech set
(bench/real_speech.py): GRID speaker s1's own mouth on held-out footage, for the audio model, the
forced-alignment path and the energy baseline (`--real-only` prints just that; without the footage the
set is skipped, saying so). The audio model is shown with its silence gate and without it ("no gate");
`--compare PATH` adds another set of weights (e.g. the previous ones) to every table, measured in the
same run. "still in silence": the share of silent frames where the mouth is still (opening under 15 %
of its 90th percentile). Prints markdown tables and the model's inference cost per video frame
(1 torch thread), whole-clip and streaming.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from anchor.lipsync.coarticulation import mouth_track_from_phonemes
from anchor.lipsync.model.corpus import HELD_OUT_SENTENCES, sentences
from anchor.lipsync.model.data import FPS, HELD_OUT_EVAL_VOICES, augment, speech_settings
from anchor.lipsync.model.evaluate import Figures, energy_baseline, figures
from anchor.lipsync.model.infer import AudioMouthModel
from anchor.lipsync.track import MouthTrack


def held_out_texts(lang: str, n_generated: int, rng: np.random.Generator) -> list[str]:
    kind = "en" if lang == "en" else "zh"
    return list(HELD_OUT_SENTENCES[lang]) + sentences(kind, n_generated, rng, held_out=True)


def run_set(
    models: dict[str, AudioMouthModel], clips: list[tuple[np.ndarray, MouthTrack]]
) -> list[tuple[str, Figures]]:
    truths = [t for _, t in clips]
    rows = []
    for name, model in models.items():
        rows.append((name, figures([model.mouth_track(pcm, FPS) for pcm, _ in clips], truths)))
        rows.append(
            (f"{name}, no gate", figures([model.mouth_track(pcm, FPS, gate=False) for pcm, _ in clips], truths))
        )
    rows.append(("energy baseline", figures([energy_baseline(pcm, FPS) for pcm, _ in clips], truths)))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", type=Path, default=None)
    ap.add_argument("--compare", type=Path, default=None, help="other weights measured alongside (e.g. the previous)")
    ap.add_argument(
        "--sentences", type=int, default=4, help="generated held-out sentences per language (plus the fixed ones)"
    )
    ap.add_argument("--piper-sentences", type=int, default=30, help="generated held-out sentences for the Piper set")
    ap.add_argument("--no-piper", action="store_true")
    ap.add_argument("--real-only", action="store_true", help="only the real-speech set (GRID footage)")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    from anchor.speech.espeak import EspeakBackend

    model = AudioMouthModel.load(args.weights)
    models = {"model": model}
    if args.compare:
        models[f"model {args.compare.name}"] = AudioMouthModel.load(args.compare)
    if not print_real_set(models) and args.real_only:
        raise SystemExit(2)
    if args.real_only:
        return
    rng = np.random.default_rng(2024)
    texts = {lang: held_out_texts(lang, args.sentences, rng) for lang in ("en", "zh")}
    espeak = EspeakBackend(speech_settings())

    def clip(speech) -> tuple[np.ndarray, MouthTrack]:  # type: ignore[no-untyped-def]
        return speech.pcm, mouth_track_from_phonemes(speech.phonemes, speech.n_samples, FPS)

    held, held_aug, seen = [], [], []
    aug_rng = np.random.default_rng(99)
    for lang, voice in HELD_OUT_EVAL_VOICES:
        for text in texts[lang]:
            sp = espeak.synthesize(text, language=lang, voice=voice)
            held.append(clip(sp))
            pcm, ph = augment(sp.pcm, sp.phonemes, aug_rng)
            held_aug.append((pcm, mouth_track_from_phonemes(ph, pcm.size, FPS)))
    for lang, voice in (("en", "en-us"), ("en", "en-gb"), ("zh", "cmn")):
        for text in texts[lang]:
            seen.append(clip(espeak.synthesize(text, language=lang, voice=voice)))
    sets: list[tuple[str, list[tuple[np.ndarray, MouthTrack]]]] = [
        ("held-out espeak voices, held-out sentences", held),
        ("same, augmented (noise/reverb/codec/level)", held_aug),
        ("seen espeak voices, held-out sentences", seen),
    ]
    from anchor.lipsync.model.festival import FESTIVAL_VOICES, festival_available, synthesize_many

    if festival_available():
        utts = synthesize_many([(v, t, 1.0) for v in FESTIVAL_VOICES for t in texts["en"]])
        festival = [(u.pcm, mouth_track_from_phonemes(u.phonemes, u.pcm.size, FPS)) for u in utts]
        sets.append(("Festival voices (trained on), held-out sentences", festival))
    if not args.no_piper:
        import onnxruntime

        from anchor.speech.piper import PiperBackend

        onnxruntime.set_seed(7)
        piper = PiperBackend(speech_settings())
        piper_texts = held_out_texts("en", args.piper_sentences, np.random.default_rng(2025))
        sets.append(
            (
                "Piper en_US-joe (held out), held-out sentences",
                [clip(piper.synthesize(t, language="en")) for t in piper_texts],
            )
        )

    trained_on = model.meta.get("recipe", {})
    print(f"weights: {args.weights or 'committed'}; recipe: {trained_on}")
    print()
    print(
        "| set | frames | system | r (opening) | viseme acc. | closure recall | best lag (frames) | still in silence |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, clips in sets:
        for label, f in run_set(models, clips):
            print(f"| {name} | {f.frames} | {label} | {f.r:.3f} | {f.viseme_accuracy:.3f} | "
                  f"{f.closure_recall:.3f} ({f.closures}) | {f.best_lag:+d} | {f.still_in_silence:.3f} |")  # fmt: skip

    # Inference cost: one 30 s clip, whole-clip inference (features + network + pooling).
    pcm = np.concatenate([c[0] for c in held])[: 30 * 48000]
    model.mouth_track(pcm, FPS)
    reps = 5
    t0 = time.perf_counter()
    for _ in range(reps):
        model.mouth_track(pcm, FPS)
    per_frame = (time.perf_counter() - t0) / reps / (pcm.size / 1920)
    n_params = sum(p.numel() for p in model.net.parameters())
    weights = args.weights or Path(__import__("anchor.lipsync.model.infer", fromlist=["x"]).DEFAULT_WEIGHTS)
    from anchor.lipsync.model.stream import MouthStream

    stream = MouthStream(model, FPS)
    chunk = 1920  # one video frame of audio per push, as a live source delivers it
    t0 = time.perf_counter()
    for i in range(0, pcm.size, chunk):
        stream.push(pcm[i : i + chunk])
    stream.flush()
    per_push = (time.perf_counter() - t0) / -(-pcm.size // chunk)
    print()
    print(f"streaming (MouthStream, 40 ms pushes): {per_push * 1000:.3f} ms per push; a frame comes out "
          f"{stream.latency_samples / 48:.0f} ms after its audio ends (look-ahead + window + margin)")  # fmt: skip
    print(f"inference: {per_frame * 1000:.3f} ms per 25 fps video frame (1 thread, features included); "
          f"{n_params} parameters, weights {Path(weights).stat().st_size / 1e6:.2f} MB, "
          f"look-ahead {model.lookahead * 10} ms")  # fmt: skip


def print_real_set(models: dict[str, AudioMouthModel]) -> bool:
    """The real-speech set (bench/real_speech.py): GRID s1's own mouth as the truth; False (and a
    message) when the footage is absent."""
    from anchor.errors import InputError
    from bench.real_speech import load_real_clip, run_real_set

    print()
    try:
        clip = load_real_clip()
    except InputError as e:
        print(f"real-speech set SKIPPED: {e}")
        print()
        return False
    print(
        "| real speech (GRID s1, held-out 15 %) | frames | r (lag 0) | best lag (frames) | r at best lag | still in silence |"
    )
    print("|---|---|---|---|---|---|")
    for name, f in run_real_set(dict(models), clip):
        print(f"| {name} | {f.frames} | {f.r0:.3f} | {f.lag:+d} | {f.r_lag:.3f} | {f.still:.3f} |")
    print()
    return True


if __name__ == "__main__":
    main()
