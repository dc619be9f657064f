"""Every voice, measured: speed, intelligibility (Whisper round trip) and the rendered mouth.

    .venv/bin/python -m bench.voices [--no-render]

For each voice (espeak is the baseline, in the same run) a paragraph of held-out sentences (none
of them in the tests) is synthesized after one warm-up call:
- RTF: synthesis wall seconds / audio seconds (onnxruntime threads as configured; 2 cores);
- WER (English) or CER and tonal-pinyin error (Mandarin: edit distance over TONE3 syllables of the
  characters, so homophones count as right and wrong tones as wrong) of the bundled Whisper base's
  transcript against the text (numbers read as words on both sides);
- the rendered mouth (bench/mouth_metrics.py): the timing path's track rendered on the default
  avatar, the inner-lip gap re-detected by face mesh: r with the planned opening, the lag that best
  lines it up with the audio's loudness (frames, + = late) and r there, the widest gap at p/b/m
  over the open level, and the share of silent frames with the mouth still.
"""

from __future__ import annotations

import argparse
import re
import time

import numpy as np

from anchor.config import load_settings
from anchor.lipsync.coarticulation import mouth_track_from_phonemes
from anchor.speech.base import Speech, SpeechBackend
from anchor.speech.listen import Listener
from anchor.speech.registry import SPEECH_BACKENDS
from anchor.timebase import samples_per_frame
from bench.mouth_metrics import FPS, MouthRenderer, envelope_db, rendered_figures

EN = (
    "The harbor authority confirmed that the northern pier will close for repairs next week. "
    "Local fishermen said they were worried about losing their busiest season. "
    "A spokesperson promised that temporary moorings would be ready before the weekend. "
    "Meanwhile, volunteers planted hundreds of young trees along the river path. "
    "Forecasters expect light rain tomorrow morning, clearing by the afternoon."
)
ZH = (
    "市政府宣布，北方码头下周将关闭维修。"
    "当地渔民担心会错过最繁忙的季节。"
    "发言人承诺，临时泊位将在周末前准备好。"
    "与此同时，志愿者沿着河边小路种下了数百棵树苗。"
    "气象台预计明天上午有小雨，下午转晴。"
)
VOICES = (("espeak", "en", "en-us"), ("piper", "en", None), ("hibari", "en", None),
          ("espeak", "zh", "cmn"), ("kokoro", "zh", "jf_alpha"), ("kokoro", "zh", "jm_kumo"))  # fmt: skip


def edit_distance(a: list[str], b: list[str]) -> int:
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def en_words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower().replace("-", " "))


def zh_chars(text: str) -> list[str]:
    import cn2an

    return [c for c in cn2an.transform(text, "an2cn") if "\u4e00" <= c <= "\u9fff"]


def tone3(chars: list[str]) -> list[str]:
    from pypinyin import Style, lazy_pinyin

    return lazy_pinyin("".join(chars), style=Style.TONE3, neutral_tone_with_five=True)


def silent_frames(speech: Speech, n: int) -> np.ndarray:
    """Frames at least 80 % covered by pauses (or by no event at all), or 35 dB under the peak."""
    spf = samples_per_frame(FPS)
    voiced = np.zeros(n * spf, bool)
    for p in speech.phonemes:
        if p.phoneme != "_":
            voiced[p.start : p.end] = True
    by_timing = voiced.reshape(n, spf).mean(axis=1) < 0.2
    env = envelope_db(speech.pcm)[:n]
    return by_timing | (env < env.max() - 35)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-render", action="store_true", help="skip the rendered-mouth figures")
    args = ap.parse_args()
    settings = load_settings().speech
    listener = Listener(settings.listen)
    renderer = None if args.no_render else MouthRenderer()
    rows = []
    for name, lang, voice in VOICES:
        backend: SpeechBackend = SPEECH_BACKENDS[name](settings)
        text = EN if lang == "en" else ZH
        try:
            backend.synthesize("Warm up." if lang == "en" else "热身。", language=lang, voice=voice)
        except Exception as e:
            print(f"{name} {voice or ''}: not measured ({e})")
            continue
        t0 = time.perf_counter()
        speech = backend.synthesize(text, language=lang, voice=voice)
        wall = time.perf_counter() - t0
        heard = listener.transcribe(speech.pcm, lang)
        if lang == "en":
            ref, hyp = en_words(text), en_words(heard.text)
            err = f"WER {edit_distance(ref, hyp) / len(ref):.3f}"
            tone = "-"
        else:
            ref, hyp = zh_chars(text), zh_chars(heard.text)
            err = f"CER {edit_distance(ref, hyp) / len(ref):.3f}"
            tone = f"{edit_distance(tone3(ref), tone3(hyp)) / len(ref):.3f}"
        fig = "| - | - | - | - | -"
        if renderer is not None:
            n = -(-speech.n_samples // samples_per_frame(FPS))
            track = mouth_track_from_phonemes(speech.phonemes, speech.n_samples, FPS)
            f = rendered_figures(renderer.gaps(track), track, speech.pcm, silent_frames(speech, len(track)))
            fig = f"| {f.r_planned:.3f} | {f.lag:+d} | {f.r_audio:.3f} | {f.closure:.3f} | {f.still:.3f}"
            del n
        rows.append(
            f"| {name} {speech.voice} | {lang} | {wall / speech.duration:.3f} | {err} | {tone} {fig} | {speech.duration:.1f} |"
        )
        print(f"{name} {speech.voice}: heard {heard.text!r}", flush=True)
    print()
    print("| voice | lang | RTF | WER / CER | tonal-pinyin err | r rendered vs planned | lag vs loudness (frames) "
          "| r at that lag | closure (gap at p/b/m / open) | still in silence | audio s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
